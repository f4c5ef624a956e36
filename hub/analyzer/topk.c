/*
 * topk.c - heavy hitters with batched eviction (see topk.h): an open-addressing index with hash
 * tags over a dense entry array, and a purge that keeps the cap heaviest by quickselect.
 */
#include <stdlib.h>
#include <string.h>

#include "topk.h"

int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, bool with_hll)
{
    memset(t, 0, sizeof(*t));
    if (key_len == 0 || key_len > ANZ_KEY_MAX || cap == 0 || cap > (1u << 22))
        return -1;
    t->key_len = key_len;
    t->cap = cap;
    t->room = 2 * cap;
    t->n_slots = 1;
    while (t->n_slots < t->room * 2)
        t->n_slots <<= 1;
    t->entries = calloc(t->room, sizeof(*t->entries));
    t->slots = calloc(t->n_slots, sizeof(*t->slots));
    t->tags = calloc(t->n_slots, sizeof(*t->tags));
    t->scratch = calloc(t->room, sizeof(*t->scratch));
    if (with_hll)
        t->hll = calloc(t->room, sizeof(*t->hll));
    if (!t->entries || !t->slots || !t->tags || !t->scratch || (with_hll && !t->hll)) {
        anz_topk_release(t);
        return -1;
    }
    return 0;
}

void anz_topk_release(struct anz_topk *t)
{
    free(t->entries);
    free(t->slots);
    free(t->tags);
    free(t->scratch);
    free(t->hll);
    memset(t, 0, sizeof(*t));
}

void anz_topk_clear(struct anz_topk *t)
{
    t->count = 0;
    t->evictions = 0;
    t->floor = 0;
    memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
}

static void index_insert(struct anz_topk *t, uint32_t h, uint32_t entry)
{
    size_t mask = t->n_slots - 1, i = h & mask;

    while (t->slots[i] != 0)
        i = (i + 1) & mask;
    t->slots[i] = entry + 1;
    t->tags[i] = h;
}

/* Returns the k-th largest of v[0..n) (k from 0), reordering v. */
static uint64_t select_kth_largest(uint64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;

    while (lo < hi) {
        uint64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] > pivot)
                i++;
            while (v[j] < pivot)
                j--;
            if (i <= j) {
                uint64_t x = v[i];
                v[i] = v[j];
                v[j] = x;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[lo];
}

/* Keeps the cap heaviest entries (ties at the threshold by position), drops the rest. */
static void purge(struct anz_topk *t)
{
    size_t kept = 0, at_threshold;
    uint64_t thr;

    for (size_t i = 0; i < t->count; i++)
        t->scratch[i] = t->entries[i].weight;
    thr = select_kth_largest(t->scratch, t->count, t->cap - 1);
    /* Entries above the threshold all stay; those equal to it fill the remaining places. */
    size_t above = 0;
    for (size_t i = 0; i < t->count; i++)
        above += t->entries[i].weight > thr;
    at_threshold = t->cap - above;
    for (size_t i = 0; i < t->count; i++) {
        struct anz_topk_entry *e = &t->entries[i];
        bool keep = e->weight > thr || (e->weight == thr && at_threshold > 0 && at_threshold--);
        if (!keep) {
            if (e->weight > t->floor)
                t->floor = e->weight;
            continue;
        }
        if (kept != i) {
            t->entries[kept] = *e;
            if (t->hll)
                t->hll[kept] = t->hll[i];
        }
        kept++;
    }
    t->evictions += t->count - kept;
    t->count = kept;
    memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
    for (size_t i = 0; i < kept; i++)
        index_insert(t, t->entries[i].hash, (uint32_t)i);
}

struct anz_topk_entry *anz_topk_update(struct anz_topk *t, const void *key, uint64_t weight)
{
    return anz_topk_update_hashed(t, key, anz_hash64(key, t->key_len, 0x746f706bu), weight);
}

struct anz_topk_entry *anz_topk_update_hashed(struct anz_topk *t, const void *key, uint64_t hash,
                                              uint64_t weight)
{
    uint32_t h = (uint32_t)hash;
    size_t mask = t->n_slots - 1, i = h & mask;
    struct anz_topk_entry *e;
    uint32_t idx;

    for (uint32_t s; (s = t->slots[i]) != 0; i = (i + 1) & mask) {
        if (t->tags[i] == h && memcmp(t->entries[s - 1].key, key, t->key_len) == 0) {
            e = &t->entries[s - 1];
            e->weight += weight;
            return e;
        }
    }
    if (t->count == t->room)
        purge(t);
    idx = (uint32_t)t->count++;
    e = &t->entries[idx];
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, t->key_len);
    e->hash = h;
    e->error = t->floor;
    e->weight = t->floor + weight;
    if (t->hll)
        memset(&t->hll[idx], 0, sizeof(t->hll[idx]));
    index_insert(t, h, idx);
    return e;
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
    size_t n = 0;

    if (max == 0 || t->count == 0)
        return 0;
    if (max >= t->count) {
        memcpy(out, t->entries, t->count * sizeof(*out));
        n = t->count;
    } else {
        /* Select the max heaviest first (O(count)), then sort only those. */
        uint64_t *w = malloc(t->count * sizeof(*w));
        if (w == NULL)
            return 0;
        for (size_t i = 0; i < t->count; i++)
            w[i] = t->entries[i].weight;
        uint64_t thr = select_kth_largest(w, t->count, max - 1);
        free(w);
        for (size_t i = 0; i < t->count && n < max; i++)
            if (t->entries[i].weight > thr)
                out[n++] = t->entries[i];
        for (size_t i = 0; i < t->count && n < max; i++)
            if (t->entries[i].weight == thr)
                out[n++] = t->entries[i];
    }
    if (n > 1)
        qsort(out, n, sizeof(*out), by_weight_desc);
    return n;
}
