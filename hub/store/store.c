/*
 * store.c - opening and closing the hub store: the data directory, RocksDB options per column
 * family (flows, rollups, meta, alerts), the on-disk format version, disk usage and the status
 * report.
 */
#include "store_int.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const cf_names[STORE_CF__COUNT] = {"default", "flows", "rollups", "meta",
                                                      "alerts"};

int store_io_error(const char *what, char *err)
{
    fprintf(stderr, "fl0wer store: %s: %s\n", what, err ? err : "unknown error");
    rocksdb_free(err);
    return FL0WER_STORE_ERR_IO;
}

/* mkdir -p: creates path and its parents. Returns 0 or -1 with errno. */
static int make_dirs(const char *path)
{
    char buf[4096];
    size_t len = strlen(path);

    if (len == 0 || len >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char c = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        buf[i] = c;
    }
    return 0;
}

/* Builds the per-column-family options: compression and table settings. */
static int make_cf_options(struct fl0wer_store *s)
{
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        rocksdb_options_t *o = rocksdb_options_create();
        rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
        if (!o || !t)
            return FL0WER_STORE_ERR_NOMEM;
        s->cfopts[i] = o;
        s->table[i] = t;
        rocksdb_block_based_options_set_block_cache(t, s->cache);
        switch (i) {
        case STORE_CF_FLOWS:
            /* large values, scanned in time order: big blocks; LZ4 when memtables are flushed
               (a scan of blocks not in the cache decompresses 1.7x faster than ZSTD 1 for
               4.7 B/flow more), ZSTD level 6 at the last level, where gc compacts each settled
               low-rate hour once (recompact.c; high-rate hours stay LZ4; docs/storage.md has
               the measurements) */
            rocksdb_block_based_options_set_block_size(t, 64 * 1024);
            rocksdb_options_set_compression(o, rocksdb_lz4_compression);
            rocksdb_options_set_bottommost_compression(o, rocksdb_zstd_compression);
            rocksdb_options_set_bottommost_compression_options(o, -14, 6, 0, 0, 1);
            rocksdb_options_set_write_buffer_size(o, 32u << 20);
            break;
        case STORE_CF_ROLLUPS: {
            /* L0 files (memtable flushes) are not compressed: the next compaction rewrites them
               anyway, merging each period's operands; LZ4 above the last level, ZSTD level 6 at
               it (docs/storage.md: level 3 took 1.7 % more disk per flow at low rates, where
               the arrays are short; the CF is small at high rates) */
            static const int per_level[7] = {rocksdb_no_compression, rocksdb_lz4_compression,
                                             rocksdb_lz4_compression, rocksdb_lz4_compression,
                                             rocksdb_lz4_compression, rocksdb_lz4_compression,
                                             rocksdb_lz4_compression};
            rocksdb_block_based_options_set_block_size(t, 16 * 1024);
            rocksdb_options_set_compression_per_level(o, per_level, 7);
            rocksdb_options_set_bottommost_compression(o, rocksdb_zstd_compression);
            rocksdb_options_set_bottommost_compression_options(o, -14, 6, 0, 0, 1);
            rocksdb_options_set_merge_operator(o, s->merge);
            break;
        }
        default:
            rocksdb_options_set_compression(o, rocksdb_lz4_compression);
            break;
        }
        rocksdb_options_set_block_based_table_factory(o, t);
    }
    return 0;
}

/*
 * Checks the layout version in meta: a new store gets STORE_FORMAT_VERSION written; a store
 * with another version, or an older one without the key but with data, is refused (errbuf).
 */
