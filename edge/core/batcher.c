/*
 * batcher.c - packs the workers' records into signed batches (fl0wer_batch_builder), by size
 * (--batch-bytes) or age (--batch-age-ms), adds the edge report and, every 10 s or when the set
 * of exporters or interfaces changed, the per-exporter counters and interface names; then takes
 * a sequence number (persisted first) and signs it; a writer thread then stores the signed
 * batches in the spool (fsync, one directory fsync per group; or, with --spool-sync MS, written
 * at once and fsync'ed only if still unacknowledged MS ms later) and wakes the sender, which
 * sends the copy the spool keeps in memory. Runs until every worker has finished and the queue is
 * empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>

#include "edge_int.h"
#include "fl0wer/batch.h"

#define POP_MAX      1024
#define META_MS      10000
#define WQ_MAX       16

/* Signed batches waiting for the spool writer (in seq order). */
struct write_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct edge_spool_item items[WQ_MAX];
    size_t n;
    bool done;
};

struct batcher {
    struct edge_ctx *ctx;
    struct write_queue wq;
    struct fl0wer_batch_builder b;
    size_t flows;         /* flows in the open batch */
    uint64_t opened_mono; /* when its first record came */
    uint64_t last_meta_mono;
    uint64_t last_packets; /* packets_received at the last metadata batch */
};

void edge_output_thread_nice(struct edge_ctx *ctx, const char *name)
{
    /* PRIO_PROCESS with who = 0 is the calling thread on Linux (not the whole process). */
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && setpriority(PRIO_PROCESS, 0, cur + EDGE_OUTPUT_NICE) != 0)
        edge_debug(&ctx->log, "cannot lower the priority of %s: %s", name, strerror(errno));
}

void edge_report_fill(struct edge_ctx *ctx, struct fl0wer_edge_report *r)
{
    struct edge_spool_stats ss;
    edge_spool_stats(ctx->spool, &ss);
    memset(r, 0, sizeof(*r));
    r->started_ms = ctx->started_ms;
    r->packets_received = atomic_load(&ctx->packets_received);
    r->kernel_drops = edge_kernel_drops(ctx);
    r->records_decoded = atomic_load(&ctx->records_decoded);
    r->records_sent = atomic_load(&ctx->records_sent);
    r->records_dropped = atomic_load(&ctx->records_dropped);
    r->spool_batches = ss.batches;
    r->spool_bytes = ss.bytes;
}

/* True when some worker's set of exporters or interfaces changed since the last look. */
static bool meta_changed(struct edge_ctx *ctx)
{
    bool changed = false;
    for (unsigned i = 0; i < ctx->n_workers; i++) {
        struct edge_worker *w = &ctx->workers[i];
        pthread_mutex_lock(&w->snap_mu);
        changed |= w->snap_changed;
        pthread_mutex_unlock(&w->snap_mu);
    }
    return changed;
}

/* Adds every worker's published exporter counters and interface names to the open batch. */
static void add_meta(struct batcher *bt)
{
    struct edge_ctx *ctx = bt->ctx;
    for (unsigned i = 0; i < ctx->n_workers; i++) {
        struct edge_worker *w = &ctx->workers[i];
        pthread_mutex_lock(&w->snap_mu);
        for (size_t k = 0; k < w->n_exp; k++)
            fl0wer_batch_add_exporter(&bt->b, &w->exp[k]);
        for (size_t k = 0; k < w->n_ifs; k++)
            fl0wer_batch_add_interface(&bt->b, &w->ifs[k]);
        w->snap_changed = false;
        pthread_mutex_unlock(&w->snap_mu);
    }
}

