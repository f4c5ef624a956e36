/*
 * main.c - fl0wer-hub: reads the configuration, opens the store, starts the ingest and the API,
 * starts the analyzer (analysis.c), then waits for signals on the main thread with sigtimedwait
 * (no signal handlers, no globals): SIGHUP reloads the authorized edges, API tokens and
 * blocklists, SIGTERM/SIGINT stop cleanly, and the wait's timeout ticks the analyzer every second
 * and runs the store's garbage collection periodically. docs/hub.md.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analysis.h"
#include "config.h"
#include "fl0wer/ingest.h"
#include "fl0wer/store.h"
#ifdef FL0WER_HUB_HAVE_API
#include "fl0wer/api.h"
#include "fl0wer/tls_engine.h"
#endif

/* Everything the daemon runs, owned by main(). */
struct hub {
    struct hub_config cfg;
    struct fl0wer_store *store;
    struct fl0wer_ingest *ingest;
    struct hub_analysis analysis;
#ifdef FL0WER_HUB_HAVE_API
    struct fl0wer_api *api;
#endif
};

#ifdef FL0WER_HUB_HAVE_API
/* API hook: the ingest counters for /api/v1/status and /metrics. */
static void api_ingest_stats(void *arg, struct fl0wer_api_ingest_stats *out)
{
    struct hub *hub = arg;
    struct fl0wer_ingest_stats st;

    memset(out, 0, sizeof(*out));
    if (!hub->ingest)
        return;
    fl0wer_ingest_get_stats(hub->ingest, &st);
    out->batches_received = st.batches_received;
    out->batches_stored = st.batches_stored;
    out->batches_duplicate = st.batches_duplicate;
    out->batches_rejected = st.batches_rejected;
    out->batches_retry = st.batches_retry;
    out->store_syncs = st.store_syncs;
    out->records_stored = st.records_stored;
    out->bytes_received = st.bytes_received;
    out->records_per_s = st.records_per_s;
    out->batches_per_s = st.batches_per_s;
}

/* API hook: log lines go through the hub's one-line logger. */
static void api_log(void *arg, int level, const char *msg)
{
    fl0wer_hub_log(level, "api: %s", msg);
}

/* API hooks into the analyzer. */
static int api_alerts(void *arg, const struct fl0wer_api_alert_query *q,
                      void (*emit)(void *emit_arg, const char *json_object), void *emit_arg)
{
    struct hub *hub = arg;

    return hub_analysis_alerts(&hub->analysis, q, emit, emit_arg);
}

static void api_analyzer_stats(void *arg, struct fl0wer_analyzer_stats *out)
{
    struct hub *hub = arg;

    hub_analysis_stats(&hub->analysis, out);
}

/* Starts the HTTPS API unless --no-api. Returns 0 or -1 (logged). */
static int api_start(struct hub *hub)
{
    struct fl0wer_api_config ac = {0};
    struct fl0wer_api_hooks hooks = {0};
    char err[256] = "";
    int rc;

    if (hub->cfg.no_api) {
        fl0wer_hub_log(2, "api disabled (--no-api)");
        return 0;
    }
    ac.listen = hub->cfg.api;
    ac.tls_cert = hub->cfg.api_cert;
    ac.tls_key = hub->cfg.api_key;
    ac.data_dir = hub->cfg.data;
    ac.insecure = hub->cfg.api_insecure;
    ac.tokens_file = hub->cfg.api_tokens;
    ac.query_threads = hub->cfg.query_threads;
    hooks.arg = hub;
    hooks.ingest_stats = api_ingest_stats;
    hooks.log = api_log;
    if (hub->analysis.an) {
        /* The analysis hooks take the hub_analysis, the others the hub: use thin wrappers. */
        hooks.alerts = api_alerts;
        hooks.analyzer_stats = api_analyzer_stats;
    }
    rc = fl0wer_api_start(&hub->api, &ac, hub->store, &hooks, err);
    if (rc != 0) {
        fl0wer_hub_log(0, "cannot start the api on %s: %s", hub->cfg.api, err);
        return -1;
    }
    fl0wer_hub_log(2, "api listening on port %d%s", fl0wer_api_port(hub->api),
                   hub->cfg.api_insecure ? " (plain http)" : "");
    return 0;
}
#else
/* HOOK: the API library (hub/api, fl0wer_api) is not built yet; --api* options are accepted
 * and ignored until it is. */
