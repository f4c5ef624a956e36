/*
 * hll.h - a small HyperLogLog distinct counter (2^8 one-byte registers, ~6.5% standard error),
 * sized so that thousands of them fit in the analyzer's bounded tables. Plain data: zero it to
 * reset, copy it to snapshot.
 */
#ifndef FL0WER_ANALYZER_HLL_H
#define FL0WER_ANALYZER_HLL_H

#include <stdint.h>

#define ANZ_HLL_BITS 8
#define ANZ_HLL_REGS (1u << ANZ_HLL_BITS)

struct anz_hll {
    uint8_t reg[ANZ_HLL_REGS];
};

/* Adds an item given by its 64-bit hash (use anz_hash64 on the raw value). */
void anz_hll_add(struct anz_hll *h, uint64_t hash);

/* Estimated number of distinct items added (small-range corrected). */
double anz_hll_count(const struct anz_hll *h);

/* A well-mixed 64-bit hash of len bytes at p (seeded, for table keys and HLL items). */
uint64_t anz_hash64(const void *p, size_t len, uint64_t seed);

#endif
