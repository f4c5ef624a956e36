/*
 * put.c - storing one verified batch: flow blocks grouped by the minute they ended in, rollup
 * arrays (aggregate.c: one merge operand per level, dimension and period), exporter and interface
 * metadata, the edge record with the new last sequence number and the store counters, all in one
 * RocksDB write batch written after the duplicate check under the store lock. Work buffers come
 * (and the RocksDB write batch) come from a small pool in the store, so a put allocates nothing
 * per flow.
 */
#include "store_int.h"
#include "seqset.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Milliseconds of clock id: CLOCK_REALTIME for times stored, CLOCK_MONOTONIC for the settle
 * clock fl0wer_store_settle_rollups() is given. */
static uint64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#define POOL_MAX       4      /* scratches kept for reuse (one per concurrent put) */
#define POOL_MAX_FLOWS 20000u /* ~6 MB each; larger ones are freed after use */

void store_scratch_free(struct store_scratch *x)
{
    if (!x)
        return;
    free(x->order);
    free(x->minute);
    free(x->cnt);
    free(x->ent);
    free(x->acc);
    free(x->tmp);
    free(x->kbuf);
    free(x->slots);
    free(x->blk);
    free(x->val);
    if (x->wb)
        rocksdb_writebatch_destroy(x->wb);
    free(x);
}

/* Allocates a scratch for up to n flows. Returns NULL when out of memory. */
static struct store_scratch *scratch_alloc(size_t n)
{
    struct store_scratch *x = calloc(1, sizeof(*x));
    size_t cap = n < 1024 ? 1024 : n, vcap = store_rollup_bound(cap);

    if (!x)
        return NULL;
    x->cap = cap;
    x->slot_cap = 64;
    while (x->slot_cap < 2 * cap)
        x->slot_cap *= 2;
    if (vcap < store_block_bound(STORE_MAX_BLOCK_FLOWS))
        vcap = store_block_bound(STORE_MAX_BLOCK_FLOWS);
    x->order = malloc(cap * sizeof(*x->order));
    x->minute = malloc(cap * sizeof(*x->minute));
    x->cnt = malloc(cap * sizeof(*x->cnt));
    x->ent = malloc(cap * sizeof(*x->ent));
    x->acc = malloc(cap * sizeof(*x->acc));
    x->tmp = malloc(cap * sizeof(*x->tmp));
    x->kbuf = malloc(2 * cap * sizeof(*x->kbuf));
    x->slots = calloc(x->slot_cap, sizeof(*x->slots));
    x->blk = malloc(STORE_MAX_BLOCK_FLOWS * sizeof(*x->blk));
    x->val = malloc(vcap);
    x->wb = rocksdb_writebatch_create();
    if (!x->wb || !x->order || !x->minute || !x->cnt || !x->ent || !x->acc || !x->tmp || !x->kbuf ||
        !x->slots || !x->blk || !x->val) {
        store_scratch_free(x);
        return NULL;
    }
    return x;
}

/* Takes a scratch for n flows from the pool (or allocates one). */
static struct store_scratch *scratch_get(struct fl0wer_store *s, size_t n)
{
    struct store_scratch *x, **pp;

    pthread_mutex_lock(&s->pool_lock);
    for (pp = &s->pool; (x = *pp) != NULL; pp = &x->next) {
        if (x->cap >= n) {
            *pp = x->next;
            s->pool_n--;
            break;
        }
    }
    pthread_mutex_unlock(&s->pool_lock);
    return x ? x : scratch_alloc(n);
}

static void scratch_put(struct fl0wer_store *s, struct store_scratch *x)
{
    if (!x)
        return;
    pthread_mutex_lock(&s->pool_lock);
    if (x->cap <= POOL_MAX_FLOWS && s->pool_n < POOL_MAX) {
        x->next = s->pool;
        s->pool = x;
        s->pool_n++;
        x = NULL;
    }
    pthread_mutex_unlock(&s->pool_lock);
    store_scratch_free(x);
}

struct minute_ref {
    uint64_t minute;
    uint32_t idx;
};

