/*
 * fast.c - the fast plan for fixed-length flow templates (no variable-length field, not an
 * options template), which is what exporters send almost always.
 *
 * dec_fast_compile() runs once per template: it gives every field its byte offset in the record,
 * groups the fields by op kind (so one switch per group instead of one per field, and a tight
 * loop per group), and works out which resolve steps the template can need at all (fallbacks,
 * IPv6 flag, time form, per-record sampling, reverse records).
 *
 * dec_fast_data_set() then decodes each record straight into the next batch slot over a
 * prototype flow built once per data set (exporter, domain, version, and the sampling interval
 * and time when no field of the template can change them). Bounds: one check per record that
 * the whole fixed-length record lies before the set end; field offsets are below the record
 * length by construction.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define FLOW_SIZE sizeof(struct fl0wer_flow)

_Static_assert(offsetof(struct dec_rec, f) == 0, "the flow must start struct dec_rec");
_Static_assert(sizeof(struct dec_rec) <= UINT16_MAX, "op offsets are 16-bit");

/* has bits that make resolve_fields() do something. */
#define POST_FIELDS_HAS                                                                       \
    (DEC_HAS_OUT_BYTES | DEC_HAS_OUT_PKTS | DEC_HAS_TOT_BYTES | DEC_HAS_TOT_PKTS |             \
     DEC_HAS_FLOWS | DEC_HAS_BGP_NH | DEC_HAS_PHYS_IN | DEC_HAS_PHYS_OUT | DEC_HAS_VLAN_DST |  \
     DEC_HAS_ICMP | DEC_HAS_ICMP_TYPE | DEC_HAS_ICMP_CODE | DEC_HAS_DIRECTION)
#define POST_SAMPLING_HAS                                                                     \
    (DEC_HAS_PKT_INT | DEC_HAS_SAMP_INT | DEC_HAS_SAMPLER_INT | DEC_HAS_SAMPLER_ID |          \
     DEC_HAS_SELECTOR_ID)

/* Bytes an op of this kind writes at its destination. */
static unsigned write_size(uint8_t kind)
{
    switch (kind) {
    case OP_U8_1:
    case OP_U8:
        return 1;
    case OP_U16_2:
    case OP_U16:
        return 2;
    case OP_U32_4:
    case OP_U32:
        return 4;
    case OP_V4:
    case OP_V6:
        return 16;
    default:
        return 8;
    }
}

/* Rank of a flow field in the sorted order. */
static unsigned fast_kind(uint8_t kind)
{
    switch (kind) {
    case OP_U8_1:
        return FK_U8;
    case OP_U16_2:
        return FK_U16;
    case OP_U32_4:
        return FK_U32;
    case OP_U64_4:
        return FK_U64_4;
    case OP_U64_8:
        return FK_U64_8;
    case OP_V4:
        return FK_V4;
    case OP_V6:
        return FK_V6;
    default:
        return FK_OTHER;
    }
}

