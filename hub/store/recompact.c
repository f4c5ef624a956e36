/*
 * recompact.c - settling stored data on a long-running hub (docs/storage.md, "Settled data"),
 * from fl0wer_store_gc, never on the ingest path: memtables whose data waited 10 minutes are
 * flushed (a low-rate hub's 32 MiB flows memtable would otherwise hold weeks of flows, and the
 * write-ahead log all of them, uncompressed), and each file of settled flows has its small
 * blocks joined (reblock.c) and is compacted once to the last level, so it is written with that
 * level's compression instead of the flush's (at low rates; see store_int.h).
 */
#include "store_int.h"


/* Column families whose unflushed data keeps write-ahead log files alive (the rollups CF is
   flushed every minute by fl0wer_store_settle_rollups). */
static const int aged_cfs[] = {STORE_CF_FLOWS, STORE_CF_META, STORE_CF_DEFAULT, STORE_CF_ALERTS};

int store_flush_aged(struct fl0wer_store *s, uint64_t now_ms, uint64_t *flushed)
{
    bool dirty = false, due;

    *flushed = 0;
    for (size_t i = 0; i < sizeof(aged_cfs) / sizeof(aged_cfs[0]) && !dirty; i++)
        dirty = store_cf_property(s, aged_cfs[i], "rocksdb.num-entries-active-mem-table") != 0;
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
    /* a flows memtable of STORE_FLUSH_AGE_BUSY bytes fills up by itself soon (a high rate):
       flushing it early would only make more, smaller files */
    unsigned cfs = ((1u << STORE_CF__COUNT) - 1) & ~(1u << STORE_CF_ROLLUPS);
    if (store_cf_property(s, STORE_CF_FLOWS, "rocksdb.cur-size-active-mem-table") >=
        STORE_FLUSH_AGE_BUSY)
        cfs &= ~(1u << STORE_CF_FLOWS);
    *flushed = 1;
    return store_flush_cfs(s, cfs, true, "flushing aged memtables");
}

/* Loads STORE_META_RECOMPACTED once (absent: empty). Under s->lock. */
static int load_mark(struct fl0wer_store *s)
{
    bool found = false;
    int rc;

    if (s->recompacted_loaded)
        return 0;
    rc = store_meta_read(s, STORE_META_RECOMPACTED, s->recompacted_key, STORE_FLOW_KEY_LEN, &found,
                         "reading the recompaction mark");
    s->recompacted_len = rc == 0 && found ? STORE_FLOW_KEY_LEN : 0;
    s->recompacted_loaded = rc == 0;
    return rc;
}

static int save_mark(struct fl0wer_store *s, const uint8_t key[STORE_FLOW_KEY_LEN])
{
    char *err = NULL;

    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_META], STORE_META_RECOMPACTED,
                   strlen(STORE_META_RECOMPACTED), (const char *)key, STORE_FLOW_KEY_LEN, &err);
    if (err)
        return store_io_error("writing the recompaction mark", err);
    pthread_mutex_lock(&s->lock);
    memcpy(s->recompacted_key, key, STORE_FLOW_KEY_LEN);
    s->recompacted_len = STORE_FLOW_KEY_LEN;
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* The flows CF's files to recompact: [lo, hi] and their bytes. */
struct settled {
    uint8_t lo[STORE_FLOW_KEY_LEN], hi[STORE_FLOW_KEY_LEN];
    uint64_t bytes, files;
};

/*
 * Picks the flows CF's files that lie wholly after the mark (mark, ml; ml 0: none) and before
 * minute `target` (settled): their smallest and largest keys and sizes, the oldest first, up to
 * STORE_RECOMPACT_MAX_BYTES. out->files is 0 when there are none.
 */
static void pick_settled(struct fl0wer_store *s, const uint8_t *mark, size_t ml, uint64_t target,
                         struct settled *out)
{
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(s->db);
    uint8_t tk[8];

    memset(out, 0, sizeof(*out));
    if (!lf)
        return;
    store_be64(tk, target);
    for (;;) { /* the oldest remaining candidate each round: few files, kept simple */
        int best = -1;
        const char *bk = NULL;
        size_t bl = 0;
        for (int i = 0; i < rocksdb_livefiles_count(lf); i++) {
            size_t al, hl;
            if (strcmp(rocksdb_livefiles_column_family_name(lf, i), "flows") != 0)
                continue;
            const char *a = rocksdb_livefiles_smallestkey(lf, i, &al);
            const char *h = rocksdb_livefiles_largestkey(lf, i, &hl);
            if (al != STORE_FLOW_KEY_LEN || hl != STORE_FLOW_KEY_LEN ||
                (ml && store_key_cmp(a, al, mark, ml) <= 0) || memcmp(h, tk, 8) >= 0 ||
                (out->files && store_key_cmp(a, al, out->hi, sizeof(out->hi)) <= 0))
                continue;
            if (best < 0 || store_key_cmp(a, al, bk, bl) < 0) {
                best = i;
                bk = a;
                bl = al;
            }
        }
        if (best < 0 || out->bytes >= STORE_RECOMPACT_MAX_BYTES)
            break;
        size_t hl;
        const char *h = rocksdb_livefiles_largestkey(lf, best, &hl);
        if (!out->files)
            memcpy(out->lo, bk, STORE_FLOW_KEY_LEN);
        memcpy(out->hi, h, STORE_FLOW_KEY_LEN);
        out->bytes += rocksdb_livefiles_size(lf, best);
        out->files++;
    }
    rocksdb_livefiles_destroy(lf);
}