static int cmp_minute(const void *a, const void *b)
{
    const struct minute_ref *x = a, *y = b;
    if (x->minute != y->minute)
        return x->minute < y->minute ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

#define COUNT_SORT_SPAN 1024u

/*
 * Fills x->order with the flow indices sorted stably by minute of last_ms and x->minute with
 * their minutes: a counting sort when the batch spans under COUNT_SORT_SPAN minutes (the usual
 * case), else qsort. Returns 0 or ERR_NOMEM.
 */
static int sort_by_minute(const struct fl0wer_batch *b, struct store_scratch *x)
{
    size_t n = b->flow_count;
    uint64_t lo = UINT64_MAX, hi = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t m = b->flows[i].last_ms / FL0WER_MINUTE_MS;
        lo = m < lo ? m : lo;
        hi = m > hi ? m : hi;
    }
    if (n == 0)
        return 0;
    if (hi - lo < COUNT_SORT_SPAN) {
        uint32_t start[COUNT_SORT_SPAN + 1];
        memset(start, 0, sizeof(uint32_t) * (size_t)(hi - lo + 2));
        for (size_t i = 0; i < n; i++)
            start[b->flows[i].last_ms / FL0WER_MINUTE_MS - lo + 1]++;
        for (uint64_t m = 1; m <= hi - lo; m++)
            start[m] += start[m - 1];
        for (size_t i = 0; i < n; i++) {
            uint64_t m = b->flows[i].last_ms / FL0WER_MINUTE_MS;
            uint32_t pos = start[m - lo]++;
            x->order[pos] = (uint32_t)i;
            x->minute[pos] = m;
        }
        return 0;
    }
    struct minute_ref *refs = malloc(n * sizeof(*refs));
    if (!refs)
        return FL0WER_STORE_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        refs[i] = (struct minute_ref){b->flows[i].last_ms / FL0WER_MINUTE_MS, (uint32_t)i};
    qsort(refs, n, sizeof(*refs), cmp_minute);
    for (size_t i = 0; i < n; i++) {
        x->order[i] = refs[i].idx;
        x->minute[i] = refs[i].minute;
    }
    free(refs);
    return 0;
}

/* Adds the flow blocks of b (x->order filled) to wb: per minute, blocks of <= 1024 flows. */
static void add_flow_blocks(rocksdb_writebatch_t *wb, rocksdb_column_family_handle_t *cf,
                            uint64_t edge_hash, const struct fl0wer_batch *b,
                            struct store_scratch *x)
{
    size_t n = b->flow_count;
    uint8_t key[STORE_FLOW_KEY_LEN];
    uint32_t block = 0;

    for (size_t i = 0; i < n;) {
        size_t cnt = 0;
        uint64_t minute = x->minute[i];
        while (i < n && x->minute[i] == minute && cnt < STORE_MAX_BLOCK_FLOWS)
            x->blk[cnt++] = &b->flows[x->order[i++]];
        size_t len = store_block_encode(x->blk, cnt, x->val);
        store_be64(key, minute);
        store_be64(key + 8, edge_hash);
        store_be64(key + 16, b->seq);
        store_be32(key + 24, block++);
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, sizeof(key), (const char *)x->val,
                                  len);
    }
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
 * Reads the set of sequence numbers stored for edge into *set. A store written before the set
 * existed has only the edge's highest stored number: everything up to it counts as stored.
 */
static int load_seqset(struct fl0wer_store *s, const char *edge, uint64_t last_seq,
                       struct seqset *set)
{
    uint8_t key[FL0WER_EDGE_NAME_MAX + 1];
    size_t klen = store_edge_key(edge, key), vlen = 0;
    char *err = NULL;
    int rc = 0;

    key[0] = STORE_META_SEQSET;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], (const char *)key, klen,
                             &vlen, &err);
    if (err)
        return store_io_error("reading an edge's sequence numbers", err);
    if (v) {
        if (seqset_decode(set, (const uint8_t *)v, vlen) != 0)
            rc = FL0WER_STORE_ERR_CORRUPT;
    } else {
        seqset_init(set);
        if (last_seq > 0) {
            set->r[0].lo = 1;
            set->r[0].hi = last_seq;
            set->n = 1;
        }
    }
    rocksdb_free(v);
    return rc;
}

/*
 * Under s->lock: checks the duplicate rule, adds the edge record, its set of stored sequence
 * numbers and the counters to wb and writes it. Sets *duplicate (and writes nothing) when the
 * batch's sequence number was stored before. A number below the highest stored one that was
 * never stored (a batch that arrived after later ones) is stored: see hub/seqset/seqset.h.
 */
