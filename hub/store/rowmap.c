/*
 * rowmap.c - open-addressing (linear probing) hash map from 128-bit group keys to rollup
 * counters; the slots hold indices into a dense entry array.
 */
#include "rowmap.h"

#include <stdlib.h>
#include <string.h>

static size_t key_slot(uint64_t hi, uint64_t lo, size_t mask)
{
    uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    return (size_t)(h ^ (h >> 29)) & mask;
}

void fl0wer_rowmap_init(struct fl0wer_rowmap *m)
{
    memset(m, 0, sizeof(*m));
}

void fl0wer_rowmap_release(struct fl0wer_rowmap *m)
{
    free(m->slots);
    free(m->ents);
    fl0wer_rowmap_init(m);
}

/* Doubles the slot table (or creates it) and the entry array. Returns 0 or -1. */
static int grow(struct fl0wer_rowmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024, mask = ncap - 1;
    uint32_t *ns = calloc(ncap, sizeof(*ns));
    struct fl0wer_rowmap_entry *ne = realloc(m->ents, ncap / 2 * sizeof(*ne));

    if (!ns || !ne || ncap / 2 > UINT32_MAX) {
        free(ns);
        if (ne)
            m->ents = ne;
        return -1;
    }
    m->ents = ne;
    m->ents_cap = ncap / 2;
    for (size_t i = 0; i < m->count; i++) {
        size_t j = key_slot(ne[i].khi, ne[i].klo, mask);
        while (ns[j])
            j = (j + 1) & mask;
        ns[j] = (uint32_t)(i + 1);
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

struct fl0wer_rowmap_entry *fl0wer_rowmap_get(struct fl0wer_rowmap *m, uint64_t khi,
                                              uint64_t klo)
{
    if (m->count + 1 > m->ents_cap && grow(m) != 0)
        return NULL;
    size_t mask = m->cap - 1, j = key_slot(khi, klo, mask);
    for (;;) {
        uint32_t s = m->slots[j];
        if (!s) {
            struct fl0wer_rowmap_entry *e = &m->ents[m->count];
            e->khi = khi;
            e->klo = klo;
            memset(&e->c, 0, sizeof(e->c));
            m->slots[j] = (uint32_t)++m->count;
            return e;
        }
        struct fl0wer_rowmap_entry *e = &m->ents[s - 1];
        if (e->klo == klo && e->khi == khi)
            return e;
        j = (j + 1) & mask;
    }
}