static int check_format(struct fl0wer_store *s, char *errbuf)
{
    char *err = NULL, *v;
    size_t len = 0;
    uint8_t cur = STORE_FORMAT_VERSION;
    int rc = 0;

    v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_FORMAT,
                       strlen(STORE_META_FORMAT), &len, &err);
    if (err) {
        snprintf(errbuf, 256, "store: cannot read the format version of %s: %s", s->path, err);
        rocksdb_free(err);
        return FL0WER_STORE_ERR_IO;
    }
    if (v) {
        if (len != 1 || (uint8_t)v[0] != cur) {
            snprintf(errbuf, 256, "store: %s has on-disk format %u, this build reads only %u "
                     "(docs/storage.md); move it away to start afresh", s->path,
                     len == 1 ? (unsigned)(uint8_t)v[0] : 0u, (unsigned)cur);
            rc = FL0WER_STORE_ERR_CORRUPT;
        }
        rocksdb_free(v);
        return rc;
    }
    v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_COUNTERS,
                       strlen(STORE_META_COUNTERS), &len, &err);
    if (err || v) {
        snprintf(errbuf, 256, "store: %s has on-disk format 1, this build reads only %u "
                 "(docs/storage.md); move it away to start afresh", s->path, (unsigned)cur);
        rocksdb_free(err);
        rocksdb_free(v);
        return FL0WER_STORE_ERR_CORRUPT;
    }
    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_META], STORE_META_FORMAT,
                   strlen(STORE_META_FORMAT), (const char *)&cur, 1, &err);
    if (err) {
        snprintf(errbuf, 256, "store: cannot write the format version of %s: %s", s->path, err);
        rocksdb_free(err);
        return FL0WER_STORE_ERR_IO;
    }
    return 0;
}

/*
 * The address arrays' bounds are fixed when the store is created (the query plan relies on
 * which minute arrays exist): a new store records the configured ones, an existing store's
 * stored ones replace the configuration. Returns 0 or an error (errbuf).
 */
static int load_address_k(struct fl0wer_store *s, char *errbuf)
{
    char *err = NULL, *v;
    size_t len = 0;
    uint8_t rec[8];

    v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_ADDRESS_K,
                       strlen(STORE_META_ADDRESS_K), &len, &err);
    if (err) {
        snprintf(errbuf, 256, "store: cannot read the address bounds of %s: %s", s->path, err);
        rocksdb_free(err);
        return FL0WER_STORE_ERR_IO;
    }
    if (v) {
        int rc = 0;
        if (len == 8) {
            s->address_k[0] = store_get_be32((const uint8_t *)v);
            s->address_k[1] = store_get_be32((const uint8_t *)v + 4);
            store_merge_set_bounds(s->merge_state, s->address_k);
        } else {
            snprintf(errbuf, 256, "store: %s: bad address bounds record", s->path);
            rc = FL0WER_STORE_ERR_CORRUPT;
        }
        rocksdb_free(v);
        return rc;
    }
    store_be32(rec, s->address_k[0]);
    store_be32(rec + 4, s->address_k[1]);
    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_META], STORE_META_ADDRESS_K,
                   strlen(STORE_META_ADDRESS_K), (const char *)rec, sizeof(rec), &err);
    if (err) {
        snprintf(errbuf, 256, "store: cannot write the address bounds of %s: %s", s->path, err);
        rocksdb_free(err);
        return FL0WER_STORE_ERR_IO;
    }
    return 0;
}

int store_meta_read(struct fl0wer_store *s, const char *key, uint8_t *out, size_t len, bool *found,
                    const char *what)
{
    char *err = NULL;
    size_t vl = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], key, strlen(key), &vl, &err);
    int rc = 0;

    *found = false;
    if (err)
        return store_io_error(what, err);
    if (v && vl != len) {
        fprintf(stderr, "fl0wer store: %s: %zu bytes where %zu were expected\n", what, vl, len);
        rc = FL0WER_STORE_ERR_CORRUPT;
    } else if (v) {
        memcpy(out, v, len);
        *found = true;
    }
    rocksdb_free(v);
    return rc;
}

