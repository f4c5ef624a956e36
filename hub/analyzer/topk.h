/*
 * topk.h - heavy hitters over fixed-size keys in fixed memory, in the spirit of Space-Saving
 * (Metwally et al.) with batched eviction: the table has room for 2 x cap entries; when it is
 * full, one pass drops the lighter entries, keeping at most cap (about 3/4 of it), all at least
 * as heavy as every dropped one (amortised O(1) per update, no heap; see anz_topk_purge).
 * A new key enters with the heaviest weight dropped so far in this window as its `error`, so for
 * every entry: weight - error <= true weight <= weight. A flood of distinct keys can only churn
 * the light half, never grow the table.
 *
 * Each entry is one cache line: key, the weight it is ranked by, its over-count bound and two
 * plain counters. Detector tables add a second line per entry in a parallel array (ext: three
 * counters and a sparse HyperLogLog); those with a HyperLogLog per entry (ports of a host,
 * sources of a destination) keep the dense registers in a third array, used only once an entry
 * has seen more than ANZ_HLL_SPARSE_MAX register updates (see hll.h), so a new entry costs no
 * 256-byte clear and a light one no register line.
 *
 * The per-flow path calls anz_topk_add(), inlined here with the key length as a constant so the
 * key comparison is a few word compares; only inserts leave the inline path.
 */
#ifndef FL0WER_ANALYZER_TOPK_H
#define FL0WER_ANALYZER_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hll.h"

#define ANZ_KEY_MAX 32

/*
 * An entry is one 64-byte cache line: the key, the weight it is ranked by, its over-count bound
 * and two plain counters. For tables ranked by bytes, the bytes of the entry are weight - error
 * (anz_topk_bytes_of). The key's hash lives in a parallel array (read by purges only).
 */
struct anz_topk_entry {
    _Alignas(64) uint8_t key[ANZ_KEY_MAX];
    uint64_t weight; /* rank: bytes, packets or flows, as the table's user chooses */
    uint64_t error;  /* weight this key may have had before it (re)entered: over-count bound */
    uint64_t packets;
    uint64_t flows;
};

/*
 * A detector table's second line per entry (tables made with ANZ_TOPK_EXT): its own counters and
 * the sparse form of its HyperLogLog (see hll.h), so that an entry that has seen few distinct
 * items costs no line of the register array.
 */
struct anz_topk_ext {
    _Alignas(64) uint64_t aux; /* detector-specific: e.g. SYN-only packets */
    uint64_t aux2;             /* detector-specific: e.g. UDP packets */
    uint64_t aux3;             /* detector-specific: e.g. TCP packets */
    uint16_t sparse[ANZ_HLL_SPARSE_MAX]; /* sparse HyperLogLog items */
    uint8_t hll_n;             /* sparse items in use, or ANZ_HLL_DENSE */
};

/* Table options for anz_topk_init: a HyperLogLog per entry (implies EXT), an ext line per entry. */
#define ANZ_TOPK_HLL 1u
#define ANZ_TOPK_EXT 2u

struct anz_topk {
    size_t key_len;
    size_t cap;                     /* entries kept by a purge */
    size_t room;                    /* 2 * cap: entries held before a purge */
    size_t count;
    struct anz_topk_entry *entries; /* room entries */
    struct anz_topk_ext *ext;       /* room lines, one per entry, or NULL */
    uint32_t *hashes;               /* room key hashes, one per entry */
    struct anz_hll *hll;            /* room dense counters, one per entry, or NULL */
    uint64_t *slots;                /* open-addressing index: hash << 32 | epoch << 24 | (entry
                                       index + 1); a slot of another epoch is empty, the hash is
                                       compared before the key */
    uint64_t epoch;                 /* 1..255: clearing the index is epoch++ (see topk.c) */
    uint64_t *scratch;              /* room weights, for the purge's selection */
    size_t n_slots;
    uint64_t floor;                 /* heaviest weight dropped since the last clear */
    uint64_t evictions;
    void *owned;                    /* the arrays' memory when anz_topk_init allocated it */
};

/*
 * Allocates a table keeping up to cap entries (2 x cap between purges) for keys of key_len bytes;
 * opts: ANZ_TOPK_HLL for a HyperLogLog per entry, ANZ_TOPK_EXT for an ext line per entry (0 or
 * both or'ed). Returns 0 or -1 (no memory).
 */
int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, unsigned opts);

/* Bytes of memory anz_topk_init_at needs for such a table (a multiple of 64), 0 if bad sizes. */
size_t anz_topk_bytes(size_t key_len, size_t cap, unsigned opts);

/*
 * Same as anz_topk_init in caller-owned memory: mem is anz_topk_bytes() zeroed bytes, 64-byte
 * aligned, kept until after anz_topk_release (which does not free it). Returns 0 or -1.
 */
int anz_topk_init_at(struct anz_topk *t, size_t key_len, size_t cap, unsigned opts, void *mem);

/* Frees what anz_topk_init allocated (nothing for anz_topk_init_at) and zeroes t. */
void anz_topk_release(struct anz_topk *t);
/* Empties the table (keeps its memory). */
void anz_topk_clear(struct anz_topk *t);

