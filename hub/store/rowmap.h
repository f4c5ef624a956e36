/*
 * rowmap.h - an open-addressing hash map from a short binary key (<= 32 bytes) to rollup
 * counters. The store uses it to pre-aggregate a batch's rollup rows before merging them; the
 * query engine uses it for top-N group-by. Not thread-safe.
 */
#ifndef FL0WER_ROWMAP_H
#define FL0WER_ROWMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/store.h"

#define FL0WER_ROWMAP_KEY_MAX 32

struct fl0wer_rowmap_entry {
    struct fl0wer_rollup_counters c;
    uint8_t key[FL0WER_ROWMAP_KEY_MAX];
    uint8_t klen;
    uint8_t used;
};

struct fl0wer_rowmap {
    struct fl0wer_rowmap_entry *slots;
    size_t cap;   /* power of two */
    size_t count;
};

/* Initialises an empty map (no allocation). */
void fl0wer_rowmap_init(struct fl0wer_rowmap *m);
void fl0wer_rowmap_release(struct fl0wer_rowmap *m);
/*
 * Returns the entry for key, inserting a zero one when absent; NULL when out of memory or klen
 * is over FL0WER_ROWMAP_KEY_MAX. The pointer is valid until the next insert.
 */
struct fl0wer_rowmap_entry *fl0wer_rowmap_get(struct fl0wer_rowmap *m, const uint8_t *key,
                                              size_t klen);

#endif /* FL0WER_ROWMAP_H */
