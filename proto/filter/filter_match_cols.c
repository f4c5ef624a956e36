/*
 * filter_match_cols.c - evaluates a compiled filter over many flows held column by column
 * (struct fl0wer_flow_cols), 64 rows per step, for scans of stored blocks: each primitive op
 * tests 64 rows of one column into a bit word, and the program's jumps become masks.
 *
 * The per-row evaluator (filter_match.c) keeps one boolean accumulator and jumps forward on it.
 * Here every row of a 64-row chunk runs the same program at once: `at` holds the rows standing
 * at the current op, `acc` every row's accumulator; a test or FLT_NOT changes acc only for the
 * rows in `at`, and a jump moves the rows it takes from `at` to the pending word of its target,
 * where they join again. Jumps only go forward (filter_compile.c), so one pass over the ops
 * ends with every row at the end of the program, holding the same answer as filter_match.c.
 */
#include "filter_int.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK     64
#define STACK_OPS 255

/* One function per column type: bit i set when v[i] <cmp> ref, for i < m. The switch is outside
 * the loops so that each loop is a plain compare-and-shift the compiler can vectorise. */
#define DEFINE_CMP_BITS(name, type)                                                                \
    static uint64_t name(const type *v, size_t m, uint8_t cmp, uint64_t ref)                       \
    {                                                                                              \
        uint64_t t = 0;                                                                            \
        switch (cmp) {                                                                             \
        case FLT_NE:                                                                               \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] != ref) << i;                                                 \
            break;                                                                                 \
        case FLT_LT:                                                                               \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] < ref) << i;                                                  \
            break;                                                                                 \
        case FLT_LE:                                                                               \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] <= ref) << i;                                                 \
            break;                                                                                 \
        case FLT_GT:                                                                               \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] > ref) << i;                                                  \
            break;                                                                                 \
        case FLT_GE:                                                                               \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] >= ref) << i;                                                 \
            break;                                                                                 \
        default:                                                                                   \
            for (size_t i = 0; i < m; i++)                                                         \
                t |= (uint64_t)(v[i] == ref) << i;                                                 \
            break;                                                                                 \
        }                                                                                          \
        return t;                                                                                  \
    }
DEFINE_CMP_BITS(cmp_bits_u64, uint64_t)
DEFINE_CMP_BITS(cmp_bits_u32, uint32_t)
DEFINE_CMP_BITS(cmp_bits_u16, uint16_t)
DEFINE_CMP_BITS(cmp_bits_any_u8, uint8_t)
#undef DEFINE_CMP_BITS

/*
 * Byte columns (protocol, ToS) compared for equality 8 rows at a time: the XOR with the value
 * repeated is zero exactly in the equal bytes, the classic exact zero-byte test sets their top
 * bits, and one multiplication gathers those 8 bits in row order into the top byte (the
 * multiplier's bits are 7 apart, so no two products meet). Other comparisons, and the rows of a
 * chunk short of 64, take the plain loop.
 */
static uint64_t cmp_bits_u8(const uint8_t *v, size_t m, uint8_t cmp, uint64_t ref)
{
    const uint64_t lo7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
    uint64_t rep = (ref & 0xff) * UINT64_C(0x0101010101010101), t = 0;

    if ((cmp != FLT_EQ && cmp != FLT_NE) || m != 64 || ref > 0xff)
        return cmp_bits_any_u8(v, m, cmp, ref);
    for (size_t j = 0; j < 64; j += 8) {
        uint64_t x, zero;
        memcpy(&x, v + j, 8);
        x = le64toh(x) ^ rep;
        zero = ~(((x & lo7) + lo7) | x | lo7);
        t |= ((zero * UINT64_C(0x0002040810204081)) >> 56) << j;
    }
    return cmp == FLT_EQ ? t : ~t;
}

/* Bit i set when the first plen bits of a[i] equal the op's (already masked) address. */
static uint64_t prefix_bits(const uint8_t (*a)[FL0WER_ADDR_LEN], size_t m, const struct flt_op *op)
{
    uint64_t t = 0;

    for (size_t i = 0; i < m; i++)
        t |= (uint64_t)flt_in_prefix(a[i], op) << i;
    return t;
}

