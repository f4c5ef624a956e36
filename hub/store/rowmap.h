/*
 * rowmap.h - a map from a group key to rollup counters, for the query engine's top-N group-by.
 * Keys are 128-bit numbers (khi, klo) as in struct store_rollup_entry: keys of up to 8 bytes
 * are klo, 16-byte keys (addresses) their big-endian halves, so numeric order is the keys'
 * byte order. Entries are kept dense, in insertion order. While every key is below
 * FL0WER_ROWMAP_DIRECT (ports, protocols, small AS numbers and interfaces) the entry of a key
 * is found through a direct index (key -> entry); the first larger key moves the map to an
 * open-addressing hash table for good. Not thread-safe.
 */
#ifndef FL0WER_ROWMAP_H
#define FL0WER_ROWMAP_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/store.h"

#define FL0WER_ROWMAP_DIRECT 65536u /* keys (khi 0, klo below this) of the direct index */

struct fl0wer_rowmap_entry {
    uint64_t khi, klo;
    struct fl0wer_rollup_counters c;
};

struct fl0wer_rowmap {
    uint32_t *direct;                   /* FL0WER_ROWMAP_DIRECT entry indices + 1, 0 = absent;
                                           NULL once hashed (or before the first key) */
    uint32_t *slots;                    /* hash form: entry index + 1; 0 = empty */
    size_t cap;                         /* slots, power of two */
    struct fl0wer_rowmap_entry *ents;   /* count used of ents_cap */
    size_t count, ents_cap;
};

/* Initialises an empty map (no allocation). */
void fl0wer_rowmap_init(struct fl0wer_rowmap *m);
void fl0wer_rowmap_release(struct fl0wer_rowmap *m);
/* The general case of fl0wer_rowmap_get (inserts, the hash form). */
struct fl0wer_rowmap_entry *fl0wer_rowmap_get_slow(struct fl0wer_rowmap *m, uint64_t khi,
                                                   uint64_t klo);

/*
 * Returns the entry for (khi, klo), inserting a zero one when absent; NULL when out of memory.
 * The pointer is valid until the next insert.
 */
static inline struct fl0wer_rowmap_entry *fl0wer_rowmap_get(struct fl0wer_rowmap *m,
                                                            uint64_t khi, uint64_t klo)
{
    if (m->direct && khi == 0 && klo < FL0WER_ROWMAP_DIRECT && m->direct[klo])
        return &m->ents[m->direct[klo] - 1];
    return fl0wer_rowmap_get_slow(m, khi, klo);
}

/* As fl0wer_rowmap_get, but the entry's index in m->ents; -1 when out of memory. Its own fast
 * path: taking the index from fl0wer_rowmap_get's pointer divides by the entry size for every
 * row (+7 % instructions for a top-N by destination port over a day). */
static inline int64_t fl0wer_rowmap_index(struct fl0wer_rowmap *m, uint64_t khi, uint64_t klo)
{
    if (m->direct && khi == 0 && klo < FL0WER_ROWMAP_DIRECT && m->direct[klo])
        return (int64_t)m->direct[klo] - 1;
    struct fl0wer_rowmap_entry *e = fl0wer_rowmap_get_slow(m, khi, klo);
    return e ? e - m->ents : -1;
}

struct store_rollup_reader;
/*
 * rollup.c: adds every row of a freshly opened rollup array of key width 8 or less to m, each
 * under its key masked by key_mask (a port's rank key drops the protocol: 0xffff), decoding
 * column by column straight into the map's counters (no entry array). Returns 0,
 * FL0WER_STORE_ERR_CORRUPT (rows read before the fault stay added) or FL0WER_STORE_ERR_NOMEM.
 */
int store_rollup_add_to_map(struct store_rollup_reader *r, struct fl0wer_rowmap *m,
                            uint64_t key_mask);

#endif /* FL0WER_ROWMAP_H */
