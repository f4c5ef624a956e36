/*
 * gc.c - retention: raw flows older than retention_ms (whole minutes by range delete, the
 * boundary minute's blocks rewritten without the expired flows, so exactly what is older than
 * the limit goes), rollups older than theirs, and the disk cap (oldest minutes of flows first);
 * then the memtable age limit, the recompaction of settled hours (recompact.c) and the markers
 * over the address arrays of sparse settled hours (sparse.c).
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

static const unsigned gc_dims[] = {FL0WER_ROLLUP_TOTAL, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* Counts the keys of cf in [lo, hi). Returns the count; *rc gets an error if any. */
static uint64_t count_range(struct fl0wer_store *s, int cf, const uint8_t *lo, size_t ll,
                            const uint8_t *hi, size_t hl, int *rc)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    char *err = NULL;
    uint64_t n = 0;

    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, hl);
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(s->db, ro, s->cf[cf]);
    for (rocksdb_iter_seek(it, (const char *)lo, ll); rocksdb_iter_valid(it); rocksdb_iter_next(it))
        n++;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (err)
        *rc = store_io_error("counting keys", err);
    return n;
}

/*
 * Rewrites the blocks of minute `minute` without their flows older than cutoff_ms (into wb).
 * Counts blocks that became empty (deleted) in *removed.
 */
static int trim_minute(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t minute,
                       uint64_t cutoff_ms, uint64_t *removed)
{
    uint8_t lo[8], hi[8];
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    struct fl0wer_flow *buf = malloc(STORE_MAX_BLOCK_FLOWS * sizeof(*buf));
    const struct fl0wer_flow **keep = malloc(STORE_MAX_BLOCK_FLOWS * sizeof(*keep));
    uint8_t *val = malloc(store_block_bound(STORE_MAX_BLOCK_FLOWS));
    rocksdb_iterator_t *it = NULL;
    char *err = NULL;
    int rc = 0;

    if (!buf || !keep || !val) {
        rc = FL0WER_STORE_ERR_NOMEM;
        goto out;
    }
    store_be64(lo, minute);
    store_be64(hi, minute + 1);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof(hi));
    it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_FLOWS]);
    for (rocksdb_iter_seek(it, (const char *)lo, 8); rocksdb_iter_valid(it) && rc == 0;
         rocksdb_iter_next(it)) {
        size_t kl, vl, n, m = 0;
        const char *k = rocksdb_iter_key(it, &kl);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        uint64_t bmin, bmax;
        if (store_block_header(v, vl, &n, &bmin, &bmax) != 0) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            break;
        }
        if (bmin >= cutoff_ms)
            continue;
        if (store_block_decode(v, vl, buf, STORE_MAX_BLOCK_FLOWS, &n) != 0) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            break;
        }
        for (size_t i = 0; i < n; i++)
            if (buf[i].last_ms >= cutoff_ms)
                keep[m++] = &buf[i];
        if (m == 0) {
            rocksdb_writebatch_delete_cf(wb, s->cf[STORE_CF_FLOWS], k, kl);
            (*removed)++;
        } else {
            size_t len = store_block_encode(keep, m, val);
            rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_FLOWS], k, kl, (const char *)val, len);
        }
    }
    rocksdb_iter_get_error(it, &err);
    if (err)
        rc = store_io_error("reading the boundary minute", err);
out:
    if (it)
        rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    free(val);
    free(keep);
    free(buf);
    return rc;
}

/* Deletes flow blocks of minutes [0, end_minute) (into wb), counting them. */
static int drop_minutes(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t end_minute,
                        uint64_t *removed)
{
    uint8_t lo[8], hi[8];
    int rc = 0;

    store_be64(lo, 0);
    store_be64(hi, end_minute);
    uint64_t n = count_range(s, STORE_CF_FLOWS, lo, 8, hi, 8, &rc);
    /* nothing to delete: no range tombstone (a low-rate hub's flows memtable, flushed rarely,
       would gather one per gc tick, and every read iterator fragments them all again) */
    if (n == 0 || rc != 0)
        return rc;
    *removed += n;
    rocksdb_writebatch_delete_range_cf(wb, s->cf[STORE_CF_FLOWS], (const char *)lo, 8,
                                       (const char *)hi, 8);
    return 0;
}

