/*
 * scan.c - reading back: raw flows by time range (block by block, filtered to the exact range),
 * rollup rows by period (each period's packed array walked entry by entry), and the
 * oldest/newest stored flow time; a raw scan can be limited to a range of keys (the chunks of
 * chunks.c).
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

rocksdb_iterator_t *store_bounded_iter(struct fl0wer_store *s, int cf, rocksdb_readoptions_t **ro,
                                       const uint8_t *upper, size_t ulen)
{
    *ro = rocksdb_readoptions_create();
    if (!*ro)
        return NULL;
    if (upper)
        rocksdb_readoptions_set_iterate_upper_bound(*ro, (const char *)upper, ulen);
    return rocksdb_create_iterator_cf(s->db, *ro, s->cf[cf]);
}

int store_finish_iter(rocksdb_iterator_t *it, rocksdb_readoptions_t *ro, int rc)
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
    it = store_bounded_iter(s, STORE_CF_FLOWS, &ro, hi, hi_len);
    if (!it)
        return store_finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
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
    return store_finish_iter(it, ro, rc);
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
    it = store_bounded_iter(s, STORE_CF_ROLLUPS, &ro, hi, sizeof(hi));
    if (!it)
        return store_finish_iter(NULL, ro, FL0WER_STORE_ERR_NOMEM);
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
    return store_finish_iter(it, ro, rc);
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
