/*
 * batch_write.h - direct msgpack writers for the batch builder (not public): each writes one
 * value in its smallest msgpack form at p, where the caller has reserved enough space, and
 * returns the end. The bytes are ordinary msgpack (tests/batch unpacks them with msgpack-c).
 */
#ifndef FL0WER_BATCH_WRITE_H
#define FL0WER_BATCH_WRITE_H

#include <stdint.h>
#include <string.h>

#include "fl0wer/flow.h"

static inline uint8_t *wr_be16(uint8_t *p, uint8_t t, uint64_t v)
{
    p[0] = t;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
    return p + 3;
}

static inline uint8_t *wr_be32(uint8_t *p, uint8_t t, uint64_t v)
{
    uint32_t x = __builtin_bswap32((uint32_t)v);
    p[0] = t;
    memcpy(p + 1, &x, 4);
    return p + 5;
}

static inline uint8_t *wr_be64(uint8_t *p, uint8_t t, uint64_t v)
{
    uint64_t x = __builtin_bswap64(v);
    p[0] = t;
    memcpy(p + 1, &x, 8);
    return p + 9;
}

/* Writes v as the smallest msgpack unsigned form (positive fixint, uint 8/16/32/64). */
static inline uint8_t *wr_uint(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (v <= 0xff) {
        p[0] = 0xcc;
        p[1] = (uint8_t)v;
        return p + 2;
    }
    if (v <= 0xffff)
        return wr_be16(p, 0xcd, v);
    if (v <= 0xffffffffu)
        return wr_be32(p, 0xce, v);
    return wr_be64(p, 0xcf, v);
}

/* Writes v, read as a two's complement int64, in its smallest msgpack form (non-negative values
 * as unsigned forms, negative ones as negative fixint or int 8/16/32/64). */
static inline uint8_t *wr_int(uint8_t *p, uint64_t v)
{
    int64_t s = (int64_t)v;
    if (s >= 0)
        return wr_uint(p, v);
    if (s >= -32) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (s >= INT8_MIN) {
        p[0] = 0xd0;
        p[1] = (uint8_t)v;
        return p + 2;
    }
    if (s >= INT16_MIN)
        return wr_be16(p, 0xd1, v);
    if (s >= INT32_MIN)
        return wr_be32(p, 0xd2, v);
    return wr_be64(p, 0xd3, v);
}

/* Writes an address: bin 8 of 4 bytes when IPv4-mapped, of 0 when unset, else of 16. */
static inline uint8_t *wr_addr(uint8_t *p, const uint8_t a[FL0WER_ADDR_LEN])
{
    p[0] = 0xc4;
    if (fl0wer_addr_is_v4(a)) {
        p[1] = 4;
        memcpy(p + 2, a + 12, 4);
        return p + 6;
    }
    if (fl0wer_addr_is_zero(a)) {
        p[1] = 0;
        return p + 2;
    }
    p[1] = FL0WER_ADDR_LEN;
    memcpy(p + 2, a, FL0WER_ADDR_LEN);
    return p + 2 + FL0WER_ADDR_LEN;
}

#endif /* FL0WER_BATCH_WRITE_H */
