/*
 * rowmap.c - the group-by map of rowmap.h: a dense entry array in insertion order, found through
 * a direct index while every key is small, else through an open-addressing (linear probing)
 * hash table of entry indices.
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
    free(m->direct);
    free(m->slots);
    free(m->ents);
    fl0wer_rowmap_init(m);
}

/* Makes room for one more entry (doubling the array). Returns 0 or -1. */
static int grow_ents(struct fl0wer_rowmap *m)
{
    size_t ncap = m->ents_cap ? m->ents_cap * 2 : 512;
    struct fl0wer_rowmap_entry *ne;

    if (m->count < m->ents_cap)
        return 0;
    if (ncap > UINT32_MAX || !(ne = realloc(m->ents, ncap * sizeof(*ne))))
        return -1;
    m->ents = ne;
    m->ents_cap = ncap;
    return 0;
}

/* Replaces the slot table by one of ncap slots (a power of two) holding every entry. */
static int rehash(struct fl0wer_rowmap *m, size_t ncap)
{
    size_t mask = ncap - 1;
    uint32_t *ns = calloc(ncap, sizeof(*ns));

    if (!ns)
        return -1;
    for (size_t i = 0; i < m->count; i++) {
        size_t j = key_slot(m->ents[i].khi, m->ents[i].klo, mask);
        while (ns[j])
            j = (j + 1) & mask;
        ns[j] = (uint32_t)(i + 1);
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Appends a zero entry for (khi, klo) (room made by the caller) and returns it. */
static struct fl0wer_rowmap_entry *append(struct fl0wer_rowmap *m, uint64_t khi, uint64_t klo)
{
    struct fl0wer_rowmap_entry *e = &m->ents[m->count++];
    e->khi = khi;
    e->klo = klo;
    memset(&e->c, 0, sizeof(e->c));
    return e;
}

/* Moves a direct-indexed map (or an empty one) to the hash form. Returns 0 or -1. */
static int to_hash(struct fl0wer_rowmap *m)
{
    size_t ncap = 1024;

    while (ncap < 2 * (m->count + 1))
        ncap *= 2;
    if (rehash(m, ncap) != 0)
        return -1;
    free(m->direct);
    m->direct = NULL;
    return 0;
}

struct fl0wer_rowmap_entry *fl0wer_rowmap_get_slow(struct fl0wer_rowmap *m, uint64_t khi,
                                                   uint64_t klo)
{
    bool small = khi == 0 && klo < FL0WER_ROWMAP_DIRECT;

    if (!m->direct && !m->slots && small &&
        !(m->direct = calloc(FL0WER_ROWMAP_DIRECT, sizeof(*m->direct))))
        return NULL;
    if (m->direct && small) {
        uint32_t s = m->direct[klo];
        if (s)
            return &m->ents[s - 1];
        if (grow_ents(m) != 0)
            return NULL;
        m->direct[klo] = (uint32_t)(m->count + 1);
        return append(m, khi, klo);
    }
    if (!m->slots && to_hash(m) != 0)
        return NULL;
    if (2 * (m->count + 1) > m->cap && rehash(m, 2 * m->cap) != 0)
        return NULL;
    size_t mask = m->cap - 1, j = key_slot(khi, klo, mask);
    for (;;) {
        uint32_t s = m->slots[j];
        if (!s)
            break;
        struct fl0wer_rowmap_entry *e = &m->ents[s - 1];
        if (e->klo == klo && e->khi == khi)
            return e;
        j = (j + 1) & mask;
    }
    if (grow_ents(m) != 0)
        return NULL;
    m->slots[j] = (uint32_t)(m->count + 1);
    return append(m, khi, klo);
}
