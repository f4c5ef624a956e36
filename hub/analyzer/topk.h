/*
 * topk.h - heavy hitters over fixed-size keys in fixed memory, in the spirit of Space-Saving
 * (Metwally et al.) with batched eviction: the table has room for 2 x cap entries; when it is
 * full, one pass keeps the cap heaviest and drops the rest (amortised O(1) per update, no heap).
 * A new key enters with the heaviest weight dropped so far in this window as its `error`, so for
 * every entry: weight - error <= true weight <= weight. A flood of distinct keys can only churn
 * the light half, never grow the table.
 *
 * Each entry carries the weight it is ranked by, its over-count bound and a few plain counters.
 * Tables created with a HyperLogLog per entry (the detectors' tables: ports of a host, sources of
 * a destination) keep those in a separate array, so the talker tables stay small.
 */
#ifndef FL0WER_ANALYZER_TOPK_H
#define FL0WER_ANALYZER_TOPK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hll.h"

#define ANZ_KEY_MAX 40

struct anz_topk_entry {
    uint8_t key[ANZ_KEY_MAX];
    uint64_t weight; /* rank: bytes, packets or flows, as the table's user chooses */
    uint64_t error;  /* weight this key may have had before it (re)entered: over-count bound */
    uint64_t bytes;
    uint64_t packets;
    uint64_t flows;
    uint64_t aux;    /* detector-specific: e.g. SYN-only packets */
    uint64_t aux2;   /* detector-specific: e.g. UDP packets */
    uint32_t hash;   /* of key, kept so the index never rehashes */
};

struct anz_topk {
    size_t key_len;
    size_t cap;                     /* entries kept by a purge */
    size_t room;                    /* 2 * cap: entries held before a purge */
    size_t count;
    struct anz_topk_entry *entries; /* room entries */
    struct anz_hll *hll;            /* room counters, one per entry, or NULL */
    uint32_t *slots;                /* open-addressing index: entry index + 1, 0 = empty */
    uint32_t *tags;                 /* hash of the entry in each slot: compared before keys */
    uint64_t *scratch;              /* room weights, for the purge's selection */
    size_t n_slots;
    uint64_t floor;                 /* heaviest weight dropped since the last clear */
    uint64_t evictions;
};

/*
 * Allocates a table keeping cap entries (2 x cap between purges) for keys of key_len bytes, with
 * a HyperLogLog per entry when with_hll. Returns 0 or -1 (no memory).
 */
int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, bool with_hll);
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

/* The HyperLogLog of entry e (tables created with_hll only). */
static inline struct anz_hll *anz_topk_hll(const struct anz_topk *t,
                                           const struct anz_topk_entry *e)
{
    return &t->hll[e - t->entries];
}

/*
 * Copies the entries ordered by weight, heaviest first, into out (at most max). Returns the
 * number copied.
 */
size_t anz_topk_sorted(const struct anz_topk *t, struct anz_topk_entry *out, size_t max);

#endif
