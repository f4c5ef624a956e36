/*
 * topk.c - Space-Saving heavy hitters with a min-heap and an open-addressing key index.
 */
#include <stdlib.h>
#include <string.h>

#include "topk.h"

#define SLOT_EMPTY 0u
#define SLOT_TOMB  UINT32_MAX

int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, bool with_hll)
{
    memset(t, 0, sizeof(*t));
    if (key_len == 0 || key_len > ANZ_KEY_MAX || cap == 0 || cap > (1u << 24))
        return -1;
    t->key_len = key_len;
    t->cap = cap;
    t->n_slots = 1;
    while (t->n_slots < cap * 2)
        t->n_slots <<= 1;
    t->entries = calloc(cap, sizeof(*t->entries));
    t->heap = calloc(cap, sizeof(*t->heap));
    t->heap_pos = calloc(cap, sizeof(*t->heap_pos));
    t->slots = calloc(t->n_slots, sizeof(*t->slots));
    t->tags = calloc(t->n_slots, sizeof(*t->tags));
    if (with_hll)
        t->hll = calloc(cap, sizeof(*t->hll));
    if (!t->entries || !t->heap || !t->heap_pos || !t->slots || !t->tags ||
        (with_hll && !t->hll)) {
        anz_topk_release(t);
        return -1;
    }
    return 0;
}

void anz_topk_release(struct anz_topk *t)
{
    free(t->entries);
    free(t->heap);
    free(t->heap_pos);
    free(t->slots);
    free(t->tags);
    free(t->hll);
    memset(t, 0, sizeof(*t));
}

void anz_topk_clear(struct anz_topk *t)
{
    t->count = 0;
    t->evictions = 0;
    t->tombstones = 0;
    memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
}

static uint32_t key_hash(const struct anz_topk *t, const void *key)
{
    return (uint32_t)anz_hash64(key, t->key_len, 0x746f706bu);
}

/* Returns the slot holding key (whose hash is h), or SIZE_MAX. */
static size_t find_slot(const struct anz_topk *t, const void *key, uint32_t h)
{
    size_t mask = t->n_slots - 1, i = h & mask;

    for (size_t probe = 0; probe < t->n_slots; probe++, i = (i + 1) & mask) {
        uint32_t s = t->slots[i];
        if (s == SLOT_EMPTY)
            return SIZE_MAX;
        if (s != SLOT_TOMB && t->tags[i] == h &&
            memcmp(t->entries[s - 1].key, key, t->key_len) == 0)
            return i;
    }
    return SIZE_MAX;
}

static void insert_slot(struct anz_topk *t, uint32_t h, uint32_t entry)
{
    size_t mask = t->n_slots - 1, i = h & mask;

    while (t->slots[i] != SLOT_EMPTY && t->slots[i] != SLOT_TOMB)
        i = (i + 1) & mask;
    if (t->slots[i] == SLOT_TOMB)
        t->tombstones--;
    t->slots[i] = entry + 1;
    t->tags[i] = h;
}

static void heap_swap(struct anz_topk *t, size_t a, size_t b)
{
    uint32_t ea = t->heap[a], eb = t->heap[b];

    t->heap[a] = eb;
    t->heap[b] = ea;
    t->heap_pos[eb] = (uint32_t)a;
    t->heap_pos[ea] = (uint32_t)b;
}

static uint64_t heap_w(const struct anz_topk *t, size_t pos)
{
    return t->entries[t->heap[pos]].weight;
}

/* Restores the heap below pos after the entry at pos grew heavier. */
static void sift_down(struct anz_topk *t, size_t pos)
{
    for (;;) {
        size_t l = 2 * pos + 1, r = l + 1, m = pos;
        if (l < t->count && heap_w(t, l) < heap_w(t, m))
            m = l;
        if (r < t->count && heap_w(t, r) < heap_w(t, m))
            m = r;
        if (m == pos)
            return;
        heap_swap(t, pos, m);
        pos = m;
    }
}

static void sift_up(struct anz_topk *t, size_t pos)
{
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (heap_w(t, parent) <= heap_w(t, pos))
            return;
        heap_swap(t, pos, parent);
        pos = parent;
    }
}

/*
 * Each eviction leaves a tombstone in the index; probes for absent keys walk over them, so once
 * they pass an eighth of the slots the index is rebuilt from the live entries (amortised O(1)
 * per eviction, probe chains stay short under a flood of new keys).
 */
static void maybe_rebuild_index(struct anz_topk *t)
{
    if (t->tombstones < t->n_slots / 8)
        return;
    memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
    for (size_t e = 0; e < t->count; e++)
        insert_slot(t, t->entries[e].hash, (uint32_t)e);
    t->tombstones = 0;
}

struct anz_topk_entry *anz_topk_update(struct anz_topk *t, const void *key, uint64_t weight)
{
    uint32_t h = key_hash(t, key);
    size_t slot = find_slot(t, key, h);
    struct anz_topk_entry *e;
    uint32_t idx;

    if (slot != SIZE_MAX) {
        idx = t->slots[slot] - 1;
        e = &t->entries[idx];
        e->weight += weight;
        sift_down(t, t->heap_pos[idx]);
        return e;
    }
    if (t->count < t->cap) {
        idx = (uint32_t)t->count;
        e = &t->entries[idx];
        memset(e, 0, sizeof(*e));
        memcpy(e->key, key, t->key_len);
        e->weight = weight;
        e->hash = h;
        if (t->hll)
            memset(&t->hll[idx], 0, sizeof(t->hll[idx]));
        t->heap[t->count] = idx;
        t->heap_pos[idx] = (uint32_t)t->count;
        t->count++;
        insert_slot(t, h, idx);
        sift_up(t, t->heap_pos[idx]);
        return e;
    }
    /* Full: the lightest entry gives its place and its weight (as error) to the newcomer. */
    idx = t->heap[0];
    e = &t->entries[idx];
    slot = find_slot(t, e->key, e->hash);
    if (slot != SIZE_MAX) {
        t->slots[slot] = SLOT_TOMB;
        t->tombstones++;
    }
    uint64_t inherited = e->weight;
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, t->key_len);
    if (t->hll)
        memset(&t->hll[idx], 0, sizeof(t->hll[idx]));
    e->error = inherited;
    e->weight = inherited + weight;
    e->hash = h;
    insert_slot(t, h, idx);
    sift_down(t, 0);
    t->evictions++;
    maybe_rebuild_index(t);
    return &t->entries[idx];
}

static int by_weight_desc(const void *a, const void *b)
{
    const struct anz_topk_entry *x = a, *y = b;

    if (x->weight != y->weight)
        return x->weight < y->weight ? 1 : -1;
    return memcmp(x->key, y->key, ANZ_KEY_MAX);
}

size_t anz_topk_sorted(const struct anz_topk *t, struct anz_topk_entry *out, size_t max)
{
    struct anz_topk_entry *all = malloc(t->count * sizeof(*all) + 1);
    size_t n;

    if (all == NULL)
        return 0;
    memcpy(all, t->entries, t->count * sizeof(*all));
    qsort(all, t->count, sizeof(*all), by_weight_desc);
    n = t->count < max ? t->count : max;
    memcpy(out, all, n * sizeof(*out));
    free(all);
    return n;
}
