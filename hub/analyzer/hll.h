/*
 * hll.h - a small HyperLogLog distinct counter (2^8 one-byte registers, ~6.5% standard error),
 * sized so that thousands of them fit in the analyzer's bounded tables. Plain data: zero it to
 * reset, copy it to snapshot.
 *
 * Lazy form (anz_hll_add_lazy / anz_hll_count_lazy): a state byte kept by the owner counts
 * sparse items, (register << 8 | rank) pairs stored in the first bytes (or elsewhere:
 * anz_hll_add_split), until more than
 * ANZ_HLL_SPARSE_MAX distinct registers are touched; then the registers are cleared and the items
 * replayed (state ANZ_HLL_DENSE). A state of 0 is an empty counter whatever the bytes hold, so a
 * new one needs no clearing, and the estimate is exactly that of the dense form.
 */
#ifndef FL0WER_ANALYZER_HLL_H
#define FL0WER_ANALYZER_HLL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ANZ_HLL_BITS 8
#define ANZ_HLL_REGS (1u << ANZ_HLL_BITS)

#define ANZ_HLL_SPARSE_MAX 7

/* A sparse form kept apart from its registers (anz_hll_add_split): items and their count. */
struct anz_hll_sparse {
    uint16_t items[ANZ_HLL_SPARSE_MAX];
    uint8_t n; /* items in use, or ANZ_HLL_DENSE */
};
#define ANZ_HLL_DENSE 0xff

struct anz_hll {
    union {
        uint8_t reg[ANZ_HLL_REGS];
        uint16_t sparse[ANZ_HLL_REGS / 2]; /* lazy form: the first *state items */
    };
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

/*
 * Cheap hash of a small value (protocol and port) for table keys only, not HyperLogLog items:
 * the fold brings the product's high bits, which depend on every bit of v, into the low bits an
 * index uses.
 */
static inline uint64_t anz_hash_small(uint64_t v)
{
    uint64_t x = v * 0x9e3779b97f4a7c15ULL;

    return x ^ (x >> 32);
}

/*
 * Hash of a pair of hashes (a composite key from its parts' hashes). Both parts are already
 * well mixed, so one multiply keeps (a, b) and (b, a) apart and every bit of b in the low bits.
 */
static inline uint64_t anz_hash_pair(uint64_t a, uint64_t b)
{
    return a ^ (b * 0x9e3779b97f4a7c15ULL + 0x7f4a7c159e3779b9ULL);
}

/* Register and rank of a hash: the top 8 bits choose, the rest's leading zeros + 1 rank. */
static inline uint32_t anz_hll_item(uint64_t hash)
{
    uint64_t rest = (hash << ANZ_HLL_BITS) | (1ULL << (ANZ_HLL_BITS - 1));

    return (uint32_t)(hash >> (64 - ANZ_HLL_BITS)) << 8 | (uint32_t)(__builtin_clzll(rest) + 1);
}

/*
 * Out-of-line half of the lazy adds: adds item to the sparse items (`sparse`, *state of them) or,
 * when a register more than they hold is touched, clears h's registers, replays the items there
 * and sets *state to ANZ_HLL_DENSE. sparse may be h's own first bytes (anz_hll_add_lazy).
 */
void anz_hll_add_sparse(struct anz_hll *h, uint16_t *sparse, uint8_t *state, uint32_t item);

/* Adds a hash to a lazy counter whose state byte is *state (0 = empty). */
static inline void anz_hll_add_lazy(struct anz_hll *h, uint8_t *state, uint64_t hash)
{
    uint32_t item = anz_hll_item(hash);

    if (*state == ANZ_HLL_DENSE) {
        if ((uint8_t)item > h->reg[item >> 8])
            h->reg[item >> 8] = (uint8_t)item;
        return;
    }
    anz_hll_add_sparse(h, h->sparse, state, item);
}

/*
 * Same with the sparse items kept apart from the registers (ANZ_HLL_SPARSE_MAX of them at
 * sparse, e.g. beside the counter's owner): h's registers are touched only once it is dense.
 */
static inline void anz_hll_add_split(struct anz_hll *h, uint16_t *sparse, uint8_t *state,
                                     uint64_t hash)
{
    uint32_t item = anz_hll_item(hash);

    if (*state == ANZ_HLL_DENSE) {
        if ((uint8_t)item > h->reg[item >> 8])
            h->reg[item >> 8] = (uint8_t)item;
        return;
    }
    anz_hll_add_sparse(h, sparse, state, item);
}

/* Estimate of a lazy counter. */
double anz_hll_count_lazy(const struct anz_hll *h, uint8_t state);

#endif
