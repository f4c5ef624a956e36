/*
 * batch_cursor.h - bounds-checked msgpack readers shared by the batch parser's files (not public).
 *
 * mp_*: a cursor (struct mp_cur) that checks every read against its end pointer and returns
 * 0 or FL0WER_BATCH_ERR_SCHEMA. fr_*: the flow readers' unchecked field readers, used only where
 * the caller has made sure the largest encoding of the whole record is readable (batch_read.c
 * explains how); they return false on a type or value the schema does not allow.
 */
#ifndef FL0WER_BATCH_CURSOR_H
#define FL0WER_BATCH_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fl0wer/batch.h"

/* Cursor over untrusted msgpack bytes: every read checks p against end. */
struct mp_cur {
    const uint8_t *p, *end;
};

/* Reads an n-byte big-endian unsigned integer (n <= 8). */
static inline int mp_be(struct mp_cur *c, size_t n, uint64_t *v)
{
    if ((size_t)(c->end - c->p) < n)
        return FL0WER_BATCH_ERR_SCHEMA;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = x << 8 | c->p[i];
    c->p += n;
    *v = x;
    return 0;
}

/* Reads the type byte. */
static inline int mp_type(struct mp_cur *c, uint8_t *t)
{
    if (c->p >= c->end)
        return FL0WER_BATCH_ERR_SCHEMA;
    *t = *c->p++;
    return 0;
}

/* Reads an array header (fixarray, array 16, array 32) into *n. */
static inline int mp_array(struct mp_cur *c, uint64_t *n)
{
    uint8_t t;
    if (mp_type(c, &t))
        return FL0WER_BATCH_ERR_SCHEMA;
    if (t >= 0x90 && t <= 0x9f) {
        *n = t & 0x0fu;
        return 0;
    }
    if (t == 0xdc)
        return mp_be(c, 2, n);
    if (t == 0xdd)
        return mp_be(c, 4, n);
    return FL0WER_BATCH_ERR_SCHEMA;
}

/* Reads an array header and requires exactly want elements. */
static inline int mp_array_of(struct mp_cur *c, uint64_t want)
{
    uint64_t n;
    if (mp_array(c, &n) || n != want)
        return FL0WER_BATCH_ERR_SCHEMA;
    return 0;
}

/* Reads an unsigned integer (positive fixint, uint 8/16/32/64) no larger than max. */
static inline int mp_uint(struct mp_cur *c, uint64_t max, uint64_t *v)
{
    uint8_t t;
    int rc;
    if (mp_type(c, &t))
        return FL0WER_BATCH_ERR_SCHEMA;
    if (t <= 0x7f) {
        *v = t;
        rc = 0;
    } else if (t >= 0xcc && t <= 0xcf) {
        rc = mp_be(c, (size_t)1 << (t - 0xcc), v);
    } else {
        return FL0WER_BATCH_ERR_SCHEMA;
    }
    if (rc == 0 && *v > max)
        return FL0WER_BATCH_ERR_SCHEMA;
    return rc;
}

/* Typed wrappers so each field's width is checked where it is read. */
static inline int mp_u64(struct mp_cur *c, uint64_t *v) { return mp_uint(c, UINT64_MAX, v); }

static inline int mp_u32(struct mp_cur *c, uint32_t *v)
{
    uint64_t x = 0;
    int rc = mp_uint(c, UINT32_MAX, &x);
    *v = (uint32_t)x;
    return rc;
}

static inline int mp_u16(struct mp_cur *c, uint16_t *v)
{
    uint64_t x = 0;
    int rc = mp_uint(c, UINT16_MAX, &x);
    *v = (uint16_t)x;
    return rc;
}

static inline int mp_u8(struct mp_cur *c, uint8_t *v)
{
    uint64_t x = 0;
    int rc = mp_uint(c, UINT8_MAX, &x);
    *v = (uint8_t)x;
    return rc;
}

/* Reads a bin (t8..t32 = bin 8/16/32) or str (fixstr, str 8/16/32) body; *data points into
 * the payload. */
