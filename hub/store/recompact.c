/*
 * recompact.c - settling stored data on a long-running hub (docs/storage.md, "Settled data"),
 * from fl0wer_store_gc, never on the ingest path: memtables whose data waited 10 minutes are
 * flushed (a low-rate hub's 32 MiB flows memtable would otherwise hold weeks of flows, and the
 * write-ahead log all of them, uncompressed), and each settled hour of flows has its small blocks
 * joined (reblock.c) and is compacted once to the last level, so it is written with that level's
 * compression instead of the flush's.
 */
#include "store_int.h"

#include <stdlib.h>

/* Column families whose unflushed data keeps write-ahead log files alive (the rollups CF is
   flushed every minute by fl0wer_store_settle_rollups). */
static const int aged_cfs[] = {STORE_CF_FLOWS, STORE_CF_META, STORE_CF_DEFAULT, STORE_CF_ALERTS};

static uint64_t cf_property(struct fl0wer_store *s, int cf, const char *name)
{
    char *v = rocksdb_property_value_cf(s->db, s->cf[cf], name);
    uint64_t n = v ? strtoull(v, NULL, 10) : 0;
    rocksdb_free(v);
    return n;
}

int store_flush_aged(struct fl0wer_store *s, uint64_t now_ms, uint64_t *flushed)
{
    bool dirty = false, due;

    *flushed = 0;
    for (size_t i = 0; i < sizeof(aged_cfs) / sizeof(aged_cfs[0]) && !dirty; i++)
        dirty = cf_property(s, aged_cfs[i], "rocksdb.num-entries-active-mem-table") != 0;
    pthread_mutex_lock(&s->lock);
    if (!dirty)
        s->dirty_since_ms = 0;
    else if (!s->dirty_since_ms)
        s->dirty_since_ms = now_ms ? now_ms : 1;
    due = s->dirty_since_ms && now_ms >= s->dirty_since_ms + STORE_FLUSH_AGE_MS;
    if (due)
        s->dirty_since_ms = 0; /* data stored from here on starts the next wait */
    pthread_mutex_unlock(&s->lock);
    if (!due)
        return 0;
    *flushed = 1;
    return store_flush_all(s);
}

/* Loads STORE_META_RECOMPACTED once (absent: 0). Under s->lock. */
static int load_recompacted(struct fl0wer_store *s)
{
    char *err = NULL, *v;
    size_t len = 0;

    if (s->recompacted_loaded)
        return 0;
    v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_RECOMPACTED,
                       strlen(STORE_META_RECOMPACTED), &len, &err);
    if (err)
        return store_io_error("reading the recompaction mark", err);
    int rc = !v || len == 8 ? 0 : FL0WER_STORE_ERR_CORRUPT;
    if (v && rc == 0)
        s->recompacted_ms = store_get_be64((const uint8_t *)v);
    rocksdb_free(v);
    s->recompacted_loaded = rc == 0;
    return rc;
}

static int save_recompacted(struct fl0wer_store *s, uint64_t ms)
{
    char *err = NULL;
    uint8_t v[8];

    store_be64(v, ms);
    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_META], STORE_META_RECOMPACTED,
                   strlen(STORE_META_RECOMPACTED), (const char *)v, sizeof(v), &err);
    if (err)
        return store_io_error("writing the recompaction mark", err);
    pthread_mutex_lock(&s->lock);
    s->recompacted_ms = ms;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/*
 * Compacts the flow blocks of minutes [from_ms, to_ms) (and whatever shares their files) to the
 * last level, rewriting files already there (so each is written at its compression), without
 * stopping RocksDB's own compactions. Waits for it.
 */
static void compact_flows(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms)
{
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    uint8_t lo[8], hi[8];

    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, to_ms / FL0WER_MINUTE_MS); /* 8 bytes: before every key of that minute */
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0);
    rocksdb_compact_range_cf_opt(s->db, s->cf[STORE_CF_FLOWS], co, (const char *)lo, sizeof(lo),
                                 (const char *)hi, sizeof(hi));
    rocksdb_compactoptions_destroy(co);
}

