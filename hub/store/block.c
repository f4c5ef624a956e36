/*
 * block.c - the flow block codec: up to STORE_MAX_BLOCK_FLOWS flow records in one RocksDB value,
 * column by column so that similar bytes sit together for the column family's compressor, with
 * the byte length of every variable-length column in the header so a reader can decode only the
 * columns it needs (a top-N by source address without a filter reads 6 of 28).
 *
 * Layout (docs/storage.md): version byte (3; version 2 is still read), varint count, varint min
 * last_ms, varint (max - min) last_ms, 18 varint byte lengths (the columns marked *), version 3
 * only: a varint mask of constant columns (bit c: plain varint column c, 2..13; bit 14 + j: byte
 * column j), then the columns, each holding every record's value:
 *   last_ms *      zigzag varint delta from the previous record (the first from min last_ms)
 *   first_ms *     zigzag varint of last_ms - first_ms
 *   bytes, packets, flows, domain_id, in_if, out_if, src_as, dst_as, sampling, src_port,
 *   dst_port, vlan *  varints; a constant column (v3) holds its one value once
 *   proto, tcp_flags, tos, src_mask, dst_mask, direction, version, flags, reserved[0..1]
 *                  one byte per record; a constant column (v3) holds one byte
 *   exporter, src_addr, dst_addr, next_hop *: a tag byte per record: 0 zero, 1 IPv4-mapped + 4
 *                  bytes, 2 same as the previous record, 3 16 bytes; v3 also 4..6: the 2nd to
 *                  4th most recently used distinct address of the column (a 4-entry
 *                  move-to-front list, so exporters taking turns cost one byte a record; the
 *                  encoder uses them in the exporter and next-hop columns)
 * Constant columns and the address list shrink a block by about a third before compression,
 * which is what RocksDB's write-ahead log, memtables and flush handle per flow.
 */
#include "store_int.h"

#include <stddef.h>
#include <string.h>

#define BLOCK_VERSION 3
#define N_VARINT_COLS 14 /* last, duration and the 12 plain varint columns */
#define ADDR_HIST 4      /* most recently used distinct addresses per address column (v3) */
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
    /* header <= 1 + 3 * 10 + 18 * 5 + 5; per record 14 varints <= 10 bytes, 10 bytes, 4 x 17 */
    return 128 + n * (N_VARINT_COLS * 10 + N_BYTE_COLS + N_ADDR_COLS * 17);
}

/* Where each byte and address column lives in struct fl0wer_flow, in column order (a table of
 * offsets: an array of member pointers built per call cost ~20 instructions a flow and column). */
static const size_t byte_col_off[N_BYTE_COLS] = {
    offsetof(struct fl0wer_flow, proto),     offsetof(struct fl0wer_flow, tcp_flags),
    offsetof(struct fl0wer_flow, tos),       offsetof(struct fl0wer_flow, src_mask),
    offsetof(struct fl0wer_flow, dst_mask),  offsetof(struct fl0wer_flow, direction),
    offsetof(struct fl0wer_flow, version),   offsetof(struct fl0wer_flow, flags),
    offsetof(struct fl0wer_flow, reserved),  offsetof(struct fl0wer_flow, reserved) + 1};
static const size_t addr_col_off[N_ADDR_COLS] = {
    offsetof(struct fl0wer_flow, exporter), offsetof(struct fl0wer_flow, src_addr),
    offsetof(struct fl0wer_flow, dst_addr), offsetof(struct fl0wer_flow, next_hop)};

/* The STORE_COL_* bit that asks for each byte column. */
static const uint32_t byte_col_mask[N_BYTE_COLS] = {
    STORE_COL_PROTO,     STORE_COL_TCP_FLAGS, STORE_COL_TOS,        STORE_COL_BYTE_REST,
    STORE_COL_BYTE_REST, STORE_COL_BYTE_REST, STORE_COL_BYTE_REST,  STORE_COL_FLOW_FLAGS,
    STORE_COL_BYTE_REST, STORE_COL_BYTE_REST};

static uint8_t *byte_col(struct fl0wer_flow *f, int i)
{
    return (uint8_t *)f + byte_col_off[i];
}

static uint8_t *addr_col(struct fl0wer_flow *f, int i)
{
    return (uint8_t *)f + addr_col_off[i];
}

/* An address as two 64-bit words (memory order), for cheap comparisons. */
static inline void addr_words(const uint8_t *a, uint64_t w[2])
{
    memcpy(w, a, 16);
}