/* Orders flow fields by (FK_* rank, record offset). */
static int cmp_kind(const void *a, const void *b)
{
    const struct dec_fop *x = a, *y = b;
    unsigned kx = fast_kind(x->kind), ky = fast_kind(y->kind);

    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

/* Orders fields by destination. */
static int cmp_dst(const void *a, const void *b)
{
    const struct dec_fop *x = a, *y = b;

    return x->dst < y->dst ? -1 : x->dst > y->dst;
}

/*
 * True when two of the n fields write overlapping destinations (e.g. IPv4 and IPv6 source
 * address, or 9 and 29 both the source mask): then the template order decides which value wins
 * and the fields must not be reordered. tmp is scratch room for n fields.
 */
static bool dst_conflict(const struct dec_fop *f, uint16_t n, struct dec_fop *tmp)
{
    unsigned end = 0;

    memcpy(tmp, f, n * sizeof(*tmp));
    qsort(tmp, n, sizeof(*tmp), cmp_dst);
    for (uint16_t i = 0; i < n; i++) {
        if (i > 0 && tmp[i].dst < end)
            return true;
        end = tmp[i].dst + write_size(tmp[i].kind);
    }
    return false;
}

/* Appends to g the runs of equal kind of the n fields f (in their order); returns how many. */
static uint16_t make_groups(struct dec_fgroup *g, const struct dec_fop *f, uint16_t n,
                            uint8_t area)
{
    uint16_t ng = 0;

    for (uint16_t i = 0; i < n; i++) {
        if (ng > 0 && g[ng - 1].kind == f[i].kind) {
            g[ng - 1].n++;
            continue;
        }
        g[ng].kind = f[i].kind;
        g[ng].area = area;
        g[ng].n = 1;
        ng++;
    }
    return ng;
}

/*
 * Chooses how first_ms / last_ms are found for records of t. last_src[i] is the record offset
 * of the last field writing dec_rec.t[i] (the one whose value counts), or -1.
 */
static void compile_time(struct dec_template *t, const int32_t *last_src, const uint8_t *last_len)
{
    static const uint8_t forms[5][2] = {
        {DT_UP_FIRST, DT_UP_LAST}, {DT_MS_FIRST, DT_MS_LAST}, {DT_NS_FIRST, DT_NS_LAST},
        {DT_US_FIRST, DT_US_LAST}, {DT_S_FIRST, DT_S_LAST},
    };
    struct dec_fast *fp = &t->fp;
    uint64_t tb = t->has & DEC_HAS_TIMES;

    fp->time_mode = DTM_GENERIC;
    fp->time_mul = 1;
    fp->time_ntp = false;
    if (tb == 0) {
        fp->time_mode = DTM_CONST;
        return;
    }
    for (int i = 0; i < 5; i++) {
        uint8_t a = forms[i][0], b = forms[i][1];

        if (tb != (DEC_HAS_T(a) | DEC_HAS_T(b)) || last_src[a] < 0 || last_src[b] < 0)
            continue;
        fp->time_mode = i == 0 ? DTM_UPTIME : DTM_ABS;
        fp->time_src[0] = (uint16_t)last_src[a];
        fp->time_src[1] = (uint16_t)last_src[b];
        fp->time_len[0] = last_len[a];
        fp->time_len[1] = last_len[b];
        fp->time_ntp = a == DT_NS_FIRST || a == DT_US_FIRST;
        fp->time_mul = a == DT_S_FIRST ? 1000 : 1;
        return;
    }
}

/* Sets fp->post from what t fills. */
static void compile_post(struct dec_template *t)
{
    struct dec_fast *fp = &t->fp;

    if (t->has & POST_FIELDS_HAS)
        fp->post |= DEC_POST_FIELDS;
    if (t->has & POST_SAMPLING_HAS)
        fp->post |= DEC_POST_SAMPLING;
    if (t->has & (DEC_HAS_REV_BYTES | DEC_HAS_REV_PKTS))
        fp->post |= DEC_POST_REVERSE;
    if (t->has & DEC_HAS_BGP_NH)
        fp->post |= DEC_POST_BGP_NH;
    if (fp->nscratch > 0 &&
        ((fp->post & (DEC_POST_FIELDS | DEC_POST_SAMPLING | DEC_POST_REVERSE)) ||
         fp->time_mode == DTM_GENERIC))
        fp->post |= DEC_POST_SCRATCH;
}

/*
 * Builds the fast plan of t (ops, min_len, varlen, options and has already set) into t->fp and
 * sets t->fast. Templates the plan does not cover (options, variable length, records too long for
 * 16-bit offsets) keep t->fast false and take the general path of record.c.
 */
void dec_fast_compile(struct dec_template *t)
{
    struct dec_fop flow[DEC_MAX_FIELDS], scratch[DEC_MAX_FIELDS];
    struct dec_fast *fp = &t->fp;
    int32_t last_src[DT__COUNT];
    uint8_t last_len[DT__COUNT];
    uint32_t off = 0;
    uint16_t nf = 0, ns = 0;

    t->fast = false;
    if (t->varlen || t->options || t->min_len > UINT16_MAX || t->nops > DEC_MAX_FIELDS)
        return;
    memset(fp->kcount, 0, sizeof(fp->kcount));
    fp->post = 0;
    for (int i = 0; i < DT__COUNT; i++)
        last_src[i] = -1;
    for (uint16_t i = 0; i < t->nops; i++) {
        const struct dec_op *op = &t->ops[i];
        struct dec_fop f = {(uint16_t)off, op->dst, (uint8_t)op->len, op->kind};

        off += op->len;
        if (op->kind == OP_SKIP || op->kind == OP_VARSKIP || op->kind == OP_STR)
            continue; /* strings only matter in options records (interface names) */
        if (op->dst >= FLOW_SIZE) {
            if (op->dst >= offsetof(struct dec_rec, t) &&
                op->dst < offsetof(struct dec_rec, t) + sizeof(uint64_t) * DT__COUNT) {
                size_t k = (op->dst - offsetof(struct dec_rec, t)) / sizeof(uint64_t);

                last_src[k] = f.src;
                last_len[k] = f.len;
            }
            scratch[ns++] = f;
            continue;
        }
        if (op->kind == OP_V6 && (op->dst == offsetof(struct fl0wer_flow, src_addr) ||
                                  op->dst == offsetof(struct fl0wer_flow, dst_addr)))
            fp->post |= DEC_POST_V6;
        flow[nf++] = f;
    }
    fp->sorted = !dst_conflict(flow, nf, t->fp.fops);
    fp->nfgroups = 0;
    if (fp->sorted) {
        qsort(flow, nf, sizeof(flow[0]), cmp_kind);
        for (uint16_t i = 0; i < nf; i++)
            fp->kcount[fast_kind(flow[i].kind)]++;
    } else {
        fp->nfgroups = make_groups(fp->groups, flow, nf, 0);
    }
    fp->nsgroups = make_groups(fp->groups + fp->nfgroups, scratch, ns, 1);
    memcpy(fp->fops, flow, nf * sizeof(flow[0]));
    memcpy(fp->fops + nf, scratch, ns * sizeof(scratch[0]));
    fp->nflow = nf;
    fp->nscratch = ns;
    compile_time(t, last_src, last_len);
    compile_post(t);
    t->fast = true;
}

static inline void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, sizeof(v));
}

