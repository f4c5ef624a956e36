/*
 * block.c - the flow block codec: up to STORE_MAX_BLOCK_FLOWS flow records in one RocksDB value,
 * column by column so that similar bytes sit together for the column family's compressor, with
 * the byte length of every variable-length column in the header so a reader can decode only the
 * columns it needs (a top-N by source address without a filter reads 6 of 28).
 *
 * Layout (docs/storage.md): version byte (2), varint count, varint min last_ms, varint
 * (max - min) last_ms, 18 varint byte lengths (the columns marked *), then the columns, each
 * holding every record's value:
 *   last_ms *      zigzag varint delta from the previous record (the first from min last_ms)
 *   first_ms *     zigzag varint of last_ms - first_ms
 *   bytes, packets, flows, domain_id, in_if, out_if, src_as, dst_as, sampling, src_port,
 *   dst_port, vlan *  varints
 *   proto, tcp_flags, tos, src_mask, dst_mask, direction, version, flags, reserved[0..1]
 *                  one byte per record
 *   exporter, src_addr, dst_addr, next_hop *: a tag byte (0 zero, 1 IPv4-mapped + 4 bytes,
 *                  2 same as the previous record, 3 16 bytes)
 */
#include "store_int.h"

#include <string.h>

#define BLOCK_VERSION 2
#define N_VARINT_COLS 14 /* last, duration and the 12 plain varint columns */
#define N_BYTE_COLS 10
#define N_ADDR_COLS 4
#define N_LEN_COLS (N_VARINT_COLS + N_ADDR_COLS)

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

size_t store_block_bound(size_t n)
{
    /* header <= 1 + 3 * 10 + 18 * 5; per record 14 varints <= 10 bytes, 10 bytes, 4 x 17 */
    return 128 + n * (N_VARINT_COLS * 10 + N_BYTE_COLS + N_ADDR_COLS * 17);
}

static uint8_t *byte_col(struct fl0wer_flow *f, int i)
{
    uint8_t *cols[N_BYTE_COLS] = {&f->proto, &f->tcp_flags, &f->tos, &f->src_mask,
                                  &f->dst_mask, &f->direction, &f->version, &f->flags,
                                  &f->reserved[0], &f->reserved[1]};
    return cols[i];
}

static uint8_t *addr_col(struct fl0wer_flow *f, int i)
{
    uint8_t *cols[N_ADDR_COLS] = {f->exporter, f->src_addr, f->dst_addr, f->next_hop};
    return cols[i];
}

/* An address as two 64-bit words (memory order), for cheap comparisons. */
static inline void addr_words(const uint8_t *a, uint64_t w[2])
{
    memcpy(w, a, 16);
}

/* Encodes one address column of n records at p; returns the end. */
static uint8_t *encode_addr_col(const struct fl0wer_flow *const *flows, size_t n, int col,
                                uint8_t *p)
{
    static const uint8_t v4_mid[4] = {0, 0, 0xff, 0xff}; /* bytes 8..11 of ::ffff:a.b.c.d */
    uint64_t last[2] = {0, 0};
    uint32_t mid;
    bool have_last = false;

    memcpy(&mid, v4_mid, 4);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = addr_col((struct fl0wer_flow *)flows[i], col);
        uint64_t w[2];
        addr_words(a, w);
        if ((w[0] | w[1]) == 0) {
            *p++ = 0;
        } else if (have_last && w[0] == last[0] && w[1] == last[1]) {
            *p++ = 2;
        } else if (w[0] == 0 && memcmp(a + 8, &mid, 4) == 0) {
            *p++ = 1;
            memcpy(p, a + 12, 4);
            p += 4;
        } else {
            *p++ = 3;
            memcpy(p, a, FL0WER_ADDR_LEN);
            p += FL0WER_ADDR_LEN;
        }
        last[0] = w[0];
        last[1] = w[1];
        have_last = true;
    }
    return p;
}

size_t store_block_encode(const struct fl0wer_flow *const *flows, size_t n, uint8_t *out)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    size_t lens[N_LEN_COLS];
    int col = 0;

    for (size_t i = 0; i < n; i++) {
        lo = flows[i]->last_ms < lo ? flows[i]->last_ms : lo;
        hi = flows[i]->last_ms > hi ? flows[i]->last_ms : hi;
    }
    if (n == 0)
        lo = hi = 0;
    /* columns first, after room for the largest header; the header is written then moved */
    uint8_t *body = out + 128, *p = body, *mark = p;

    uint64_t prev = lo;
    for (size_t i = 0; i < n; i++) {
        p = store_put_varint_p(p, zigzag((int64_t)(flows[i]->last_ms - prev)));
        prev = flows[i]->last_ms;
    }
    lens[col++] = (size_t)(p - mark);
    mark = p;
    for (size_t i = 0; i < n; i++)
        p = store_put_varint_p(p, zigzag((int64_t)(flows[i]->last_ms - flows[i]->first_ms)));
    lens[col++] = (size_t)(p - mark);
    /* one loop per column, fields read directly (a switch per value costs more than the
       varint itself) */
