/*
 * block.c - the flow block encoder (block_decode.c reads blocks back): up to
 * STORE_MAX_BLOCK_FLOWS flow records in one RocksDB value, column by column so that similar
 * bytes sit together for the column family's compressor, with the byte length of every
 * variable-length column in the header so a reader can decode only the columns it needs (a
 * top-N by source address without a filter reads 6 of 28).
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
#include "block_int.h"

size_t store_block_bound(size_t n)
{
    /* header <= 1 + 3 * 10 + 18 * 5 + 5; per record 14 varints <= 10 bytes, 10 bytes, 4 x 17 */
    return 128 + n * (N_VARINT_COLS * 10 + N_BYTE_COLS + N_ADDR_COLS * 17);
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
