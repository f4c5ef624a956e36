/*
 * edge.c - starts and stops the edge's threads (workers, batcher, sender), waits for SIGTERM /
 * SIGINT with sigtimedwait() in the calling thread, and logs counters periodically.
 */
#include "edge.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge_int.h"
#include "fl0wer/batch.h"

#include <sodium.h>

#define FLOWQ_WARM ((size_t)4 << 20) /* queue bytes kept resident (the rest: --queue-size) */

static void log_stats(struct edge_ctx *ctx, const char *what)
{
    struct fl0wer_edge_report r;
    struct edge_spool_stats ss;
    edge_report_fill(ctx, &r);
    edge_spool_stats(ctx->spool, &ss);
    size_t entries = 0, exporters = 0;
    uint64_t bypassed = 0;
    unsigned sampled = 0;
    pthread_mutex_lock(&ctx->q.mu);
    uint64_t qpeak = ctx->q.peak, qtrims = ctx->q.trims;
    pthread_mutex_unlock(&ctx->q.mu);
    for (unsigned i = 0; i < ctx->n_workers; i++) {
        struct edge_worker *w = &ctx->workers[i];
        pthread_mutex_lock(&w->snap_mu);
        entries += w->agg_stats.entries;
        bypassed += w->agg_stats.bypassed;
        sampled += w->agg_stats.sampled;
        exporters += w->n_exp;
        pthread_mutex_unlock(&w->snap_mu);
    }
    edge_info(&ctx->log,
              "%s: packets=%" PRIu64 " bytes=%" PRIu64 " kernel_drops=%" PRIu64
              " decode_errors=%" PRIu64 " exporters=%zu records_decoded=%" PRIu64
              " agg_entries=%zu agg_bypassed=%" PRIu64 " agg_sampled_workers=%u"
              " records_sent=%" PRIu64 " records_dropped=%" PRIu64
              " batches=%" PRIu64 " acked=%" PRIu64 " rejected=%" PRIu64 " send_failures=%" PRIu64
              " spool_batches=%" PRIu64 " spool_bytes=%" PRIu64 " spool_fsyncs=%" PRIu64
              " spool_reads=%" PRIu64 " queue_peak=%" PRIu64 " queue_trims=%" PRIu64,
              what, r.packets_received, (uint64_t)atomic_load(&ctx->bytes_received),
              r.kernel_drops, (uint64_t)atomic_load(&ctx->decode_errors), exporters,
              r.records_decoded, entries, bypassed, sampled, r.records_sent, r.records_dropped,
              (uint64_t)atomic_load(&ctx->batches_made), (uint64_t)atomic_load(&ctx->batches_acked),
              (uint64_t)atomic_load(&ctx->batches_rejected),
              (uint64_t)atomic_load(&ctx->send_failures), r.spool_batches, r.spool_bytes,
              ss.syncs, ss.disk_reads, qpeak, qtrims);
}

/* Waits for SIGTERM/SIGINT (already blocked), logging counters every stats interval. */
static void wait_for_signal(struct edge_ctx *ctx, const sigset_t *set)
{
    uint64_t next_stats = edge_mono_ms() + (uint64_t)ctx->cfg->stats_interval_s * 1000u;
    for (;;) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 500 * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            edge_info(&ctx->log, "%s received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
            return;
        }
        if (ctx->cfg->stats_interval_s && edge_mono_ms() >= next_stats) {
            log_stats(ctx, "stats");
            next_stats += (uint64_t)ctx->cfg->stats_interval_s * 1000u;
        }
    }
}

/* Loads the key, opens the spool and the sockets. Returns an EDGE_EXIT_* code. */
static int edge_open(struct edge_ctx *ctx)
{
    char err[512];
    int rc = fl0wer_edge_key_load(&ctx->key, ctx->cfg->key_path);
    if (rc != 0) {
        edge_err(&ctx->log, "cannot load edge key %s: %s", ctx->cfg->key_path,
                 rc == -EINVAL ? "malformed key file" : strerror(-rc));
        return EDGE_EXIT_CONFIG;
    }
    if (ctx->cfg->hub_ca[0] && access(ctx->cfg->hub_ca, R_OK) != 0) {
        edge_err(&ctx->log, "cannot read hub CA file %s: %s", ctx->cfg->hub_ca, strerror(errno));
        return EDGE_EXIT_CONFIG;
    }
    if (edge_sender_open(ctx) != 0)
        return EDGE_EXIT_CONFIG; /* logged: URL or TLS settings the nng library refused */
    if (edge_spool_open(&ctx->spool, ctx->cfg->spool_dir, ctx->cfg->spool_max, err) != 0) {
        edge_err(&ctx->log, "%s", err);
        return EDGE_EXIT_FAIL;
    }
    size_t qcap = (size_t)(ctx->cfg->queue_size / sizeof(struct fl0wer_flow));
    if (edge_flowq_init(&ctx->q, qcap, FLOWQ_WARM / sizeof(struct fl0wer_flow)) != 0) {
        edge_err(&ctx->log, "cannot map the record queue (--queue-size %" PRIu64 "): %s",
                 ctx->cfg->queue_size, strerror(errno));
        return EDGE_EXIT_FAIL;
    }
    /* Before the sockets are bound: faulting in 128 MiB takes a few hundred ms on a VM, and
     * datagrams must not pile up in receive buffers nobody reads meanwhile. */
    edge_flowq_keep_resident(&ctx->q, (size_t)(ctx->cfg->queue_resident / sizeof(*ctx->q.ring)));
    if (edge_workers_open(ctx, err, sizeof(err)) != 0) {
        edge_err(&ctx->log, "%s", err);
        return EDGE_EXIT_FAIL;
    }
    return EDGE_EXIT_OK;
}