#define VARINT_COLUMN(field)                                                                    \
    do {                                                                                        \
        mark = p;                                                                               \
        for (size_t i = 0; i < n; i++)                                                          \
            p = store_put_varint_p(p, flows[i]->field);                                         \
        lens[col++] = (size_t)(p - mark);                                                       \
    } while (0)
    VARINT_COLUMN(bytes);
    VARINT_COLUMN(packets);
    VARINT_COLUMN(flows);
    VARINT_COLUMN(domain_id);
    VARINT_COLUMN(in_if);
    VARINT_COLUMN(out_if);
    VARINT_COLUMN(src_as);
    VARINT_COLUMN(dst_as);
    VARINT_COLUMN(sampling);
    VARINT_COLUMN(src_port);
    VARINT_COLUMN(dst_port);
    VARINT_COLUMN(vlan);
#undef VARINT_COLUMN
#define BYTE_COLUMN(field)                                                                      \
    for (size_t i = 0; i < n; i++)                                                              \
        *p++ = flows[i]->field
    BYTE_COLUMN(proto);
    BYTE_COLUMN(tcp_flags);
    BYTE_COLUMN(tos);
    BYTE_COLUMN(src_mask);
    BYTE_COLUMN(dst_mask);
    BYTE_COLUMN(direction);
    BYTE_COLUMN(version);
    BYTE_COLUMN(flags);
    BYTE_COLUMN(reserved[0]);
    BYTE_COLUMN(reserved[1]);
#undef BYTE_COLUMN
    for (int a = 0; a < N_ADDR_COLS; a++) {
        mark = p;
        p = encode_addr_col(flows, n, a, p);
        lens[col++] = (size_t)(p - mark);
    }

    uint8_t *h = out;
    *h++ = BLOCK_VERSION;
    h += store_put_varint(h, n);
    h += store_put_varint(h, lo);
    h += store_put_varint(h, hi - lo);
    for (int i = 0; i < N_LEN_COLS; i++)
        h += store_put_varint(h, lens[i]);
    memmove(h, body, (size_t)(p - body));
    return (size_t)(h - out) + (size_t)(p - body);
}

/* Parsed header: count, time range and where each column starts and ends. */
struct block_cols {
    size_t n;
    uint64_t lo, hi;
    struct store_cursor var[N_VARINT_COLS];
    const uint8_t *bytes; /* N_BYTE_COLS columns of n bytes */
    struct store_cursor addr[N_ADDR_COLS];
};

/* Reads the header; with cols, also the column table (checked to add up to len). */
static int parse_header(const uint8_t *buf, size_t len, struct block_cols *bc, bool cols)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *ver = store_get_bytes(&c, 1);
    uint64_t count = store_get_varint(&c);
    uint64_t lo = store_get_varint(&c);
    uint64_t span = store_get_varint(&c);
    uint64_t lens[N_LEN_COLS];

    if (c.bad || ver[0] != BLOCK_VERSION || count > STORE_MAX_BLOCK_FLOWS || lo + span < lo)
        return FL0WER_STORE_ERR_CORRUPT;
    bc->n = (size_t)count;
    bc->lo = lo;
    bc->hi = lo + span;
    if (!cols)
        return 0;
    for (int i = 0; i < N_LEN_COLS; i++)
        lens[i] = store_get_varint(&c);
    if (c.bad)
        return FL0WER_STORE_ERR_CORRUPT;
    for (int i = 0; i < N_LEN_COLS; i++) {
        const uint8_t *p;
        if (i == N_VARINT_COLS && !(bc->bytes = store_get_bytes(&c, N_BYTE_COLS * bc->n)))
            return FL0WER_STORE_ERR_CORRUPT;
        if (lens[i] > len || !(p = store_get_bytes(&c, (size_t)lens[i])))
            return FL0WER_STORE_ERR_CORRUPT;
        struct store_cursor col = {p, p + lens[i], 0};
        if (i < N_VARINT_COLS)
            bc->var[i] = col;
        else
            bc->addr[i - N_VARINT_COLS] = col;
    }
    return c.p == c.end ? 0 : FL0WER_STORE_ERR_CORRUPT;
}

int store_block_header(const uint8_t *buf, size_t len, size_t *n, uint64_t *min_last,
                       uint64_t *max_last)
{
    struct block_cols bc;
    int rc = parse_header(buf, len, &bc, false);
    if (rc != 0)
        return rc;
    *n = bc.n;
    *min_last = bc.lo;
    *max_last = bc.hi;
    return 0;
}

