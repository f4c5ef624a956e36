/*
 * rawscan.c - the query engine's scans of raw flow blocks: which block columns a query and its
 * filter read, the filter decided for all the rows of a block at once, and a range split over
 * the query's threads (fl0wer_query.threads): its flow keys are cut into chunks (by time over
 * minutes, by batch inside a dense minute) that the threads take in turn, each thread sums into
 * its own context, and the contexts are added into the caller's at the end (sums commute, so
 * the answer is the same).
 */
#include "query_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define RAW_CHUNKS_PER_THREAD 4 /* so a thread that meets a dense part is helped */
#define RAW_MAX_THREADS       64

/* Raw blocks, as columns: the filter decides the rows of a block at once on the columns it
 * reads, the block's other columns are decoded only when rows are left, and every matching row
 * is added under its group (a summary sums the block's rows first). */
static int raw_cb(void *arg, struct store_flow_soa *s, uint64_t *sel)
{
    struct query_ctx *c = arg;
    struct fl0wer_rollup_counters sum = {0};
    size_t words = (s->view.n + 63) / 64;
    int rc = 0;

    if (query_expired(c))
        return FL0WER_QUERY_ERR_TIMEOUT;
    for (size_t w = 0; w < words; w++)
        c->raw_flows += (uint64_t)__builtin_popcountll(sel[w]);
    rc = fl0wer_filter_match_cols(c->filter, &s->view, sel);
    if (rc != 0)
        return rc == FL0WER_FILTER_ERR_NOMEM ? FL0WER_QUERY_ERR_NOMEM : FL0WER_QUERY_ERR_STORE;
    uint64_t any = 0;
    for (size_t w = 0; w < words; w++)
        any |= sel[w];
    if (!any)
        return 0; /* no row left: the counters and the key are not decoded */
    if ((rc = store_block_decode_soa_more(s, c->raw_cols)) != 0)
        return rc;
    for (size_t w = 0; w < words && rc == 0; w++) {
        for (uint64_t bits = sel[w]; bits && rc == 0; bits &= bits - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(bits);
            uint64_t hi = 0, lo = 0, k = s->sampling[i] ? s->sampling[i] : 1;
            struct fl0wer_rollup_counters v = {s->flows[i], s->bytes[i] * k, s->packets[i] * k,
                                               s->bytes[i], s->packets[i]};
            if (c->kind == QUERY_SUMMARY) {
                store_counters_add(&sum, &v);
                continue;
            }
            if (c->kind == QUERY_TOP)
                store_soa_dim_value(s, i, c->dim, &hi, &lo);
            rc = query_accumulate(c, c->kind == QUERY_SERIES ? s->last_ms[i] : 0, hi, lo, &v);
        }
    }
    if (rc == 0 && c->kind == QUERY_SUMMARY)
        rc = query_accumulate(c, 0, 0, 0, &sum);
    return rc;
}

/* The stored columns a filter reads (fl0wer_filter_uses), so a filtered scan decodes only
 * those besides the ones the query itself needs. */
static uint32_t filter_cols(const struct fl0wer_filter *f)
{
    static const struct {
        uint32_t uses, col;
    } map[] = {
        {FL0WER_FILTER_USES_SRC_ADDR, STORE_COL_SRC_ADDR},
        {FL0WER_FILTER_USES_DST_ADDR, STORE_COL_DST_ADDR},
        {FL0WER_FILTER_USES_EXPORTER, STORE_COL_EXPORTER},
        {FL0WER_FILTER_USES_SRC_PORT, STORE_COL_SRC_PORT},
        {FL0WER_FILTER_USES_DST_PORT, STORE_COL_DST_PORT},
        {FL0WER_FILTER_USES_SRC_AS, STORE_COL_SRC_AS},
        {FL0WER_FILTER_USES_DST_AS, STORE_COL_DST_AS},
        {FL0WER_FILTER_USES_IN_IF, STORE_COL_IN_IF},
        {FL0WER_FILTER_USES_OUT_IF, STORE_COL_OUT_IF},
        {FL0WER_FILTER_USES_PROTO, STORE_COL_PROTO},
        {FL0WER_FILTER_USES_TCP_FLAGS, STORE_COL_TCP_FLAGS},
        {FL0WER_FILTER_USES_TOS, STORE_COL_TOS},
        {FL0WER_FILTER_USES_FLOW_FLAGS, STORE_COL_FLOW_FLAGS},
        {FL0WER_FILTER_USES_VLAN, STORE_COL_VLAN},
        {FL0WER_FILTER_USES_BYTES, STORE_COL_BYTES},
        {FL0WER_FILTER_USES_PACKETS, STORE_COL_PACKETS},
        {FL0WER_FILTER_USES_FLOWS, STORE_COL_FLOWS},
        {FL0WER_FILTER_USES_TIMES, STORE_COL_FIRST},
    };
    uint32_t uses = fl0wer_filter_uses(f), cols = 0;

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (uses & map[i].uses)
            cols |= map[i].col;
    return cols;
}