/* Finishes the open batch (with metadata when due), spools it and wakes the sender. */
static void finish_batch(struct batcher *bt, bool with_meta)
{
    struct edge_ctx *ctx = bt->ctx;
    uint64_t now = edge_mono_ms();
    if (with_meta) {
        add_meta(bt);
        bt->last_meta_mono = now;
        bt->last_packets = atomic_load(&ctx->packets_received);
    }
    uint64_t seq = 0;
    uint8_t *buf = NULL;
    size_t len = 0, n = bt->flows;
    struct fl0wer_edge_report rep;
    int rc = edge_spool_next_seq(ctx->spool, &seq);
    if (rc != 0) {
        edge_err(&ctx->log, "cannot persist the next sequence number: %s; %zu records dropped",
                 strerror(-rc), n);
        goto out_drop;
    }
    atomic_fetch_add(&ctx->records_sent, n);
    edge_report_fill(ctx, &rep);
    rc = fl0wer_batch_finish(&bt->b, seq, edge_now_ms(), &rep, &buf, &len);
    if (rc != 0) {
        atomic_fetch_sub(&ctx->records_sent, n);
        edge_err(&ctx->log, "cannot encode batch %" PRIu64 ": %s; %zu records dropped", seq,
                 fl0wer_batch_strerror(rc), n);
        goto out_drop;
    }
    pthread_mutex_lock(&bt->wq.mu);
    while (bt->wq.n == WQ_MAX)
        pthread_cond_wait(&bt->wq.cv, &bt->wq.mu);
    bt->wq.items[bt->wq.n++] = (struct edge_spool_item){
        .seq = seq, .records = (uint32_t)n, .buf = buf, .len = len};
    pthread_cond_broadcast(&bt->wq.cv);
    pthread_mutex_unlock(&bt->wq.mu);
    goto out_reset;
out_drop:
    atomic_fetch_add(&ctx->records_dropped, n);
out_reset:
    fl0wer_batch_builder_reset(&bt->b);
    bt->flows = 0;
}

/* Group commit (--spool-sync): fdatasyncs the batch files written at or before cutoff that are
 * still spooled; logs failures. Returns when the next one is due (monotonic ms; 0 = none). */
uint64_t edge_spool_commit(struct edge_ctx *ctx, uint64_t cutoff)
{
    uint64_t oldest = 0;
    int rc = edge_spool_sync(ctx->spool, cutoff, NULL, &oldest);
    if (rc != 0)
        edge_err(&ctx->log, "cannot fsync the spool %s: %s (batches stay spooled, but may not "
                 "survive a power loss)", ctx->cfg->spool_dir, strerror(-rc));
    return oldest ? oldest + ctx->cfg->spool_sync_ms : 0;
}

/* Waits (wq.mu held) until batches are queued, the batcher is done, or, when a group commit is
 * pending, its time (monotonic ms) has come. */
static void wait_for_work(struct batcher *bt, uint64_t commit_at)
{
    while (bt->wq.n == 0 && !bt->wq.done) {
        if (!commit_at) {
            pthread_cond_wait(&bt->wq.cv, &bt->wq.mu);
            continue;
        }
        uint64_t now = edge_mono_ms();
        if (now >= commit_at)
            return;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + (commit_at - now) * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&bt->wq.cv, &bt->wq.mu, &ts);
    }
}

/* Extends the persisted sequence numbers ahead of the batcher (edge_spool_reserve_ahead). */
static void reserve_seq_ahead(struct edge_ctx *ctx)
{
    int rc = edge_spool_reserve_ahead(ctx->spool);
    if (rc != 0) /* the batcher tries again itself when it runs out */
        edge_warn(&ctx->log, "cannot persist the next sequence numbers in %s: %s",
                  ctx->cfg->spool_dir, strerror(-rc));
}

/*
 * Spool writer thread: takes every queued signed batch, stores them together
 * (edge_spool_put_many; the spool keeps the buffers for the sender), frees what it did not keep
 * and wakes the sender, so that disk waits overlap with the encoding and signing of the next
 * batches. With --spool-sync MS > 0 the files are written without fsync, and those still
 * unacknowledged MS ms later are fsync'ed together (edge_main() syncs what is left at exit).
 * Exits when the batcher is done and the queue empty.
 */
