/*
 * record.c - the data path: runs a compiled template over the records of a data set and turns
 * each record into one (or, with RFC 5103 reverse counters, two) fl0wer_flow.
 */
#include <string.h>

#include "cursor.h"
#include "internal.h"

/* Hands the batched flows to the callback. Returns 0 or FL0WER_ERR_CALLBACK. */
int dec_flush(struct dec_pkt *pk)
{
    struct fl0wer_decoder *d = pk->d;
    size_t n = d->nbatch;

    d->nbatch = 0;
    if (n == 0 || pk->cb_failed)
        return pk->cb_failed ? FL0WER_ERR_CALLBACK : FL0WER_OK;
    if (pk->cb != NULL && pk->cb(pk->arg, d->batch, n) != 0) {
        pk->cb_failed = true;
        return FL0WER_ERR_CALLBACK;
    }
    return FL0WER_OK;
}

/* Queues one flow for the callback. Returns 0 or FL0WER_ERR_CALLBACK. */
int dec_emit(struct dec_pkt *pk, const struct fl0wer_flow *f)
{
    struct fl0wer_decoder *d = pk->d;

    if (pk->cb_failed)
        return FL0WER_ERR_CALLBACK;
    d->batch[d->nbatch++] = *f;
    pk->ex->st.records++;
    if (d->nbatch == DEC_BATCH)
        return dec_flush(pk);
    return FL0WER_OK;
}

static inline bool nonzero4(const uint8_t *p)
{
    return (p[0] | p[1] | p[2] | p[3]) != 0;
}

static bool nonzero16(const uint8_t *p)
{
    uint8_t acc = 0;

    for (int i = 0; i < 16; i++)
        acc |= p[i];
    return acc != 0;
}

#define AT(T) (*(T *)(void *)(base + op->dst))

/*
 * Runs the ops of t over the record at *pp (not beyond end) into r. On success advances *pp and
 * returns 0; returns FL0WER_ERR_SHORT when the record (or a variable-length field) does not fit.
 */
static int run_ops(const struct dec_template *t, const uint8_t **pp, const uint8_t *end,
                   struct dec_rec *r)
{
    const uint8_t *p = *pp;
    uint8_t *base = (uint8_t *)r;
    const bool check = t->varlen;

    if ((size_t)(end - p) < t->min_len)
        return FL0WER_ERR_SHORT;
    for (const struct dec_op *op = t->ops, *last = t->ops + t->nops; op < last; op++) {
        size_t len = op->len;

        if (check) {
            if (len == DEC_VARLEN) {
                if (p >= end)
                    return FL0WER_ERR_SHORT;
                len = *p++;
                if (len == 255) {
                    if (end - p < 2)
                        return FL0WER_ERR_SHORT;
                    len = dec_be16(p);
                    p += 2;
                }
            }
            if ((size_t)(end - p) < len)
                return FL0WER_ERR_SHORT;
        }
        switch (op->kind) {
        case OP_U8_1:
            AT(uint8_t) = p[0];
            break;
        case OP_U16_2:
            AT(uint16_t) = dec_be16(p);
            break;
        case OP_U32_4:
            AT(uint32_t) = dec_be32(p);
            break;
        case OP_U64_4:
            AT(uint64_t) = dec_be32(p);
            break;
        case OP_U64_8:
            AT(uint64_t) = dec_be(p, 8);
            break;
        case OP_U8:
            AT(uint8_t) = (uint8_t)dec_be(p, (unsigned)len);
            break;
        case OP_U16:
            AT(uint16_t) = (uint16_t)dec_be(p, (unsigned)len);
            break;
        case OP_U32:
            AT(uint32_t) = (uint32_t)dec_be(p, (unsigned)len);
            break;
        case OP_U64:
            AT(uint64_t) = dec_be(p, (unsigned)len);
            break;
        case OP_V4:
            if (nonzero4(p))
                fl0wer_addr_from_v4(base + op->dst, p);
            break;
        case OP_V6:
            if (nonzero16(p))
                memcpy(base + op->dst, p, 16);
            break;
        case OP_NTP:
            AT(uint64_t) = dec_ntp_to_ms(dec_be(p, 8));
            break;
        case OP_STR:
            AT(struct dec_str).p = p;
            AT(struct dec_str).len = (uint16_t)len;
            break;
        default:
            break;
        }
        p += len;
    }
    *pp = p;
    return FL0WER_OK;
}

/*
 * Applies the fallbacks (counters, next hop, interfaces, VLAN, ICMP, direction) from the values
 * template t gave r to f (which may be r->f or a batch slot).
 */