static inline uint64_t be64(const uint8_t *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v);
#else
    return dec_be(p, 8);
#endif
}

static inline uint32_t be32(const uint8_t *p)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t v;

    memcpy(&v, p, sizeof(v));
    return __builtin_bswap32(v);
#else
    return dec_be32(p);
#endif
}

/* Decodes one field of any kind (dec_op_kind) at rec into base. */
static void run_one(const struct dec_fop *op, const uint8_t *rec, uint8_t *base)
{
    switch (op->kind) {
    case OP_U8_1:
    case OP_U8:
        base[op->dst] = (uint8_t)dec_be(rec + op->src, op->len);
        break;
    case OP_U16_2:
    case OP_U16:
        put16(base + op->dst, (uint16_t)dec_be(rec + op->src, op->len));
        break;
    case OP_U32_4:
    case OP_U32:
        put32(base + op->dst, (uint32_t)dec_be(rec + op->src, op->len));
        break;
    case OP_U64_4:
    case OP_U64_8:
    case OP_U64:
        put64(base + op->dst, dec_be(rec + op->src, op->len));
        break;
    case OP_V4:
        if ((rec[op->src] | rec[op->src + 1] | rec[op->src + 2] | rec[op->src + 3]) != 0)
            fl0wer_addr_from_v4(base + op->dst, rec + op->src);
        break;
    case OP_V6: {
        uint64_t h, l;

        memcpy(&h, rec + op->src, 8);
        memcpy(&l, rec + op->src + 8, 8);
        if ((h | l) != 0)
            memcpy(base + op->dst, rec + op->src, FL0WER_ADDR_LEN);
        break;
    }
    case OP_NTP:
        put64(base + op->dst, dec_ntp_to_ms(be64(rec + op->src)));
        break;
    default:
        break;
    }
}

/*
 * Runs ng groups of fields (starting at fields op) over the record rec, in their order: area 0
 * into fb (the batch slot), area 1 into sb (the scratch dec_rec). Addresses of 0.0.0.0 / :: leave
 * the destination untouched, as in the general path.
 */
static void run_groups(const struct dec_fgroup *g, uint16_t ng, const struct dec_fop *op,
                       const uint8_t *rec, uint8_t *fb, uint8_t *sb)
{
    for (const struct dec_fgroup *ge = g + ng; g < ge; g++) {
        uint8_t *base = g->area ? sb : fb;
        const struct dec_fop *oe = op + g->n;

        switch (g->kind) {
        case OP_U8_1:
            for (; op < oe; op++)
                base[op->dst] = rec[op->src];
            break;
        case OP_U16_2:
            for (; op < oe; op++)
                put16(base + op->dst, dec_be16(rec + op->src));
            break;
        case OP_U32_4:
            for (; op < oe; op++)
                put32(base + op->dst, be32(rec + op->src));
            break;
        case OP_U64_4:
            for (; op < oe; op++)
                put64(base + op->dst, be32(rec + op->src));
            break;
        case OP_U64_8:
            for (; op < oe; op++)
                put64(base + op->dst, be64(rec + op->src));
            break;
        default:
            for (; op < oe; op++)
                run_one(op, rec, base);
            break;
        }
    }
}

/*
 * Runs the flow fields of a sorted plan (FK_* order, no two writing the same bytes) over rec into
 * the slot f, which holds the prototype (addresses all zero).
 */
