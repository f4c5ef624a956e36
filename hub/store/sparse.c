/*
 * sparse.c - rate-adaptive address rollups (docs/storage.md, "Sparse hours"): once an hour is
 * settled, gc looks at it once (meta STORE_META_SPARSE: the next hour to look at) and, when it
 * holds fewer than STORE_SPARSE_HOUR_FLOWS flows (its hour totals) and all of its raw flows are
 * still stored, replaces its source and destination address arrays (hour, and minute ones when
 * the store has them) by a marker: an empty array flagged truncated. Queries skip truncated
 * address arrays and answer their period from the raw blocks (exact, and for so few flows about
 * as fast); the merge operator keeps a marker empty when a late batch's operand lands on it
 * (rollmerge.c), and RocksDB drops the old rows when it next compacts them. Before retention or
 * the disk cap removes a marked hour's raw flows, gc computes its arrays again from them
 * (store_sparse_restore), so the hour arrays answer as long as they are kept.
 */
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Loads STORE_META_SPARSE once (absent: hour 0, every hour is still to be looked at). Under
   s->lock. */
static int load_mark(struct fl0wer_store *s)
{
    uint8_t v[8];
    bool found = false;
    int rc;

    if (s->sparse_loaded)
        return 0;
    rc = store_meta_read(s, STORE_META_SPARSE, v, sizeof(v), &found,
                         "reading the sparse hour mark");
    s->sparse_next_hour = rc == 0 && found ? store_get_be64(v) : 0;
    s->sparse_loaded = rc == 0;
    return rc;
}

/* Flow count of an hour totals array (value v, vl bytes). Returns 0 or ERR_CORRUPT. */
static int hour_flows(const uint8_t *v, size_t vl, uint64_t *flows)
{
    struct store_rollup_reader r;
    struct store_rollup_entry e;
    int got;

    *flows = 0;
    if (store_rollup_open(&r, v, vl) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    while ((got = store_rollup_next(&r, &e)) > 0)
        *flows += e.c.flows;
    return got < 0 ? FL0WER_STORE_ERR_CORRUPT : 0;
}

/*
 * Adds to wb a marker (marker, ml bytes) over the minute address arrays of dim that exist in the
 * hour starting at minute m0. Returns 0 or ERR_IO.
 */
static int mark_minutes(struct fl0wer_store *s, rocksdb_writebatch_t *wb, unsigned dim, uint64_t m0,
                        const uint8_t *marker, size_t ml)
{
    uint8_t lo[STORE_ROLLUP_KEY_LEN] = {'m', (uint8_t)dim}, hi[STORE_ROLLUP_KEY_LEN];
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    char *err = NULL;

    memcpy(hi, lo, 2);
    store_be64(lo + 2, m0);
    store_be64(hi + 2, m0 + 60);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof(hi));
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_ROLLUPS]);
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof(lo)); rocksdb_iter_valid(it);
         rocksdb_iter_next(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_ROLLUPS], k, kl, (const char *)marker, ml);
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return err ? store_io_error("reading minute address arrays", err) : 0;
}

/* Adds to wb the markers of the address arrays of hour h (and of its minutes, if any). */
static int mark_hour(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t h)
{
    uint8_t marker[16], key[STORE_ROLLUP_KEY_LEN] = {'h'};
    size_t ml = store_rollup_encode(16, NULL, 0, true, marker);
    int rc = 0;

    for (unsigned dim = 0; dim < 2 && rc == 0; dim++) {
        key[1] = (uint8_t)dim;
        store_be64(key + 2, h);
        rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_ROLLUPS], (const char *)key, sizeof(key),
                                  (const char *)marker, ml);
        if (s->address_k[0])
            rc = mark_minutes(s, wb, dim, h * 60, marker, ml);
    }
    return rc;
}