/* Combines a two-sided test's src and dst words as op->dir says. */
static uint64_t sided_bits(uint8_t dir, uint64_t src, uint64_t dst)
{
    switch (dir) {
    case FLT_DIR_SRC:
        return src;
    case FLT_DIR_DST:
        return dst;
    case FLT_DIR_BOTH:
        return src & dst;
    default:
        return src | dst;
    }
}

/* A two-sided comparison (ports, AS numbers, interfaces): only the sides op->dir reads. */
#define SIDED_CMP(fn, srccol, dstcol)                                                              \
    sided_bits(op->dir, op->dir == FLT_DIR_DST ? 0 : fn(c->srccol + base, m, op->cmp, op->value),  \
               op->dir == FLT_DIR_SRC ? 0 : fn(c->dstcol + base, m, op->cmp, op->value))

/* Bit i set when row base + i is IPv6 (as is_ipv6 in filter_match.c). */
static uint64_t ipv6_bits(const struct fl0wer_flow_cols *c, size_t base, size_t m)
{
    uint64_t t = 0;
    for (size_t i = 0; i < m; i++) {
        const uint8_t *a = c->src_addr[base + i];
        bool v6 = (c->flags[base + i] & FL0WER_FLOW_F_IPV6) ||
                  (!fl0wer_addr_is_v4(a) && !fl0wer_addr_is_zero(a));
        t |= (uint64_t)v6 << i;
    }
    return t;
}

/* Bit i set when row base + i passes primitive op (m <= 64 rows). */
static uint64_t test_bits(const struct flt_op *op, const struct fl0wer_flow_cols *c, size_t base,
                          size_t m)
{
    uint64_t t = 0;

    switch (op->code) {
    case FLT_ADDR:
        return sided_bits(op->dir,
                          op->dir == FLT_DIR_DST ? 0 : prefix_bits(c->src_addr + base, m, op),
                          op->dir == FLT_DIR_SRC ? 0 : prefix_bits(c->dst_addr + base, m, op));
    case FLT_EXPORTER:
        return prefix_bits(c->exporter + base, m, op);
    case FLT_PORT:
        return SIDED_CMP(cmp_bits_u16, src_port, dst_port);
    case FLT_AS:
        return SIDED_CMP(cmp_bits_u32, src_as, dst_as);
    case FLT_IF:
        return SIDED_CMP(cmp_bits_u32, in_if, out_if);
    case FLT_PROTO:
        return cmp_bits_u8(c->proto + base, m, op->cmp, op->value);
    case FLT_FLAGS:
        for (size_t i = 0; i < m; i++)
            t |= (uint64_t)((c->tcp_flags[base + i] & op->value) == op->value) << i;
        return t;
    case FLT_TOS:
        return cmp_bits_u8(c->tos + base, m, op->cmp, op->value);
    case FLT_VLAN:
        return cmp_bits_u16(c->vlan + base, m, op->cmp, op->value);
    case FLT_BYTES:
        return cmp_bits_u64(c->bytes + base, m, op->cmp, op->value);
    case FLT_PACKETS:
        return cmp_bits_u64(c->packets + base, m, op->cmp, op->value);
    case FLT_FLOWS:
        return cmp_bits_u64(c->flows + base, m, op->cmp, op->value);
    case FLT_DURATION: {
        uint64_t d[CHUNK];
        for (size_t i = 0; i < m; i++) {
            uint64_t first = c->first_ms[base + i], last = c->last_ms[base + i];
            d[i] = last > first ? last - first : 0;
        }
        return cmp_bits_u64(d, m, op->cmp, op->value);
    }
    case FLT_IPV4:
        return ~ipv6_bits(c, base, m);
    case FLT_IPV6:
        return ipv6_bits(c, base, m);
    case FLT_TRUE:
        return ~UINT64_C(0);
    default:
        return 0;
    }
}

#undef SIDED_CMP

