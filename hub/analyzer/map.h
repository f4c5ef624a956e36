/*
 * map.h - a fixed-capacity hash map from fixed-size keys to fixed-size values, for the
 * analyzer's per-series state (baselines, exporters, edges). It never grows: when full, inserts
 * fail and the caller counts the overflow, so memory is set at creation.
 */
#ifndef FL0WER_ANALYZER_MAP_H
#define FL0WER_ANALYZER_MAP_H

#include <stddef.h>
#include <stdint.h>

struct anz_map {
    size_t key_len;
    size_t val_len;
    size_t cap;    /* values */
    size_t count;
    size_t n_slots;
    uint32_t *slots; /* value index + 1, 0 = empty (no deletion, so no tombstones) */
    uint8_t *keys;   /* cap * key_len */
    uint8_t *vals;   /* cap * val_len, zeroed on insert */
    uint64_t overflow;
};

int anz_map_init(struct anz_map *m, size_t key_len, size_t val_len, size_t cap);
void anz_map_release(struct anz_map *m);

/* Returns the value for key, inserting a zeroed one when absent; NULL when the map is full. */
void *anz_map_get(struct anz_map *m, const void *key);

/* Returns the value for key or NULL, without inserting. */
void *anz_map_find(const struct anz_map *m, const void *key);

/* The i-th key / value (0 <= i < count), for iteration. */
static inline const void *anz_map_key(const struct anz_map *m, size_t i)
{
    return m->keys + i * m->key_len;
}
static inline void *anz_map_val(const struct anz_map *m, size_t i)
{
    return m->vals + i * m->val_len;
}

#endif
