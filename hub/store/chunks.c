/*
 * chunks.c - the key chunks a raw scan is shared out by over the query's threads
 * (store_flow_key_chunks, store_int.h): a long range cut evenly in time, a short one minute and
 * edge by minute and edge, each cut by the batches it spans.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

int store_key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int r = memcmp(a, b, al < bl ? al : bl);
    return r != 0 ? r : (al > bl) - (al < bl);
}

/* The first and last flow block keys of the minutes over [from_ms, to_ms); *found false when those
 * minutes hold no block. Returns 0 or a store error (ERR_CORRUPT: a key of another length). */
static int flow_key_span(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                         uint8_t first[STORE_FLOW_KEY_LEN], uint8_t last[STORE_FLOW_KEY_LEN],
                         bool *found)
{
    uint8_t lo[8], hi[8];
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it;
    size_t fl = 0, ll = 0;
    const char *k;

    *found = false;
    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, (to_ms - 1) / FL0WER_MINUTE_MS + 1);
    if (!(it = store_bounded_iter(s, STORE_CF_FLOWS, &ro, hi, sizeof(hi))))
        return store_finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
    rocksdb_iter_seek(it, (const char *)lo, sizeof(lo));
    if (rocksdb_iter_valid(it)) {
        k = rocksdb_iter_key(it, &fl);
        if (fl == STORE_FLOW_KEY_LEN)
            memcpy(first, k, fl);
        rocksdb_iter_seek_for_prev(it, (const char *)hi, sizeof(hi));
        if (rocksdb_iter_valid(it)) {
            k = rocksdb_iter_key(it, &ll);
            if (ll == STORE_FLOW_KEY_LEN)
                memcpy(last, k, ll);
        }
    }
    if (fl != ll || (fl != 0 && fl != STORE_FLOW_KEY_LEN))
        return store_finish_iter(it, ro, FL0WER_STORE_ERR_CORRUPT);
    *found = fl == STORE_FLOW_KEY_LEN;
    return store_finish_iter(it, ro, 0);
}

/* A range whose blocks all belong to fewer batches than this is not cut (a key: minute BE 8,
 * edge BE 8, batch sequence BE 8, block BE 4). */
#define STORE_SPLIT_MIN_BATCHES 16
/* A range whose keys span fewer minutes than this is cut edge by edge within each minute. */
#define STORE_SPLIT_GROUP_MINUTES 16

/*
 * Cuts [first, last] (keys that differ from byte p on) into up to k chunks of equal width in the
 * 8 bytes from p: closes out[m] (its lo set) at each cut and opens the next. Returns the index of
 * the chunk left open.
 */
static size_t cut_between(const uint8_t *first, const uint8_t *last, size_t p, size_t k,
                          struct store_key_range *out, size_t m)
{
    uint8_t pad[8];
    size_t w = STORE_FLOW_KEY_LEN - p < 8 ? STORE_FLOW_KEY_LEN - p : 8;

    memset(pad, 0, sizeof(pad));
    memcpy(pad, first + p, w);
    uint64_t a = store_get_be64(pad);
    memcpy(pad, last + p, w);
    uint64_t b = store_get_be64(pad);
    if (b - a < k)
        k = (size_t)(b - a);
    uint64_t q = k ? (b - a) / k : 0, rem = k ? (b - a) % k : 0; /* cut i at a + (b-a) i / k */
    for (size_t i = 1; i < k; i++) {
        uint8_t cut[STORE_FLOW_KEY_LEN];
        memcpy(cut, first, p);
        store_be64(pad, a + q * i + rem * i / k);
        memcpy(cut + p, pad, w);
        if (out[m].lo_len && store_key_cmp(out[m].lo, out[m].lo_len, cut, p + w) >= 0)
            continue; /* rounded onto the previous cut (w < 8): no empty chunk */
        memcpy(out[m].hi, cut, p + w);
        out[m].hi_len = p + w;
        m++;
        memset(&out[m], 0, sizeof(out[m]));
        memcpy(out[m].lo, cut, p + w);
        out[m].lo_len = p + w;
    }
    return m;
}

/* The first byte in which two keys differ (STORE_FLOW_KEY_LEN when equal). */
static size_t first_diff(const uint8_t *a, const uint8_t *b)
{
    size_t p = 0;
    while (p < STORE_FLOW_KEY_LEN && a[p] == b[p])
        p++;
    return p;
}

/* The keys of one minute and edge (a group) in a range. */
struct key_group {
    uint8_t first[STORE_FLOW_KEY_LEN], last[STORE_FLOW_KEY_LEN];
    uint64_t batches; /* batch sequence numbers spanned */
};

/*
 * The groups (minute and edge) of the flow keys in [lo, hi) (8-byte minute keys), in key order,
 * into g (room for STORE_SPLIT_MAX_GROUPS); *ng > STORE_SPLIT_MAX_GROUPS when there are more.
 * Two seeks a group. Returns 0 or a store error.
 */
