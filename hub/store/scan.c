/*
 * scan.c - reading back: raw flows by time range (block by block, filtered to the exact range),
 * rollup rows by period (each period's packed array walked entry by entry), and the
 * oldest/newest stored flow time.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/* Iterator over cf limited to keys below upper (copied into ub, which must outlive it). */
static rocksdb_iterator_t *bounded_iter(struct fl0wer_store *s, int cf, rocksdb_readoptions_t **ro,
                                        const uint8_t *upper, size_t ulen)
{
    *ro = rocksdb_readoptions_create();
    if (!*ro)
        return NULL;
    if (upper)
        rocksdb_readoptions_set_iterate_upper_bound(*ro, (const char *)upper, ulen);
    return rocksdb_create_iterator_cf(s->db, *ro, s->cf[cf]);
}

static int finish_iter(rocksdb_iterator_t *it, rocksdb_readoptions_t *ro, int rc)
{
    char *err = NULL;
    if (it) {
        rocksdb_iter_get_error(it, &err);
        rocksdb_iter_destroy(it);
    }
    rocksdb_readoptions_destroy(ro);
    if (err)
        return store_io_error("reading", err);
    return rc;
}

/* Calls fn for each flow block of the minutes over [from_ms, to_ms) whose flows' time range
 * meets it and whose key lies in [lo, hi) when those are given (NULL: the minutes' bounds), with
 * the block's bytes and min/max last_ms. Returns fn's first non-zero result. */
static int scan_blocks(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                       const struct store_key_range *keys,
                       int (*fn)(void *arg, const uint8_t *v, size_t vl, uint64_t bmin,
                                 uint64_t bmax),
                       void *arg)
{
    uint8_t lo_min[8], hi_min[8];
    const uint8_t *lo = lo_min, *hi = hi_min;
    size_t lo_len = sizeof(lo_min), hi_len = sizeof(hi_min);
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it;
    int rc = 0;

    store_be64(lo_min, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi_min, (to_ms - 1) / FL0WER_MINUTE_MS + 1);
    if (keys && keys->lo_len && store_key_cmp(keys->lo, keys->lo_len, lo, lo_len) > 0)
        lo = keys->lo, lo_len = keys->lo_len;
    if (keys && keys->hi_len && store_key_cmp(keys->hi, keys->hi_len, hi, hi_len) < 0)
        hi = keys->hi, hi_len = keys->hi_len;
    if (store_key_cmp(lo, lo_len, hi, hi_len) >= 0)
        return 0;
    it = bounded_iter(s, STORE_CF_FLOWS, &ro, hi, hi_len);
    if (!it)
        return finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
    for (rocksdb_iter_seek(it, (const char *)lo, lo_len); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t vl, n;
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        uint64_t bmin, bmax;
        if (store_block_header(v, vl, &n, &bmin, &bmax) != 0)
            rc = FL0WER_STORE_ERR_CORRUPT;
        else if (bmax >= from_ms && bmin < to_ms)
            rc = fn(arg, v, vl, bmin, bmax);
    }
    return finish_iter(it, ro, rc);
}

int store_key_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
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
    if (!(it = bounded_iter(s, STORE_CF_FLOWS, &ro, hi, sizeof(hi))))
        return finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
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
        return finish_iter(it, ro, FL0WER_STORE_ERR_CORRUPT);
    *found = fl == STORE_FLOW_KEY_LEN;
    return finish_iter(it, ro, 0);
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
    rocksdb_iterator_t *it = bounded_iter(s, STORE_CF_FLOWS, &ro, hi, 8);
    uint8_t next[16];
    size_t kl = 0;
    int rc = 0;

    *ng = 0;
    if (!it)
        return finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
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
    return finish_iter(it, ro, rc);
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

struct rows_scan {
    uint64_t from_ms, to_ms;
    uint32_t mask;
    struct fl0wer_flow *buf;
    int (*fn)(void *arg, const struct fl0wer_flow *flows, size_t n);
    void *arg;
};