/* The block columns a group-by needs: counters, sampling and the key (end times only for a
 * series: the scan reads them itself where a block must be cut to the range). */
static uint32_t needed_cols(unsigned dim, enum query_kind kind)
{
    static const uint32_t key_col[] = {STORE_COL_SRC_ADDR, STORE_COL_DST_ADDR, STORE_COL_SRC_PORT,
                                       STORE_COL_DST_PORT, STORE_COL_PROTO,    STORE_COL_EXPORTER,
                                       STORE_COL_SRC_AS,   STORE_COL_DST_AS,   STORE_COL_IN_IF,
                                       STORE_COL_OUT_IF};
    uint32_t m = (kind == QUERY_SERIES ? STORE_COL_LAST : 0) | STORE_COL_BYTES | STORE_COL_PACKETS |
                 STORE_COL_FLOWS | STORE_COL_SAMPLING;
    if (dim == FL0WER_DIM_SRCPORT || dim == FL0WER_DIM_DSTPORT)
        m |= STORE_COL_PROTO; /* a port's group key carries its protocol (store_dim_value) */
    return dim < sizeof(key_col) / sizeof(key_col[0]) ? m | key_col[dim] : m;
}

/* A range being scanned by several threads: chunks of its flow keys taken in turn. */
struct raw_job {
    struct query_ctx *c; /* the caller's context: filter, kind, dimension, deadline */
    uint64_t from, to;
    const struct store_key_range *chunks;
    size_t n_chunks;
    uint32_t cols;
    atomic_size_t next; /* the next chunk to take */
    atomic_bool failed; /* a thread failed: the others stop taking chunks */
};

struct raw_worker {
    struct raw_job *job;
    struct query_ctx w; /* its own sums */
    pthread_t tid;
    bool started;
    int rc;
};

