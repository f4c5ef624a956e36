/*
 * topk.c - heavy hitters with batched eviction (see topk.h): an open-addressing index of
 * (hash, epoch, entry) words over a dense entry array, and a purge that drops the entries not
 * above a sampled cut (an exact quickselect only when the sample misleads).
 */
#include <stdlib.h>
#include <string.h>

#include "topk.h"

/* Rounds up to a multiple of 64 bytes (a cache line). */
static size_t line_up(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Checks the sizes and sets them in t. Returns 0 or -1 (bad sizes). */
static int set_sizes(struct anz_topk *t, size_t key_len, size_t cap)
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
    t->epoch = 1; /* zeroed slots are epoch 0: empty */
    return 0;
}

size_t anz_topk_bytes(size_t key_len, size_t cap, unsigned opts)
{
    struct anz_topk t;

    if (set_sizes(&t, key_len, cap) != 0)
        return 0;
    return line_up(t.room * sizeof(*t.entries)) + line_up(t.room * sizeof(*t.hashes)) +
           line_up(t.n_slots * sizeof(*t.slots)) + line_up(t.room * sizeof(*t.scratch)) +
           (opts & ANZ_TOPK_EXT ? line_up(t.room * sizeof(*t.ext)) : 0) +
           (opts & ANZ_TOPK_HLL ? t.room * sizeof(*t.hll) : 0);
}

int anz_topk_init_at(struct anz_topk *t, size_t key_len, size_t cap, unsigned opts, void *mem)
{
    uint8_t *p = mem;

    if (set_sizes(t, key_len, cap) != 0)
        return -1;
    t->entries = (struct anz_topk_entry *)p;
    p += line_up(t->room * sizeof(*t->entries));
    t->hashes = (uint32_t *)p;
    p += line_up(t->room * sizeof(*t->hashes));
    t->slots = (uint64_t *)p;
    p += line_up(t->n_slots * sizeof(*t->slots));
    t->scratch = (uint64_t *)p;
    p += line_up(t->room * sizeof(*t->scratch));
    if (opts & ANZ_TOPK_EXT) {
        t->ext = (struct anz_topk_ext *)p;
        p += line_up(t->room * sizeof(*t->ext));
    }
    if (opts & ANZ_TOPK_HLL)
        t->hll = (struct anz_hll *)p;
    return 0;
}

int anz_topk_init(struct anz_topk *t, size_t key_len, size_t cap, unsigned opts)
{
    size_t bytes = anz_topk_bytes(key_len, cap, opts);
    void *mem = bytes ? aligned_alloc(64, bytes) : NULL; /* bytes: a multiple of 64 */

    if (mem != NULL)
        memset(mem, 0, bytes);
    if (mem == NULL || anz_topk_init_at(t, key_len, cap, opts, mem) != 0) {
        free(mem);
        memset(t, 0, sizeof(*t));
        return -1;
    }
    t->owned = mem;
    return 0;
}