/* The move-to-front list of an address column's recently used distinct addresses. */
struct addr_hist {
    uint64_t w[ADDR_HIST][2];
    int n;
};

/* Index of w in h, or -1. */
static inline int hist_find(const struct addr_hist *h, const uint64_t w[2])
{
    for (int k = 0; k < h->n; k++)
        if (h->w[k][0] == w[0] && h->w[k][1] == w[1])
            return k;
    return -1;
}

/* Moves w (found at k, or -1: new) to the front of h; the encoder and decoder both call it
 * once per record, so their lists stay equal. */
static inline void hist_use(struct addr_hist *h, const uint64_t w[2], int k)
{
    int from = k >= 0 ? k : (h->n < ADDR_HIST ? h->n++ : ADDR_HIST - 1);

    for (int j = from; j > 0; j--) {
        h->w[j][0] = h->w[j - 1][0];
        h->w[j][1] = h->w[j - 1][1];
    }
    h->w[0][0] = w[0];
    h->w[0][1] = w[1];
}

/* Encodes one address column of n records at p; returns the end. The list references (tags
 * 4..6) are used for the exporter and next-hop columns, which take turns among a few values;
 * source and destination addresses only refer to the previous record (the list gained them
 * 0.3 bytes a record for more work than it saved), which the decoder's list also covers. */
static uint8_t *encode_addr_col(const struct fl0wer_flow *const *flows, size_t n, int col,
                                uint8_t *p)
{
    static const uint8_t v4_mid[4] = {0, 0, 0xff, 0xff}; /* bytes 8..11 of ::ffff:a.b.c.d */
    struct addr_hist h = {.n = 0};
    bool list = col == 0 || col == 3; /* exporter, next hop */
    uint64_t last[2] = {0, 0};
    bool have_last = false;
    uint32_t mid;

    memcpy(&mid, v4_mid, 4);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *a = addr_col((struct fl0wer_flow *)flows[i], col);
        uint64_t w[2];
        addr_words(a, w);
        /* position in the recent list (0 = the previous record's address), or -1 */
        int k = list ? hist_find(&h, w) : have_last && w[0] == last[0] && w[1] == last[1] ? 0 : -1;
        if ((w[0] | w[1]) == 0) {
            *p++ = 0;
        } else if (k == 0) {
            *p++ = 2;
        } else if (k > 0) {
            *p++ = (uint8_t)(3 + k);
        } else if (w[0] == 0 && memcmp(a + 8, &mid, 4) == 0) {
            *p++ = 1;
            memcpy(p, a + 12, 4);
            p += 4;
        } else {
            *p++ = 3;
            memcpy(p, a, FL0WER_ADDR_LEN);
            p += FL0WER_ADDR_LEN;
        }
        if (list) {
            hist_use(&h, w, k);
        } else {
            last[0] = w[0];
            last[1] = w[1];
            have_last = true;
        }
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
       varint itself); a column whose records all hold the first one's value is written once */
    uint32_t consts = 0;
#define VARINT_COLUMN(field)                                                                    \
    do {                                                                                        \
        size_t i = 1;                                                                           \
        mark = p;                                                                               \
        while (i < n && flows[i]->field == flows[0]->field)                                     \
            i++;                                                                                \
        if (n > 0 && i == n) {                                                                  \
            consts |= 1u << col;                                                                \
            p = store_put_varint_p(p, flows[0]->field);                                         \
        } else {                                                                                \
            for (i = 0; i < n; i++)                                                             \
                p = store_put_varint_p(p, flows[i]->field);                                     \
        }                                                                                       \
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
    int bcol = 0;
#define BYTE_COLUMN(field)                                                                      \
    do {                                                                                        \
        size_t i = 1;                                                                           \
        while (i < n && flows[i]->field == flows[0]->field)                                     \
            i++;                                                                                \
        if (n > 0 && i == n) {                                                                  \
            consts |= 1u << (N_VARINT_COLS + bcol);                                             \
            *p++ = flows[0]->field;                                                             \
        } else {                                                                                \
            for (i = 0; i < n; i++)                                                             \
                *p++ = flows[i]->field;                                                         \
        }                                                                                       \
        bcol++;                                                                                 \
    } while (0)
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
    h += store_put_varint(h, consts);
    memmove(h, body, (size_t)(p - body));
    return (size_t)(h - out) + (size_t)(p - body);
}

/* Parsed header: count, time range and where each column starts and ends. */
struct block_cols {
    int version;
    size_t n;
    uint64_t lo, hi;
    uint32_t consts; /* constant columns (v3; 0 for v2) */
    struct store_cursor var[N_VARINT_COLS];
    const uint8_t *bytes[N_BYTE_COLS]; /* n bytes each, or 1 when constant */
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
    uint64_t lens[N_LEN_COLS], consts = 0;