/* Deletes rollup rows of level older than the period number `end`, counting them. */
static int drop_rollups(struct fl0wer_store *s, rocksdb_writebatch_t *wb, char level,
                        uint64_t end, uint64_t *removed)
{
    int rc = 0;
    for (size_t d = 0; d < sizeof(gc_dims) / sizeof(gc_dims[0]) && rc == 0; d++) {
        uint8_t lo[10] = {(uint8_t)level, (uint8_t)gc_dims[d]}, hi[10];
        memcpy(hi, lo, 2);
        store_be64(lo + 2, 0);
        store_be64(hi + 2, end);
        uint64_t n = count_range(s, STORE_CF_ROLLUPS, lo, 10, hi, 10, &rc);
        if (n == 0 || rc != 0) /* no tombstone for an empty range, as in drop_minutes */
            continue;
        *removed += n;
        rocksdb_writebatch_delete_range_cf(wb, s->cf[STORE_CF_ROLLUPS], (const char *)lo, 10,
                                           (const char *)hi, 10);
    }
    return rc;
}

uint64_t store_raw_cut(const struct fl0wer_store *s)
{
    return __atomic_load_n(&s->raw_cut_ms, __ATOMIC_ACQUIRE);
}

/*
 * Raises the raw flow cut to cut_ms (under s->lock, before the deletions it covers are written):
 * the new value is visible to queries at once, so none takes an hour being deleted for whole,
 * and it is stored in wb with those deletions.
 */
static void raise_raw_cut(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t cut_ms)
{
    uint8_t v[8];

    if (cut_ms <= s->raw_cut_ms)
        return;
    __atomic_store_n(&s->raw_cut_ms, cut_ms, __ATOMIC_RELEASE);
    store_be64(v, cut_ms);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_RAW_CUT,
                              strlen(STORE_META_RAW_CUT), (const char *)v, sizeof(v));
}

static int write_batch(struct fl0wer_store *s, rocksdb_writebatch_t *wb)
{
    char *err = NULL;
    rocksdb_write(s->db, s->wopts, wb, &err);
    rocksdb_writebatch_clear(wb);
    return err ? store_io_error("writing gc deletions", err) : 0;
}

int store_flush_cfs(struct fl0wer_store *s, unsigned cfs, bool wait, const char *what)
{
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    char *err = NULL;
    rocksdb_flushoptions_set_wait(fo, wait);
    for (int i = 0; i < STORE_CF__COUNT && !err; i++)
        if (cfs & (1u << i))
            rocksdb_flush_cf(s->db, fo, s->cf[i], &err);
    rocksdb_flushoptions_destroy(fo);
    return err ? store_io_error(what, err) : 0;
}

int store_flush_all(struct fl0wer_store *s)
{
    return store_flush_cfs(s, (1u << STORE_CF__COUNT) - 1, true, "flushing");
}

int fl0wer_store_settle_rollups(struct fl0wer_store *s, uint64_t mono_ms, bool *flushed)
{
    int rc;

    if (!s || !flushed)
        return FL0WER_STORE_ERR_INVAL;
    *flushed = false;
    pthread_mutex_lock(&s->lock);
    bool due = s->unsettled_first_ms &&
               (mono_ms >= s->unsettled_last_ms + FL0WER_STORE_SETTLE_IDLE_MS ||
                mono_ms >= s->unsettled_first_ms + FL0WER_STORE_SETTLE_MAX_AGE_MS);
    if (due)
        s->unsettled_first_ms = 0; /* batches stored from here on wait for the next flush */
    pthread_mutex_unlock(&s->lock);
    if (!due)
        return 0;
    rc = store_flush_cfs(s, 1u << STORE_CF_ROLLUPS, false, "flushing the rollups");
    *flushed = rc == 0;
    return rc;
}

/*
 * While the disk use is over max_disk_bytes: drops the oldest minutes of flows, as many as the
 * average size per minute suggests (first restoring the address arrays of the sparse hours they
 * end, store_sparse_restore), and compacts them away. Stops when no flows are left.
 */