/* Loads the raw flow cut (STORE_META_RAW_CUT, absent: 0) from meta. */
static int load_raw_cut(struct fl0wer_store *s)
{
    uint8_t v[8];
    bool found;
    int rc = store_meta_read(s, STORE_META_RAW_CUT, v, sizeof(v), &found,
                             "reading the raw flow cut");

    if (rc == 0 && found)
        s->raw_cut_ms = store_get_be64(v);
    return rc;
}

/* Loads the since-creation counters from meta. */
static int load_counters(struct fl0wer_store *s)
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_COUNTERS,
                             strlen(STORE_META_COUNTERS), &len, &err);
    if (err)
        return store_io_error("reading counters", err);
    if (!v)
        return 0;
    struct store_cursor c = {(const uint8_t *)v, (const uint8_t *)v + len, 0};
    s->flows_stored = store_get_varint(&c);
    s->batches_stored = store_get_varint(&c);
    rocksdb_free(v);
    return c.bad ? FL0WER_STORE_ERR_CORRUPT : 0;
}

int fl0wer_store_open(struct fl0wer_store **out, const struct fl0wer_store_config *cfg,
                      char *errbuf)
{
    struct fl0wer_store *s;
    char *err = NULL;
    int rc;

    errbuf[0] = '\0';
    if (!out || !cfg || !cfg->path || !cfg->path[0]) {
        snprintf(errbuf, 256, "store: no data directory given");
        return FL0WER_STORE_ERR_INVAL;
    }
    if (make_dirs(cfg->path) != 0) {
        snprintf(errbuf, 256, "store: cannot create %s: %s", cfg->path, strerror(errno));
        return FL0WER_STORE_ERR_IO;
    }
    s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(cfg->path))) {
        free(s);
        snprintf(errbuf, 256, "store: out of memory");
        return FL0WER_STORE_ERR_NOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->pool_lock, NULL);
    s->retention_ms = cfg->retention_ms ? cfg->retention_ms : 30ull * 86400000ull;
    s->rollup_retention_ms = cfg->rollup_retention_ms ? cfg->rollup_retention_ms
                                                      : 90ull * 86400000ull;
    /* queries answer whole minutes and hours from rollups: they must outlive the raw flows */
    if (s->rollup_retention_ms < s->retention_ms)
        s->rollup_retention_ms = s->retention_ms;
    s->max_disk_bytes = cfg->max_disk_bytes;
    s->address_k[0] = cfg->address_k_minute ? cfg->address_k_minute : STORE_ADDRESS_K_MINUTE;
    s->address_k[1] = cfg->address_k_hour ? cfg->address_k_hour : STORE_ADDRESS_K_HOUR;
    s->cache = rocksdb_cache_create_lru(cfg->block_cache_bytes ? cfg->block_cache_bytes
                                                               : 64u << 20);
    s->merge = store_merge_operator_create(s->address_k, &s->merge_state);
    s->dbopts = rocksdb_options_create();
    s->wopts = rocksdb_writeoptions_create();
    s->ropts = rocksdb_readoptions_create();
    if (!s->cache || !s->merge || !s->dbopts || !s->wopts || !s->ropts) {
        rc = FL0WER_STORE_ERR_NOMEM;
        snprintf(errbuf, 256, "store: out of memory");
        goto out_close;
    }
    rocksdb_options_set_create_if_missing(s->dbopts, 1);
    rocksdb_options_set_create_missing_column_families(s->dbopts, 1);
    rocksdb_options_set_max_background_jobs(s->dbopts, 2);
    rocksdb_options_set_keep_log_file_num(s->dbopts, 3);
    rocksdb_writeoptions_set_sync(s->wopts, cfg->sync_writes);
    rc = make_cf_options(s);
    if (rc != 0) {
        snprintf(errbuf, 256, "store: out of memory");
        goto out_close;
    }
    s->db = rocksdb_open_column_families(s->dbopts, s->path, STORE_CF__COUNT, cf_names,
                                         (const rocksdb_options_t *const *)s->cfopts, s->cf,
                                         &err);
    if (err) {
        snprintf(errbuf, 256, "store: cannot open %s: %s", s->path, err);
        rocksdb_free(err);
        rc = FL0WER_STORE_ERR_IO;
        goto out_close;
    }
    if ((rc = check_format(s, errbuf)) != 0 || (rc = load_address_k(s, errbuf)) != 0)
        goto out_close;
    if ((rc = load_raw_cut(s)) != 0) {
        snprintf(errbuf, 256, "store: cannot read the raw flow cut of %s", s->path);
        goto out_close;
    }
    rc = load_counters(s);
    if (rc != 0) {
        snprintf(errbuf, 256, "store: cannot read the counters of %s", s->path);
        goto out_close;
    }
    s->opened = true;
    *out = s;
    return 0;