/*
 * Finds or inserts key (purging the light half first when the table is full) and adds weight to
 * its rank. Returns the entry, valid until the next update; the caller adds its own counters.
 */
struct anz_topk_entry *anz_topk_update(struct anz_topk *t, const void *key, uint64_t weight);

/* Same, with the key's hash computed by the caller (the per-flow path hashes each part once). */
struct anz_topk_entry *anz_topk_update_hashed(struct anz_topk *t, const void *key, uint64_t hash,
                                              uint64_t weight);

/* Drops the lighter entries of a full table, keeping at most cap (see topk.c). */
void anz_topk_purge(struct anz_topk *t);

/* An index slot for hash h and entry idx in the current epoch. */
static inline uint64_t anz_topk_slot(const struct anz_topk *t, uint32_t h, uint32_t idx)
{
    return (uint64_t)h << 32 | t->epoch << 24 | (idx + 1);
}

/* Entry index of a slot of the current epoch. */
#define ANZ_TOPK_SLOT_ENTRY(s) (((uint32_t)(s) & 0xffffffu) - 1)

/* Index slot where hash h goes: the first empty one of its probe sequence. */
static inline size_t anz_topk_free_slot(const struct anz_topk *t, uint32_t h)
{
    size_t mask = t->n_slots - 1, i = h & mask;

    while ((uint32_t)t->slots[i] >> 24 == t->epoch)
        i = (i + 1) & mask;
    return i;
}

/*
 * Inserts key, known to be absent, whose hash h would go to the empty index slot `slot` (found by
 * the lookup; looked up again if a purge moves things). key_len as for anz_topk_add.
 */
static inline struct anz_topk_entry *anz_topk_insert_at(struct anz_topk *t, const void *key,
                                                        size_t key_len, uint32_t h, size_t slot,
                                                        uint64_t weight)
{
    struct anz_topk_entry *e;
    uint32_t idx;

    if (t->count == t->room) {
        anz_topk_purge(t);
        slot = anz_topk_free_slot(t, h);
    }
    idx = (uint32_t)t->count++;
    e = &t->entries[idx];
    memset(e, 0, sizeof(*e)); /* the whole line: key bytes past key_len are zero */
    memcpy(e->key, key, key_len);
    e->error = t->floor;
    e->weight = t->floor + weight;
    t->hashes[idx] = h;
    if (t->ext)
        memset(&t->ext[idx], 0, sizeof(t->ext[idx])); /* also hll_n = 0: an empty HyperLogLog */
    t->slots[slot] = anz_topk_slot(t, h, idx);
    return e;
}

/*
 * anz_topk_update_hashed inlined: key_len must be the table's key length, and a constant at the
 * call site so that the comparison compiles to word compares.
 */
static inline struct anz_topk_entry *anz_topk_add(struct anz_topk *t, const void *key,
                                                  size_t key_len, uint64_t hash, uint64_t weight)
{
    uint32_t h = (uint32_t)hash;
    uint32_t ep = (uint32_t)t->epoch;
    size_t mask = t->n_slots - 1, i = h & mask;

    for (uint64_t s; (uint32_t)(s = t->slots[i]) >> 24 == ep; i = (i + 1) & mask) {
        if (s >> 32 == h) {
            struct anz_topk_entry *e = &t->entries[ANZ_TOPK_SLOT_ENTRY(s)];
            if (memcmp(e->key, key, key_len) == 0) {
                e->weight += weight;
                return e;
            }
        }
    }
    return anz_topk_insert_at(t, key, key_len, h, i, weight);
}

/* The ext line of entry e (tables made with ANZ_TOPK_EXT or ANZ_TOPK_HLL). */
static inline struct anz_topk_ext *anz_topk_ext_of(const struct anz_topk *t,
                                                   const struct anz_topk_entry *e)
{
    return &t->ext[e - t->entries];
}

/* Bytes of an entry of a table ranked by bytes: what was added since it (re)entered. */
static inline uint64_t anz_topk_bytes_of(const struct anz_topk_entry *e)
{
    return e->weight - e->error;
}

/* Adds an item (its 64-bit hash) to entry e's HyperLogLog. */
static inline void anz_topk_hll_add(struct anz_topk *t, struct anz_topk_entry *e, uint64_t hash)
{
    size_t idx = (size_t)(e - t->entries);
    struct anz_topk_ext *x = &t->ext[idx];

    anz_hll_add_split(&t->hll[idx], x->sparse, &x->hll_n, hash);
}

/* Distinct items added to entry e's HyperLogLog (estimate). */
static inline double anz_topk_hll_count(const struct anz_topk *t, const struct anz_topk_entry *e)
{
    size_t idx = (size_t)(e - t->entries);

    return anz_hll_count_lazy(&t->hll[idx], t->ext[idx].hll_n);
}

/*
 * Copies the entries ordered by weight, heaviest first, into out (at most max). Returns the
 * number copied.
 */
size_t anz_topk_sorted(const struct anz_topk *t, struct anz_topk_entry *out, size_t max);

#endif