void dec_resolve_fields(const struct dec_template *t, struct fl0wer_flow *f,
                        const struct dec_rec *r)
{
    uint64_t has = t->has;

    if (f->bytes == 0)
        f->bytes = (has & DEC_HAS_OUT_BYTES) && r->out_bytes ? r->out_bytes
                   : (has & DEC_HAS_TOT_BYTES)               ? r->tot_bytes
                                                              : 0;
    if (f->packets == 0)
        f->packets = (has & DEC_HAS_OUT_PKTS) && r->out_pkts ? r->out_pkts
                     : (has & DEC_HAS_TOT_PKTS)              ? r->tot_pkts
                                                             : 0;
    if (f->flows == 0)
        f->flows = 1;
    if ((has & DEC_HAS_BGP_NH) && fl0wer_addr_is_zero(f->next_hop))
        memcpy(f->next_hop, r->bgp_nh, FL0WER_ADDR_LEN);
    if ((has & DEC_HAS_PHYS_IN) && f->in_if == 0)
        f->in_if = r->phys_in;
    if ((has & DEC_HAS_PHYS_OUT) && f->out_if == 0)
        f->out_if = r->phys_out;
    if ((has & DEC_HAS_VLAN_DST) && f->vlan == 0)
        f->vlan = r->vlan_dst;
    if (f->src_port == 0 && f->dst_port == 0) {
        if (has & DEC_HAS_ICMP)
            f->dst_port = r->icmp;
        else if (has & (DEC_HAS_ICMP_TYPE | DEC_HAS_ICMP_CODE))
            f->dst_port = (uint16_t)(((has & DEC_HAS_ICMP_TYPE) ? r->icmp_type : 0) << 8 |
                                     ((has & DEC_HAS_ICMP_CODE) ? r->icmp_code : 0));
    }
    if (has & DEC_HAS_DIRECTION)
        f->direction = r->direction == 0   ? FL0WER_DIR_INGRESS
                       : r->direction == 1 ? FL0WER_DIR_EGRESS
                                           : FL0WER_DIR_UNKNOWN;
}

/* True when the source or destination of f is an IPv6 (not IPv4-mapped, not unset) address. */
bool dec_flow_is_v6(const struct fl0wer_flow *f)
{
    return (!fl0wer_addr_is_zero(f->src_addr) && !fl0wer_addr_is_v4(f->src_addr)) ||
           (!fl0wer_addr_is_zero(f->dst_addr) && !fl0wer_addr_is_v4(f->dst_addr));
}

/*
 * Writes to *rev the RFC 5103 reverse-direction record of the finished forward flow f, whose
 * reverse counters template t put in r. rev must not overlap f.
 */
void dec_reverse(const struct dec_template *t, const struct fl0wer_flow *f,
                 const struct dec_rec *r, struct fl0wer_flow *rev)
{
    *rev = *f;
    memcpy(rev->src_addr, f->dst_addr, FL0WER_ADDR_LEN);
    memcpy(rev->dst_addr, f->src_addr, FL0WER_ADDR_LEN);
    if (f->proto != 1 && f->proto != 58) {
        rev->src_port = f->dst_port;
        rev->dst_port = f->src_port;
    }
    rev->in_if = f->out_if;
    rev->out_if = f->in_if;
    rev->src_as = f->dst_as;
    rev->dst_as = f->src_as;
    rev->src_mask = f->dst_mask;
    rev->dst_mask = f->src_mask;
    rev->bytes = (t->has & DEC_HAS_REV_BYTES) ? r->rev_bytes : 0;
    rev->packets = (t->has & DEC_HAS_REV_PKTS) ? r->rev_pkts : 0;
    rev->tcp_flags = (t->has & DEC_HAS_REV_FLAGS) ? r->rev_flags : 0;
    if (f->direction == FL0WER_DIR_INGRESS)
        rev->direction = FL0WER_DIR_EGRESS;
    else if (f->direction == FL0WER_DIR_EGRESS)
        rev->direction = FL0WER_DIR_INGRESS;
    rev->flags |= FL0WER_FLOW_F_REVERSE;
}

/*
 * Decodes every record of a data set body [p, end) with template t. Flow records go to the
 * batch; options records update the exporter's metadata. What is left that is shorter than the
 * smallest record is padding. Returns 0, FL0WER_ERR_CALLBACK, or FL0WER_ERR_SHORT when a record
 * ran past the set (counted as a record error; the records before it stay decoded).
 * Fixed-length flow templates take the fast plan of fast.c; this is the general path.
 */
int dec_data_set(struct dec_pkt *pk, const struct dec_template *t, const uint8_t *p,
                 const uint8_t *end)
{
    struct dec_rec r;
    int rc;

    if (t->fast && !(pk->d->cfg.flags & FL0WER_DECODER_GENERIC))
        return dec_fast_data_set(pk, t, p, end);
    while ((size_t)(end - p) >= t->min_len) {
        fl0wer_flow_init(&r.f);
        if (t->has & DEC_HAS_BGP_NH)
            memset(r.bgp_nh, 0, sizeof(r.bgp_nh));
        if (run_ops(t, &p, end, &r) != FL0WER_OK) {
            dec_count_error(pk->d, pk->ex, FL0WER_DERR_RECORD);
            return FL0WER_ERR_SHORT;
        }
        pk->data_records++;
        if (t->options) {
            dec_options_record(pk, t, &r);
            continue;
        }
        r.f.version = pk->version;
        memcpy(r.f.exporter, pk->src->addr, FL0WER_ADDR_LEN);
        r.f.domain_id = pk->ex->st.domain_id;
        dec_resolve_fields(t, &r.f, &r);
        if (dec_flow_is_v6(&r.f))
            r.f.flags |= FL0WER_FLOW_F_IPV6;
        dec_resolve_times(pk, t, &r, &r.f);
        r.f.sampling = dec_record_sampling(pk, t, &r);
        if ((rc = dec_emit(pk, &r.f)) != FL0WER_OK)
            return rc;
        if ((t->has & (DEC_HAS_REV_BYTES | DEC_HAS_REV_PKTS)) && dec_has_reverse(t, &r)) {
            struct fl0wer_flow rev;

            dec_reverse(t, &r.f, &r, &rev);
            if ((rc = dec_emit(pk, &rev)) != FL0WER_OK)
                return rc;
        }
    }
    return FL0WER_OK;
}