    if (c.bad || (ver[0] != BLOCK_VERSION && ver[0] != 2) || count > STORE_MAX_BLOCK_FLOWS ||
        lo + span < lo)
        return FL0WER_STORE_ERR_CORRUPT;
    bc->version = ver[0];
    bc->n = (size_t)count;
    bc->lo = lo;
    bc->hi = lo + span;
    if (!cols)
        return 0;
    for (int i = 0; i < N_LEN_COLS; i++)
        lens[i] = store_get_varint(&c);
    if (bc->version >= 3)
        consts = store_get_varint(&c);
    /* constant columns only in v3, only the plain varint and byte columns, never when empty */
    if (c.bad || (consts & ~(uint64_t)0xfffffcu) != 0 || (consts && bc->n == 0))
        return FL0WER_STORE_ERR_CORRUPT;
    bc->consts = (uint32_t)consts;
    for (int i = 0; i < N_LEN_COLS; i++) {
        const uint8_t *p;
        if (i == N_VARINT_COLS)
            for (int j = 0; j < N_BYTE_COLS; j++) {
                size_t bl = (bc->consts >> (N_VARINT_COLS + j)) & 1u ? 1 : bc->n;
                if (!(bc->bytes[j] = store_get_bytes(&c, bl)))
                    return FL0WER_STORE_ERR_CORRUPT;
            }
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

/* Decodes one address column of n records (tags 4..6 only in version 3). */
static int decode_addr_col(struct store_cursor *c, struct fl0wer_flow *out, size_t n, int col,
                           int version)
{
    struct addr_hist h = {.n = 0};

    for (size_t i = 0; i < n; i++) {
        uint8_t *a = addr_col(&out[i], col);
        const uint8_t *tag = store_get_bytes(c, 1), *src;
        uint64_t w[2];
        int k = -1;
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
        case 3:
            if (!(src = store_get_bytes(c, FL0WER_ADDR_LEN)))
                return -1;
            memcpy(a, src, FL0WER_ADDR_LEN);
            break;
        case 2: case 4: case 5: case 6:
            k = tag[0] == 2 ? 0 : tag[0] - 3;
            if (k >= h.n || (k > 0 && version < 3))
                return -1;
            memcpy(a, h.w[k], FL0WER_ADDR_LEN);
            break;
        default:
            return -1;
        }
        addr_words(a, w);
        if (k < 0)
            k = hist_find(&h, w);
        hist_use(&h, w, k);
    }
    return c->p == c->end ? 0 : -1;
}

/* Decodes plain varint column col (2..13) into its field (one value for all when constant);
 * returns -1 on a bad column. */
static int decode_varint_col(struct store_cursor *c, struct fl0wer_flow *out, size_t n, int col,
                             bool constant)
{
    bool big = false;
#define VARINT_COLUMN(field, type)                                                              \
    if (constant) {                                                                             \
        uint64_t v = store_get_varint(c);                                                       \
        for (size_t i = 0; i < n; i++)                                                          \
            out[i].field = (type)v;                                                             \
        big |= (uint64_t)(type)v != v;                                                          \
    } else {                                                                                    \
        for (size_t i = 0; i < n; i++) {                                                        \
            uint64_t v = store_get_varint(c);                                                   \
            out[i].field = (type)v;                                                             \
            big |= (uint64_t)out[i].field != v;                                                 \
        }                                                                                       \
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
        if ((mask & (1u << col)) &&
            decode_varint_col(&bc.var[col], out, n, col, (bc.consts >> col) & 1u) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
    for (int col = 0; col < N_BYTE_COLS; col++)
        if (mask & byte_col_mask[col]) {
            size_t step = (bc.consts >> (N_VARINT_COLS + col)) & 1u ? 0 : 1;
            for (size_t i = 0; i < n; i++)
                *byte_col(&out[i], col) = bc.bytes[col][i * step];
        }
    for (int col = 0; col < N_ADDR_COLS; col++)
        if ((mask & (STORE_COL_EXPORTER << col)) &&
            decode_addr_col(&bc.addr[col], out, n, col, bc.version))
            return FL0WER_STORE_ERR_CORRUPT;
    *n_out = n;
    return 0;
}

int store_block_decode(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                       size_t *n)
{
    return store_block_decode_cols(buf, len, out, cap, n, STORE_COL_ALL);
}
