/*
 * map.c - fixed-capacity open-addressing hash map.
 */
#include <stdlib.h>
#include <string.h>

#include "hll.h"
#include "map.h"

int anz_map_init(struct anz_map *m, size_t key_len, size_t val_len, size_t cap)
{
    memset(m, 0, sizeof(*m));
    if (key_len == 0 || val_len == 0 || cap == 0 || cap > (1u << 24))
        return -1;
    m->key_len = key_len;
    m->val_len = val_len;
    m->cap = cap;
    m->n_slots = 1;
    while (m->n_slots < cap * 2)
        m->n_slots <<= 1;
    m->slots = calloc(m->n_slots, sizeof(*m->slots));
    m->keys = calloc(cap, key_len);
    m->vals = calloc(cap, val_len);
    if (!m->slots || !m->keys || !m->vals) {
        anz_map_release(m);
        return -1;
    }
    return 0;
}

void anz_map_release(struct anz_map *m)
{
    free(m->slots);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* Hash of a key: addresses (16 bytes) and series keys (24 bytes) by word, others by anz_hash64. */
static uint64_t map_hash(const struct anz_map *m, const void *key)
{
    uint64_t w[3];

    if (m->key_len == 16)
        return anz_hash_addr(key);
    if (m->key_len == 24) {
        memcpy(w, key, sizeof(w));
        return anz_mix64(w[0] ^ w[1] * 0x9e3779b97f4a7c15ULL ^ w[2] * 0xc2b2ae3d27d4eb4fULL);
    }
    return anz_hash64(key, m->key_len, 0x6d6170u);
}

/* Returns the slot of key, or the empty slot where it would go. */
static size_t probe(const struct anz_map *m, const void *key)
{
    size_t mask = m->n_slots - 1, i = (size_t)map_hash(m, key) & mask;
    const uint8_t *keys = m->keys;

    /* Constant lengths for the common keys: compared word by word, not through a call. */
    if (m->key_len == 16) {
        while (m->slots[i] != 0 && memcmp(keys + (size_t)(m->slots[i] - 1) * 16, key, 16) != 0)
            i = (i + 1) & mask;
    } else if (m->key_len == 24) {
        while (m->slots[i] != 0 && memcmp(keys + (size_t)(m->slots[i] - 1) * 24, key, 24) != 0)
            i = (i + 1) & mask;
    } else {
        while (m->slots[i] != 0 &&
               memcmp(keys + (size_t)(m->slots[i] - 1) * m->key_len, key, m->key_len) != 0)
            i = (i + 1) & mask;
    }
    return i;
}

void *anz_map_find(const struct anz_map *m, const void *key)
{
    size_t i = probe(m, key);

    if (m->slots[i] == 0)
        return NULL;
    return m->vals + (size_t)(m->slots[i] - 1) * m->val_len;
}

void *anz_map_get(struct anz_map *m, const void *key)
{
    size_t i = probe(m, key);
    size_t v;

    if (m->slots[i] != 0)
        return m->vals + (size_t)(m->slots[i] - 1) * m->val_len;
    if (m->count == m->cap) {
        m->overflow++;
        return NULL;
    }
    v = m->count++;
    memcpy(m->keys + v * m->key_len, key, m->key_len);
    memset(m->vals + v * m->val_len, 0, m->val_len);
    m->slots[i] = (uint32_t)(v + 1);
    return m->vals + v * m->val_len;
}