/* Writes "udp ADDR:PORT" per bound listen address to --ready-file (temporary file + rename).
 * Returns 0 or -1 (logged). */
static int write_ready_file(struct edge_ctx *ctx)
{
    const char *path = ctx->cfg->ready_file;
    char tmp[EDGE_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        goto out_err;
    for (unsigned i = 0; i < ctx->cfg->n_listen; i++)
        fprintf(f, "udp %s\n", ctx->bound_text[i]);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        goto out_err;
    return 0;
out_err:
    edge_err(&ctx->log, "cannot write ready file %s: %s", path, strerror(errno));
    unlink(tmp);
    return -1;
}

int edge_main(const struct edge_config *cfg)
{
    struct edge_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return EDGE_EXIT_FAIL;
    ctx->cfg = cfg;
    ctx->log.max = cfg->log_level;
    ctx->started_ms = edge_now_ms();
    pthread_mutex_init(&ctx->wake_mu, NULL);
    pthread_mutex_init(&ctx->drops_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ctx->wake_cv, &ca);
    pthread_condattr_destroy(&ca);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    signal(SIGPIPE, SIG_IGN);

    int rc = edge_open(ctx);
    bool batcher = false, sender = false;
    if (rc != EDGE_EXIT_OK)
        goto out_close;
    struct edge_spool_stats ss;
    edge_spool_stats(ctx->spool, &ss);
    char key[256], adapt[96] = "";
    edge_agg_key_format(cfg->aggregate_key, key, sizeof(key));
    if (!cfg->no_aggregate && cfg->aggregate_min_reduction)
        snprintf(adapt, sizeof(adapt), " (sampled below %u%% merged records)",
                 cfg->aggregate_min_reduction);
    edge_info(&ctx->log, "fl0wer-edge %s starting as '%s': %u listen address(es), %u workers, "
              "hub %s, spool %s (%" PRIu64 " batches waiting), aggregation %s%s",
              FL0WER_VERSION, ctx->key.name, cfg->n_listen, ctx->n_workers, cfg->hub,
              cfg->spool_dir, ss.batches, cfg->no_aggregate ? "off" : key, adapt);
    for (unsigned i = 0; i < cfg->n_listen; i++)
        edge_info(&ctx->log, "listening on udp %s", ctx->bound_text[i]);
    if (cfg->ready_file[0] && write_ready_file(ctx) != 0) {
        rc = EDGE_EXIT_FAIL;
        goto out_close;
    }
    sender = pthread_create(&ctx->sender_thread, NULL, edge_sender_main, ctx) == 0;
    batcher = pthread_create(&ctx->batcher_thread, NULL, edge_batcher_main, ctx) == 0;
    if (!sender || !batcher || edge_workers_start(ctx) != 0) {
        edge_err(&ctx->log, "cannot start threads");
        rc = EDGE_EXIT_FAIL;
    } else {
        wait_for_signal(ctx, &set);
    }
    atomic_store(&ctx->stop_rx, true);
    edge_workers_join(ctx);
    if (batcher)
        pthread_join(ctx->batcher_thread, NULL);
    atomic_store(&ctx->stop_sender, true);
    edge_sender_wake(ctx);
    if (sender)
        pthread_join(ctx->sender_thread, NULL);
    if (cfg->spool_sync_ms)
        edge_spool_commit(ctx, UINT64_MAX); /* what the hub has not acked stays, durably */
    log_stats(ctx, "final");
out_close:
    edge_sender_close(ctx, ctx->sender);
    edge_workers_close(ctx);
    if (ctx->q.ring)
        edge_flowq_release(&ctx->q);
    edge_spool_close(ctx->spool);
    pthread_cond_destroy(&ctx->wake_cv);
    pthread_mutex_destroy(&ctx->wake_mu);
    pthread_mutex_destroy(&ctx->drops_mu);
    sodium_memzero(&ctx->key, sizeof(ctx->key));
    free(ctx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