/* Approximate bytes of the flows CF's files in minutes [from_ms, to_ms). */
static uint64_t range_bytes(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms)
{
    uint8_t lo[8], hi[8];
    const char *st[1] = {(const char *)lo}, *li[1] = {(const char *)hi};
    size_t sl[1] = {8}, ll[1] = {8};
    uint64_t size = 0;
    char *err = NULL;

    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, to_ms / FL0WER_MINUTE_MS);
    rocksdb_approximate_sizes_cf(s->db, s->cf[STORE_CF_FLOWS], 1, st, sl, li, ll, &size, &err);
    rocksdb_free(err); /* an estimate: 0 on error */
    return size;
}

/* Bytes of the flows CF's files whose keys overlap minutes [from_ms, to_ms): what a compaction
   of that range rewrites. */
static uint64_t overlap_bytes(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms)
{
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(s->db);
    uint8_t lo[8], hi[8];
    uint64_t total = 0;

    if (!lf)
        return 0;
    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, to_ms / FL0WER_MINUTE_MS);
    for (int i = 0; i < rocksdb_livefiles_count(lf); i++) {
        size_t al, bl;
        if (strcmp(rocksdb_livefiles_column_family_name(lf, i), "flows") != 0)
            continue;
        const char *a = rocksdb_livefiles_smallestkey(lf, i, &al);
        const char *b = rocksdb_livefiles_largestkey(lf, i, &bl);
        /* overlaps unless it ends before lo or starts at or after hi (8-byte prefixes) */
        if (bl >= 8 && al >= 8 && memcmp(b, lo, 8) >= 0 && memcmp(a, hi, 8) < 0)
            total += rocksdb_livefiles_size(lf, i);
    }
    rocksdb_livefiles_destroy(lf);
    return total;
}

int store_recompact_settled(struct fl0wer_store *s, uint64_t now_ms, uint64_t *hours,
                            uint64_t *joined)
{
    uint64_t oldest = 0, newest = 0, from, end, target, before = 0, after = 0;
    int rc;

    *hours = *joined = 0;
    if (now_ms < STORE_RECOMPACT_LAG_MS)
        return 0;
    target = (now_ms - STORE_RECOMPACT_LAG_MS) / FL0WER_HOUR_MS * FL0WER_HOUR_MS;
    pthread_mutex_lock(&s->lock);
    rc = load_recompacted(s);
    from = s->recompacted_ms;
    pthread_mutex_unlock(&s->lock);
    if (rc != 0 || from >= target)
        return rc;
    if ((rc = store_flow_time_range(s, &oldest, &newest)) != 0)
        return rc;
    /* from the first hour that holds flows (no empty hours walked one tick each); nothing
       stored, or nothing settled: nothing to do (nor to write) */
    if (oldest / FL0WER_HOUR_MS * FL0WER_HOUR_MS > from)
        from = oldest / FL0WER_HOUR_MS * FL0WER_HOUR_MS;
    if (newest == 0 || from >= target)
        return 0;
    end = target - from > STORE_RECOMPACT_MAX_MS ? from + STORE_RECOMPACT_MAX_MS : target;
    uint64_t n_hours = (end - from) / FL0WER_HOUR_MS, bytes = range_bytes(s, from, end);
    if (bytes > STORE_RECOMPACT_HIGH_BYTES * n_hours) /* a high rate: full blocks, done */
        return save_recompacted(s, end);
    /* a compaction rewrites whole files: wait (at most STORE_RECOMPACT_MAX_MS) until the
       settled data is at least half of what it would rewrite */
    if (end - from < STORE_RECOMPACT_MAX_MS && 2 * bytes < overlap_bytes(s, from, end))
        return 0;
    if ((rc = store_reblock_flows(s, from, end, &before, &after)) != 0)
        return rc;
    *joined = before - after;
    compact_flows(s, from, end);
    *hours = n_hours;
    return save_recompacted(s, end);
}