/* Decodes one address column of n records. */
static int decode_addr_col(struct store_cursor *c, struct fl0wer_flow *out, size_t n, int col)
{
    const uint8_t *last = NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t *a = addr_col(&out[i], col);
        const uint8_t *tag = store_get_bytes(c, 1), *src;
        if (!tag)
            return -1;
        switch (tag[0]) {
        case 0:
            memset(a, 0, FL0WER_ADDR_LEN);
            break;
        case 1:
            if (!(src = store_get_bytes(c, 4)))
                return -1;
            fl0wer_addr_from_v4(a, src);
            break;
        case 2:
            if (!last)
                return -1;
            memcpy(a, last, FL0WER_ADDR_LEN);
            break;
        case 3:
            if (!(src = store_get_bytes(c, FL0WER_ADDR_LEN)))
                return -1;
            memcpy(a, src, FL0WER_ADDR_LEN);
            break;
        default:
            return -1;
        }
        last = a;
    }
    return c->p == c->end ? 0 : -1;
}

/* Decodes plain varint column col (2..13) into its field; returns -1 on a bad column. */
static int decode_varint_col(struct store_cursor *c, struct fl0wer_flow *out, size_t n, int col)
{
    bool big = false;
#define VARINT_COLUMN(field, type)                                                              \
    for (size_t i = 0; i < n; i++) {                                                            \
        uint64_t v = store_get_varint(c);                                                       \
        out[i].field = (type)v;                                                                 \
        big |= (uint64_t)out[i].field != v;                                                     \
    }                                                                                           \
    break
    switch (col) {
    case 2: VARINT_COLUMN(bytes, uint64_t);
    case 3: VARINT_COLUMN(packets, uint64_t);
    case 4: VARINT_COLUMN(flows, uint64_t);
    case 5: VARINT_COLUMN(domain_id, uint32_t);
    case 6: VARINT_COLUMN(in_if, uint32_t);
    case 7: VARINT_COLUMN(out_if, uint32_t);
    case 8: VARINT_COLUMN(src_as, uint32_t);
    case 9: VARINT_COLUMN(dst_as, uint32_t);
    case 10: VARINT_COLUMN(sampling, uint32_t);
    case 11: VARINT_COLUMN(src_port, uint16_t);
    case 12: VARINT_COLUMN(dst_port, uint16_t);
    default: VARINT_COLUMN(vlan, uint16_t);
    }
#undef VARINT_COLUMN
    return big || c->bad || c->p != c->end ? -1 : 0;
}

int store_block_decode_cols(const uint8_t *buf, size_t len, struct fl0wer_flow *out,
                            size_t cap, size_t *n_out, uint32_t mask)
{
    struct block_cols bc;
    size_t n;

    if (parse_header(buf, len, &bc, true) != 0 || bc.n > cap)
        return FL0WER_STORE_ERR_CORRUPT;
    n = bc.n;
    if (mask & STORE_COL_FIRST)
        mask |= STORE_COL_LAST;
    if (mask & STORE_COL_LAST) {
        uint64_t prev = bc.lo;
        for (size_t i = 0; i < n; i++) {
            prev += (uint64_t)unzigzag(store_get_varint(&bc.var[0]));
            out[i].last_ms = prev;
        }
        if (bc.var[0].bad || bc.var[0].p != bc.var[0].end)
            return FL0WER_STORE_ERR_CORRUPT;
    }
    if (mask & STORE_COL_FIRST) {
        for (size_t i = 0; i < n; i++)
            out[i].first_ms = out[i].last_ms - (uint64_t)unzigzag(store_get_varint(&bc.var[1]));
        if (bc.var[1].bad || bc.var[1].p != bc.var[1].end)
            return FL0WER_STORE_ERR_CORRUPT;
    }
    for (int col = 2; col < N_VARINT_COLS; col++)
        if ((mask & (1u << col)) && decode_varint_col(&bc.var[col], out, n, col) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
    if (mask & STORE_COL_BYTECOLS)
        for (int col = 0; col < N_BYTE_COLS; col++)
            for (size_t i = 0; i < n; i++)
                *byte_col(&out[i], col) = bc.bytes[col * n + i];
    for (int col = 0; col < N_ADDR_COLS; col++)
        if ((mask & (STORE_COL_EXPORTER << col)) && decode_addr_col(&bc.addr[col], out, n, col))
            return FL0WER_STORE_ERR_CORRUPT;
    *n_out = n;
    return 0;
}

int store_block_decode(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                       size_t *n)
{
    return store_block_decode_cols(buf, len, out, cap, n, STORE_COL_ALL);
}
