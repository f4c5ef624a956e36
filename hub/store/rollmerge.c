/*
 * rollmerge.c - sorting and merging rollup entries (struct store_rollup_entry, 128-bit keys):
 * an LSD radix sort over the key bytes that differ, the top-K selection that bounds address
 * arrays, the merge of encoded arrays run by the rollups column family's merge operator
 * (merge.c), and the merge of two sorted entry arrays used by put_batch for hour arrays.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/*
 * Keys that vary only in their low 4 bytes: the words (key << 32 | index) are radix-sorted on
 * the varying bytes (the four histograms counted in one pass, constant bytes skipped), then
 * the entries copied once, in order, into tmp (e is left as it was). a: room for 2n words.
 */
static void sort_narrow(const struct store_rollup_entry *e, size_t n,
                        struct store_rollup_entry *tmp, uint64_t *a)
{
    uint32_t cnt[4][256];
    uint64_t *src = a, *dst = a + n;

    memset(cnt, 0, sizeof(cnt));
    for (size_t i = 0; i < n; i++) {
        uint32_t k = (uint32_t)e[i].klo;
        src[i] = (uint64_t)k << 32 | i;
        cnt[0][k & 0xff]++;
        cnt[1][(k >> 8) & 0xff]++;
        cnt[2][(k >> 16) & 0xff]++;
        cnt[3][k >> 24]++;
    }
    for (unsigned j = 0; j < 4; j++) {
        uint32_t off = 0, *c = cnt[j];
        unsigned shift = 32 + 8 * j;
        if (c[(src[0] >> shift) & 0xff] == n)
            continue; /* every key has this byte */
        for (int d = 0; d < 256; d++) {
            uint32_t t = c[d];
            c[d] = off;
            off += t;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t w = src[i];
            dst[c[(w >> shift) & 0xff]++] = w;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    for (size_t i = 0; i < n; i++)
        tmp[i] = e[(uint32_t)src[i]];
}

/*
 * Sorts e[0..n) by key: an LSD radix sort over only the bytes of the 128-bit key that are not
 * the same in every entry, all histograms counted in one pass; on (key, index) words when only
 * the low 4 bytes vary and kbuf is given, else on the entries themselves (ping-pong between e
 * and tmp). Returns the buffer that holds the sorted entries: e or tmp.
 */
struct store_rollup_entry *store_rollup_sort(struct store_rollup_entry *e, size_t n,
                                             struct store_rollup_entry *tmp, uint64_t *kbuf)
{
    uint32_t cnt[16][256]; /* 16 KiB of stack */
    uint64_t dhi = 0, dlo = 0;
    unsigned pos[16], nb = 0;

    if (n < 2)
        return e;
    for (size_t i = 1; i < n; i++) {
        dhi |= e[i].khi ^ e[0].khi;
        dlo |= e[i].klo ^ e[0].klo;
    }
    if (kbuf && dhi == 0 && dlo >> 32 == 0 && n <= UINT32_MAX) {
        if (dlo == 0)
            return e;
        sort_narrow(e, n, tmp, kbuf);
        return tmp;
    }
    for (unsigned b = 0; b < 8; b++)
        if ((dlo >> (8 * b)) & 0xff)
            pos[nb++] = b;
    for (unsigned b = 0; b < 8; b++)
        if ((dhi >> (8 * b)) & 0xff)
            pos[nb++] = 8 + b;
    if (nb == 0)
        return e;
    memset(cnt, 0, nb * sizeof(cnt[0]));
    for (size_t i = 0; i < n; i++)
        for (unsigned j = 0; j < nb; j++) {
            uint64_t w = pos[j] < 8 ? e[i].klo : e[i].khi;
            cnt[j][(w >> (8 * (pos[j] & 7))) & 0xff]++;
        }
    struct store_rollup_entry *src = e, *dst = tmp;
    for (unsigned j = 0; j < nb; j++) {
        uint32_t off = 0, *c = cnt[j];
        unsigned shift = 8 * (pos[j] & 7);
        bool hi = pos[j] >= 8;
        for (int d = 0; d < 256; d++) {
            uint32_t t = c[d];
            c[d] = off;
            off += t;
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t w = hi ? src[i].khi : src[i].klo;
            dst[c[(w >> shift) & 0xff]++] = src[i];
        }
        struct store_rollup_entry *t = src;
        src = dst;
        dst = t;
    }
    return src;
}

/* True when a ranks before b in a top-K: more (scaled) bytes, then the lower key. */
static bool ranks_before(const struct store_rollup_entry *a, const struct store_rollup_entry *b)
{
    if (a->c.bytes != b->c.bytes)
        return a->c.bytes > b->c.bytes;
    return store_rollup_key_cmp(a, b) < 0;
}

static void swap_entries(struct store_rollup_entry *a, struct store_rollup_entry *b)
{
    struct store_rollup_entry t = *a;
    *a = *b;
    *b = t;
}

size_t store_rollup_keep_top(struct store_rollup_entry *e, size_t n, size_t k,
                             struct store_rollup_entry *tmp, uint64_t *kbuf)
{
    size_t lo = 0, hi = n;

    if (n <= k)
        return n;
    /* quickselect (median of three): afterwards e[0..k) are the k best, in any order */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1, store = lo;
        if (ranks_before(&e[mid], &e[lo]))
            swap_entries(&e[mid], &e[lo]);
        if (ranks_before(&e[last], &e[lo]))
            swap_entries(&e[last], &e[lo]);
        if (ranks_before(&e[mid], &e[last]))
            swap_entries(&e[mid], &e[last]); /* the median is now at last: the pivot */
        for (size_t i = lo; i < last; i++)
            if (ranks_before(&e[i], &e[last]))
                swap_entries(&e[i], &e[store++]);
        swap_entries(&e[store], &e[last]);
        if (store == k)
            break;
        if (store < k)
            lo = store + 1;
        else
            hi = store;
    }
    struct store_rollup_entry *sorted = store_rollup_sort(e, k, tmp, kbuf);
    if (sorted != e)
        memcpy(e, sorted, k * sizeof(*e));
    return k;
}

/*
 * Decodes every entry of the k opened readers into ent (room for their total), checking that
 * each array ends exactly where its count says. Returns 0 or ERR_CORRUPT.
 */
static int decode_all(struct store_rollup_reader *r, size_t k, struct store_rollup_entry *ent)
{
    for (size_t i = 0; i < k; i++) {
        if (store_rollup_read_all(&r[i], ent) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
        ent += r[i].n;
    }
    return 0;
}

static inline size_t agg_slot(uint64_t hi, uint64_t lo, size_t mask)
{
    uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return (size_t)(h ^ (h >> 31)) & mask;
}

/* Rebuilds the slot table (cap slots, a power of two) for the n entries of ent. */
static void agg_rehash(uint32_t *slots, size_t cap, const struct store_rollup_entry *ent,
                       size_t n)
{
    memset(slots, 0, cap * sizeof(*slots));
    for (size_t i = 0; i < n; i++) {
        size_t j = agg_slot(ent[i].khi, ent[i].klo, cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)(i + 1);
    }
}

/*
 * Sums the entries of the k opened readers by key in an open-addressing table (its memory
 * follows the distinct keys, not the total: a flush merges hundreds of operands of mostly the
 * same keys, and a sort of all of them would scatter over megabytes), decoding one operand at a
 * time into buf (room for the largest). The distinct entries end in *ent (malloc'd, *n), with
 * tmp and kbuf sized for a sort. Returns 0 or ERR_*.
 */
static int aggregate_all(struct store_rollup_reader *r, size_t k, struct store_rollup_entry *buf,
                         size_t largest, struct store_rollup_entry **ent,
                         struct store_rollup_entry **tmp, uint64_t **kbuf, size_t *n)
{
    size_t cap = 1024, ecap, cnt = 0;
    uint32_t *slots = NULL;
    struct store_rollup_entry *e;
    int rc = FL0WER_STORE_ERR_NOMEM;

    while (cap < 2 * largest)
        cap *= 2;
    ecap = cap / 2;
    e = malloc(ecap * sizeof(*e));
    slots = calloc(cap, sizeof(*slots));
    if (!e || !slots || cap > UINT32_MAX)
        goto out;
    for (size_t i = 0; i < k; i++) {
        if (store_rollup_read_all(&r[i], buf) != 0) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            goto out;
        }
        for (size_t j = 0; j < r[i].n; j++) {
            const struct store_rollup_entry *b = &buf[j];
            if (cnt == ecap) { /* half full: double and rehash before probing */
                struct store_rollup_entry *ne = realloc(e, 2 * ecap * sizeof(*e));
                uint32_t *ns = realloc(slots, 2 * cap * sizeof(*slots));
                if (ne)
                    e = ne;
                if (ns)
                    slots = ns;
                if (!ne || !ns || 2 * cap > UINT32_MAX)
                    goto out;
                cap *= 2;
                ecap *= 2;
                agg_rehash(slots, cap, e, cnt);
            }
            for (size_t s = agg_slot(b->khi, b->klo, cap - 1);; s = (s + 1) & (cap - 1)) {
                uint32_t at = slots[s];
                if (!at) {
                    slots[s] = (uint32_t)(cnt + 1);
                    e[cnt++] = *b;
                    break;
                }
                if (e[at - 1].klo == b->klo && e[at - 1].khi == b->khi) {
                    store_counters_add(&e[at - 1].c, &b->c);
                    break;
                }
            }
        }
    }
    if (!(*tmp = malloc((cnt ? cnt : 1) * sizeof(**tmp))) ||
        !(*kbuf = malloc((cnt ? cnt : 1) * 2 * sizeof(**kbuf))))
        goto out;
    *ent = e;
    e = NULL;
    *n = cnt;
    rc = 0;
out:
    free(e);
    free(slots);
    return rc;
}

/*
 * Up to this many operands are merged as sorted runs (merge_runs), more in a hash table
 * (aggregate_all). A read of a period not yet compacted meets its few large operands (a
 * memtable's and some L0 files' arrays of the whole period: 4 operands, 711 KB, ~450,000 rows
 * of an hour's dstport array in docs/benchmarks.md, "Eighth round"); a flush meets hundreds of
 * small ones (one per batch) of mostly the same keys.
 */
#define MERGE_RUNS_MAX 8

/*
 * Merges the k sorted runs in *ent (run i: the r[i].n entries decoded from operand i, in order)
 * pairwise, pass after pass between *ent and *tmp (each with room for them all), summing equal
 * keys; the merged run ends in *ent (the two buffers are swapped as needed). Returns its count.
 */
static size_t merge_runs(const struct store_rollup_reader *r, size_t k,
                         struct store_rollup_entry **ent, struct store_rollup_entry **tmp)
{
    size_t len[MERGE_RUNS_MAX];

