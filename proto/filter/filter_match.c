/*
 * filter_match.c - evaluates a compiled filter program against one flow: a single pass over the
 * ops with one boolean register, no allocation, no recursion.
 */
#include "filter_int.h"

static bool compare(uint64_t v, uint8_t cmp, uint64_t ref)
{
    switch (cmp) {
    case FLT_NE: return v != ref;
    case FLT_LT: return v < ref;
    case FLT_LE: return v <= ref;
    case FLT_GT: return v > ref;
    case FLT_GE: return v >= ref;
    default: return v == ref;
    }
}

/* Applies test to the src and/or dst side as op->dir says. */
static bool sided(uint8_t dir, bool src, bool dst)
{
    switch (dir) {
    case FLT_DIR_SRC: return src;
    case FLT_DIR_DST: return dst;
    case FLT_DIR_BOTH: return src && dst;
    default: return src || dst;
    }
}

static bool is_ipv6(const struct fl0wer_flow *f)
{
    if (f->flags & FL0WER_FLOW_F_IPV6)
        return true;
    return !fl0wer_addr_is_v4(f->src_addr) && !fl0wer_addr_is_zero(f->src_addr);
}

static bool test(const struct flt_op *op, const struct fl0wer_flow *f)
{
    switch (op->code) {
    case FLT_TRUE:
        return true;
    case FLT_ADDR:
        return sided(op->dir, flt_in_prefix(f->src_addr, op), flt_in_prefix(f->dst_addr, op));
    case FLT_EXPORTER:
        return flt_in_prefix(f->exporter, op);
    case FLT_PORT:
        return sided(op->dir, compare(f->src_port, op->cmp, op->value),
                     compare(f->dst_port, op->cmp, op->value));
    case FLT_AS:
        return sided(op->dir, compare(f->src_as, op->cmp, op->value),
                     compare(f->dst_as, op->cmp, op->value));
    case FLT_IF:
        return sided(op->dir, compare(f->in_if, op->cmp, op->value),
                     compare(f->out_if, op->cmp, op->value));
    case FLT_PROTO:
        return compare(f->proto, op->cmp, op->value);
    case FLT_FLAGS:
        return (f->tcp_flags & op->value) == op->value;
    case FLT_TOS:
        return compare(f->tos, op->cmp, op->value);
    case FLT_VLAN:
        return compare(f->vlan, op->cmp, op->value);
    case FLT_BYTES:
        return compare(f->bytes, op->cmp, op->value);
    case FLT_PACKETS:
        return compare(f->packets, op->cmp, op->value);
    case FLT_FLOWS:
        return compare(f->flows, op->cmp, op->value);
    case FLT_DURATION:
        return compare(f->last_ms > f->first_ms ? f->last_ms - f->first_ms : 0, op->cmp,
                       op->value);
    case FLT_IPV4:
        return !is_ipv6(f);
    case FLT_IPV6:
        return is_ipv6(f);
    default:
        return false;
    }
}

bool fl0wer_filter_match(const struct fl0wer_filter *f, const struct fl0wer_flow *flow)
{
    bool acc = true;
    size_t pc = 0;

    if (f == NULL)
        return true;
    while (pc < f->n_ops) {
        const struct flt_op *op = &f->ops[pc];

        switch (op->code) {
        case FLT_JT:
            if (acc) {
                pc = op->target;
                continue;
            }
            break;
        case FLT_JF:
            if (!acc) {
                pc = op->target;
                continue;
            }
            break;
        case FLT_NOT:
            acc = !acc;
            break;
        default:
            acc = test(op, flow);
            break;
        }
        pc++;
    }
    return acc;
}

/* The fields one primitive op reads, for fl0wer_filter_uses. */
static uint32_t op_uses(const struct flt_op *op)
{
    switch (op->code) {
    case FLT_ADDR:
        return (op->dir == FLT_DIR_SRC ? 0 : FL0WER_FILTER_USES_DST_ADDR) |
               (op->dir == FLT_DIR_DST ? 0 : FL0WER_FILTER_USES_SRC_ADDR);
    case FLT_PORT:
        return (op->dir == FLT_DIR_SRC ? 0 : FL0WER_FILTER_USES_DST_PORT) |
               (op->dir == FLT_DIR_DST ? 0 : FL0WER_FILTER_USES_SRC_PORT);
    case FLT_AS:
        return (op->dir == FLT_DIR_SRC ? 0 : FL0WER_FILTER_USES_DST_AS) |
               (op->dir == FLT_DIR_DST ? 0 : FL0WER_FILTER_USES_SRC_AS);
    case FLT_IF:
        return (op->dir == FLT_DIR_SRC ? 0 : FL0WER_FILTER_USES_OUT_IF) |
               (op->dir == FLT_DIR_DST ? 0 : FL0WER_FILTER_USES_IN_IF);
    case FLT_EXPORTER: return FL0WER_FILTER_USES_EXPORTER;
    case FLT_PROTO: return FL0WER_FILTER_USES_PROTO;
    case FLT_FLAGS: return FL0WER_FILTER_USES_TCP_FLAGS;
    case FLT_TOS: return FL0WER_FILTER_USES_TOS;
    case FLT_VLAN: return FL0WER_FILTER_USES_VLAN;
    case FLT_BYTES: return FL0WER_FILTER_USES_BYTES;
    case FLT_PACKETS: return FL0WER_FILTER_USES_PACKETS;
    case FLT_FLOWS: return FL0WER_FILTER_USES_FLOWS;
    case FLT_DURATION: return FL0WER_FILTER_USES_TIMES;
    case FLT_IPV4:
    case FLT_IPV6: return FL0WER_FILTER_USES_FLOW_FLAGS | FL0WER_FILTER_USES_SRC_ADDR;
    default: return 0; /* FLT_TRUE and the control ops read no field */
    }
}

uint32_t fl0wer_filter_uses(const struct fl0wer_filter *f)
{
    uint32_t uses = 0;

    if (f == NULL)
        return 0;
    for (size_t i = 0; i < f->n_ops; i++)
        uses |= op_uses(&f->ops[i]);
    return uses;
}
