/*
 * rowmap.h - a hash map from a group key to rollup counters, for the query engine's top-N
 * group-by. Keys are 128-bit numbers (khi, klo) as in struct store_rollup_entry: keys of up to
 * 8 bytes are klo, 16-byte keys (addresses) their big-endian halves, so numeric order is the
 * keys' byte order. Entries are kept dense, in insertion order. Not thread-safe.
 */
#ifndef FL0WER_ROWMAP_H
#define FL0WER_ROWMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/store.h"

struct fl0wer_rowmap_entry {
    uint64_t khi, klo;
    struct fl0wer_rollup_counters c;
};

struct fl0wer_rowmap {
    uint32_t *slots;                    /* entry index + 1; 0 = empty */
    size_t cap;                         /* slots, power of two */
    struct fl0wer_rowmap_entry *ents;   /* count used of ents_cap */
    size_t count, ents_cap;
};

/* Initialises an empty map (no allocation). */
void fl0wer_rowmap_init(struct fl0wer_rowmap *m);
void fl0wer_rowmap_release(struct fl0wer_rowmap *m);
/*
 * Returns the entry for (khi, klo), inserting a zero one when absent; NULL when out of memory.
 * The pointer is valid until the next insert.
 */
struct fl0wer_rowmap_entry *fl0wer_rowmap_get(struct fl0wer_rowmap *m, uint64_t khi,
                                              uint64_t klo);

#endif /* FL0WER_ROWMAP_H */