static int commit_locked(struct fl0wer_store *s, rocksdb_writebatch_t *wb, const char *edge,
                         const struct fl0wer_batch *b, bool *duplicate)
{
    struct fl0wer_edge_status e;
    struct seqset set;
    uint8_t key[FL0WER_EDGE_NAME_MAX + 1], val[STORE_EDGE_VAL_MAX], cnt[20];
    uint8_t setval[SEQSET_ENCODED_MAX];
    char *err = NULL;
    int rc = store_edge_load(s, edge, &e);

    if (rc == 0)
        rc = load_seqset(s, edge, e.last_seq, &set);
    if (rc != 0)
        return rc;
    if (b->seq == 0 || seqset_contains(&set, b->seq)) {
        *duplicate = true;
        return 0;
    }
    seqset_add(&set, b->seq);
    e.last_seen_ms = clock_ms(CLOCK_REALTIME);
    e.last_seq = seqset_max(&set);
    e.batches++;
    e.records += b->flow_count;
    e.report = b->report;
    size_t kl = store_edge_key(edge, key), vl = store_edge_encode(&e, val);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], (const char *)key, kl,
                              (const char *)val, vl);
    key[0] = STORE_META_SEQSET;
    size_t sl = seqset_encode(&set, setval);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], (const char *)key, kl,
                              (const char *)setval, sl);
    uint64_t flows = s->flows_stored + b->flow_count, batches = s->batches_stored + 1;
    size_t cl = store_counters_record(flows, batches, cnt);
    rocksdb_writebatch_put_cf(wb, s->cf[STORE_CF_META], STORE_META_COUNTERS,
                              strlen(STORE_META_COUNTERS), (const char *)cnt, cl);
    rocksdb_write(s->db, s->wopts, wb, &err);
    if (err)
        return store_io_error("writing a batch", err);
    s->flows_stored = flows;
    s->batches_stored = batches;
    s->unsettled_last_ms = clock_ms(CLOCK_MONOTONIC);
    if (!s->unsettled_first_ms)
        s->unsettled_first_ms = s->unsettled_last_ms;
    return 0;
}

int store_put_address_hours_of(struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                               const struct fl0wer_flow *flows, size_t n)
{
    struct fl0wer_batch b = {.flows = (struct fl0wer_flow *)flows, .flow_count = n};
    struct store_scratch *x;
    int rc;

    if (n == 0)
        return 0;
    if (n > UINT32_MAX || !(x = scratch_get(s, n)))
        return FL0WER_STORE_ERR_NOMEM;
    if ((rc = sort_by_minute(&b, x)) == 0)
        store_put_address_hours(s, wb, &b, x);
    scratch_put(s, x);
    return rc;
}

int fl0wer_store_put_batch(struct fl0wer_store *s, const char *edge_name,
                           const struct fl0wer_batch *b, bool *duplicate)
{
    struct store_scratch *x = NULL;
    rocksdb_writebatch_t *wb;
    int rc = FL0WER_STORE_ERR_NOMEM;

    if (!s || !edge_name || !edge_name[0] || !b || !duplicate || (b->flow_count && !b->flows) ||
        (b->exporter_count && !b->exporters) || (b->interface_count && !b->interfaces) ||
        b->flow_count > UINT32_MAX)
        return FL0WER_STORE_ERR_INVAL;
    *duplicate = false;
    if (!(x = scratch_get(s, b->flow_count)))
        goto out;
    wb = x->wb; /* reused: its buffer keeps the size of earlier batches */
    rocksdb_writebatch_clear(wb);
    uint64_t edge_hash = store_hash(edge_name, strnlen(edge_name, FL0WER_EDGE_NAME_MAX - 1));
    if ((rc = sort_by_minute(b, x)) != 0)
        goto out;
    add_flow_blocks(wb, s->cf[STORE_CF_FLOWS], edge_hash, b, x);
    if ((rc = store_add_rollups(s, wb, b, x)) != 0)
        goto out;
    add_meta(wb, s->cf[STORE_CF_META], edge_name, b);
    pthread_mutex_lock(&s->lock);
    rc = commit_locked(s, wb, edge_name, b, duplicate);
    pthread_mutex_unlock(&s->lock);
out:
    scratch_put(s, x);
    return rc;
}
