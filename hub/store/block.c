/*
 * block.c - the flow block codec: up to STORE_MAX_BLOCK_FLOWS flow records in one RocksDB value,
 * column by column so that similar bytes sit together for the column family's compressor.
 *
 * Layout (docs/storage.md): version byte (1), varint count, varint min last_ms, varint
 * (max - min) last_ms, then one column after another, each holding every record's value:
 *   last_ms        zigzag varint delta from the previous record (the first from min last_ms)
 *   first_ms       zigzag varint of last_ms - first_ms
 *   bytes, packets, flows, domain_id, in_if, out_if, src_as, dst_as, sampling, src_port,
 *   dst_port, vlan varints
 *   proto, tcp_flags, tos, src_mask, dst_mask, direction, version, flags, reserved[0..1] bytes
 *   exporter, src_addr, dst_addr, next_hop: a tag byte (0 zero, 1 IPv4-mapped + 4 bytes, 2 same
 *   as the previous record, 3 16 bytes)
 */
#include "store_int.h"

#include <string.h>

#define BLOCK_VERSION 1
#define N_VARINT_COLS 13
#define N_BYTE_COLS 10

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
    /* 13 varints <= 10 bytes, 10 byte columns, 4 addresses <= 17 bytes */
    return 32 + n * (N_VARINT_COLS * 10 + N_BYTE_COLS + 4 * 17);
}

static uint8_t *byte_col(struct fl0wer_flow *f, int i)
{
    uint8_t *cols[N_BYTE_COLS] = {&f->proto, &f->tcp_flags, &f->tos, &f->src_mask, &f->dst_mask,
                                  &f->direction, &f->version, &f->flags, &f->reserved[0],
                                  &f->reserved[1]};
    return cols[i];
}

static uint8_t *addr_col(struct fl0wer_flow *f, int i)
{
    uint8_t *cols[4] = {f->exporter, f->src_addr, f->dst_addr, f->next_hop};
    return cols[i];
}

size_t store_block_encode(const struct fl0wer_flow *const *flows, size_t n, uint8_t *out)
{
    uint8_t *p = out;
    uint64_t lo = UINT64_MAX, hi = 0;

    for (size_t i = 0; i < n; i++) {
        lo = flows[i]->last_ms < lo ? flows[i]->last_ms : lo;
        hi = flows[i]->last_ms > hi ? flows[i]->last_ms : hi;
    }
    if (n == 0)
        lo = 0;
    *p++ = BLOCK_VERSION;
    p += store_put_varint(p, n);
    p += store_put_varint(p, lo);
    p += store_put_varint(p, hi - lo);

    uint64_t prev = lo;
    for (size_t i = 0; i < n; i++) {
        p += store_put_varint(p, zigzag((int64_t)(flows[i]->last_ms - prev)));
        prev = flows[i]->last_ms;
    }
    for (size_t i = 0; i < n; i++)
        p += store_put_varint(p, zigzag((int64_t)(flows[i]->last_ms - flows[i]->first_ms)));
    /* one loop per column, fields read directly (a switch per value costs more than the
       varint itself); same order as varint_col and byte_col */
#define VARINT_COLUMN(field)                                                                    \
    for (size_t i = 0; i < n; i++)                                                              \
        p += store_put_varint(p, flows[i]->field)
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
    for (int c = 0; c < 4; c++) {
        const uint8_t *last = NULL;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *a = addr_col((struct fl0wer_flow *)flows[i], c);
            if (fl0wer_addr_is_zero(a)) {
                *p++ = 0;
            } else if (last && memcmp(a, last, FL0WER_ADDR_LEN) == 0) {
                *p++ = 2;
            } else if (fl0wer_addr_is_v4(a)) {
                *p++ = 1;
                memcpy(p, a + 12, 4);
                p += 4;
            } else {
                *p++ = 3;
                memcpy(p, a, FL0WER_ADDR_LEN);
                p += FL0WER_ADDR_LEN;
            }
            last = a;
        }
    }
    return (size_t)(p - out);
}

int store_block_header(const uint8_t *buf, size_t len, size_t *n, uint64_t *min_last,
                       uint64_t *max_last)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *ver = store_get_bytes(&c, 1);
    uint64_t count = store_get_varint(&c);
    uint64_t lo = store_get_varint(&c);
    uint64_t span = store_get_varint(&c);

    if (c.bad || ver[0] != BLOCK_VERSION || count > STORE_MAX_BLOCK_FLOWS || lo + span < lo)
        return FL0WER_STORE_ERR_CORRUPT;
    *n = (size_t)count;
    *min_last = lo;
    *max_last = lo + span;
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
    return 0;
}

int store_block_decode(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                       size_t *n_out)
{
    size_t n;
    uint64_t lo, hi;
    struct store_cursor c = {buf, buf + len, 0};

    if (store_block_header(buf, len, &n, &lo, &hi) != 0 || n > cap)
        return FL0WER_STORE_ERR_CORRUPT;
    store_get_bytes(&c, 1);
    store_get_varint(&c);
    store_get_varint(&c);
    store_get_varint(&c);

    uint64_t prev = lo;
    for (size_t i = 0; i < n; i++) {
        prev += (uint64_t)unzigzag(store_get_varint(&c));
        out[i].last_ms = prev;
    }
    for (size_t i = 0; i < n; i++)
        out[i].first_ms = out[i].last_ms - (uint64_t)unzigzag(store_get_varint(&c));
    /* columns in the encoder's order; a value too large for its field is corrupt */
    bool big = false;
#define VARINT_COLUMN(field, type)                                                              \
    for (size_t i = 0; i < n; i++) {                                                            \
        uint64_t v = store_get_varint(&c);                                                      \
        out[i].field = (type)v;                                                                 \
        big |= (uint64_t)out[i].field != v;                                                     \
    }
    VARINT_COLUMN(bytes, uint64_t)
    VARINT_COLUMN(packets, uint64_t)
    VARINT_COLUMN(flows, uint64_t)
    VARINT_COLUMN(domain_id, uint32_t)
    VARINT_COLUMN(in_if, uint32_t)
    VARINT_COLUMN(out_if, uint32_t)
    VARINT_COLUMN(src_as, uint32_t)
    VARINT_COLUMN(dst_as, uint32_t)
    VARINT_COLUMN(sampling, uint32_t)
    VARINT_COLUMN(src_port, uint16_t)
    VARINT_COLUMN(dst_port, uint16_t)
    VARINT_COLUMN(vlan, uint16_t)
#undef VARINT_COLUMN
    if (big || c.bad)
        return FL0WER_STORE_ERR_CORRUPT;
    for (int col = 0; col < N_BYTE_COLS; col++) {
        const uint8_t *b = store_get_bytes(&c, n);
        if (!b)
            return FL0WER_STORE_ERR_CORRUPT;
        for (size_t i = 0; i < n; i++)
            *byte_col(&out[i], col) = b[i];
    }
    for (int col = 0; col < 4; col++)
        if (decode_addr_col(&c, out, n, col) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
    if (c.bad || c.p != c.end)
        return FL0WER_STORE_ERR_CORRUPT;
    *n_out = n;
    return 0;
}