static inline int mp_blob(struct mp_cur *c, bool str, const uint8_t **data, uint64_t *len)
{
    uint8_t t;
    int rc;
    if (mp_type(c, &t))
        return FL0WER_BATCH_ERR_SCHEMA;
    if (str && t >= 0xa0 && t <= 0xbf) {
        *len = t & 0x1fu;
        rc = 0;
    } else if (str && t >= 0xd9 && t <= 0xdb) {
        rc = mp_be(c, (size_t)1 << (t - 0xd9), len);
    } else if (!str && t >= 0xc4 && t <= 0xc6) {
        rc = mp_be(c, (size_t)1 << (t - 0xc4), len);
    } else {
        return FL0WER_BATCH_ERR_SCHEMA;
    }
    if (rc || *len > (uint64_t)(c->end - c->p))
        return FL0WER_BATCH_ERR_SCHEMA;
    *data = c->p;
    c->p += *len;
    return 0;
}

/* Reads an address: bin of 0 (unset), 4 (IPv4, stored mapped) or 16 bytes. */
static inline int mp_addr(struct mp_cur *c, uint8_t a[FL0WER_ADDR_LEN])
{
    const uint8_t *d;
    uint64_t len;
    if (mp_blob(c, false, &d, &len))
        return FL0WER_BATCH_ERR_SCHEMA;
    if (len == 0)
        memset(a, 0, FL0WER_ADDR_LEN);
    else if (len == 4)
        fl0wer_addr_from_v4(a, d);
    else if (len == FL0WER_ADDR_LEN)
        memcpy(a, d, FL0WER_ADDR_LEN);
    else
        return FL0WER_BATCH_ERR_SCHEMA;
    return 0;
}

/* Reads a str into a cap-byte NUL-terminated field, truncating longer strings. */
static inline int mp_cstr(struct mp_cur *c, char *dst, size_t cap)
{
    const uint8_t *d;
    uint64_t len;
    if (mp_blob(c, true, &d, &len))
        return FL0WER_BATCH_ERR_SCHEMA;
    size_t n = len < cap - 1 ? (size_t)len : cap - 1;
    memcpy(dst, d, n);
    dst[n] = '\0';
    return 0;
}

/* ---- unchecked field readers for the flow readers ---- */

static inline uint64_t ld_be16(const uint8_t *p) { return (uint64_t)p[0] << 8 | p[1]; }

static inline uint64_t ld_be32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}

static inline uint64_t ld_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

/* Reads an unsigned integer no larger than max at *pp (9 bytes readable). Returns false on any
 * other type or a larger value. */
static inline bool fr_uint(const uint8_t **pp, uint64_t max, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t x;
    if (p[0] <= 0x7f) { /* positive fixint, the common case: always within max */
        *v = p[0];
        *pp = p + 1;
        return true;
    }
    switch (p[0]) {
    case 0xcc: x = p[1]; p += 2; break;
    case 0xcd: x = ld_be16(p + 1); p += 3; break;
    case 0xce: x = ld_be32(p + 1); p += 5; break;
    case 0xcf: x = ld_be64(p + 1); p += 9; break;
    default: return false;
    }
    *pp = p;
    *v = x;
    return x <= max;
}

static inline bool fr_u64(const uint8_t **pp, uint64_t *v) { return fr_uint(pp, UINT64_MAX, v); }

static inline bool fr_u32(const uint8_t **pp, uint32_t *v)
{
    uint64_t x = 0;
    bool ok = fr_uint(pp, UINT32_MAX, &x);
    *v = (uint32_t)x;
    return ok;
}

static inline bool fr_u16(const uint8_t **pp, uint16_t *v)
{
    uint64_t x = 0;
    bool ok = fr_uint(pp, UINT16_MAX, &x);
    *v = (uint16_t)x;
    return ok;
}

static inline bool fr_u8(const uint8_t **pp, uint8_t *v)
{
    uint64_t x = 0;
    bool ok = fr_uint(pp, UINT8_MAX, &x);
    *v = (uint8_t)x;
    return ok;
}

/*
 * Reads any msgpack integer whose value lies in [INT64_MIN, INT64_MAX] at *pp (9 bytes
 * readable): positive fixint, uint 8/16/32, uint 64 up to INT64_MAX, negative fixint, int
 * 8/16/32/64. *v is the value in two's complement (schema 2's time deltas are added to a base
 * modulo 2^64). Returns false on any other type or a uint 64 above INT64_MAX.
 */
