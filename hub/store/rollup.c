/*
 * rollup.c - the packed rollup array: one RocksDB value per (level, dimension, period) holding
 * every group key of that period sorted ascending with its counters, column by column
 * (docs/storage.md): the encoder and the bounds-checked reader. Sorting, top-K and merging of
 * entries are in rollmerge.c.
 *
 * Layout: format byte (STORE_ROLLUP_FORMAT), key width (0, 1, 2, 4 or 16), flags (bit 0: raw
 * counter columns present; bit 1: truncated, see below), varint count, varint byte length of
 * each column, then the columns:
 *   keys      width <= 4: varint of the difference from the previous key (the first from 0);
 *             strictly increasing. width 16: strictly increasing in byte order, each key a
 *             varint t: t odd (one byte, t < 32): front-coded, s = t >> 1 (0..15, 0 for the
 *             first key) bytes shared with the previous key, then the 16 - s other bytes;
 *             t even: an IPv4-mapped key (::ffff:a.b.c.d) after an IPv4-mapped key, t >> 1
 *             (>= 1) added to the previous one (sorted IPv4 addresses: 1-3 bytes a key, where
 *             front coding took 2-5; format 3 had only the front coding, with s as the byte).
 *   flows, bytes, packets           varints (bytes and packets scaled by sampling)
 *   raw_bytes, raw_packets          varints, only when flag bit 0 is set; absent means equal to
 *                                   the scaled columns (no sampled flow in the array)
 * A truncated array (address dimensions, bounded to K rows) kept only K of its period's keys
 * when a merge found more: its rows are not the period's totals and readers must not use them
 * as such. A merge with a truncated operand is truncated.
 */
#include "rowmap.h"
#include "store_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define ROLLUP_RAW       1u
#define ROLLUP_TRUNCATED 2u

size_t store_rollup_bound(size_t n)
{
    /* header: 3 bytes, count and 6 column lengths <= 10 bytes each; per entry <= 17 + 5 * 10 */
    return 3 + 7 * 10 + n * (17 + 5 * 10);
}

static bool valid_width(unsigned w)
{
    return w == 0 || w == 1 || w == 2 || w == 4 || w == 16;
}

int store_rollup_key_cmp(const struct store_rollup_entry *a, const struct store_rollup_entry *b)
{
    if (a->khi != b->khi)
        return a->khi < b->khi ? -1 : 1;
    return a->klo < b->klo ? -1 : a->klo > b->klo;
}

/* Bytes that the 128-bit keys (ahi, alo) and (bhi, blo) share at their start (at most 15). */
static unsigned shared_prefix(uint64_t ahi, uint64_t alo, uint64_t bhi, uint64_t blo)
{
    uint64_t d = ahi ^ bhi;
    unsigned s;
    if (d)
        s = (unsigned)__builtin_clzll(d) / 8;
    else if ((d = alo ^ blo) != 0)
        s = 8 + (unsigned)__builtin_clzll(d) / 8;
    else
        s = 16;
    return s > 15 ? 15 : s;
}

/*
 * Reads a varint (bounds-checked, the values of store_get_varint). With 5 bytes left, up to 5
 * bytes (35 bits: every counter of an ordinary period) are read inline, each byte added whole
 * and its continuation bit taken off again; longer ones and a column's last bytes take
 * store_get_varint.
 */
static inline uint64_t get_varint(struct store_cursor *c)
{
    const uint8_t *p = c->p;
    if (c->end - p >= 5) {
        uint64_t v = p[0], b;
        if (v < 0x80) {
            c->p = p + 1;
            return v;
        }
        b = p[1];
        v += (b << 7) - 0x80;
        if (b < 0x80) {
            c->p = p + 2;
            return v;
        }
        b = p[2];
        v += (b << 14) - (0x80ull << 7);
        if (b < 0x80) {
            c->p = p + 3;
            return v;
        }
        b = p[3];
        v += (b << 21) - (0x80ull << 14);
        if (b < 0x80) {
            c->p = p + 4;
            return v;
        }
        b = p[4];
        v += (b << 28) - (0x80ull << 21);
        if (b < 0x80) {
            c->p = p + 5;
            return v;
        }
    }
    return store_get_varint(c);
}

/* True for an IPv4-mapped address key (::ffff:a.b.c.d) as a 128-bit number. */
static inline bool v4_mapped(uint64_t hi, uint64_t lo)
{
    return hi == 0 && lo >> 32 == 0xffff;
}

/*
 * Reads the next 16-byte key (layout above) from c into key[0..16), which holds the previous
 * key (32 bytes of room: a front-coded key is copied 16 bytes at a time). first: no previous
 * key. Returns 0, or -1 for a malformed key (c is then not to be used further).
 */