static int key_groups(struct fl0wer_store *s, const uint8_t lo[8], const uint8_t hi[8],
                      struct key_group *g, size_t *ng)
{
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it = store_bounded_iter(s, STORE_CF_FLOWS, &ro, hi, 8);
    uint8_t next[16];
    size_t kl = 0;
    int rc = 0;

    *ng = 0;
    if (!it)
        return store_finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
    for (rocksdb_iter_seek(it, (const char *)lo, 8); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_seek(it, (const char *)next, sizeof(next))) {
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        if (kl != STORE_FLOW_KEY_LEN || ++*ng > STORE_SPLIT_MAX_GROUPS) {
            rc = kl != STORE_FLOW_KEY_LEN ? FL0WER_STORE_ERR_CORRUPT : 0;
            break;
        }
        struct key_group *x = &g[*ng - 1];
        memcpy(x->first, k, kl);
        memcpy(next, k, sizeof(next)); /* the next group's prefix: minute and edge, plus one */
        for (int i = 15; i >= 0 && ++next[i] == 0; i--)
            ;
        rocksdb_iter_seek_for_prev(it, (const char *)next, sizeof(next));
        k = rocksdb_iter_valid(it) ? (const uint8_t *)rocksdb_iter_key(it, &kl) : NULL;
        if (!k || kl != STORE_FLOW_KEY_LEN) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            break;
        }
        memcpy(x->last, k, kl);
        x->batches = store_get_be64(x->last + 16) - store_get_be64(x->first + 16) + 1;
    }
    return store_finish_iter(it, ro, rc);
}

/* Cuts a range of a few minutes group by group: each group of enough batches gets a share of n
 * chunks by its batches, cut between its first and last keys. Sets *m to the open chunk. */
static void group_chunks(const struct key_group *g, size_t ng, size_t n,
                         struct store_key_range *out, size_t *m)
{
    uint64_t total = 0;

    for (size_t i = 0; i < ng; i++)
        total += g[i].batches;
    for (size_t i = 0; i < ng; i++) {
        if (i > 0) { /* the previous group's last chunk ends where this group's keys begin */
            memcpy(out[*m].hi, g[i].first, 16);
            out[*m].hi_len = 16;
            ++*m;
            memset(&out[*m], 0, sizeof(out[*m]));
            memcpy(out[*m].lo, g[i].first, 16);
            out[*m].lo_len = 16;
        }
        size_t k = (size_t)((n * g[i].batches + total / 2) / total);
        if (g[i].batches >= STORE_SPLIT_MIN_BATCHES && k > 1)
            *m = cut_between(g[i].first, g[i].last, first_diff(g[i].first, g[i].last), k, out,
                             *m);
    }
}

int store_flow_key_chunks(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                          struct store_key_range *out, size_t n, size_t *count)
{
    uint8_t first[STORE_FLOW_KEY_LEN], last[STORE_FLOW_KEY_LEN], lo[8], hi[8];
    struct key_group *g = NULL;
    bool found = false;
    size_t m = 0, ng = 0;
    int rc;

    if (!s || !out || !count || n == 0 || from_ms >= to_ms)
        return FL0WER_STORE_ERR_INVAL;
    *count = 0;
    if ((rc = flow_key_span(s, from_ms, to_ms, first, last, &found)) != 0 || !found)
        return rc;
    memset(&out[0], 0, sizeof(out[0]));
    *count = 1;
    size_t p = first_diff(first, last);
    if (p >= 24 || (p >= 16 && store_get_be64(last + 16) - store_get_be64(first + 16) <
                                   STORE_SPLIT_MIN_BATCHES))
        return 0; /* one batch's blocks, or a few batches of one edge */
    if (store_get_be64(last) - store_get_be64(first) >= STORE_SPLIT_GROUP_MINUTES) {
        *count = cut_between(first, last, p, n, out, 0) + 1; /* many minutes: cut in time */
        return 0;
    }
    if (!(g = malloc(STORE_SPLIT_MAX_GROUPS * sizeof(*g))))
        return FL0WER_STORE_ERR_NOMEM;
    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, (to_ms - 1) / FL0WER_MINUTE_MS + 1);
    if ((rc = key_groups(s, lo, hi, g, &ng)) == 0) {
        uint64_t batches = 0;
        for (size_t i = 0; i < ng && i < STORE_SPLIT_MAX_GROUPS; i++)
            batches += g[i].batches;
        if (ng > STORE_SPLIT_MAX_GROUPS) /* too many edges to walk: cut in key space */
            m = cut_between(first, last, p, n, out, 0);
        else if (batches >= STORE_SPLIT_MIN_BATCHES)
            group_chunks(g, ng, n, out, &m);
        *count = m + 1;
    }
    free(g);
    return rc;
}