static inline bool fr_int(const uint8_t **pp, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint8_t t = p[0];
    uint64_t x;
    if (t <= 0x7f || t >= 0xe0) { /* positive / negative fixint */
        *v = (uint64_t)(int64_t)(int8_t)t;
        *pp = p + 1;
        return true;
    }
    switch (t) {
    case 0xcc: x = p[1]; p += 2; break;
    case 0xcd: x = ld_be16(p + 1); p += 3; break;
    case 0xce: x = ld_be32(p + 1); p += 5; break;
    case 0xcf:
        x = ld_be64(p + 1);
        if (x > (uint64_t)INT64_MAX)
            return false;
        p += 9;
        break;
    case 0xd0: x = (uint64_t)(int64_t)(int8_t)p[1]; p += 2; break;
    case 0xd1: x = (uint64_t)(int64_t)(int16_t)(uint16_t)ld_be16(p + 1); p += 3; break;
    case 0xd2: x = (uint64_t)(int64_t)(int32_t)(uint32_t)ld_be32(p + 1); p += 5; break;
    case 0xd3: x = ld_be64(p + 1); p += 9; break;
    default: return false;
    }
    *pp = p;
    *v = x;
    return true;
}

/* Reads an address (bin of 0, 4 or 16 bytes) at *pp (5 + 16 bytes readable). */
static inline bool fr_addr(const uint8_t **pp, uint8_t a[FL0WER_ADDR_LEN])
{
    const uint8_t *p = *pp;
    uint64_t len;
    switch (p[0]) {
    case 0xc4: len = p[1]; p += 2; break;
    case 0xc5: len = ld_be16(p + 1); p += 3; break;
    case 0xc6: len = ld_be32(p + 1); p += 5; break;
    default: return false;
    }
    if (len == 4)
        fl0wer_addr_from_v4(a, p);
    else if (len == 0)
        memset(a, 0, FL0WER_ADDR_LEN);
    else if (len == FL0WER_ADDR_LEN)
        memcpy(a, p, FL0WER_ADDR_LEN);
    else
        return false;
    *pp = p + len;
    return true;
}

/*
 * Reads a list's array header into *n, refusing more than FL0WER_BATCH_MAX_RECORDS elements
 * (FL0WER_BATCH_ERR_TOO_LARGE) and more than the bytes left could hold at min_elem bytes each
 * (FL0WER_BATCH_ERR_SCHEMA), so nothing is allocated from a hostile count. Returns 0 or the error.
 */
static inline int mp_list_count(struct mp_cur *c, size_t min_elem, uint64_t *n)
{
    if (mp_array(c, n))
        return FL0WER_BATCH_ERR_SCHEMA;
    if (*n > FL0WER_BATCH_MAX_RECORDS)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    if (*n > (uint64_t)(c->end - c->p) / min_elem)
        return FL0WER_BATCH_ERR_SCHEMA;
    return 0;
}

/*
 * A flow reader for mp_read_flow(): reads one record at *pp (advancing it), where the largest
 * encoding of a record is readable without checks; ctx is the reader's own (NULL for schema 1).
 * Returns false on any schema violation.
 */
typedef bool (*mp_flow_reader)(const uint8_t **pp, const void *ctx, struct fl0wer_flow *f);

/* Room of the zero-padded tail copy mp_read_flow() reads from: every schema's largest record. */
#define MP_FLOW_PAD 288

/*
 * Reads one flow record at c with read_at, whose records take at most max_wire (<= MP_FLOW_PAD)
 * bytes: in place when that many are left, else from a zero-padded copy of the tail, where a
 * record that reads past the real end is refused. So the readers check types and values, never
 * lengths. Returns 0 or FL0WER_BATCH_ERR_SCHEMA.
 */
static inline int mp_read_flow(struct mp_cur *c, size_t max_wire, mp_flow_reader read_at,
                               const void *ctx, struct fl0wer_flow *f)
{
    size_t left = (size_t)(c->end - c->p);
    const uint8_t *p = c->p;
    if (left >= max_wire) {
        if (!read_at(&p, ctx, f))
            return FL0WER_BATCH_ERR_SCHEMA;
        c->p = p;
        return 0;
    }
    uint8_t tail[MP_FLOW_PAD] = {0};
    memcpy(tail, c->p, left);
    p = tail;
    if (!read_at(&p, ctx, f) || (size_t)(p - tail) > left)
        return FL0WER_BATCH_ERR_SCHEMA;
    c->p += p - tail;
    return 0;
}

#endif /* FL0WER_BATCH_CURSOR_H */