/* One block as records, cut to the range. */
static int rows_of_block(void *arg, const uint8_t *v, size_t vl, uint64_t bmin, uint64_t bmax)
{
    struct rows_scan *x = arg;
    size_t n, m = 0;

    if (store_block_decode_cols(v, vl, x->buf, STORE_MAX_BLOCK_FLOWS, &n, x->mask) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    if (bmin >= x->from_ms && bmax < x->to_ms) {
        m = n; /* the whole block is in range */
    } else {
        for (size_t i = 0; i < n; i++)
            if (x->buf[i].last_ms >= x->from_ms && x->buf[i].last_ms < x->to_ms)
                x->buf[m++] = x->buf[i];
    }
    return m ? x->fn(x->arg, x->buf, m) : 0;
}

int store_scan_flow_cols(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms, uint32_t mask,
                         int (*fn)(void *arg, const struct fl0wer_flow *flows, size_t n),
                         void *arg)
{
    struct rows_scan x = {from_ms, to_ms, mask | STORE_COL_LAST, NULL, fn, arg};
    int rc;

    if (!s || !fn || from_ms > to_ms)
        return FL0WER_STORE_ERR_INVAL;
    if (from_ms == to_ms)
        return 0;
    if (!(x.buf = calloc(STORE_MAX_BLOCK_FLOWS, sizeof(*x.buf))))
        return FL0WER_STORE_ERR_NOMEM;
    rc = scan_blocks(s, from_ms, to_ms, NULL, rows_of_block, &x);
    free(x.buf);
    return rc;
}

struct soa_scan {
    uint64_t from_ms, to_ms;
    uint32_t mask;
    struct store_flow_soa *cols;
    uint64_t sel[STORE_MAX_BLOCK_FLOWS / 64];
    int (*fn)(void *arg, struct store_flow_soa *cols, uint64_t *sel);
    void *arg;
};

/* One block as columns, with the rows inside the range marked in sel. */
static int soa_of_block(void *arg, const uint8_t *v, size_t vl, uint64_t bmin, uint64_t bmax)
{
    struct soa_scan *x = arg;
    bool whole = bmin >= x->from_ms && bmax < x->to_ms;
    size_t n, words;

    /* the end times are read only to cut a block that reaches past the range, or when asked */
    if (store_block_decode_soa(v, vl, x->mask | (whole ? 0 : STORE_COL_LAST), x->cols) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    n = x->cols->view.n;
    words = (n + 63) / 64;
    if (whole) {
        memset(x->sel, 0xff, words * sizeof(x->sel[0])); /* the whole block is in range */
    } else {
        memset(x->sel, 0, words * sizeof(x->sel[0]));
        for (size_t i = 0; i < n; i++) {
            uint64_t t = x->cols->last_ms[i];
            x->sel[i / 64] |= (uint64_t)(t >= x->from_ms && t < x->to_ms) << (i % 64);
        }
    }
    if (n % 64)
        x->sel[words - 1] &= (UINT64_C(1) << (n % 64)) - 1;
    return n ? x->fn(x->arg, x->cols, x->sel) : 0;
}

int store_scan_flow_soa_keys(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                             const struct store_key_range *keys, uint32_t mask,
                             int (*fn)(void *arg, struct store_flow_soa *cols, uint64_t *sel),
                             void *arg)
{
    struct soa_scan x = {.from_ms = from_ms, .to_ms = to_ms, .mask = mask, .fn = fn, .arg = arg};
    int rc;

    if (!s || !fn || from_ms > to_ms || (mask & ~STORE_SOA_COLS) != 0 ||
        (keys && (keys->lo_len > STORE_FLOW_KEY_LEN || keys->hi_len > STORE_FLOW_KEY_LEN)))
        return FL0WER_STORE_ERR_INVAL;
    if (from_ms == to_ms)
        return 0;
    if (!(x.cols = malloc(sizeof(*x.cols))))
        return FL0WER_STORE_ERR_NOMEM;
    rc = scan_blocks(s, from_ms, to_ms, keys, soa_of_block, &x);
    free(x.cols);
    return rc;
}

int store_scan_flow_soa(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms, uint32_t mask,
                        int (*fn)(void *arg, struct store_flow_soa *cols, uint64_t *sel),
                        void *arg)
{
    return store_scan_flow_soa_keys(s, from_ms, to_ms, NULL, mask, fn, arg);
}

int fl0wer_store_scan_flows(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                            int (*fn)(void *arg, const struct fl0wer_flow *flows, size_t n),
                            void *arg)
{
    return store_scan_flow_cols(s, from_ms, to_ms, STORE_COL_ALL, fn, arg);
}

int store_scan_rollup_arrays(struct fl0wer_store *s, enum fl0wer_rollup_level level,
                             unsigned dim, uint64_t from_ms, uint64_t to_ms,
                             int (*fn)(void *arg, uint64_t t_ms, struct store_rollup_reader *r),
                             void *arg)
{
    uint64_t unit = level == FL0WER_ROLLUP_HOUR ? FL0WER_HOUR_MS : FL0WER_MINUTE_MS;
    uint8_t lo[10], hi[10];
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it;
    int rc = 0;

    if (!s || !fn || from_ms > to_ms || from_ms % unit || to_ms % unit ||
        !fl0wer_store_dim_rolled_up(dim) ||
        (level != FL0WER_ROLLUP_MINUTE && level != FL0WER_ROLLUP_HOUR))
        return FL0WER_STORE_ERR_INVAL;
    if (from_ms == to_ms)
        return 0;
    lo[0] = hi[0] = level == FL0WER_ROLLUP_HOUR ? 'h' : 'm';
    lo[1] = hi[1] = (uint8_t)dim;
    store_be64(lo + 2, from_ms / unit);
    store_be64(hi + 2, to_ms / unit);
    it = bounded_iter(s, STORE_CF_ROLLUPS, &ro, hi, sizeof(hi));
    if (!it)
        return finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof(lo)); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        struct store_rollup_reader r;
        if (kl != STORE_ROLLUP_KEY_LEN || store_rollup_open(&r, v, vl) != 0 ||
            r.width != store_dim_width(dim)) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            break;
        }
        rc = fn(arg, store_get_be64(k + 2) * unit, &r);
    }
    return finish_iter(it, ro, rc);
}