/* Takes chunks of j until none is left, summing into c. Returns 0 or the first error. */
static int scan_chunks(struct raw_job *j, struct query_ctx *c)
{
    size_t k;

    while (!atomic_load(&j->failed) && (k = atomic_fetch_add(&j->next, 1)) < j->n_chunks) {
        int rc = query_map_rc(
            store_scan_flow_soa_keys(c->s, j->from, j->to, &j->chunks[k], j->cols, raw_cb, c));
        if (rc != 0) {
            atomic_store(&j->failed, true);
            return rc;
        }
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct raw_worker *wk = arg;
    wk->rc = scan_chunks(wk->job, &wk->w);
    return NULL;
}

/* A worker's context: the caller's settings, empty sums (points: n_points). */
static int worker_init(struct raw_worker *wk, struct raw_job *j, size_t n_points)
{
    struct query_ctx *w = &wk->w;

    *w = *j->c;
    memset(&w->total, 0, sizeof(w->total));
    fl0wer_rowmap_init(&w->map);
    w->points = NULL;
    w->trunc = NULL;
    w->trunc_n = w->trunc_cap = 0;
    w->ents = NULL;
    w->ents_cap = 0;
    w->raw_flows = w->rows = 0;
    wk->job = j;
    wk->rc = 0;
    wk->started = false;
    if (n_points && !(w->points = calloc(n_points, sizeof(*w->points))))
        return FL0WER_QUERY_ERR_NOMEM;
    return 0;
}

/* Adds a worker's sums into c. Returns 0 or FL0WER_QUERY_ERR_NOMEM. */
static int merge_worker(struct query_ctx *c, const struct query_ctx *w, size_t n_points)
{
    store_counters_add(&c->total, &w->total);
    for (size_t i = 0; i < n_points; i++)
        store_counters_add(&c->points[i], &w->points[i]);
    for (size_t i = 0; i < w->map.count; i++) {
        const struct fl0wer_rowmap_entry *e = &w->map.ents[i];
        struct fl0wer_rowmap_entry *d = fl0wer_rowmap_get(&c->map, e->khi, e->klo);
        if (!d)
            return FL0WER_QUERY_ERR_NOMEM;
        store_counters_add(&d->c, &e->c);
    }
    c->raw_flows += w->raw_flows;
    return 0;
}

/*
 * Scans [from, to) over up to `threads` threads (the caller's one of them), in key chunks
 * (store_flow_key_chunks). Threads that cannot be started leave their chunks to the others.
 * Returns 0 or the first error.
 */
static int scan_parallel(struct query_ctx *c, uint64_t from, uint64_t to, uint32_t cols,
                         unsigned threads)
{
    size_t n_points = c->kind == QUERY_SERIES
                          ? (size_t)((c->q->to_ms - c->q->from_ms + c->step - 1) / c->step)
                          : 0;
    struct store_key_range chunks[RAW_MAX_THREADS * RAW_CHUNKS_PER_THREAD +
                                  STORE_SPLIT_MAX_GROUPS]; /* store_flow_key_chunks */
    struct raw_job j = {.c = c, .from = from, .to = to, .chunks = chunks, .cols = cols};
    struct raw_worker *wk;
    size_t n = 0;
    int rc;

    rc = store_flow_key_chunks(c->s, from, to, chunks, threads * RAW_CHUNKS_PER_THREAD, &n);
    if ((rc = query_map_rc(rc)) != 0 || n == 0)
        return rc;
    if (n == 1) /* not worth a thread */
        return query_map_rc(store_scan_flow_soa_keys(c->s, from, to, NULL, cols, raw_cb, c));
    if (threads > n)
        threads = (unsigned)n;
    j.n_chunks = n;
    atomic_init(&j.next, 0);
    atomic_init(&j.failed, false);
    if (!(wk = calloc(threads - 1, sizeof(*wk))))
        return FL0WER_QUERY_ERR_NOMEM;
    for (unsigned i = 0; i + 1 < threads && rc == 0; i++) {
        rc = worker_init(&wk[i], &j, n_points);
        if (rc == 0)
            wk[i].started = pthread_create(&wk[i].tid, NULL, worker_main, &wk[i]) == 0;
    }
    if (rc != 0)
        atomic_store(&j.failed, true);
    else
        rc = scan_chunks(&j, c);
    for (unsigned i = 0; i + 1 < threads; i++) {
        if (wk[i].started)
            pthread_join(wk[i].tid, NULL);
        if (rc == 0)
            rc = wk[i].rc;
        if (rc == 0)
            rc = merge_worker(c, &wk[i].w, n_points);
        query_ctx_release(&wk[i].w);
    }
    free(wk);
    return rc;
}

int query_raw(struct query_ctx *c, uint64_t from, uint64_t to)
{
    unsigned threads = c->q->threads > RAW_MAX_THREADS ? RAW_MAX_THREADS : c->q->threads;

    if (from >= to)
        return 0;
    c->used_raw = true;
    /* with a filter, blocks are read on its columns first (raw_cb decodes the rest, raw_cols,
       only for blocks it keeps rows of); workers copy raw_cols with the context */
    uint32_t cols = c->filter ? filter_cols(c->filter) : needed_cols(c->dim, c->kind);
    c->raw_cols = needed_cols(c->dim, c->kind) | cols;
    if (threads > 1)
        return scan_parallel(c, from, to, cols, threads);
    return query_map_rc(store_scan_flow_soa(c->s, from, to, cols, raw_cb, c));
}
