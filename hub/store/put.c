/*
 * put.c - storing one verified batch: flow blocks grouped by the minute they ended in, rollup
 * rows (merged, pre-summed per batch), exporter and interface metadata, the edge record with the
 * new last sequence number and the store counters, all in one RocksDB write batch written after
 * the duplicate check under the store lock.
 */
#include "rowmap.h"
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct minute_ref {
    uint64_t minute;
    size_t idx;
};

static int cmp_minute(const void *a, const void *b)
{
    const struct minute_ref *x = a, *y = b;
    if (x->minute != y->minute)
        return x->minute < y->minute ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Adds the flow blocks of b to wb: flows sorted (stably) by minute of last_ms, cut into blocks of
 * at most STORE_MAX_BLOCK_FLOWS. Returns 0 or ERR_NOMEM.
 */
static int add_flow_blocks(rocksdb_writebatch_t *wb, rocksdb_column_family_handle_t *cf,
                           uint64_t edge_hash, const struct fl0wer_batch *b)
{
    size_t n = b->flow_count;
    struct minute_ref *refs = malloc(n * sizeof(*refs));
    const struct fl0wer_flow **blk = malloc(STORE_MAX_BLOCK_FLOWS * sizeof(*blk));
    uint8_t *val = malloc(store_block_bound(STORE_MAX_BLOCK_FLOWS));
    uint8_t key[STORE_FLOW_KEY_LEN];
    int rc = FL0WER_STORE_ERR_NOMEM;

    if (!refs || !blk || !val)
        goto out;
    for (size_t i = 0; i < n; i++) {
        refs[i].minute = b->flows[i].last_ms / FL0WER_MINUTE_MS;
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof(*refs), cmp_minute);
    uint32_t block = 0;
    for (size_t i = 0; i < n;) {
        size_t cnt = 0;
        uint64_t minute = refs[i].minute;
        while (i < n && refs[i].minute == minute && cnt < STORE_MAX_BLOCK_FLOWS)
            blk[cnt++] = &b->flows[refs[i++].idx];
        size_t len = store_block_encode(blk, cnt, val);
        store_be64(key, minute);
        store_be64(key + 8, edge_hash);
        store_be64(key + 16, b->seq);
        store_be32(key + 24, block++);
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, sizeof(key), (const char *)val,
                                  len);
    }
    rc = 0;
out:
    free(val);
    free(blk);
    free(refs);
    return rc;
}

/* Rollup key: level | dim | period number | dimension key. Returns its length. */
static size_t rollup_key(uint8_t *out, char level, unsigned dim, uint64_t period,
                         const struct fl0wer_flow *f)
{
    out[0] = (uint8_t)level;
    out[1] = (uint8_t)dim;
    store_be64(out + 2, period);
    return 10 + fl0wer_store_dim_key(f, dim, out + 10);
}

static const unsigned rolled_dims[] = {FL0WER_ROLLUP_TOTAL, 2, 3, 4, 5, 6, 7, 8, 9};

/* Sums the batch into per-minute and per-hour rollup rows, then adds one merge per row. */
static int add_rollups(rocksdb_writebatch_t *wb, rocksdb_column_family_handle_t *cf,
                       const struct fl0wer_batch *b)
{
    struct fl0wer_rowmap map;
    uint8_t key[STORE_ROLLUP_KEY_MAX], val[50];
    int rc = 0;

    fl0wer_rowmap_init(&map);
    for (size_t i = 0; i < b->flow_count && rc == 0; i++) {
        const struct fl0wer_flow *f = &b->flows[i];
        for (size_t d = 0; d < sizeof(rolled_dims) / sizeof(rolled_dims[0]); d++) {
            size_t kl = rollup_key(key, 'm', rolled_dims[d], f->last_ms / FL0WER_MINUTE_MS, f);
            struct fl0wer_rowmap_entry *e = fl0wer_rowmap_get(&map, key, kl);
            if (!e) {
                rc = FL0WER_STORE_ERR_NOMEM;
                break;
            }
            fl0wer_rollup_add_flow(&e->c, f);
            kl = rollup_key(key, 'h', rolled_dims[d], f->last_ms / FL0WER_HOUR_MS, f);
            if (!(e = fl0wer_rowmap_get(&map, key, kl))) {
                rc = FL0WER_STORE_ERR_NOMEM;
                break;
            }
            fl0wer_rollup_add_flow(&e->c, f);
        }
    }
    for (size_t i = 0; i < map.cap && rc == 0; i++) {
        const struct fl0wer_rowmap_entry *e = &map.slots[i];
        if (!e->used)
            continue;
        size_t vl = store_counters_encode(&e->c, val);
        rocksdb_writebatch_merge_cf(wb, cf, (const char *)e->key, e->klen, (const char *)val,
                                    vl);
    }
    fl0wer_rowmap_release(&map);
    return rc;
}