static void *writer_main(void *arg)
{
    struct batcher *bt = arg;
    struct edge_ctx *ctx = bt->ctx;
    pthread_setname_np(pthread_self(), "edge-spool");
    edge_output_thread_nice(ctx, "edge-spool");
    struct edge_spool_item items[WQ_MAX];
    uint32_t sync_ms = ctx->cfg->spool_sync_ms;
    unsigned flags = EDGE_SPOOL_KEEP | (sync_ms ? EDGE_SPOOL_NOSYNC : 0);
    uint64_t commit_at = 0; /* when the pending group commit is due; 0 = none pending */
    reserve_seq_ahead(ctx); /* the first block too, before a burst's first batch needs it */
    for (;;) {
        pthread_mutex_lock(&bt->wq.mu);
        wait_for_work(bt, commit_at);
        size_t n = bt->wq.n;
        bool done = bt->wq.done;
        memcpy(items, bt->wq.items, n * sizeof(items[0]));
        bt->wq.n = 0;
        pthread_cond_broadcast(&bt->wq.cv);
        pthread_mutex_unlock(&bt->wq.mu);
        uint64_t now = edge_mono_ms();
        if (commit_at && now >= commit_at)
            commit_at = edge_spool_commit(ctx, now - sync_ms);
        if (n == 0 && done)
            break;
        if (n == 0)
            continue;
        uint64_t dropped = 0;
        edge_spool_put_many(ctx->spool, items, n, flags, now, &dropped);
        reserve_seq_ahead(ctx);
        if (sync_ms && !commit_at)
            commit_at = now + sync_ms;
        if (dropped) {
            atomic_fetch_add(&ctx->records_dropped, dropped);
            edge_warn(&ctx->log, "spool full (--spool-max %" PRIu64 "): dropped the oldest "
                      "batches, %" PRIu64 " records", ctx->cfg->spool_max, dropped);
        }
        for (size_t k = 0; k < n; k++) {
            free(items[k].buf); /* NULL when the spool kept it */
            if (items[k].rc == 0) {
                atomic_fetch_add(&ctx->batches_made, 1);
                continue;
            }
            atomic_fetch_add(&ctx->records_dropped, items[k].records);
            edge_err(&ctx->log, "cannot write batch %" PRIu64 " to the spool: %s; %" PRIu32
                     " records dropped", items[k].seq, strerror(-items[k].rc), items[k].records);
        }
        edge_sender_wake(ctx);
    }
    return NULL;
}

void *edge_batcher_main(void *arg)
{
    struct edge_ctx *ctx = arg;
    struct batcher bt = {.ctx = ctx};
    pthread_setname_np(pthread_self(), "edge-batcher");
    pthread_t writer;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&bt.wq.mu, NULL);
    pthread_cond_init(&bt.wq.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (fl0wer_batch_builder_init(&bt.b, &ctx->key) != 0 ||
        pthread_create(&writer, NULL, writer_main, &bt) != 0) {
        edge_err(&ctx->log, "batcher: cannot start (out of memory)");
        return NULL;
    }
    edge_output_thread_nice(ctx, "edge-batcher"); /* after the writer started: not inherited */
    bt.last_meta_mono = 0; /* first batch carries metadata */
    for (;;) {
        bool final = edge_flowq_producers_done(&ctx->q) == ctx->n_workers;
        const struct fl0wer_flow *buf; /* encoded in place, released after */
        size_t n = edge_flowq_peek(&ctx->q, &buf, POP_MAX, 100);
        uint64_t now = edge_mono_ms();
        for (size_t i = 0; i < n; i++) {
            if (bt.flows == 0)
                bt.opened_mono = now;
            int rc = fl0wer_batch_add_flow(&bt.b, &buf[i]);
            if (rc != 0) {
                edge_err(&ctx->log, "batcher: cannot add a flow: %s", fl0wer_batch_strerror(rc));
                atomic_fetch_add(&ctx->records_dropped, 1);
                continue;
            }
            bt.flows++;
            if (fl0wer_batch_encoded_size(&bt.b) >= ctx->cfg->batch_bytes ||
                bt.flows >= FL0WER_BATCH_MAX_RECORDS)
                finish_batch(&bt, now - bt.last_meta_mono >= META_MS || meta_changed(ctx));
        }
        edge_flowq_consume(&ctx->q, n);
        edge_flowq_trim(&ctx->q, now); /* a drained burst's pages back to the kernel, 1 s on */
        bool meta_due = now - bt.last_meta_mono >= META_MS;
        if (bt.flows && (now - bt.opened_mono >= ctx->cfg->batch_age_ms || (final && n == 0)))
            finish_batch(&bt, meta_due || meta_changed(ctx));
        else if (!bt.flows && meta_due &&
                 atomic_load(&ctx->packets_received) != bt.last_packets)
            finish_batch(&bt, true); /* counters only: the hub sees exporters and the edge */
        if (final && n == 0 && bt.flows == 0) {
            if (meta_changed(ctx))
                finish_batch(&bt, true); /* last word on exporters before exiting */
            break;
        }
    }
    pthread_mutex_lock(&bt.wq.mu);
    bt.wq.done = true;
    pthread_cond_broadcast(&bt.wq.cv);
    pthread_mutex_unlock(&bt.wq.mu);
    pthread_join(writer, NULL);
    pthread_cond_destroy(&bt.wq.cv);
    pthread_mutex_destroy(&bt.wq.mu);
    fl0wer_batch_builder_release(&bt.b);
    return NULL;
}