    for (size_t i = 0; i < k; i++)
        len[i] = r[i].n;
    while (k > 1) {
        struct store_rollup_entry *in = *ent, *out = *tmp, *t;
        size_t runs = 0;
        for (size_t i = 0; i < k; i += 2) {
            size_t m = len[i], used = len[i];
            if (i + 1 < k) {
                m = store_rollup_merge_entries(in, len[i], in + len[i], len[i + 1], out);
                used += len[i + 1];
            } else {
                memcpy(out, in, m * sizeof(*in));
            }
            in += used;
            out += m;
            len[runs++] = m;
        }
        k = runs;
        t = *ent;
        *ent = *tmp;
        *tmp = t;
    }
    return k ? len[0] : 0;
}

/*
 * Merges k encoded arrays (all of one key width) into one malloc'd encoded array, summing the
 * counters of equal keys: up to MERGE_RUNS_MAX arrays by linear merges of sorted runs, more by
 * summing in a hash map and sorting the distinct keys. The result is truncated when an operand
 * is, or when it has more than kmax rows (kmax > 0): then only its kmax rows with the most bytes
 * are kept; when an operand is truncated and empty (a marker, sparse.c), the result is that
 * marker. Returns 0 with *out (free()) and *out_len, ERR_CORRUPT or ERR_NOMEM.
 */
int store_rollup_merge(const uint8_t *const *vals, const size_t *lens, size_t k, size_t kmax,
                       uint8_t **out, size_t *out_len)
{
    struct store_rollup_reader *r = calloc(k ? k : 1, sizeof(*r));
    struct store_rollup_entry *ent = NULL, *tmp = NULL;
    uint64_t *kbuf = NULL;
    size_t total = 0, n = 0, largest = 0;
    unsigned width = 0;
    bool truncated = false, marker = false;
    int rc = FL0WER_STORE_ERR_NOMEM;

    *out = NULL;
    if (!r)
        goto out_free;
    for (size_t i = 0; i < k; i++) {
        if ((rc = store_rollup_open(&r[i], vals[i], lens[i])) != 0)
            goto out_free;
        if (i > 0 && r[i].width != width) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            goto out_free;
        }
        width = r[i].width;
        truncated |= r[i].truncated;
        marker |= r[i].truncated && r[i].n == 0;
        total += r[i].n;
        largest = r[i].n > largest ? r[i].n : largest;
    }
    rc = FL0WER_STORE_ERR_NOMEM;
    if (marker) {
        /* an empty truncated array (gc's marker of a sparse hour, sparse.c) absorbs the rows of
           the others: the period is answered from raw blocks, rows would only take room */
        n = 0;
    } else if (k <= MERGE_RUNS_MAX) {
        if (!(ent = malloc((total ? total : 1) * sizeof(*ent))) ||
            !(tmp = malloc((total ? total : 1) * sizeof(*tmp))) ||
            (kmax && total > kmax && !(kbuf = malloc(total * 2 * sizeof(*kbuf)))))
            goto out_free; /* kbuf: only for keep_top's selection */
        if ((rc = decode_all(r, k, ent)) != 0)
            goto out_free;
        n = merge_runs(r, k, &ent, &tmp);
    } else {
        struct store_rollup_entry *buf = malloc((largest ? largest : 1) * sizeof(*buf));
        rc = buf ? aggregate_all(r, k, buf, largest, &ent, &tmp, &kbuf, &n)
                 : FL0WER_STORE_ERR_NOMEM;
        free(buf);
        if (rc != 0)
            goto out_free;
        struct store_rollup_entry *sorted = store_rollup_sort(ent, n, tmp, kbuf);
        if (sorted != ent) {
            tmp = ent;
            ent = sorted;
        }
    }
    rc = FL0WER_STORE_ERR_NOMEM;
    if (kmax && n > kmax) {
        n = store_rollup_keep_top(ent, n, kmax, tmp, kbuf);
        truncated = true;
    }
    if (!(*out = malloc(store_rollup_bound(n))))
        goto out_free;
    *out_len = store_rollup_encode(width, ent, n, truncated, *out);
    rc = 0;
out_free:
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    free(kbuf);
    free(tmp);
    free(ent);
    free(r);
    return rc;
}

/*
 * Merges two sorted entry arrays a (na) and b (nb) into out (room for na + nb), summing equal
 * keys. Returns the merged count.
 */
size_t store_rollup_merge_entries(const struct store_rollup_entry *a, size_t na,
                                  const struct store_rollup_entry *b, size_t nb,
                                  struct store_rollup_entry *out)
{
    size_t i = 0, j = 0, n = 0;
    while (i < na && j < nb) {
        int c = store_rollup_key_cmp(&a[i], &b[j]);
        if (c < 0) {
            out[n++] = a[i++];
        } else if (c > 0) {
            out[n++] = b[j++];
        } else {
            out[n] = a[i++];
            store_counters_add(&out[n++].c, &b[j++].c);
        }
    }
    while (i < na)
        out[n++] = a[i++];
    while (j < nb)
        out[n++] = b[j++];
    return n;
}