/* Exporter counters (latest snapshot wins) and interface names. */
static void add_meta(rocksdb_writebatch_t *wb, rocksdb_column_family_handle_t *cf,
                     const char *edge, const struct fl0wer_batch *b)
{
    uint8_t key[FL0WER_EDGE_NAME_MAX + 32], val[STORE_EXPORTER_VAL_MAX];

    for (size_t i = 0; i < b->exporter_count; i++) {
        size_t kl = store_exporter_key(edge, &b->exporters[i], key);
        size_t vl = store_exporter_encode(&b->exporters[i], val);
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, kl, (const char *)val, vl);
    }
    for (size_t i = 0; i < b->interface_count; i++) {
        store_interface_key(&b->interfaces[i], key);
        size_t vl = store_interface_encode(&b->interfaces[i], val);
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, STORE_INTERFACE_KEY_LEN,
                                  (const char *)val, vl);
    }
}

/*
 * Under s->lock: checks the duplicate rule, adds the edge record and counters to wb and writes
 * it. Sets *duplicate (and writes nothing) when seq is not above the edge's last one.
 */
static int commit_locked(struct fl0wer_store *s, rocksdb_writebatch_t *wb, const char *edge,
                         const struct fl0wer_batch *b, bool *duplicate)
{
    struct fl0wer_edge_status e;
    uint8_t key[FL0WER_EDGE_NAME_MAX + 1], val[STORE_EDGE_VAL_MAX], cnt[20];
    char *err = NULL;
    int rc = store_edge_load(s, edge, &e);

    if (rc != 0)
        return rc;
    if (b->seq <= e.last_seq) {
        *duplicate = true;
        return 0;
    }
    e.last_seen_ms = now_ms();
    e.last_seq = b->seq;
    e.batches++;
    e.records += b->flow_count;
    e.report = b->report;
    size_t kl = store_edge_key(edge, key), vl = store_edge_encode(&e, val);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], (const char *)key, kl,
                              (const char *)val, vl);
    uint64_t flows = s->flows_stored + b->flow_count, batches = s->batches_stored + 1;
    size_t cl = store_counters_record(flows, batches, cnt);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_COUNTERS,
                              strlen(STORE_META_COUNTERS), (const char *)cnt, cl);
    rocksdb_write(s->db, s->wopts, wb, &err);
    if (err)
        return store_io_error("writing a batch", err);
    s->flows_stored = flows;
    s->batches_stored = batches;
    return 0;
}

int fl0wer_store_put_batch(struct fl0wer_store *s, const char *edge_name,
                           const struct fl0wer_batch *b, bool *duplicate)
{
    rocksdb_writebatch_t *wb;
    int rc;

    if (!s || !edge_name || !edge_name[0] || !b || !duplicate || (b->flow_count && !b->flows) ||
        (b->exporter_count && !b->exporters) || (b->interface_count && !b->interfaces))
        return FL0WER_STORE_ERR_INVAL;
    *duplicate = false;
    wb = rocksdb_writebatch_create();
    if (!wb)
        return FL0WER_STORE_ERR_NOMEM;
    uint64_t edge_hash = store_hash(edge_name, strnlen(edge_name, FL0WER_EDGE_NAME_MAX - 1));
    rc = add_flow_blocks(wb, s->cf[STORE_CF_FLOWS], edge_hash, b);
    if (rc == 0)
        rc = add_rollups(wb, s->cf[STORE_CF_ROLLUPS], b);
    if (rc == 0) {
        add_meta(wb, s->cf[STORE_CF_META], edge_name, b);
        pthread_mutex_lock(&s->lock);
        rc = commit_locked(s, wb, edge_name, b, duplicate);
        pthread_mutex_unlock(&s->lock);
    }
    rocksdb_writebatch_destroy(wb);
    return rc;
}
