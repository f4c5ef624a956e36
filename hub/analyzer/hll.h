/*
 * hll.h - a small HyperLogLog distinct counter (2^8 one-byte registers, ~6.5% standard error),
 * sized so that thousands of them fit in the analyzer's bounded tables. Plain data: zero it to
 * reset, copy it to snapshot.
 */
#ifndef FL0WER_ANALYZER_HLL_H
#define FL0WER_ANALYZER_HLL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* Final avalanche of a 64-bit value (murmur3 fmix64). */
static inline uint64_t anz_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Hash of a 16-byte address, inlined for the per-flow path. */
static inline uint64_t anz_hash_addr(const uint8_t a[16])
{
    uint64_t lo, hi;

    memcpy(&lo, a, 8);
    memcpy(&hi, a + 8, 8);
    return anz_mix64(lo * 0x87c37b91114253d5ULL ^ (hi + 0x9e3779b97f4a7c15ULL) * 0x4cf5ad432745937fULL);
}

/* Hash of a small integer (ports, protocol and port), inlined. */
static inline uint64_t anz_hash_u64(uint64_t v)
{
    return anz_mix64(v * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL);
}

/* Hash of a pair of hashes (a composite key from its parts' hashes). */
static inline uint64_t anz_hash_pair(uint64_t a, uint64_t b)
{
    return anz_mix64(a ^ (b * 0x9e3779b97f4a7c15ULL + 0x7f4a7c159e3779b9ULL));
}

#endif
