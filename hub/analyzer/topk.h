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
 * plain counters. Tables with a HyperLogLog per entry (ports of a host, sources of a
 * destination) keep its sparse form in that line and the dense registers in a separate array,
 * used only once an entry has seen more than ANZ_HLL_SPARSE_MAX registers (see hll.h), so a new
 * entry costs no 256-byte clear and a light one no second line. Detector counters (SYN-only, UDP,
 * TCP packets) are in a parallel array of 32-byte records.
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
 *
 * In tables with a HyperLogLog per entry, its sparse form (see hll.h) is in the entry's line too:
 * after the key when keys are at most 16 bytes (k16.sparse), else in place of the packets and
 * flows counters, which such tables do not keep (anz_topk_sparse picks).
 */
struct anz_topk_entry {
    _Alignas(64) union {
        uint8_t key[ANZ_KEY_MAX];
        struct {
            uint8_t key[16];
            struct anz_hll_sparse sparse;
        } k16;
    };
    uint64_t weight; /* rank: bytes, packets or flows, as the table's user chooses */
    uint64_t error;  /* weight this key may have had before it (re)entered: over-count bound */
    union {
        struct {
            uint64_t packets;
            uint64_t flows;
        };
        struct anz_hll_sparse sparse; /* HyperLogLog tables with keys over 16 bytes */
    };
};

_Static_assert(sizeof(struct anz_topk_entry) == 64, "an entry is one cache line");

/* Detector counters of tables made with ANZ_TOPK_EXT, in a parallel array (two a line). */
struct anz_topk_ext {
    uint64_t aux;  /* detector-specific: e.g. SYN-only packets */
    uint64_t aux2; /* detector-specific: e.g. UDP packets */
    uint64_t aux3; /* detector-specific: e.g. TCP packets */
    uint64_t pad;
};

/* Table options for anz_topk_init: a HyperLogLog per entry; detector counters per entry. */
#define ANZ_TOPK_HLL 1u
#define ANZ_TOPK_EXT 2u

struct anz_topk {
    size_t key_len;
    size_t cap;                     /* entries kept by a purge */
    size_t room;                    /* 2 * cap: entries held before a purge */
    size_t count;
    struct anz_topk_entry *entries; /* room entries */
    struct anz_topk_ext *ext;       /* room detector counters, one per entry, or NULL */
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
 * opts: ANZ_TOPK_HLL for a HyperLogLog per entry (with keys over 16 bytes its entries have no
 * packets and flows counters), ANZ_TOPK_EXT for detector counters per entry. Returns 0 or -1.
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

/* Inserts ahead of the current one whose entry (and ext) lines are prefetched for writing. */
#define ANZ_TOPK_AHEAD 2

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
    if (idx + ANZ_TOPK_AHEAD < t->room) { /* inserts go in order: the next slots' lines */
        __builtin_prefetch(&t->entries[idx + ANZ_TOPK_AHEAD], 1);
        if (t->ext)
            __builtin_prefetch(&t->ext[idx + ANZ_TOPK_AHEAD], 1);
    }
    e = &t->entries[idx];
    memset(e, 0, sizeof(*e)); /* the whole line: key bytes past key_len are zero, and so is a
                                 sparse HyperLogLog's count: empty */
    memcpy(e->key, key, key_len);
    e->error = t->floor;
    e->weight = t->floor + weight;
    t->hashes[idx] = h;
    if (t->ext)
        memset(&t->ext[idx], 0, sizeof(t->ext[idx]));
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

/* The detector counters of entry e (tables made with ANZ_TOPK_EXT). */
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

/* The sparse HyperLogLog of entry e of a table made with ANZ_TOPK_HLL (see anz_topk_entry). */
static inline struct anz_hll_sparse *anz_topk_sparse(const struct anz_topk *t,
                                                     struct anz_topk_entry *e)
{
    return t->key_len <= 16 ? &e->k16.sparse : &e->sparse;
}

/* Adds an item (its 64-bit hash) to entry e's HyperLogLog. */
static inline void anz_topk_hll_add(struct anz_topk *t, struct anz_topk_entry *e, uint64_t hash)
{
    struct anz_hll_sparse *sp = anz_topk_sparse(t, e);

    anz_hll_add_split(&t->hll[e - t->entries], sp->items, &sp->n, hash);
}

/* Distinct items added to entry e's HyperLogLog (estimate). */
static inline double anz_topk_hll_count(const struct anz_topk *t, const struct anz_topk_entry *e)
{
    const struct anz_hll_sparse *sp = t->key_len <= 16 ? &e->k16.sparse : &e->sparse;

    return anz_hll_count_lazy(&t->hll[e - t->entries], sp->n);
}

/*
 * Copies the entries ordered by weight, heaviest first, into out (at most max). Returns the
 * number copied.
 */
size_t anz_topk_sorted(const struct anz_topk *t, struct anz_topk_entry *out, size_t max);

#endif