static inline void run_sorted(const struct dec_fast *fp, const uint8_t *rec, uint8_t *f)
{
    const struct dec_fop *op = fp->fops, *e;

    for (e = op + fp->kcount[FK_U8]; op < e; op++)
        f[op->dst] = rec[op->src];
    for (e = op + fp->kcount[FK_U16]; op < e; op++)
        put16(f + op->dst, dec_be16(rec + op->src));
    for (e = op + fp->kcount[FK_U32]; op < e; op++)
        put32(f + op->dst, be32(rec + op->src));
    for (e = op + fp->kcount[FK_U64_4]; op < e; op++)
        put64(f + op->dst, be32(rec + op->src));
    for (e = op + fp->kcount[FK_U64_8]; op < e; op++)
        put64(f + op->dst, be64(rec + op->src));
    for (e = op + fp->kcount[FK_V4]; op < e; op++) {
        uint32_t a;

        memcpy(&a, rec + op->src, sizeof(a));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* bytes 0..7 stay zero; bytes 8..15 become 00 00 ff ff a b c d (or stay zero) */
        put64(f + op->dst + 8, a != 0 ? (uint64_t)a << 32 | UINT64_C(0xffff0000) : 0);
#else
        if (a != 0)
            fl0wer_addr_from_v4(f + op->dst, rec + op->src);
#endif
    }
    for (e = op + fp->kcount[FK_V6]; op < e; op++)
        memcpy(f + op->dst, rec + op->src, FL0WER_ADDR_LEN); /* :: over :: is no change */
    for (e = op + fp->kcount[FK_OTHER]; op < e; op++)
        run_one(op, rec, f);
}

/* Decodes the scratch fields of record rec into r. */
static void run_scratch(const struct dec_fast *fp, const uint8_t *rec, struct dec_rec *r)
{
    if (fp->post & DEC_POST_BGP_NH)
        memset(r->bgp_nh, 0, sizeof(r->bgp_nh));
    run_groups(fp->groups + fp->nfgroups, fp->nsgroups, fp->fops + fp->nflow, rec, NULL,
               (uint8_t *)r);
}

/* Value of the time field at rec + src (len bytes) as its op would have stored it. */
static inline uint64_t time_field(const struct dec_fast *fp, const uint8_t *rec, int end)
{
    const uint8_t *p = rec + fp->time_src[end];

    if (fp->time_ntp)
        return dec_ntp_to_ms(be64(p));
    return fp->time_len[end] == 4 ? be32(p) : dec_be(p, fp->time_len[end]);
}

/* How one data set finds first_ms / last_ms (the template's time mode fixed for the packet). */
enum set_time {
    ST_CONST,   /* in the prototype */
    ST_GENERIC, /* dec_resolve_times() */
    ST_UPTIME,  /* v9 sysUpTime-relative, against the packet header */
    ST_LINEAR,  /* value * mul + add: absolute forms, IPFIX sysUpTime + systemInitTime */
};

/* Chooses the set_time of template t for the packet pk; *add is the ST_LINEAR offset. */
static enum set_time set_time_mode(const struct dec_pkt *pk, const struct dec_fast *fp,
                                   uint64_t *add)
{
    *add = 0;
    switch (fp->time_mode) {
    case DTM_CONST:
        return ST_CONST;
    case DTM_ABS:
        return ST_LINEAR;
    case DTM_UPTIME:
        if (pk->version != FL0WER_EXPORT_IPFIX)
            return pk->export_ms != 0 ? ST_UPTIME : ST_GENERIC;
        *add = pk->ex->sysinit_ms;
        return *add != 0 ? ST_LINEAR : ST_GENERIC;
    default:
        return ST_GENERIC;
    }
}

/*
 * Sets f->first_ms / last_ms of a record in mode ST_UPTIME / ST_LINEAR, reading the two time
 * fields straight from the record. Returns false when an end comes out zero: the caller then
 * lets dec_resolve_times() decide (which agrees with this whenever both ends are non-zero).
 */
static inline bool fast_times(const struct dec_pkt *pk, const struct dec_fast *fp,
                              enum set_time st, uint64_t add, const uint8_t *rec,
                              struct fl0wer_flow *f)
{
    uint64_t first = time_field(fp, rec, 0), last = time_field(fp, rec, 1);