int store_sparse_settled(struct fl0wer_store *s, uint64_t now_ms, uint64_t *hours)
{
    uint8_t lo[STORE_ROLLUP_KEY_LEN] = {'h', FL0WER_ROLLUP_TOTAL}, hi[STORE_ROLLUP_KEY_LEN];
    rocksdb_readoptions_t *ro = NULL;
    rocksdb_iterator_t *it = NULL;
    rocksdb_writebatch_t *wb = NULL;
    uint64_t first, target, looked = 0;
    char *err = NULL;
    int rc;

    *hours = 0;
    if (now_ms < STORE_RECOMPACT_LAG_MS)
        return 0;
    pthread_mutex_lock(&s->lock);
    rc = load_mark(s);
    first = s->sparse_next_hour;
    pthread_mutex_unlock(&s->lock);
    /* settled as for the recompaction: hours that ended before the last whole hour before
       now - STORE_RECOMPACT_LAG_MS (late batches after that still land exactly: below) */
    target = (now_ms - STORE_RECOMPACT_LAG_MS) / FL0WER_HOUR_MS;
    if (rc != 0 || first >= target)
        return rc;
    if (!(wb = rocksdb_writebatch_create()) || !(ro = rocksdb_readoptions_create())) {
        rc = FL0WER_STORE_ERR_NOMEM;
        goto out;
    }
    memcpy(hi, lo, 2);
    store_be64(lo + 2, first);
    store_be64(hi + 2, target);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof(hi));
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_ROLLUPS]);
    uint64_t next = target;
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof(lo)); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl;
        const uint8_t *k = (const uint8_t *)rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        uint64_t h, flows;
        if (kl != STORE_ROLLUP_KEY_LEN)
            continue;
        h = store_get_be64(k + 2);
        if (looked++ == STORE_SPARSE_MAX_HOURS) { /* the rest at the next pass */
            next = h;
            break;
        }
        if (hour_flows(v, vl, &flows) != 0) { /* leave that hour as it is, go on */
            fprintf(stderr,
                    "fl0wer store: hour totals of hour %" PRIu64
                    " unreadable: its address arrays are kept\n",
                    h);
            continue;
        }
        /* an hour some of whose raw flows retention or the disk cap removed keeps its arrays:
           they are all that is left of its addresses */
        if (flows >= STORE_SPARSE_HOUR_FLOWS || h * FL0WER_HOUR_MS < store_raw_cut(s))
            continue;
        if ((rc = mark_hour(s, wb, h)) == 0)
            (*hours)++;
    }
    if (rc == 0) {
        rocksdb_iter_get_error(it, &err);
        if (err)
            rc = store_io_error("reading hour totals", err);
    }
    if (rc == 0) { /* the markers and the mark in one atomic write */
        uint8_t m[8];
        store_be64(m, next);
        rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_SPARSE,
                                  strlen(STORE_META_SPARSE), (const char *)m, sizeof(m));
        rocksdb_write(s->db, s->wopts, wb, &err);
        if (err)
            rc = store_io_error("writing sparse hour markers", err);
    }
    if (rc == 0) {
        pthread_mutex_lock(&s->lock);
        s->sparse_next_hour = next;
        pthread_mutex_unlock(&s->lock);
    }
out:
    if (it)
        rocksdb_iter_destroy(it);
    if (ro)
        rocksdb_readoptions_destroy(ro);
    if (wb)
        rocksdb_writebatch_destroy(wb);
    return rc;
}

/* True when the source address hour array of hour h is a marker (empty and truncated). */
static int is_marker(struct fl0wer_store *s, uint64_t h, bool *marker)
{
    uint8_t key[STORE_ROLLUP_KEY_LEN] = {'h', 0}; /* srcip */
    struct store_rollup_reader r;
    char *err = NULL, *v;
    size_t len = 0;

    store_be64(key + 2, h);
    v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_ROLLUPS], (const char *)key, sizeof(key),
                       &len, &err);
    if (err)
        return store_io_error("reading an address hour array", err);
    *marker = v && store_rollup_open(&r, (const uint8_t *)v, len) == 0 && r.truncated && r.n == 0;
    rocksdb_free(v);
    return 0;
}

struct hour_flows {
    struct fl0wer_flow *f;
    size_t n, cap;
};

static int collect_flows(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    struct hour_flows *h = arg;
    if (store_grow((void **)&h->f, &h->cap, h->n + n, sizeof(*h->f)) != 0)
        return FL0WER_STORE_ERR_NOMEM;
    memcpy(h->f + h->n, flows, n * sizeof(*flows));
    h->n += n;
    return 0;
}

int store_sparse_restore(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t cut_ms,
                         uint64_t *hours)
{
    struct hour_flows hf = {NULL, 0, 0};
    uint64_t oldest = 0, newest = 0, cut = store_raw_cut(s), h, end;
    int rc;

    if (cut_ms <= cut || (rc = load_mark(s)) != 0)
        return cut_ms <= cut ? 0 : rc;
    /* the hours still whole (starting at or after the raw cut, from the oldest flow's) that
       the new cut enters or passes, among those the sparse pass looked at: none on most gc
       passes (the cut moves into a new hour once an hour) */
    h = (cut + FL0WER_HOUR_MS - 1) / FL0WER_HOUR_MS;
    end = (cut_ms + FL0WER_HOUR_MS - 1) / FL0WER_HOUR_MS;
    if (end > s->sparse_next_hour)
        end = s->sparse_next_hour;
    if (h >= end)
        return 0;
    if ((rc = store_flow_time_range(s, &oldest, &newest)) != 0 || newest == 0)
        return rc;
    if (h < oldest / FL0WER_HOUR_MS)
        h = oldest / FL0WER_HOUR_MS;
    for (; h < end && rc == 0; h++) {
        bool marker = false;
        if ((rc = is_marker(s, h, &marker)) != 0 || !marker)
            continue;
        hf.n = 0;
        rc = fl0wer_store_scan_flows(s, h * FL0WER_HOUR_MS, (h + 1) * FL0WER_HOUR_MS,
                                     collect_flows, &hf);
        if (rc == 0)
            rc = store_put_address_hours_of(s, wb, hf.f, hf.n);
        if (rc == 0 && hf.n)
            (*hours)++;
    }
    free(hf.f);
    return rc;
}
