/*
 * cursor.h - bounds-checked big-endian reader over untrusted bytes.
 *
 * A cursor carries its end pointer; every read states how many bytes it needs and fails (returns
 * false, consumes nothing) when fewer remain. Nothing here reads outside [p, end).
 */
#ifndef FL0WER_DECODE_CURSOR_H
#define FL0WER_DECODE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct dec_cursor {
    const uint8_t *p;
    const uint8_t *end;
};

static inline void dec_cursor_init(struct dec_cursor *c, const uint8_t *buf, size_t len)
{
    c->p = buf;
    c->end = buf + len;
}

static inline size_t dec_cursor_left(const struct dec_cursor *c)
{
    return (size_t)(c->end - c->p);
}

/* Big-endian load of n (1..8) bytes from p, which the caller has bounds-checked. */
static inline uint64_t dec_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    switch (n) {
    case 1:
        return p[0];
    case 2:
        return (uint64_t)p[0] << 8 | p[1];
    case 4:
        return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
    case 8:
        return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 | (uint64_t)p[2] << 40 |
               (uint64_t)p[3] << 32 | (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
               (uint64_t)p[6] << 8 | p[7];
    default:
        for (unsigned i = 0; i < n && i < 8; i++)
            v = v << 8 | p[i];
        return v;
    }
}

static inline uint16_t dec_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t dec_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline bool dec_cursor_u8(struct dec_cursor *c, uint8_t *v)
{
    if (c->end - c->p < 1)
        return false;
    *v = c->p[0];
    c->p += 1;
    return true;
}

static inline bool dec_cursor_u16(struct dec_cursor *c, uint16_t *v)
{
    if (c->end - c->p < 2)
        return false;
    *v = dec_be16(c->p);
    c->p += 2;
    return true;
}

static inline bool dec_cursor_u32(struct dec_cursor *c, uint32_t *v)
{
    if (c->end - c->p < 4)
        return false;
    *v = dec_be32(c->p);
    c->p += 4;
    return true;
}

/* Points *out at the next n bytes and consumes them. */
static inline bool dec_cursor_take(struct dec_cursor *c, size_t n, const uint8_t **out)
{
    if ((size_t)(c->end - c->p) < n)
        return false;
    *out = c->p;
    c->p += n;
    return true;
}

static inline bool dec_cursor_skip(struct dec_cursor *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n)
        return false;
    c->p += n;
    return true;
}

#endif /* FL0WER_DECODE_CURSOR_H */