    if (st == ST_UPTIME) {
        first = dec_from_uptime(pk->export_ms, pk->sys_uptime, first);
        last = dec_from_uptime(pk->export_ms, pk->sys_uptime, last);
    } else {
        first = first * fp->time_mul + add;
        last = last * fp->time_mul + add;
    }
    f->first_ms = first;
    f->last_ms = last;
    return first != 0 && last != 0;
}

/* The flow every record of this data set starts from. */
static void prototype(const struct dec_pkt *pk, const struct dec_template *t,
                      struct fl0wer_flow *p)
{
    fl0wer_flow_init(p);
    p->version = pk->version;
    memcpy(p->exporter, pk->src->addr, FL0WER_ADDR_LEN);
    p->domain_id = pk->ex->st.domain_id;
    if (!(t->fp.post & DEC_POST_SAMPLING))
        p->sampling = dec_packet_sampling(pk);
    if (t->fp.time_mode == DTM_CONST) {
        p->first_ms = p->last_ms = pk->export_ms;
        if (p->first_ms == 0) {
            p->first_ms = p->last_ms = pk->src->recv_ms;
            p->flags |= FL0WER_FLOW_F_TIME_RECV;
        }
    }
}

/* The per-record resolve steps other than time (fallbacks, IPv6 flag, sampling). */
static void post_fields(const struct dec_pkt *pk, const struct dec_template *t,
                        const struct dec_rec *r, struct fl0wer_flow *f)
{
    uint8_t post = t->fp.post;

    if (post & DEC_POST_FIELDS)
        dec_resolve_fields(t, f, r);
    if ((post & DEC_POST_V6) && dec_flow_is_v6(f))
        f->flags |= FL0WER_FLOW_F_IPV6;
    if (post & DEC_POST_SAMPLING)
        f->sampling = dec_record_sampling(pk, t, r);
}

/*
 * Decodes the records of a data set body [p, end) with the fixed-length flow template t into the
 * batch (same results as the general path of record.c). What is left shorter than a record is
 * padding. Returns 0 or FL0WER_ERR_CALLBACK.
 */
int dec_fast_data_set(struct dec_pkt *pk, const struct dec_template *t, const uint8_t *p,
                      const uint8_t *end)
{
    struct fl0wer_decoder *d = pk->d;
    const struct dec_fast *fp = &t->fp;
    const size_t rlen = t->min_len;
    const uint8_t post = fp->post;
    struct fl0wer_flow proto, *f, *const last = d->batch + DEC_BATCH;
    struct dec_rec r; /* the non-flow values (times, fallbacks, sampling, reverse) */
    uint32_t nrec = 0, nrev = 0;
    enum set_time st;
    uint64_t add;
    int rc = FL0WER_OK;

    if (pk->cb_failed)
        return FL0WER_ERR_CALLBACK;
    if ((size_t)(end - p) < rlen)
        return FL0WER_OK;
    prototype(pk, t, &proto);
    st = set_time_mode(pk, fp, &add);
    f = d->batch + d->nbatch;
    for (; (size_t)(end - p) >= rlen; p += rlen) {
        struct fl0wer_flow *cur = f;

        memcpy(cur, &proto, sizeof(*cur));
        if (fp->sorted)
            run_sorted(fp, p, (uint8_t *)cur);
        else
            run_groups(fp->groups, fp->nfgroups, fp->fops, p, (uint8_t *)cur, NULL);
        if (post & DEC_POST_SCRATCH)
            run_scratch(fp, p, &r);
        if (post & (DEC_POST_FIELDS | DEC_POST_V6 | DEC_POST_SAMPLING))
            post_fields(pk, t, &r, cur);
        if (st != ST_CONST && (st == ST_GENERIC || !fast_times(pk, fp, st, add, p, cur))) {
            if (!(post & DEC_POST_SCRATCH))
                run_scratch(fp, p, &r);
            dec_resolve_times(pk, t, &r, cur);
        }
        nrec++;
        if (++f == last) {
            d->nbatch = DEC_BATCH;
            f = d->batch;
            if ((rc = dec_flush(pk)) != FL0WER_OK)
                break;
        }
        if ((post & DEC_POST_REVERSE) && dec_has_reverse(t, &r)) {
            /* cur stays intact across a flush: the callback only reads the batch */
            dec_reverse(t, cur, &r, f);
            nrev++;
            if (++f == last) {
                d->nbatch = DEC_BATCH;
                f = d->batch;
                if ((rc = dec_flush(pk)) != FL0WER_OK)
                    break;
            }
        }
    }
    d->nbatch = (size_t)(f - d->batch);
    pk->data_records += nrec;
    pk->ex->st.records += nrec + nrev;
    return rc;
}
