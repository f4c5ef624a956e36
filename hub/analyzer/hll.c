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
    uint32_t idx = (uint32_t)(hash >> (64 - ANZ_HLL_BITS));
    uint64_t rest = (hash << ANZ_HLL_BITS) | (1ULL << (ANZ_HLL_BITS - 1));
    uint8_t rank = (uint8_t)(__builtin_clzll(rest) + 1);

    if (rank > h->reg[idx])
        h->reg[idx] = rank;
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
