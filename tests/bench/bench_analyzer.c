/*
 * bench_analyzer.c - what the analyzer adds to the hub's CPU per stored flow. Builds signed
 * batches of realistic flows (Zipf-like hosts and ports, mostly TCP, some sampled), then, for the
 * same batches, measures the CPU time of the hub's per-batch work without the analyzer (verify,
 * parse, store in RocksDB with synced writes, as fl0wer-hub does: process CPU time, RocksDB's
 * background threads included), of fl0wer_analyzer_observe on the batches in a row, and of it
 * between the hub's work on each batch as the hub runs it (a second store; the analyzer then
 * finds its tables pushed out of the caches): thread CPU time. Prints CPU ns per flow for each
 * and the share, the last figure being the one to quote.
 *
 * usage: bench_analyzer [BATCHES] [FLOWS_PER_BATCH] [WORKLOAD]   (default 200 x 1000 zipf)
 *   WORKLOAD zipf: the flows below (Zipf-like hosts over 60,000 sources and 5,000 destinations,
 *                  10 service ports, 80% TCP, a quarter sampled);
 *            gen:  fl0wer-gen's model as tests/bench/hub_ingest.sh sends it (20,000 hosts in each
 *                  Zipf pool, 3 exporters v5/v9/IPFIX, 10% IPv6, 15% ephemeral service ports,
 *                  Pareto packet counts: many more distinct keys per minute).
 * One analyzer window per 20 batches (env BENCH_WINDOW_BATCHES: another number), the last one
 * closed too. Run in a Release build without sanitizers;
 * docs/benchmarks.md has the command and figures.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fl0wer/analyzer.h"
#include "fl0wer/batch.h"
#include "fl0wer/store.h"
#include "bench_workload.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Zipf-like pick in [0, n): small values much more likely. */
static uint32_t zipf(uint32_t n)
{
    double u = (double)(rng() >> 11) / 9007199254740992.0;
    return (uint32_t)(pow((double)n, u)) - 1;
}

/* CPU time of the whole process (the hub's work: RocksDB's background threads count). */
static double cpu_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread (the analyzer's work, without RocksDB's background threads). */
static double thread_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_flow(struct fl0wer_flow *f, uint64_t now_ms)
{
    static const uint16_t ports[] = {443, 80, 53, 22, 123, 25, 993, 8080, 3389, 5060};
    uint8_t v4[4];

    fl0wer_flow_init(f);
    v4[0] = 192;
    v4[1] = 0;
    v4[2] = 2;
    v4[3] = (uint8_t)(1 + zipf(8));
    fl0wer_addr_from_v4(f->exporter, v4);
    uint32_t s = zipf(60000), d = zipf(5000);
    v4[0] = 10;
    v4[1] = (uint8_t)(s >> 16);
    v4[2] = (uint8_t)(s >> 8);
    v4[3] = (uint8_t)s;
    fl0wer_addr_from_v4(f->src_addr, v4);
    v4[0] = 172;
    v4[1] = 16;
    v4[2] = (uint8_t)(d >> 8);
    v4[3] = (uint8_t)d;
    fl0wer_addr_from_v4(f->dst_addr, v4);
    f->proto = rng() % 10 < 8 ? 6 : 17;
    f->src_port = (uint16_t)(1024 + rng() % 60000);
    f->dst_port = ports[zipf(10)];
    f->tcp_flags = f->proto == 6 ? 0x1b : 0;
    f->packets = 1 + zipf(2000);
    f->bytes = f->packets * (40 + rng() % 1400);
    f->in_if = 1 + rng() % 8;
    f->out_if = 1 + rng() % 8;
    f->sampling = rng() % 4 == 0 ? 100 : 1;
    f->last_ms = now_ms - rng() % 60000;
    f->first_ms = f->last_ms - rng() % 30000;
    f->version = 10;
}

