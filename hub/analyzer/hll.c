/*
 * hll.c - HyperLogLog distinct counting and the analyzer's hash function.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "hll.h"

uint64_t anz_hash64(const void *p, size_t len, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    uint64_t w;

    /* One multiply-rotate per 8-byte word, one full mix at the end: keys here are 2 to 40
     * bytes, so the final mix does most of the work. */
    while (len >= 8) {
        memcpy(&w, b, 8);
        h ^= w * 0x87c37b91114253d5ULL;
        h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937fULL;
        b += 8;
        len -= 8;
    }
    if (len > 0) {
        w = 0;
        memcpy(&w, b, len);
        h ^= w * 0x87c37b91114253d5ULL;
        h = ((h << 31) | (h >> 33)) * 0x4cf5ad432745937fULL;
    }
    return anz_mix64(h);
}

void anz_hll_add(struct anz_hll *h, uint64_t hash)
{
    uint32_t item = anz_hll_item(hash);

    if ((uint8_t)item > h->reg[item >> 8])
        h->reg[item >> 8] = (uint8_t)item;
}

void anz_hll_add_sparse(struct anz_hll *h, uint16_t *sparse, uint8_t *state, uint32_t item)
{
    uint16_t items[ANZ_HLL_SPARSE_MAX];
    unsigned n = *state;

    for (unsigned i = 0; i < n; i++) {
        if ((sparse[i] >> 8) == (item >> 8)) {
            if ((sparse[i] & 0xff) < (item & 0xff))
                sparse[i] = (uint16_t)item;
            return;
        }
    }
    if (n < ANZ_HLL_SPARSE_MAX) {
        sparse[n] = (uint16_t)item;
        *state = (uint8_t)(n + 1);
        return;
    }
    /* A register more than the sparse form holds: clear and replay (registers are distinct). */
    memcpy(items, sparse, sizeof(items)); /* sparse may overlap the registers */
    memset(h->reg, 0, sizeof(h->reg));
    for (unsigned i = 0; i < n; i++)
        h->reg[items[i] >> 8] = (uint8_t)items[i];
    h->reg[item >> 8] = (uint8_t)item;
    *state = ANZ_HLL_DENSE;
}

double anz_hll_count_lazy(const struct anz_hll *h, uint8_t state)
{
    const double m = ANZ_HLL_REGS;

    if (state == ANZ_HLL_DENSE)
        return anz_hll_count(h);
    /* At most ANZ_HLL_SPARSE_MAX registers set: anz_hll_count's raw estimate is below 2.5 m and
     * some are zero, so it would answer by linear counting; the same expression here. */
    return m * log(m / (double)(ANZ_HLL_REGS - state));
}

double anz_hll_count(const struct anz_hll *h)
{
    const double m = ANZ_HLL_REGS;
    const double alpha = 0.7213 / (1.0 + 1.079 / m);
    double sum = 0.0;
    unsigned zeros = 0;

    /* Sum 2^-r exactly in integer bits as 2^(55 - r): 256 registers of at most 2^55 fit in 64
     * bits; the rare r > 55 go through ldexp. */
    uint64_t acc = 0;
    double tail = 0.0;
    for (unsigned i = 0; i < ANZ_HLL_REGS; i++) {
        uint8_t r = h->reg[i];
        zeros += r == 0;
        if (r <= 55)
            acc += 1ULL << (55 - r);
        else
            tail += ldexp(1.0, -(int)r);
    }
    sum = ldexp((double)acc, -55) + tail;
    double est = alpha * m * m / sum;
    if (est <= 2.5 * m && zeros > 0)
        est = m * log(m / (double)zeros); /* linear counting for small cardinalities */
    return est;
}
