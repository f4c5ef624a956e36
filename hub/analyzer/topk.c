/*
 * topk.c - heavy hitters with batched eviction (see topk.h): an open-addressing index of
 * (hash, entry) words over a dense entry array, and a purge that keeps the cap heaviest by
 * quickselect.
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
    t->epoch = 1; /* calloc'd slots are epoch 0: empty */
    t->scratch = calloc(t->room, sizeof(*t->scratch));
    if (with_hll)
        t->hll = calloc(t->room, sizeof(*t->hll));
    if (!t->entries || !t->slots || !t->scratch || (with_hll && !t->hll)) {
        anz_topk_release(t);
        return -1;
    }
    return 0;
}

void anz_topk_release(struct anz_topk *t)
{
    free(t->entries);
    free(t->slots);
    free(t->scratch);
    free(t->hll);
    memset(t, 0, sizeof(*t));
}

/*
 * Empties the index: slots of an older epoch read as empty, so this is epoch++, and a real clear
 * once every 255 times when the 8-bit epoch wraps.
 */
static void index_clear(struct anz_topk *t)
{
    if (++t->epoch > 255) {
        memset(t->slots, 0, t->n_slots * sizeof(*t->slots));
        t->epoch = 1;
    }
}

void anz_topk_clear(struct anz_topk *t)
{
    t->count = 0;
    t->evictions = 0;
    t->floor = 0;
    index_clear(t);
}

static void index_insert(struct anz_topk *t, uint32_t h, uint32_t entry)
{
    t->slots[anz_topk_free_slot(t, h)] = anz_topk_slot(t, h, entry);
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

/*
 * Bucket of a weight in a monotonic 1024-bucket scale: small weights exactly, larger ones by the
 * position of their top bit and the four bits below it.
 */
static inline uint32_t weight_bucket(uint64_t w)
{
    unsigned top;

    if (w < 16)
        return (uint32_t)w;
    top = 63u - (unsigned)__builtin_clzll(w);
    return (top - 3) * 16 + (uint32_t)((w >> (top - 4)) & 15);
}

#define TOPK_BUCKETS 1024

/*
 * The cap-th largest weight (cap < count) and how many weights are above it: a histogram of
 * weight buckets finds the bucket that holds it, then a selection among that bucket's weights
 * alone (usually a few dozen) gives the exact value. Uses t->scratch.
 */
static uint64_t purge_threshold(struct anz_topk *t, size_t *above)
{
    uint32_t hist[TOPK_BUCKETS] = {0};
    size_t cum = 0, m = 0, b = TOPK_BUCKETS;
    uint64_t thr;

    for (size_t i = 0; i < t->count; i++) {
        uint32_t k = weight_bucket(t->entries[i].weight);
        t->scratch[i] = k;
        hist[k]++;
    }
    while (b > 0 && cum + hist[b - 1] < t->cap)
        cum += hist[--b];
    b--; /* the bucket where the cap-th largest lies; cum weights are in buckets above it */
    for (size_t i = 0; i < t->count; i++)
        if (t->scratch[i] == b) /* m <= i: scratch[i] was read before anything is written */
            t->scratch[m++] = t->entries[i].weight;
    thr = select_kth_largest(t->scratch, m, t->cap - cum - 1);
    for (size_t i = 0; i < m; i++)
        cum += t->scratch[i] > thr;
    *above = cum;
    return thr;
}

/* Keeps the cap heaviest entries (ties at the threshold by position), drops the rest. */
void anz_topk_purge(struct anz_topk *t)
{
    size_t kept = 0, at_threshold, above;
    uint64_t thr;

    thr = purge_threshold(t, &above);
    /* Entries above the threshold all stay; those equal to it fill the remaining places. */
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
            if (t->hll && e->hll_n == ANZ_HLL_DENSE)
                t->hll[kept] = t->hll[i];
            else if (t->hll) /* sparse: only the items */
                memcpy(t->hll[kept].sparse, t->hll[i].sparse, e->hll_n * sizeof(uint16_t));
        }
        kept++;
    }
    t->evictions += t->count - kept;
    t->count = kept;
    index_clear(t);
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
    uint32_t ep = (uint32_t)t->epoch;
    size_t mask = t->n_slots - 1, i = h & mask;

    for (uint64_t s; (uint32_t)(s = t->slots[i]) >> 24 == ep; i = (i + 1) & mask) {
        if (s >> 32 == h) {
            struct anz_topk_entry *e = &t->entries[ANZ_TOPK_SLOT_ENTRY(s)];
            if (memcmp(e->key, key, t->key_len) == 0) {
                e->weight += weight;
                return e;
            }
        }
    }
    return anz_topk_insert_at(t, key, t->key_len, h, i, weight);
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