static inline int get_key16(struct store_cursor *c, uint8_t *key, bool first)
{
    if (c->p >= c->end)
        return -1;
    unsigned t = *c->p;
    if (t & 1) {
        unsigned sh = t >> 1;
        if (sh > 15 || (first && sh != 0) || (size_t)(c->end - c->p) < 17u - sh)
            return -1;
        if (c->end - c->p >= 17)
            memcpy(key + sh, c->p + 1, 16); /* fixed size: the rest is overwritten */
        else
            memcpy(key + sh, c->p + 1, 16u - sh);
        c->p += 17u - sh;
        return 0;
    }
    uint64_t d = get_varint(c) >> 1, lo = store_get_be64(key + 8);
    if (c->bad || first || d == 0 || !v4_mapped(store_get_be64(key), lo) ||
        d > 0xffffffffull - (uint32_t)lo)
        return -1;
    store_be64(key + 8, lo + d);
    return 0;
}

size_t store_rollup_encode(unsigned width, const struct store_rollup_entry *e, size_t n,
                           bool truncated, uint8_t *out)
{
    uint8_t *col_start[6], *p;
    size_t col_len[6];
    bool raw = false;
    int ncol;

    for (size_t i = 0; i < n && !raw; i++)
        raw = e[i].c.raw_bytes != e[i].c.bytes || e[i].c.raw_packets != e[i].c.packets;
    ncol = raw ? 6 : 4;
    /* columns go after a header of known maximum size, then are moved down */
    p = out + 3 + 7 * 10;
    col_start[0] = p;
    if (width == 16) {
        uint8_t k[32] = {0};
        for (size_t i = 0; i < n; i++) {
            if (i && v4_mapped(e[i].khi, e[i].klo) && v4_mapped(e[i - 1].khi, e[i - 1].klo)) {
                p = store_put_varint_p(p, (e[i].klo - e[i - 1].klo) << 1);
                continue;
            }
            unsigned sh = i ? shared_prefix(e[i].khi, e[i].klo, e[i - 1].khi, e[i - 1].klo) : 0;
            store_be64(k, e[i].khi);
            store_be64(k + 8, e[i].klo);
            /* a fixed 16-byte copy (the bytes past 16 - sh are overwritten by what follows;
               the bound leaves room) */
            p[0] = (uint8_t)(sh << 1 | 1);
            memcpy(p + 1, k + sh, 16);
            p += 17 - sh;
        }
    } else {
        uint64_t prev = 0;
        for (size_t i = 0; i < n; i++) {
            p = store_put_varint_p(p, e[i].klo - prev);
            prev = e[i].klo;
        }
    }
#define COUNTER_COLUMN(col, field)                                                              \
    do {                                                                                        \
        col_len[col - 1] = (size_t)(p - col_start[col - 1]);                                    \
        col_start[col] = p;                                                                     \
        for (size_t i = 0; i < n; i++)                                                          \
            p = store_put_varint_p(p, e[i].c.field);                                                    \
    } while (0)
    COUNTER_COLUMN(1, flows);
    COUNTER_COLUMN(2, bytes);
    COUNTER_COLUMN(3, packets);
    if (raw) {
        COUNTER_COLUMN(4, raw_bytes);
        COUNTER_COLUMN(5, raw_packets);
    }
#undef COUNTER_COLUMN
    col_len[ncol - 1] = (size_t)(p - col_start[ncol - 1]);
    size_t body = (size_t)(p - col_start[0]);

    uint8_t *h = out;
    *h++ = STORE_ROLLUP_FORMAT;
    *h++ = (uint8_t)width;
    *h++ = (uint8_t)((raw ? ROLLUP_RAW : 0) | (truncated ? ROLLUP_TRUNCATED : 0));
    h += store_put_varint(h, n);
    for (int c = 0; c < ncol; c++)
        h += store_put_varint(h, col_len[c]);
    memmove(h, col_start[0], body);
    return (size_t)(h - out) + body;
}