/*
 * True when no stored key beyond `key` (after it when after, else before it) is of the same
 * minute: that minute lies wholly on key's side, and its blocks may be joined.
 */
static bool minute_ends_at(struct fl0wer_store *s, const uint8_t *key, bool after)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[STORE_CF_FLOWS]);
    bool alone = true;

    if (after) {
        rocksdb_iter_seek(it, (const char *)key, STORE_FLOW_KEY_LEN);
        size_t kl;
        if (rocksdb_iter_valid(it) &&
            store_key_cmp(rocksdb_iter_key(it, &kl), STORE_FLOW_KEY_LEN, key,
                          STORE_FLOW_KEY_LEN) == 0)
            rocksdb_iter_next(it);
    } else {
        rocksdb_iter_seek(it, (const char *)key, STORE_FLOW_KEY_LEN);
        if (rocksdb_iter_valid(it))
            rocksdb_iter_prev(it);
        else
            rocksdb_iter_seek_to_last(it);
    }
    if (rocksdb_iter_valid(it)) {
        size_t kl;
        const char *k = rocksdb_iter_key(it, &kl);
        alone = kl < 8 || memcmp(k, key, 8) != 0;
    }
    rocksdb_iter_destroy(it);
    return alone;
}

/*
 * Compacts the flows of [lo, hi] to the last level (kForceOptimized: files this compaction wrote
 * are not compacted again), without stopping RocksDB's own compactions. Waits for it.
 */
static void compact_flows(struct fl0wer_store *s, const uint8_t *lo, const uint8_t *hi)
{
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 3 /* kForceOptimized */);
    rocksdb_compactoptions_set_exclusive_manual_compaction(co, 0);
    rocksdb_compact_range_cf_opt(s->db, s->cf[STORE_CF_FLOWS], co, (const char *)lo,
                                 STORE_FLOW_KEY_LEN, (const char *)hi, STORE_FLOW_KEY_LEN);
    rocksdb_compactoptions_destroy(co);
}

int store_recompact_settled(struct fl0wer_store *s, uint64_t now_ms, uint64_t *files,
                            uint64_t *joined)
{
    uint8_t mark[STORE_FLOW_KEY_LEN];
    uint64_t before = 0, after = 0;
    struct settled st;
    size_t ml;
    int rc;

    *files = *joined = 0;
    if (now_ms < STORE_RECOMPACT_LAG_MS)
        return 0;
    pthread_mutex_lock(&s->lock);
    rc = load_mark(s);
    ml = s->recompacted_len;
    memcpy(mark, s->recompacted_key, sizeof(mark));
    pthread_mutex_unlock(&s->lock);
    if (rc != 0)
        return rc;
    /* settled up to a whole hour: a compaction an hour at most, not one per gc pass */
    uint64_t target = (now_ms - STORE_RECOMPACT_LAG_MS) / FL0WER_HOUR_MS * 60;
    pick_settled(s, mark, ml, target, &st);
    uint64_t m0 = store_get_be64(st.lo), m1 = store_get_be64(st.hi);
    /* each compaction's output is a file (~1.7 KB of index and properties): at low rates
       wait for STORE_RECOMPACT_MIN_BYTES, or until the oldest has been settled that long */
    if (!st.files ||
        (st.bytes < STORE_RECOMPACT_MIN_BYTES &&
         target - m0 < STORE_RECOMPACT_MIN_MS / FL0WER_MINUTE_MS))
        return 0;
    uint64_t hours = (m1 - m0) / 60 + 1;
    if (st.bytes <= STORE_RECOMPACT_HIGH_BYTES * hours) { /* else a high rate: full blocks */
        /* join the minutes that lie wholly in [lo, hi]; the flows memtable flushed first, so the
           file the compaction flushes holds only the joined blocks, not newer flows (which
           would stretch its output past hi, and the next files would be merged into it) */
        uint64_t j0 = m0 + !minute_ends_at(s, st.lo, false);
        uint64_t j1 = m1 + minute_ends_at(s, st.hi, true);
        /* the flows CF's only: a rollups flush would leave one more L0 file whose operands
           every read of those periods merges again until a compaction */
        if ((rc = store_flush_cfs(s, 1u << STORE_CF_FLOWS, true, "flushing the flows")) != 0)
            return rc;
        if (j0 < j1 &&
            (rc = store_reblock_flows(s, j0 * FL0WER_MINUTE_MS, j1 * FL0WER_MINUTE_MS, &before,
                                      &after)) != 0)
            return rc;
        *joined = before - after;
        compact_flows(s, st.lo, st.hi);
        *files = st.files;
    }
    return save_mark(s, st.hi);
}
