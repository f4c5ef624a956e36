/*
 * seqset.c - sorted disjoint ranges of stored batch sequence numbers (see seqset.h).
 */
#include <string.h>

#include "seqset.h"

/* Index of the first range with hi >= seq (n when none). */
static uint32_t lower_bound(const struct seqset *s, uint64_t seq)
{
    uint32_t lo = 0, hi = s->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].hi < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool seqset_contains(const struct seqset *s, uint64_t seq)
{
    uint32_t i = lower_bound(s, seq);

    return i < s->n && s->r[i].lo <= seq;
}

void seqset_add(struct seqset *s, uint64_t seq)
{
    uint32_t i;

    if (seq == 0 || seqset_contains(s, seq))
        return;
    i = lower_bound(s, seq); /* r[i] (if any) starts after seq */
    bool joins_prev = i > 0 && s->r[i - 1].hi + 1 == seq;
    bool joins_next = i < s->n && s->r[i].lo == seq + 1;
    if (joins_prev && joins_next) {
        s->r[i - 1].hi = s->r[i].hi;
        memmove(&s->r[i], &s->r[i + 1], (s->n - i - 1) * sizeof(s->r[0]));
        s->n--;
        return;
    }
    if (joins_prev) {
        s->r[i - 1].hi = seq;
        return;
    }
    if (joins_next) {
        s->r[i].lo = seq;
        return;
    }
    if (s->n == SEQSET_MAX_RANGES) {
        /* Full: fill the oldest hole to make room. */
        s->r[0].hi = s->r[1].hi;
        memmove(&s->r[1], &s->r[2], (s->n - 2) * sizeof(s->r[0]));
        s->n--;
        if (i > 0)
            i--;
        if (seq <= s->r[0].hi && seq >= s->r[0].lo)
            return; /* it was in the hole just filled */
    }
    memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
    s->r[i].lo = seq;
    s->r[i].hi = seq;
    s->n++;
}

uint64_t seqset_max(const struct seqset *s)
{
    return s->n ? s->r[s->n - 1].hi : 0;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--, v >>= 8)
        p[k] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
    uint64_t v = 0;

    for (int k = 0; k < bytes; k++)
        v = v << 8 | p[k];
    return v;
}

size_t seqset_encode(const struct seqset *s, uint8_t *buf)
{
    put_be(buf, s->n, 4);
    for (uint32_t i = 0; i < s->n; i++) {
        put_be(buf + 4 + 16 * i, s->r[i].lo, 8);
        put_be(buf + 12 + 16 * i, s->r[i].hi, 8);
    }
    return 4 + 16 * (size_t)s->n;
}

int seqset_decode(struct seqset *s, const uint8_t *buf, size_t len)
{
    uint32_t n;

    seqset_init(s);
    if (len == 8) {
        uint64_t max = get_be(buf, 8);
        if (max > 0) {
            s->r[0].lo = 1;
            s->r[0].hi = max;
            s->n = 1;
        }
        return 0;
    }
    if (len < 4)
        return -1;
    n = (uint32_t)get_be(buf, 4);
    if (n > SEQSET_MAX_RANGES || len != 4 + 16 * (size_t)n)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t lo = get_be(buf + 4 + 16 * i, 8), hi = get_be(buf + 12 + 16 * i, 8);
        /* sorted, disjoint, not adjacent, no 0 */
        if (lo == 0 || lo > hi || (i > 0 && lo <= s->r[i - 1].hi + 1)) {
            seqset_init(s);
            return -1;
        }
        s->r[i].lo = lo;
        s->r[i].hi = hi;
    }
    s->n = n;
    return 0;
}