int main(int argc, char **argv)
{
    size_t n_batches = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    const char *workload = argc > 3 ? argv[3] : "zipf";
    bool gen = strcmp(workload, "gen") == 0;
    struct gen_config gc;
    struct gen_ctx g;
    char msg[128];
    struct fl0wer_edge_key key;
    struct fl0wer_batch_builder b;
    uint8_t **bufs = calloc(n_batches, sizeof(*bufs));
    size_t *lens = calloc(n_batches, sizeof(*lens));
    struct fl0wer_batch *parsed = calloc(n_batches, sizeof(*parsed));
    char dir[] = "/tmp/fl0wer-bench-analyzer-XXXXXX", dir2[] = "/tmp/fl0wer-bench-analyzer-XXXXXX";
    char err[256], cmd[300];
    struct fl0wer_batch *parsed2 = calloc(n_batches, sizeof(*parsed2));
    struct fl0wer_store *store2;
    struct fl0wer_analyzer *an2;
    struct fl0wer_store *store;
    struct fl0wer_store_config sc = {0};
    struct fl0wer_analyzer *an;
    struct fl0wer_analyzer_config ac;
    struct fl0wer_flow f;
    uint64_t now = (uint64_t)time(NULL) * 1000u;
    double t0, hub_s, an_s, inline_s;
    bool dup;

    bench_workload_config(&gc, (uint64_t)n_batches * per, now - 120000u);
    if ((!gen && strcmp(workload, "zipf") != 0) || !bufs || !lens || !parsed || !mkdtemp(dir) ||
        fl0wer_edge_key_generate(&key, "bench") || fl0wer_batch_builder_init(&b, &key) != 0 ||
        (gen && gen_init(&g, &gc, msg, sizeof(msg)) != 0)) {
        fprintf(stderr, "bench_analyzer: setup failed (workload zipf or gen)\n");
        return 1;
    }
    for (size_t i = 0; i < n_batches; i++) {
        fl0wer_batch_builder_reset(&b);
        for (size_t j = 0; j < per; j++) {
            if (gen)
                gen_model_flow(&g, (uint64_t)i * per + j, &f);
            else
                make_flow(&f, now);
            fl0wer_batch_add_flow(&b, &f);
        }
        if (fl0wer_batch_finish(&b, i + 1, now, NULL, &bufs[i], &lens[i]) != 0)
            return 1;
    }
    sc.path = dir;
    sc.sync_writes = true;
    if (fl0wer_store_open(&store, &sc, err) != 0) {
        fprintf(stderr, "bench_analyzer: store: %s\n", err);
        return 1;
    }

    /* The hub's own work per batch: verify, parse, store. */
    t0 = cpu_s();
    for (size_t i = 0; i < n_batches; i++) {
        if (fl0wer_batch_verify(bufs[i], lens[i], key.pk) != 0 ||
            fl0wer_batch_parse(bufs[i], lens[i], &parsed[i]) != 0 ||
            fl0wer_store_put_batch(store, "bench", &parsed[i], &dup) != 0) {
            fprintf(stderr, "bench_analyzer: batch %zu failed\n", i);
            return 1;
        }
    }
    hub_s = cpu_s() - t0;

    /* The analyzer on the same batches, one window per 20 batches (~20k flows a window) unless
     * BENCH_WINDOW_BATCHES says otherwise (the hub: a minute of arrivals, often far more). */
    size_t per_window = getenv("BENCH_WINDOW_BATCHES")
                            ? strtoul(getenv("BENCH_WINDOW_BATCHES"), NULL, 10) : 20;
    if (per_window == 0)
        per_window = 20;
    fl0wer_analyzer_config_defaults(&ac);
    if (getenv("BENCH_TABLE_SIZE"))
        ac.table_size = (uint32_t)strtoul(getenv("BENCH_TABLE_SIZE"), NULL, 10);
    printf("analyzer table size: %u entries, %zu batches a window\n", ac.table_size, per_window);
    if (fl0wer_analyzer_create(&an, &ac, NULL, NULL) != 0)
        return 1;
    t0 = thread_s();
    for (size_t i = 0; i < n_batches; i++) {
        uint64_t at = now + (i / per_window) * 60000u;
        fl0wer_analyzer_observe(an, "bench", &parsed[i], at);
        if (i % per_window == per_window - 1 || i == n_batches - 1)
            fl0wer_analyzer_tick(an, at + 60000u);
    }
    an_s = thread_s() - t0;

    /* As the hub runs it: verify, parse, store and observe batch after batch (a second store and
     * analyzer), so the analyzer finds its tables pushed out of the caches by the rest.
     * BENCH_SKIP_INLINE=1 skips this (callgrind runs that count the analyzer's instructions). */
    bool inline_run = getenv("BENCH_SKIP_INLINE") == NULL;
    inline_s = 0;
    if (inline_run) {
        if (!mkdtemp(dir2) || !parsed2)
            return 1;
        sc.path = dir2;
        if (fl0wer_store_open(&store2, &sc, err) != 0 ||
            fl0wer_analyzer_create(&an2, &ac, NULL, NULL) != 0) {
            fprintf(stderr, "bench_analyzer: second store or analyzer: %s\n", err);
            return 1;
        }
        for (size_t i = 0; i < n_batches; i++) {
            uint64_t at = now + (i / per_window) * 60000u;
            if (fl0wer_batch_verify(bufs[i], lens[i], key.pk) != 0 ||
                fl0wer_batch_parse(bufs[i], lens[i], &parsed2[i]) != 0 ||
                fl0wer_store_put_batch(store2, "bench", &parsed2[i], &dup) != 0) {
                fprintf(stderr, "bench_analyzer: batch %zu failed\n", i);
                return 1;
            }
            t0 = thread_s();
            fl0wer_analyzer_observe(an2, "bench", &parsed2[i], at);
            if (i % per_window == per_window - 1 || i == n_batches - 1)
                fl0wer_analyzer_tick(an2, at + 60000u);
            inline_s += thread_s() - t0;
        }
    }

    double flows = (double)(n_batches * per);
    printf("flows: %.0f in %zu batches of %zu, workload %s\n", flows, n_batches, per, workload);
    printf("hub without analyzer (verify+parse+store, synced): %.0f ns CPU/flow\n",
           hub_s * 1e9 / flows);
    printf("analyzer observe + window close, batches in a row: %.0f ns CPU/flow (+%.1f%%)\n",
           an_s * 1e9 / flows, 100.0 * an_s / hub_s);
    if (inline_run) {
        printf("analyzer between the hub's batches (as in the hub): %.0f ns CPU/flow (+%.1f%%)\n",
               inline_s * 1e9 / flows, 100.0 * inline_s / hub_s);
        printf("analyzer share of the hub's CPU per flow: +%.1f%%\n", 100.0 * inline_s / hub_s);
    }

    fl0wer_analyzer_destroy(an);
    for (size_t i = 0; i < n_batches; i++) {
        fl0wer_batch_release(&parsed[i]);
        if (inline_run)
            fl0wer_batch_release(&parsed2[i]);
        free(bufs[i]);
    }
    fl0wer_store_close(store);
    if (inline_run) {
        fl0wer_analyzer_destroy(an2);
        fl0wer_store_close(store2);
    }
    fl0wer_batch_builder_release(&b);
    if (gen)
        gen_release(&g);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'%s%s%s", dir, inline_run ? " '" : "",
             inline_run ? dir2 : "", inline_run ? "'" : "");
    if (system(cmd) != 0)
        fprintf(stderr, "bench_analyzer: could not remove %s, %s\n", dir, dir2);
    free(bufs);
    free(lens);
    free(parsed);
    free(parsed2);
    return 0;
}