int store_rollup_open(struct store_rollup_reader *r, const uint8_t *buf, size_t len)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *hdr = store_get_bytes(&c, 3);
    uint64_t n, lens[6];

    memset(r, 0, sizeof(*r));
    if (!hdr || hdr[0] != STORE_ROLLUP_FORMAT || !valid_width(hdr[1]) || (hdr[2] & ~(ROLLUP_RAW | ROLLUP_TRUNCATED)))
        return FL0WER_STORE_ERR_CORRUPT;
    r->width = hdr[1];
    r->raw = hdr[2] & ROLLUP_RAW;
    r->truncated = hdr[2] & ROLLUP_TRUNCATED;
    n = store_get_varint(&c);
    int ncol = r->raw ? 6 : 4;
    for (int i = 0; i < ncol; i++)
        lens[i] = store_get_varint(&c);
    if (c.bad || n > len)
        return FL0WER_STORE_ERR_CORRUPT;
    for (int i = 0; i < ncol; i++) {
        const uint8_t *col = store_get_bytes(&c, (size_t)lens[i]);
        if (!col)
            return FL0WER_STORE_ERR_CORRUPT;
        r->col[i] = (struct store_cursor){col, col + lens[i], 0};
    }
    if (c.p != c.end || (r->width == 16 && lens[0] < n))
        return FL0WER_STORE_ERR_CORRUPT;
    r->n = (size_t)n;
    return 0;
}

int store_rollup_next(struct store_rollup_reader *r, struct store_rollup_entry *e)
{
    if (r->i >= r->n) {
        int ncol = r->raw ? 6 : 4;
        for (int i = 0; i < ncol; i++)
            if (r->col[i].p != r->col[i].end)
                return FL0WER_STORE_ERR_CORRUPT;
        return 0;
    }
    if (r->width == 16) {
        if (get_key16(&r->col[0], r->key, r->i == 0) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
        e->khi = store_get_be64(r->key);
        e->klo = store_get_be64(r->key + 8);
    } else {
        uint64_t d = store_get_varint(&r->col[0]);
        e->khi = 0;
        e->klo = r->prev + d;
        if ((r->i > 0 && d == 0) || e->klo < r->prev ||
            (r->width < 8 && e->klo >> (8 * r->width)))
            return FL0WER_STORE_ERR_CORRUPT;
    }
    if (r->i > 0 && r->width == 16 && (e->khi < r->prev_hi ||
                                       (e->khi == r->prev_hi && e->klo <= r->prev)))
        return FL0WER_STORE_ERR_CORRUPT;
    r->prev = e->klo;
    r->prev_hi = e->khi;
    e->c.flows = store_get_varint(&r->col[1]);
    e->c.bytes = store_get_varint(&r->col[2]);
    e->c.packets = store_get_varint(&r->col[3]);
    if (r->raw) {
        e->c.raw_bytes = store_get_varint(&r->col[4]);
        e->c.raw_packets = store_get_varint(&r->col[5]);
    } else {
        e->c.raw_bytes = e->c.bytes;
        e->c.raw_packets = e->c.packets;
    }
    for (int i = 0; i < (r->raw ? 6 : 4); i++)
        if (r->col[i].bad)
            return FL0WER_STORE_ERR_CORRUPT;
    r->i++;
    return 1;
}

/* Reads n varints of column c into the counter at byte offset off of each entry. */
static void read_counter_col(struct store_cursor *c, struct store_rollup_entry *out, size_t n,
                             size_t off)
{
    struct store_cursor cur = *c; /* a local copy stays in registers */
    for (size_t i = 0; i < n; i++) {
        uint64_t v = get_varint(&cur);
        memcpy((uint8_t *)&out[i].c + off, &v, sizeof(v));
    }
    *c = cur;
}

int store_rollup_read_all(struct store_rollup_reader *r, struct store_rollup_entry *out)
{
    static const size_t off[5] = {
        offsetof(struct fl0wer_rollup_counters, flows),
        offsetof(struct fl0wer_rollup_counters, bytes),
        offsetof(struct fl0wer_rollup_counters, packets),
        offsetof(struct fl0wer_rollup_counters, raw_bytes),
        offsetof(struct fl0wer_rollup_counters, raw_packets)};
    size_t n = r->n;
    int ncol = r->raw ? 6 : 4;

    if (r->i != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    if (r->width == 16) {
        for (size_t i = 0; i < n; i++) {
            struct store_rollup_entry *e = &out[i];
            if (get_key16(&r->col[0], r->key, i == 0) != 0)
                return FL0WER_STORE_ERR_CORRUPT;
            e->khi = store_get_be64(r->key);
            e->klo = store_get_be64(r->key + 8);
            if (i > 0 && (e->khi < e[-1].khi || (e->khi == e[-1].khi && e->klo <= e[-1].klo)))
                return FL0WER_STORE_ERR_CORRUPT;
        }
    } else {
        uint64_t prev = 0, limit = r->width < 8 ? (1ull << (8 * r->width)) - 1 : UINT64_MAX;
        struct store_cursor keys = r->col[0];
        for (size_t i = 0; i < n; i++) {
            uint64_t d = get_varint(&keys), k = prev + d;
            if ((i > 0 && d == 0) || k < prev || k > limit)
                return FL0WER_STORE_ERR_CORRUPT;
            out[i].khi = 0;
            out[i].klo = prev = k;
        }
        r->col[0] = keys;
    }
    for (int c = 1; c < ncol; c++)
        read_counter_col(&r->col[c], out, n, off[c - 1]);
    if (!r->raw)
        for (size_t i = 0; i < n; i++) {
            out[i].c.raw_bytes = out[i].c.bytes;
            out[i].c.raw_packets = out[i].c.packets;
        }
    for (int c = 0; c < ncol; c++)
        if (r->col[c].bad || r->col[c].p != r->col[c].end)
            return FL0WER_STORE_ERR_CORRUPT;
    r->i = n;
    return 0;
}

/* Adds n varints of column c to the counter at byte offset off of the entries idx names. */
static void add_counter_col(struct store_cursor *c, struct fl0wer_rowmap_entry *ents,
                            const uint32_t *idx, size_t n, size_t off)
{
    struct store_cursor cur = *c;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = get_varint(&cur), *dst = (uint64_t *)((uint8_t *)&ents[idx[i]].c + off);
        *dst += v;
    }
    *c = cur;
}

/* As add_counter_col, adding each value to two counters (a scaled one and its raw twin). */
static void add_counter_col2(struct store_cursor *c, struct fl0wer_rowmap_entry *ents,
                             const uint32_t *idx, size_t n, size_t off, size_t off2)
{
    struct store_cursor cur = *c;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = get_varint(&cur);
        uint8_t *cnt = (uint8_t *)&ents[idx[i]].c;
        *(uint64_t *)(cnt + off) += v;
        *(uint64_t *)(cnt + off2) += v;
    }
    *c = cur;
}