static int api_start(struct hub *hub)
{
    if (!hub->cfg.no_api)
        fl0wer_hub_log(1, "api not built into this fl0wer-hub; only ingest runs");
    return 0;
}
#endif

/* Writes the bound listen URLs to the ready file (via a temporary file and rename). */
static int write_ready_file(struct hub *hub)
{
    char tmp[4096];
    char url[512];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", hub->cfg.ready_file);
    f = fopen(tmp, "w");
    if (!f)
        goto out_err;
    for (size_t i = 0; fl0wer_ingest_bound_url(hub->ingest, i, url, sizeof(url)) == 0; i++)
        fprintf(f, "%s\n", url);
#ifdef FL0WER_HUB_HAVE_API
    if (hub->api) {
        const char *colon = strrchr(hub->cfg.api, ':');
        int host_len = colon ? (int)(colon - hub->cfg.api) : (int)strlen(hub->cfg.api);

        fprintf(f, "api %s://%.*s:%d\n", hub->cfg.api_insecure ? "http" : "https", host_len,
                hub->cfg.api, fl0wer_api_port(hub->api));
    }
#endif
    if (fclose(f) != 0 || rename(tmp, hub->cfg.ready_file) != 0)
        goto out_err;
    return 0;
out_err:
    fl0wer_hub_log(0, "cannot write ready file %s: %s", hub->cfg.ready_file, strerror(errno));
    return -1;
}

/* Opens the store and starts ingest and API. Returns 0 or -1 (logged). */
static int hub_start(struct hub *hub)
{
    struct fl0wer_store_config sc = {0};
    struct fl0wer_ingest_config ic = {0};
    char err[FL0WER_INGEST_ERRBUF_LEN] = "";
    char aerr[HUB_ERRLEN] = "";
    char url[512];
    int rc;

    sc.path = hub->cfg.data;
    sc.retention_ms = hub->cfg.retention_ms;
    sc.rollup_retention_ms = hub->cfg.rollup_retention_ms;
    sc.address_k_hour = (uint32_t)(hub->cfg.rollup_address_k_hour > UINT32_MAX
                                       ? UINT32_MAX : hub->cfg.rollup_address_k_hour);
    sc.address_k_minute = (uint32_t)(hub->cfg.rollup_address_k_minute > UINT32_MAX
                                         ? UINT32_MAX : hub->cfg.rollup_address_k_minute);
    sc.max_disk_bytes = hub->cfg.max_disk_bytes;
    sc.block_cache_bytes = hub->cfg.block_cache_bytes;
    sc.sync_writes = false; /* the ingest's group commit syncs before every ack */
    rc = fl0wer_store_open(&hub->store, &sc, err);
    if (rc != 0) {
        fl0wer_hub_log(0, "cannot open the store in %s: %s", hub->cfg.data, err);
        return -1;
    }
    ic.listen = (const char *const *)hub->cfg.listen;
    ic.listen_count = hub->cfg.listen_count;
    ic.tls_cert = hub->cfg.tls_cert;
    ic.tls_key = hub->cfg.tls_key;
    ic.authorized_path = hub->cfg.authorized;
    ic.contexts = hub->cfg.contexts;
    ic.workers = hub->cfg.workers;
    ic.order_wait_ms = (uint32_t)hub->cfg.order_wait_ms;
    ic.group_commit = true;
    if (hub_analysis_start(&hub->analysis, &hub->cfg, hub->store, aerr) != 0) {
        fl0wer_hub_log(0, "%s", aerr);
        return -1;
    }
    ic.on_stored = hub_analysis_on_stored;
    ic.on_stored_arg = &hub->analysis;
    rc = fl0wer_ingest_start(&hub->ingest, &ic, hub->store, err);
    if (rc != 0) {
        fl0wer_hub_log(0, "cannot start ingest: %s", err);
        return -1;
    }
    for (size_t i = 0; fl0wer_ingest_bound_url(hub->ingest, i, url, sizeof(url)) == 0; i++)
        fl0wer_hub_log(2, "listening for batches on %s", url);
    if (api_start(hub) != 0)
        return -1;
    if (hub->cfg.ready_file && write_ready_file(hub) != 0)
        return -1;
    fl0wer_hub_log(2, "fl0wer-hub %s started: data %s, retention %llus, max disk %llu bytes",
                   FL0WER_VERSION, hub->cfg.data,
                   (unsigned long long)(hub->cfg.retention_ms / 1000),
                   (unsigned long long)hub->cfg.max_disk_bytes);
    return 0;
}