static int enforce_cap(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t *removed,
                       uint64_t *restored)
{
    int rc = 0;
    if (store_disk_bytes(s) <= s->max_disk_bytes)
        return 0; /* flush only when over the cap: no small files on every gc */
    for (int round = 0; round < 64 && rc == 0; round++) {
        uint64_t oldest, newest;
        if ((rc = store_flush_all(s)) != 0)
            break;
        uint64_t used = store_disk_bytes(s);
        if (used <= s->max_disk_bytes)
            break;
        if ((rc = store_flow_time_range(s, &oldest, &newest)) != 0 || newest == 0)
            break;
        uint64_t om = oldest / FL0WER_MINUTE_MS, span = newest / FL0WER_MINUTE_MS - om + 1;
        uint64_t sst = store_cf_property(s, STORE_CF_FLOWS, "rocksdb.total-sst-files-size");
        uint64_t per_minute = sst / span + 1;
        uint64_t k = (used - s->max_disk_bytes) / per_minute + 1;
        uint8_t lo[8], hi[8];
        if ((rc = store_sparse_restore(s, wb, (om + k) * FL0WER_MINUTE_MS, restored)) != 0)
            break;
        raise_raw_cut(s, wb, (om + k) * FL0WER_MINUTE_MS);
        rc = drop_minutes(s, wb, om + k, removed);
        if (rc == 0)
            rc = write_batch(s, wb);
        store_be64(lo, 0);
        store_be64(hi, om + k);
        rocksdb_compact_range_cf(s->db, s->cf[STORE_CF_FLOWS], (const char *)lo, 8,
                                 (const char *)hi, 8);
    }
    return rc;
}

int fl0wer_store_gc(struct fl0wer_store *s, uint64_t now_ms, struct fl0wer_store_gc_result *out)
{
    rocksdb_writebatch_t *wb;
    uint64_t newest;
    int rc = 0;

    if (!s || !out)
        return FL0WER_STORE_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    if (!(wb = rocksdb_writebatch_create()))
        return FL0WER_STORE_ERR_NOMEM;
    pthread_mutex_lock(&s->lock);
    if (now_ms > s->retention_ms) {
        uint64_t cutoff = now_ms - s->retention_ms;
        rc = store_sparse_restore(s, wb, cutoff, &out->address_hours_restored);
        if (rc == 0)
            raise_raw_cut(s, wb, cutoff);
        if (rc == 0)
            rc = drop_minutes(s, wb, cutoff / FL0WER_MINUTE_MS, &out->flow_blocks_removed);
        if (rc == 0 && cutoff % FL0WER_MINUTE_MS)
            rc = trim_minute(s, wb, cutoff / FL0WER_MINUTE_MS, cutoff,
                             &out->flow_blocks_removed);
    }
    if (rc == 0 && now_ms > s->rollup_retention_ms)
        rc = drop_rollups(s, wb, 'm', (now_ms - s->rollup_retention_ms) / FL0WER_MINUTE_MS,
                          &out->rollup_rows_removed);
    if (rc == 0 && now_ms > 5 * s->rollup_retention_ms)
        rc = drop_rollups(s, wb, 'h', (now_ms - 5 * s->rollup_retention_ms) / FL0WER_HOUR_MS,
                          &out->rollup_rows_removed);
    if (rc == 0)
        rc = write_batch(s, wb);
    if (rc == 0 && s->max_disk_bytes)
        rc = enforce_cap(s, wb, &out->flow_blocks_removed, &out->address_hours_restored);
    if (rc == 0)
        rc = store_flow_time_range(s, &out->oldest_flow_ms, &newest);
    pthread_mutex_unlock(&s->lock);
    rocksdb_writebatch_destroy(wb);
    /* outside the lock (ingest goes on): memtables that waited too long to the disk, then the
       settled files of flows recompressed at the last level (recompact.c) */
    if (rc == 0)
        rc = store_flush_aged(s, now_ms, &out->memtables_flushed);
    if (rc == 0)
        rc = store_recompact_settled(s, now_ms, &out->flow_files_recompacted,
                                     &out->flow_blocks_joined);
    if (rc == 0) /* sparse settled hours: address arrays to markers (sparse.c) */
        rc = store_sparse_settled(s, now_ms, &out->address_hours_sparse);
    return rc;
}