#define ADD_CHUNK 1024 /* rows whose entries are looked up before their counters are added */

int store_rollup_add_to_map(struct store_rollup_reader *r, struct fl0wer_rowmap *m,
                            uint64_t key_mask)
{
    enum {
        F = offsetof(struct fl0wer_rollup_counters, flows),
        B = offsetof(struct fl0wer_rollup_counters, bytes),
        P = offsetof(struct fl0wer_rollup_counters, packets),
        RB = offsetof(struct fl0wer_rollup_counters, raw_bytes),
        RP = offsetof(struct fl0wer_rollup_counters, raw_packets),
    };
    uint32_t idx[ADD_CHUNK];
    uint64_t prev = 0, limit = r->width < 8 ? (1ull << (8 * r->width)) - 1 : UINT64_MAX;
    int ncol = r->raw ? 6 : 4;

    if (r->i != 0 || r->width > 8)
        return FL0WER_STORE_ERR_CORRUPT;
    for (size_t base = 0; base < r->n; base += ADD_CHUNK) {
        size_t cn = r->n - base < ADD_CHUNK ? r->n - base : ADD_CHUNK;
        struct store_cursor keys = r->col[0];
        for (size_t i = 0; i < cn; i++) {
            uint64_t d = get_varint(&keys);
            /* keys strictly increasing and within the width: 1 <= d <= limit - prev (the
               first may be 0) */
            if (d - 1 >= limit - prev && (base + i != 0 || d > limit))
                return FL0WER_STORE_ERR_CORRUPT;
            prev += d;
            int64_t at = fl0wer_rowmap_index(m, 0, prev & key_mask);
            if (at < 0)
                return FL0WER_STORE_ERR_NOMEM;
            idx[i] = (uint32_t)at;
        }
        r->col[0] = keys;
        /* the entries no longer move: every key of the chunk is in */
        add_counter_col(&r->col[1], m->ents, idx, cn, F);
        if (r->raw) {
            add_counter_col(&r->col[2], m->ents, idx, cn, B);
            add_counter_col(&r->col[3], m->ents, idx, cn, P);
            add_counter_col(&r->col[4], m->ents, idx, cn, RB);
            add_counter_col(&r->col[5], m->ents, idx, cn, RP);
        } else {
            add_counter_col2(&r->col[2], m->ents, idx, cn, B, RB);
            add_counter_col2(&r->col[3], m->ents, idx, cn, P, RP);
        }
    }
    for (int c = 0; c < ncol; c++)
        if (r->col[c].bad || r->col[c].p != r->col[c].end)
            return FL0WER_STORE_ERR_CORRUPT;
    r->i = r->n;
    return 0;
}

void store_rollup_key_bytes(const struct store_rollup_entry *e, unsigned width, uint8_t *out)
{
    if (width == 16) {
        store_be64(out, e->khi);
        store_be64(out + 8, e->klo);
        return;
    }
    for (unsigned i = 0; i < width; i++)
        out[i] = (uint8_t)(e->klo >> (8 * (width - 1 - i)));
}