out_close:
    fl0wer_store_close(s);
    return rc;
}

void fl0wer_store_close(struct fl0wer_store *s)
{
    if (!s)
        return;
    if (s->db) {
        /* a clean stop leaves the data in SST files (compressed), not only in the WAL, which
           holds the blocks uncompressed and would be replayed at the next open */
        if (s->opened)
            (void)store_flush_all(s);
        for (int i = 0; i < STORE_CF__COUNT; i++)
            if (s->cf[i])
                rocksdb_column_family_handle_destroy(s->cf[i]);
        rocksdb_close(s->db);
    }
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        if (s->cfopts[i])
            rocksdb_options_destroy(s->cfopts[i]);
        if (s->table[i])
            rocksdb_block_based_options_destroy(s->table[i]);
    }
    /* the merge operator is owned by the rollups options once set */
    if (s->merge && !s->cfopts[STORE_CF_ROLLUPS])
        rocksdb_mergeoperator_destroy(s->merge);
    if (s->dbopts)
        rocksdb_options_destroy(s->dbopts);
    if (s->wopts)
        rocksdb_writeoptions_destroy(s->wopts);
    if (s->ropts)
        rocksdb_readoptions_destroy(s->ropts);
    if (s->cache)
        rocksdb_cache_destroy(s->cache);
    while (s->pool) {
        struct store_scratch *x = s->pool;
        s->pool = x->next;
        store_scratch_free(x);
    }
    pthread_mutex_destroy(&s->pool_lock);
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

uint64_t store_wal_bytes(const char *path)
{
    uint64_t total = 0;
    DIR *d = opendir(path);
    struct dirent *de;
    char name[4352];
    struct stat st;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".log") != 0)
            continue;
        snprintf(name, sizeof(name), "%s/%s", path, de->d_name);
        if (stat(name, &st) == 0)
            total += (uint64_t)st.st_size;
    }
    closedir(d);
    return total;
}

uint64_t store_cf_property(struct fl0wer_store *s, int cf, const char *name)
{
    char *v = rocksdb_property_value_cf(s->db, s->cf[cf], name);
    uint64_t n = v ? strtoull(v, NULL, 10) : 0;
    rocksdb_free(v);
    return n;
}

uint64_t store_disk_bytes(struct fl0wer_store *s)
{
    uint64_t total = store_wal_bytes(s->path);
    for (int i = 0; i < STORE_CF__COUNT; i++)
        total += store_cf_property(s, i, "rocksdb.total-sst-files-size");
    return total;
}

int fl0wer_store_status(struct fl0wer_store *s, struct fl0wer_store_status *out)
{
    if (!s || !out)
        return FL0WER_STORE_ERR_INVAL;
    memset(out, 0, sizeof(*out));
    out->disk_bytes = store_disk_bytes(s);
    pthread_mutex_lock(&s->lock);
    out->flows_stored = s->flows_stored;
    out->batches_stored = s->batches_stored;
    pthread_mutex_unlock(&s->lock);
    out->retention_ms = s->retention_ms;
    out->rollup_retention_ms = s->rollup_retention_ms;
    out->max_disk_bytes = s->max_disk_bytes;
    return store_flow_time_range(s, &out->oldest_flow_ms, &out->newest_flow_ms);
}