void anz_topk_release(struct anz_topk *t)
{
    free(t->owned);
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

/*
 * Empties the index and puts every entry back in it (after a purge moved them). The table's
 * fields are read once: the slot stores could alias them.
 */
static void index_rebuild(struct anz_topk *t)
{
    uint64_t *slots = t->slots, ep;
    const uint32_t *hashes = t->hashes;
    size_t mask = t->n_slots - 1, n = t->count;

    index_clear(t);
    ep = t->epoch;
    for (size_t i = 0; i < n; i++) {
        uint32_t h = hashes[i];
        size_t j = h & mask;
        while ((uint32_t)slots[j] >> 24 == ep)
            j = (j + 1) & mask;
        slots[j] = (uint64_t)h << 32 | ep << 24 | (i + 1);
    }
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

#define TOPK_SAMPLE 64 /* weights sampled to bracket the threshold */
#define TOPK_MARGIN 8  /* sample ranks on each side of the expected one */

/* Fills smp with up to TOPK_SAMPLE weights at a regular stride, heaviest first. Returns how many. */
static size_t sample_weights(const struct anz_topk *t, uint64_t *smp)
{
    size_t n = t->count, ns = 0, stride = n / TOPK_SAMPLE > 0 ? n / TOPK_SAMPLE : 1;

    for (size_t i = stride / 2; i < n && ns < TOPK_SAMPLE; i += stride) {
        uint64_t w = t->entries[i].weight;
        size_t j = ns++;
        for (; j > 0 && smp[j - 1] < w; j--) /* insertion sort */
            smp[j] = smp[j - 1];
        smp[j] = w;
    }
    return ns;
}

/*
 * The cap-th largest weight (cap < count) and how many weights are above it. The sorted sample
 * smp of ns weights brackets it between two sample values; one pass counts the weights above
 * the bracket and gathers those inside it into t->scratch, and a selection among those gives the
 * exact value. When the bracket missed (rare), a selection over all weights does.
 */
static uint64_t purge_threshold(struct anz_topk *t, const uint64_t *smp, size_t ns,
                                size_t *above)
{
    uint64_t hi_v, lo_v, thr;
    size_t n = t->count, k = t->cap, r, over = 0, m = 0;

    r = k * ns / n;
    hi_v = smp[r > TOPK_MARGIN ? r - TOPK_MARGIN : 0];
    lo_v = smp[r + TOPK_MARGIN < ns ? r + TOPK_MARGIN : ns - 1];
    for (size_t i = 0; i < n; i++) {
        uint64_t w = t->entries[i].weight;
        over += w > hi_v;
        if (w >= lo_v && w <= hi_v)
            t->scratch[m++] = w;
    }
    if (over < k && over + m >= k) {
        thr = select_kth_largest(t->scratch, m, k - over - 1);
    } else { /* the bracket missed: all weights */
        for (size_t i = 0; i < n; i++)
            t->scratch[i] = t->entries[i].weight;
        over = 0;
        m = n;
        thr = select_kth_largest(t->scratch, m, k - 1);
    }
    for (size_t i = 0; i < m; i++)
        over += t->scratch[i] > thr;
    *above = over;
    return thr;
}

/* Moves entry `from` (its hash, counters and dense HyperLogLog if it has them) to `to`. */
static void move_entry(struct anz_topk *t, size_t to, size_t from)
{
    t->entries[to] = t->entries[from];
    t->hashes[to] = t->hashes[from];
    if (t->ext)
        t->ext[to] = t->ext[from];
    if (t->hll && anz_topk_sparse(t, &t->entries[to])->n == ANZ_HLL_DENSE)
        t->hll[to] = t->hll[from];
}

/* Marks for dropping the entries not above the exact cap-th heaviest (ties by position). */
static void mark_exact(struct anz_topk *t, const uint64_t *smp, size_t ns, uint8_t *drop)
{
    size_t above, at_threshold;
    uint64_t thr = purge_threshold(t, smp, ns, &above);

    /* Entries above the threshold all stay; those equal to it fill the remaining places. */
    at_threshold = t->cap - above;
    for (size_t i = 0; i < t->count; i++) {
        uint64_t w = t->entries[i].weight;
        drop[i] = !(w > thr || (w == thr && at_threshold > 0 && at_threshold--));
    }
}

/*
 * Drops the entries marked in drop (one byte per entry, the exact path) or, with drop NULL, those
 * not heavier than cut: kept entries from the end fill the holes left by dropped ones at the
 * front, so only those move. Then rebuilds the index.
 */
static void drop_entries(struct anz_topk *t, const uint8_t *drop, uint64_t cut)
{
    size_t lo = 0, hi = t->count;

    for (;;) {
        if (drop) {
            while (lo < hi && !drop[lo])
                lo++;
            while (hi > lo && drop[hi - 1])
                hi--;
        } else {
            while (lo < hi && t->entries[lo].weight > cut)
                lo++;
            while (hi > lo && t->entries[hi - 1].weight <= cut)
                hi--;
        }
        if (lo >= hi)
            break;
        move_entry(t, lo++, --hi); /* lo is dropped, hi - 1 > lo is kept */
    }
    t->evictions += t->count - lo;
    t->count = lo;
    index_rebuild(t);
}

/*
 * Drops the lighter entries of a full table: every entry not heavier than a cut read off a sorted
 * sample of the weights at 3/8 of it, so about 3/4 of cap stay; if that would keep more than cap
 * (the sample misled), exactly the cap heaviest stay. Kept entries are all at least as heavy as
 * dropped ones; the floor becomes the heaviest dropped weight. One pass counts what the cut
 * keeps (no branches, no marks); drop_entries moves only the kept entries that fill holes.
 */
void anz_topk_purge(struct anz_topk *t)
{
    uint64_t smp[TOPK_SAMPLE] = {0}, cut, dropped_max = 0;
    size_t ns = sample_weights(t, smp), kept = 0;

    cut = smp[ns * 3 / 8];
    for (size_t i = 0; i < t->count; i++) {
        uint64_t w = t->entries[i].weight, d = w <= cut ? w : 0;
        kept += w > cut;
        dropped_max = d > dropped_max ? d : dropped_max;
    }
    if (kept > t->cap) {
        uint8_t *drop = (uint8_t *)t->scratch; /* room bytes of the room words: the exact
                                                  path uses the scratch, then marks */
        mark_exact(t, smp, ns, drop);
        dropped_max = 0;
        for (size_t i = 0; i < t->count; i++)
            if (drop[i] && t->entries[i].weight > dropped_max)
                dropped_max = t->entries[i].weight;
        if (dropped_max > t->floor)
            t->floor = dropped_max;
        drop_entries(t, drop, 0);
        return;
    }
    if (dropped_max > t->floor)
        t->floor = dropped_max;
    drop_entries(t, NULL, cut);
}

struct anz_topk_entry *anz_topk_update(struct anz_topk *t, const void *key, uint64_t weight)
{
    return anz_topk_update_hashed(t, key, anz_hash64(key, t->key_len, 0x746f706bu), weight);
}

struct anz_topk_entry *anz_topk_update_hashed(struct anz_topk *t, const void *key, uint64_t hash,
                                              uint64_t weight)
{
    return anz_topk_add(t, key, t->key_len, hash, weight);
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