struct rows_walk {
    int (*fn)(void *arg, uint64_t t_ms, const uint8_t *key, size_t klen,
              const struct fl0wer_rollup_counters *c);
    void *arg;
};

/* One period's array: fn per row with the key as big-endian bytes. */
static int rows_of_array(void *arg, uint64_t t_ms, struct store_rollup_reader *r)
{
    struct rows_walk *w = arg;
    struct store_rollup_entry e;
    uint8_t kb[FL0WER_DIMKEY_MAX];
    int got = 0, rc = 0;

    while (rc == 0 && (got = store_rollup_next(r, &e)) > 0) {
        store_rollup_key_bytes(&e, r->width, kb);
        rc = w->fn(w->arg, t_ms, kb, r->width, &e.c);
    }
    return rc != 0 ? rc : got < 0 ? FL0WER_STORE_ERR_CORRUPT : 0;
}

int fl0wer_store_scan_rollups(struct fl0wer_store *s, enum fl0wer_rollup_level level,
                              unsigned dim, uint64_t from_ms, uint64_t to_ms,
                              int (*fn)(void *arg, uint64_t t_ms, const uint8_t *key,
                                        size_t klen, const struct fl0wer_rollup_counters *c),
                              void *arg)
{
    struct rows_walk w = {fn, arg};
    if (!fn)
        return FL0WER_STORE_ERR_INVAL;
    return store_scan_rollup_arrays(s, level, dim, from_ms, to_ms, rows_of_array, &w);
}

/* Min (or max) last_ms over the blocks of the minute of the iterator's current key. */
static int minute_extreme(rocksdb_iterator_t *it, bool forward, uint64_t *out)
{
    size_t kl;
    const char *k = rocksdb_iter_key(it, &kl);
    uint8_t minute[8];
    bool first = true;

    if (kl != STORE_FLOW_KEY_LEN)
        return FL0WER_STORE_ERR_CORRUPT;
    memcpy(minute, k, 8);
    for (; rocksdb_iter_valid(it); forward ? rocksdb_iter_next(it) : rocksdb_iter_prev(it)) {
        size_t vl, n;
        uint64_t lo, hi;
        k = rocksdb_iter_key(it, &kl);
        if (kl < 8 || memcmp(k, minute, 8) != 0)
            break;
        const char *v = rocksdb_iter_value(it, &vl);
        if (store_block_header((const uint8_t *)v, vl, &n, &lo, &hi) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
        if (n == 0)
            continue;
        uint64_t x = forward ? lo : hi;
        if (first || (forward ? x < *out : x > *out))
            *out = x;
        first = false;
    }
    return 0;
}

int store_flow_time_range(struct fl0wer_store *s, uint64_t *oldest, uint64_t *newest)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[STORE_CF_FLOWS]);
    char *err = NULL;
    int rc = 0;

    *oldest = *newest = 0;
    rocksdb_iter_seek_to_first(it);
    if (rocksdb_iter_valid(it))
        rc = minute_extreme(it, true, oldest);
    rocksdb_iter_seek_to_last(it);
    if (rc == 0 && rocksdb_iter_valid(it))
        rc = minute_extreme(it, false, newest);
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err)
        return store_io_error("reading flow times", err);
    return rc;
}