/* Whether every column the filter reads is present. */
static bool has_cols(const struct fl0wer_filter *f, const struct fl0wer_flow_cols *c)
{
    const struct {
        uint32_t uses;
        const void *col;
    } need[] = {
        {FL0WER_FILTER_USES_SRC_ADDR, c->src_addr},   {FL0WER_FILTER_USES_DST_ADDR, c->dst_addr},
        {FL0WER_FILTER_USES_EXPORTER, c->exporter},   {FL0WER_FILTER_USES_SRC_PORT, c->src_port},
        {FL0WER_FILTER_USES_DST_PORT, c->dst_port},   {FL0WER_FILTER_USES_SRC_AS, c->src_as},
        {FL0WER_FILTER_USES_DST_AS, c->dst_as},       {FL0WER_FILTER_USES_IN_IF, c->in_if},
        {FL0WER_FILTER_USES_OUT_IF, c->out_if},       {FL0WER_FILTER_USES_PROTO, c->proto},
        {FL0WER_FILTER_USES_TCP_FLAGS, c->tcp_flags}, {FL0WER_FILTER_USES_TOS, c->tos},
        {FL0WER_FILTER_USES_VLAN, c->vlan},           {FL0WER_FILTER_USES_BYTES, c->bytes},
        {FL0WER_FILTER_USES_PACKETS, c->packets},     {FL0WER_FILTER_USES_FLOWS, c->flows},
        {FL0WER_FILTER_USES_TIMES, c->first_ms},      {FL0WER_FILTER_USES_TIMES, c->last_ms},
        {FL0WER_FILTER_USES_FLOW_FLAGS, c->flags},
    };
    uint32_t uses = fl0wer_filter_uses(f);

    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        if ((uses & need[i].uses) && !need[i].col)
            return false;
    return true;
}

/* Runs the program over one chunk: live holds the rows to test; returns those that match.
 * pend has room for n_ops + 1 words. */
static uint64_t run_chunk(const struct fl0wer_filter *f, const struct fl0wer_flow_cols *c,
                          size_t base, size_t m, uint64_t live, uint64_t *pend)
{
    uint64_t at = live, acc = ~UINT64_C(0);

    memset(pend, 0, (f->n_ops + 1) * sizeof(*pend));
    for (size_t pc = 0; pc < f->n_ops; pc++) {
        const struct flt_op *op = &f->ops[pc];
        at |= pend[pc];
        if (!at)
            continue;
        switch (op->code) {
        case FLT_JT:
            pend[op->target] |= at & acc;
            at &= ~acc;
            break;
        case FLT_JF:
            pend[op->target] |= at & ~acc;
            at &= acc;
            break;
        case FLT_NOT:
            acc ^= at;
            break;
        default:
            acc = (acc & ~at) | (test_bits(op, c, base, m) & at);
            break;
        }
    }
    at |= pend[f->n_ops];
    return at & acc & live;
}

int fl0wer_filter_match_cols(const struct fl0wer_filter *f, const struct fl0wer_flow_cols *cols,
                             uint64_t *sel)
{
    uint64_t stack[STACK_OPS + 1], *pend = stack;
    size_t words = (cols->n + CHUNK - 1) / CHUNK;

    if (cols->n % CHUNK)
        sel[words - 1] &= (UINT64_C(1) << (cols->n % CHUNK)) - 1;
    if (f == NULL || f->n_ops == 0)
        return 0;
    if (!has_cols(f, cols))
        return FL0WER_FILTER_ERR_COLS;
    if (f->n_ops > STACK_OPS && !(pend = malloc((f->n_ops + 1) * sizeof(*pend))))
        return FL0WER_FILTER_ERR_NOMEM;
    for (size_t w = 0; w < words; w++) {
        size_t base = w * CHUNK, m = cols->n - base < CHUNK ? cols->n - base : CHUNK;
        if (sel[w])
            sel[w] = run_chunk(f, cols, base, m, sel[w], pend);
    }
    if (pend != stack)
        free(pend);
    return 0;
}