/* Stops in dependency order: API (readers), ingest (finishes in-flight batches), store. */
static void hub_stop(struct hub *hub)
{
#ifdef FL0WER_HUB_HAVE_API
    fl0wer_api_stop(hub->api);
    hub->api = NULL;
#endif
    fl0wer_ingest_stop(hub->ingest);
    hub->ingest = NULL;
    hub_analysis_stop(&hub->analysis);
    if (hub->store)
        fl0wer_store_close(hub->store);
    hub->store = NULL;
}

/* One garbage collection pass, logged when it removed something. */
static void hub_gc(struct hub *hub)
{
    struct fl0wer_store_gc_result r = {0};
    int rc = fl0wer_store_gc(hub->store, fl0wer_hub_now_ms(), &r);

    hub_analysis_gc(&hub->analysis, fl0wer_hub_now_ms());
    if (rc != 0)
        fl0wer_hub_log(0, "garbage collection failed (error %d)", rc);
    else if (r.flow_blocks_removed || r.rollup_rows_removed)
        fl0wer_hub_log(2, "gc removed %llu flow blocks and %llu rollup rows; oldest flow now %llu",
                       (unsigned long long)r.flow_blocks_removed,
                       (unsigned long long)r.rollup_rows_removed,
                       (unsigned long long)r.oldest_flow_ms);
    if (rc == 0 && (r.address_hours_sparse || r.address_hours_restored))
        fl0wer_hub_log(2, "gc: %llu sparse hours' address arrays answered from raw flows, %llu "
                          "computed again before their raw flows expired",
                       (unsigned long long)r.address_hours_sparse,
                       (unsigned long long)r.address_hours_restored);
}

/* SIGHUP: reload the authorized edges and the API tokens; failures keep the old sets. */
static void hub_reload(struct hub *hub)
{
    fl0wer_hub_log(2, "SIGHUP: reloading %s", hub->cfg.authorized);
    fl0wer_ingest_reload(hub->ingest, NULL);
#ifdef FL0WER_HUB_HAVE_API
    if (hub->api)
        fl0wer_api_reload_tokens(hub->api);
#endif
    hub_analysis_reload(&hub->analysis);
}

/* Flushes the rollups once ingest pauses or they have waited a minute, so that queries read
 * merged rollup arrays instead of re-merging every batch's operands (docs/storage.md). */
static void hub_settle_rollups(struct hub *hub)
{
    struct timespec ts;
    bool flushed = false;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t mono = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    int rc = fl0wer_store_settle_rollups(hub->store, mono, &flushed);
    if (rc != 0)
        fl0wer_hub_log(0, "flushing the rollups failed (error %d)", rc);
}

/*
 * Waits for signals until SIGTERM/SIGINT, ticking the analyzer every second and running GC
 * every gc_interval. Returns the signal.
 */
