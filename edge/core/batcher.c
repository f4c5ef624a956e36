/*
 * batcher.c - packs the workers' records into signed batches (fl0wer_batch_builder), by size
 * (--batch-bytes) or age (--batch-age-ms), adds the edge report and, every 10 s or when the set
 * of exporters or interfaces changed, the per-exporter counters and interface names; then takes
 * a sequence number (persisted first), writes the batch to the spool (fsync) and wakes the
 * sender. Runs until every worker has finished and the queue is empty.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "edge_int.h"
#include "fl0wer/batch.h"

#define POP_MAX      1024
#define META_MS      10000

struct batcher {
    struct edge_ctx *ctx;
    struct fl0wer_batch_builder b;
    size_t flows;         /* flows in the open batch */
    uint64_t opened_mono; /* when its first record came */
    uint64_t last_meta_mono;
    uint64_t last_packets; /* packets_received at the last metadata batch */
};

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
    uint64_t seq = 0, dropped = 0;
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
    rc = edge_spool_put(ctx->spool, seq, (uint32_t)n, buf, len, &dropped);
    free(buf);
    if (dropped) {
        atomic_fetch_add(&ctx->records_dropped, dropped);
        edge_warn(&ctx->log, "spool full (--spool-max %" PRIu64 "): dropped the oldest batches, "
                  "%" PRIu64 " records", ctx->cfg->spool_max, dropped);
    }
    if (rc != 0) {
        edge_err(&ctx->log, "cannot write batch %" PRIu64 " to the spool: %s; %zu records "
                 "dropped", seq, strerror(-rc), n);
        goto out_drop;
    }
    atomic_fetch_add(&ctx->batches_made, 1);
    edge_sender_wake(ctx);
    goto out_reset;
out_drop:
    atomic_fetch_add(&ctx->records_dropped, n);
out_reset:
    fl0wer_batch_builder_reset(&bt->b);
    bt->flows = 0;
}

void *edge_batcher_main(void *arg)
{
    struct edge_ctx *ctx = arg;
    struct batcher bt = {.ctx = ctx};
    struct fl0wer_flow *buf = malloc(POP_MAX * sizeof(*buf));
    if (!buf || fl0wer_batch_builder_init(&bt.b, &ctx->key) != 0) {
        edge_err(&ctx->log, "batcher: out of memory");
        free(buf);
        return NULL;
    }
    bt.last_meta_mono = 0; /* first batch carries metadata */
    for (;;) {
        bool final = edge_flowq_producers_done(&ctx->q) == ctx->n_workers;
        size_t n = edge_flowq_pop(&ctx->q, buf, POP_MAX, 100);
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
    fl0wer_batch_builder_release(&bt.b);
    free(buf);
    return NULL;
}
