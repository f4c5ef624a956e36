/*
 * topk.h - Space-Saving heavy hitters (Metwally et al.) over fixed-size keys, with a min-heap so
 * each update is O(log K) and memory is fixed at creation: a flood of distinct keys can only
 * evict the lightest entries, never grow the table.
 *
 * Each entry carries the weight it is ranked by, the weight it may over-count (`error`, inherited
 * from the entry it evicted) and a few plain counters. Tables created with a HyperLogLog per entry
 * (the detectors' tables: ports of a host, sources of a destination) keep those in a separate
 * array, so the talker tables stay small and cache-friendly.
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
    uint64_t error;  /* weight inherited on eviction (over-count bound) */
    uint64_t bytes;
    uint64_t packets;
    uint64_t flows;
    uint64_t aux;    /* detector-specific: e.g. SYN-only packets */
    uint64_t aux2;   /* detector-specific: e.g. UDP packets */
    uint32_t hash;   /* of key, kept so the index never rehashes */
};

struct anz_topk {
    size_t key_len;
    size_t cap;
    size_t count;
    struct anz_topk_entry *entries; /* cap entries */
    struct anz_hll *hll;            /* cap counters, one per entry, or NULL */
    uint32_t *heap;                 /* entry indices, min-heap by weight */
    uint32_t *heap_pos;             /* entry index -> heap position */
    uint32_t *slots;                /* open-addressing index: entry index + 1, 0 = empty */
    uint32_t *tags;                 /* hash of the entry in each slot: compared before keys */
    size_t n_slots;
    uint64_t evictions;
    size_t tombstones; /* index slots freed by evictions since the last rebuild */
};

/*
 * Allocates a table of cap entries for keys of key_len bytes, with a HyperLogLog per entry when
 * with_hll. Returns 0 or -1 (no memory).
 */
int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, bool with_hll);
void anz_topk_release(struct anz_topk *t);
/* Empties the table (keeps its memory). */
void anz_topk_clear(struct anz_topk *t);

/*
 * Finds or inserts key (evicting the lightest entry when full) and adds weight to its rank.
 * Returns the entry, valid until the next update; the caller adds its own counters to it.
 */
struct anz_topk_entry *anz_topk_update(struct anz_topk *t, const void *key, uint64_t weight);

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