static int hub_wait(struct hub *hub, const sigset_t *set)
{
    uint64_t next_gc = fl0wer_hub_now_ms() + hub->cfg.gc_interval_ms;
    uint64_t next_tick = fl0wer_hub_now_ms() + 1000;

    for (;;) {
        uint64_t now = fl0wer_hub_now_ms();
        uint64_t due = next_gc < next_tick ? next_gc : next_tick;
        uint64_t wait = due > now ? due - now : 0;
        struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000L};
        int sig = sigtimedwait(set, NULL, &ts);

        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        if (sig == SIGHUP)
            hub_reload(hub);
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            fl0wer_hub_log(0, "sigtimedwait failed: %s", strerror(errno));
            return SIGTERM;
        }
        if (fl0wer_hub_now_ms() >= next_tick) {
            hub_analysis_tick(&hub->analysis, fl0wer_hub_now_ms());
            hub_settle_rollups(hub);
            next_tick = fl0wer_hub_now_ms() + 1000;
        }
        if (fl0wer_hub_now_ms() >= next_gc) {
            hub_gc(hub);
            next_gc = fl0wer_hub_now_ms() + hub->cfg.gc_interval_ms;
        }
    }
}

/* Heap memory freed by the hub is kept for reuse rather than handed back to the kernel: RocksDB
 * allocates each memtable in 1 MiB blocks and frees it after its flush, and glibc's defaults
 * returned those blocks (munmap, heap trim) so every memtable touched fresh pages again: ~10,000
 * page faults per million flows in a warm hub, ~3,400 with these settings (docs/hub.md,
 * "Memory"). Blocks up to 4 MiB come from the heap; up to 128 MiB of free heap top is kept.
 * One malloc arena for all threads: glibc's per-thread arenas grow their heaps a few pages at a
 * time and can never be backed by transparent huge pages, while the main arena can, when the
 * environment has GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (deploy/systemd/fl0wer-hub.service sets
 * it): a fresh hub's first million flows then take ~600 page faults instead of ~21,000, each
 * costing 16-28 us on a virtual machine. Small blocks come from per-thread caches (tcache)
 * without the arena's lock. Called before any thread exists. */
static void hub_malloc_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    mallopt(M_ARENA_MAX, 1);
}

/* Logs whether the heap asks for transparent huge pages (glibc.malloc.hugetlb=1 in
 * GLIBC_TUNABLES, read by glibc at start-up) and, when not, how to turn it on. */
static void hub_log_heap_pages(void)
{
    const char *t = getenv("GLIBC_TUNABLES");

    if (t && strstr(t, "glibc.malloc.hugetlb=1"))
        fl0wer_hub_log(2, "heap: transparent huge pages requested (glibc.malloc.hugetlb=1)");
    else
        fl0wer_hub_log(2, "heap: small pages; GLIBC_TUNABLES=glibc.malloc.hugetlb=1 in the "
                          "environment cuts a fresh hub's page faults (docs/hub.md, Memory)");
}

int main(int argc, char **argv)
{
    extern char **environ;
    struct hub hub;
    char err[HUB_ERRLEN];
    sigset_t set;
    int sig;
    int status = 0;

    memset(&hub, 0, sizeof(hub));
    hub_malloc_setup();
    if (hub_config_load(&hub.cfg, argc, argv, environ, err) != 0) {
        fprintf(stderr, "fl0wer-hub: %s\n", err);
        hub_config_release(&hub.cfg);
        return 2;
    }
    if (hub.cfg.help || hub.cfg.version) {
        if (hub.cfg.help)
            hub_config_usage(stdout);
        else
            printf("fl0wer-hub %s\n", FL0WER_VERSION);
        hub_config_release(&hub.cfg);
        return 0;
    }
    /* Block the signals before any thread exists so that only sigtimedwait sees them. */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    hub_log_heap_pages();
#ifdef FL0WER_HUB_HAVE_API
    /* before any TLS configuration: the API's and the tls+tcp:// listeners' use it */
    int tls_rc = fl0wer_tls_engine_register();
    if (tls_rc != 0)
        fl0wer_hub_log(1, "tls: engine %s not registered (nng error %d): nng's own serves, "
                          "without session resumption", FL0WER_TLS_ENGINE_NAME, -tls_rc);
#endif
    if (hub_start(&hub) != 0) {
        hub_stop(&hub);
        hub_config_release(&hub.cfg);
        return 1;
    }
    sig = hub_wait(&hub, &set);
    fl0wer_hub_log(2, "%s: stopping (finishing batches in flight)", strsignal(sig));
    hub_stop(&hub);
    fl0wer_hub_log(2, "stopped");
    hub_config_release(&hub.cfg);
    return status;
}
