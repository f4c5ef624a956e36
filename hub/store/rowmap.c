/*
 * rowmap.c - open-addressing (linear probing) hash map from short keys to rollup counters.
 */
#include "rowmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t key_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

void fl0wer_rowmap_init(struct fl0wer_rowmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void fl0wer_rowmap_release(struct fl0wer_rowmap *m)
{
    free(m->slots);
    fl0wer_rowmap_init(m);
}

/* Doubles the table (or creates it), rehashing every entry. Returns 0 or -1. */
static int grow(struct fl0wer_rowmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 256;
    struct fl0wer_rowmap_entry *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        struct fl0wer_rowmap_entry *e = &m->slots[i];
        if (!e->used)
            continue;
        size_t j = key_hash(e->key, e->klen) & (ncap - 1);
        while (ns[j].used)
            j = (j + 1) & (ncap - 1);
        ns[j] = *e;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

struct fl0wer_rowmap_entry *fl0wer_rowmap_get(struct fl0wer_rowmap *m, const uint8_t *key,
                                              size_t klen)
{
    if (klen > FL0WER_ROWMAP_KEY_MAX)
        return NULL;
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) != 0)
        return NULL;
    size_t j = key_hash(key, klen) & (m->cap - 1);
    for (;;) {
        struct fl0wer_rowmap_entry *e = &m->slots[j];
        if (!e->used) {
            memset(e, 0, sizeof(*e));
            memcpy(e->key, key, klen);
            e->klen = (uint8_t)klen;
            e->used = 1;
            m->count++;
            return e;
        }
        if (e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
        j = (j + 1) & (m->cap - 1);
    }
}
