/*
 * bench_store.c - storage benchmark (docs/benchmarks.md, "Storage and queries"): synthetic
 * NetFlow-v5-compatible flows into the fl0wer store (CPU of put_batch per flow, with and without
 * RocksDB's own threads and the flush; bytes on disk per flow by column family; query times)
 * and, optionally, the same flows as NetFlow v5 packets to nfcapd on 127.0.0.1:port.
 * BENCH_SYNC=1 fsyncs the WAL per batch as the hub does; BENCH_FRESH=1 also times queries right
 * after the ingest, after the flush and after the compaction, with the merge operands they met;
 * BENCH_MALLOPT=1 keeps freed heap for reuse as the hub daemon does (mallopt).
 * BENCH_BATCH=N puts batches of N flows (default 5000); BENCH_SETTLE=1 starts a flush of the
 * rollups CF after each batch, as a low-rate hub's settle tick does about once a minute, and
 * counts the compactions those flushes cause in the ingest CPU (waits for them to end).
 * BENCH_BYTES_REM=1 makes bytes not a multiple of packets (packets of different sizes).
 * BENCH_HUB=1 runs the store as a long-running hub does instead (hub_sim below): a batch per
 * BENCH_HUB_INTERVAL simulated seconds (default 60; at most BENCH_BATCH flows), the settle rule
 * after each, fl0wer_store_gc every simulated minute, background work let finish between them,
 * and reports what that hub holds on disk (SST files per level, WAL, memtables), then after a
 * clean restart, with no forced compaction.
 * tests/store/bench_vs_nfdump.sh runs it.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <math.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fl0wer/filter.h"
#include "fl0wer/query.h"
#include "fl0wer/store.h"
#include "store_int.h"

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
    uint64_t z = (rs += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static double cpu_s(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool bytes_rem; /* BENCH_BYTES_REM=1 */

static void gen(struct fl0wer_flow *f, uint64_t end_ms)
{
    uint8_t v4[4];
    static const uint16_t svc[] = {443, 443, 443, 443, 80, 80, 53, 123, 22, 993, 25, 8080};
    fl0wer_flow_init(f);
    v4[0] = 127; v4[1] = 0; v4[2] = 0; v4[3] = 1;
    fl0wer_addr_from_v4(f->exporter, v4);
    uint32_t host = (uint32_t)(rnd() % 2000), ext = (uint32_t)(unif() * unif() * 50000);
    uint8_t hv[4] = {10, 1, (uint8_t)(host >> 8), (uint8_t)host};
    uint8_t ev[4] = {(uint8_t)(23 + ext % 180), (uint8_t)(ext >> 3), (uint8_t)(ext * 7), (uint8_t)ext};
    bool outbound = rnd() % 2;
    fl0wer_addr_from_v4(outbound ? f->src_addr : f->dst_addr, hv);
    fl0wer_addr_from_v4(outbound ? f->dst_addr : f->src_addr, ev);
    uint8_t nh[4] = {192, 0, 2, (uint8_t)(1 + rnd() % 2)};
    fl0wer_addr_from_v4(f->next_hop, nh);
    uint32_t r = (uint32_t)(rnd() % 100);
    f->proto = r < 80 ? 6 : r < 98 ? 17 : 1;
    uint16_t service = svc[rnd() % 12], eph = (uint16_t)(32768 + rnd() % 28000);
    if (f->proto == 1) {
        f->dst_port = (uint16_t)(rnd() % 2 ? 0x0800 : 0x0000);
    } else {
        f->src_port = outbound ? eph : service;
        f->dst_port = outbound ? service : eph;
        if (rnd() % 10 == 0)
            f->dst_port = (uint16_t)(1024 + rnd() % 60000);
    }
    f->packets = 1 + (uint64_t)(exp2(unif() * 12) - 1);
    f->bytes = f->packets * (40 + rnd() % 1460);
    if (bytes_rem) /* packets of different sizes: bytes need not be a multiple of packets */
        f->bytes += rnd() % f->packets;
    f->last_ms = end_ms;
    f->first_ms = end_ms - (uint64_t)(unif() * unif() * 60000);
    f->in_if = (uint32_t)(1 + rnd() % 4);
    f->out_if = (uint32_t)(1 + rnd() % 4);
    f->src_as = outbound ? 0 : 1000 + ext % 3000;
    f->dst_as = outbound ? 1000 + ext % 3000 : 0;
    f->src_mask = outbound ? 16 : 24;
    f->dst_mask = outbound ? 24 : 16;
    f->tcp_flags = f->proto == 6 ? (uint8_t)(rnd() % 4 ? 0x1b : 0x02) : 0;
    f->tos = 0;
    f->version = 5;
}

static void send_v5(int sock, int port, const struct fl0wer_flow *f, size_t n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    uint8_t pkt[24 + 30 * 48];
    uint32_t seq = 0;
    to.sin_addr.s_addr = htonl(0x7f000001);
    for (size_t i = 0; i < n; i += 30) {
        size_t cnt = n - i < 30 ? n - i : 30;
        uint64_t now = f[i + cnt - 1].last_ms + 1000, boot = now - 86400000ull * 3;
        uint8_t *p = pkt;
        memset(pkt, 0, sizeof(pkt));
        p[1] = 5; p[3] = (uint8_t)cnt;
        uint32_t up = htonl((uint32_t)(now - boot)), secs = htonl((uint32_t)(now / 1000)),
                 ns = htonl((uint32_t)(now % 1000) * 1000000), sq = htonl(seq);
        memcpy(p + 4, &up, 4); memcpy(p + 8, &secs, 4); memcpy(p + 12, &ns, 4); memcpy(p + 16, &sq, 4);
        seq += (uint32_t)cnt;
        for (size_t j = 0; j < cnt; j++) {
            const struct fl0wer_flow *x = &f[i + j];
            uint8_t *r = pkt + 24 + j * 48;
            memcpy(r, x->src_addr + 12, 4); memcpy(r + 4, x->dst_addr + 12, 4);
            memcpy(r + 8, x->next_hop + 12, 4);
            uint16_t v16; uint32_t v32;
            v16 = htons((uint16_t)x->in_if); memcpy(r + 12, &v16, 2);
            v16 = htons((uint16_t)x->out_if); memcpy(r + 14, &v16, 2);
            v32 = htonl((uint32_t)x->packets); memcpy(r + 16, &v32, 4);
            v32 = htonl((uint32_t)x->bytes); memcpy(r + 20, &v32, 4);
            v32 = htonl((uint32_t)(x->first_ms - boot)); memcpy(r + 24, &v32, 4);
            v32 = htonl((uint32_t)(x->last_ms - boot)); memcpy(r + 28, &v32, 4);
            v16 = htons(x->src_port); memcpy(r + 32, &v16, 2);
            v16 = htons(x->dst_port); memcpy(r + 34, &v16, 2);
            r[37] = x->tcp_flags; r[38] = x->proto; r[39] = x->tos;
            v16 = htons((uint16_t)x->src_as); memcpy(r + 40, &v16, 2);
            v16 = htons((uint16_t)x->dst_as); memcpy(r + 42, &v16, 2);
            r[44] = x->src_mask; r[45] = x->dst_mask;
        }
        sendto(sock, pkt, 24 + cnt * 48, 0, (struct sockaddr *)&to, sizeof(to));
        if ((i / 30) % 20 == 0)
            usleep(1000);
    }
}

static double time_query(struct fl0wer_store *s, uint64_t from, uint64_t to, int what,
                         const char *label)
{
    struct fl0wer_query q = {from, to, NULL, false, 600000, 1};
    struct fl0wer_totals t;
    struct fl0wer_top_row *rows = NULL;
    size_t n;
    uint64_t t0 = mono_us();
    int rc;
    if (what < 0)
        rc = fl0wer_query_summary(s, &q, &t);
    else
        rc = fl0wer_query_top(s, &q, (enum fl0wer_dimension)what, FL0WER_ORDER_BYTES, 10, &rows, &n);
    double ms = (double)(mono_us() - t0) / 1000.0;
    printf("query %-28s rc=%d %9.2f ms%s%s\n", label, rc, ms, rows ? "  first " : "",
           rows ? rows[0].key : "");
    free(rows);
    return ms;
}

/* A summary filtered by expr (fl0wer_filter_compile), timed, with its flow count. */
static void time_filtered(struct fl0wer_store *s, uint64_t from, uint64_t to, const char *expr,
                          const char *span)
{
    struct fl0wer_filter *f = NULL;
    struct fl0wer_filter_error ferr;
    struct fl0wer_totals t = {0};
    if (fl0wer_filter_compile(expr, &f, &ferr) != 0) {
        printf("query summary '%s': filter does not compile\n", expr);
        return;
    }
    struct fl0wer_query q = {from, to, f, false, 600000, 1};
    uint64_t t0 = mono_us();
    int rc = fl0wer_query_summary(s, &q, &t);
    double ms = (double)(mono_us() - t0) / 1000.0;
    printf("query summary %-3s '%s' rc=%d %9.2f ms  flows %" PRIu64 "\n", span, expr, rc, ms,
           t.flows);
    fl0wer_filter_destroy(f);
}

/*
 * BENCH_FRESH=1: queries in the state a hub is in right after an ingest, each run twice, the
 * first with RocksDB's perf context on: how many merge operands the reads met (every batch
 * writes one operand per touched minute and hour key; until a compaction merges them, each
 * read merges them again) and the merge operator's time.
 */
static void fresh_queries(struct fl0wer_store *s, uint64_t t0, uint64_t span, uint64_t hour,
                          const char *phase)
{
    static const struct {
        int what;
        bool all;
        const char *label;
    } qs[] = {{FL0WER_DIM_DSTPORT, false, "top10 dstport 1h"},
              {FL0WER_DIM_SRCIP, false, "top10 srcip 1h"},
              {-1, false, "summary 1h"},
              {FL0WER_DIM_SRCPORT, true, "top10 srcport all"}};
    rocksdb_perfcontext_t *pc = rocksdb_perfcontext_create();

    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        uint64_t from = qs[i].all ? t0 : hour, to = qs[i].all ? t0 + span : hour + 3600000;
        char label[96];
        snprintf(label, sizeof(label), "%s [%s]", qs[i].label, phase);
        struct rusage r0, r1;
        rocksdb_set_perf_level(rocksdb_enable_time_except_for_mutex);
        rocksdb_perfcontext_reset(pc);
        getrusage(RUSAGE_SELF, &r0);
        time_query(s, from, to, qs[i].what, label);
        getrusage(RUSAGE_SELF, &r1);
        rocksdb_set_perf_level(rocksdb_disable);
        printf("    process cpu %.2f ms, minor faults %ld; merge operands %" PRIu64
               ", merge operator %.2f ms, blocks read %" PRIu64 ", decompress %.2f ms\n",
               ((double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec -
                         r0.ru_stime.tv_sec) * 1e6 +
                (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec -
                         r0.ru_stime.tv_usec)) / 1e3,
               r1.ru_minflt - r0.ru_minflt,
               rocksdb_perfcontext_metric(pc, rocksdb_internal_merge_count),
               (double)rocksdb_perfcontext_metric(pc, rocksdb_merge_operator_time_nanos) / 1e6,
               rocksdb_perfcontext_metric(pc, rocksdb_block_read_count),
               (double)rocksdb_perfcontext_metric(pc, rocksdb_block_decompress_time) / 1e6);
        snprintf(label, sizeof(label), "%s [%s] again", qs[i].label, phase);
        time_query(s, from, to, qs[i].what, label);
    }
    rocksdb_perfcontext_destroy(pc);
}

/* Waits until no compaction is pending or running (all column families). */
static void wait_compactions(struct fl0wer_store *s)
{
    for (int busy = 1; busy;) {
        busy = 0;
        for (int i = 0; i < STORE_CF__COUNT; i++) {
            static const char *props[] = {"rocksdb.compaction-pending",
                                          "rocksdb.num-running-compactions",
                                          "rocksdb.num-running-flushes"};
            for (int j = 0; j < 3; j++) {
                char *v = rocksdb_property_value_cf(s->db, s->cf[i], props[j]);
                busy |= v && atoi(v) != 0;
                rocksdb_free(v);
            }
        }
        if (busy)
            usleep(10000);
    }
}

/*
 * What the store holds on disk as it is (no flush, no compaction): per column family its SST
 * bytes per level (files), its memtable; then the WAL and the total.
 */
static void hub_state(struct fl0wer_store *s, const char *dir, size_t n, const char *label)
{
    static const char *names[] = {"default", "flows", "rollups", "meta", "alerts"};
    const rocksdb_livefiles_t *lf = rocksdb_livefiles(s->db);
    int nf = lf ? rocksdb_livefiles_count(lf) : 0;
    uint64_t sst = 0;
    printf("state [%s]:\n", label);
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        uint64_t lv[8] = {0}, cnt[8] = {0}, b = 0;
        for (int j = 0; j < nf; j++) {
            int l = rocksdb_livefiles_level(lf, j);
            if (strcmp(rocksdb_livefiles_column_family_name(lf, j), names[i]) != 0 || l < 0 || l > 7)
                continue;
            lv[l] += rocksdb_livefiles_size(lf, j);
            cnt[l]++;
            b += rocksdb_livefiles_size(lf, j);
        }
        char *m = rocksdb_property_value_cf(s->db, s->cf[i], "rocksdb.cur-size-all-mem-tables");
        printf("  cf %-8s sst %10" PRIu64 " bytes %6.2f bytes/flow; memtable %" PRIu64
               " bytes; levels:", names[i], b, (double)b / (double)n, m ? (uint64_t)strtoull(m, NULL, 10) : 0);
        rocksdb_free(m);
        for (int l = 0; l < 8; l++)
            if (cnt[l])
                printf(" L%d %" PRIu64 " B in %" PRIu64 " files", l, lv[l], cnt[l]);
        printf("\n");
        sst += b;
    }
    if (lf)
        rocksdb_livefiles_destroy(lf);
    uint64_t wal = store_wal_bytes(dir);
    printf("  wal %10" PRIu64 " bytes %6.2f bytes/flow\n", wal, (double)wal / (double)n);
    printf("  disk (sst + wal) %10" PRIu64 " bytes %6.2f bytes/flow\n", sst + wal,
           (double)(sst + wal) / (double)n);
}

/*
 * BENCH_HUB=1: stores f[0..n) as a running hub does, in simulated time: each interval_s seconds
 * the flows that ended in it as one batch (split at batch flows), the settle rule of
 * fl0wer_store_settle_rollups judged on the simulated clock (a flush when no batch came for
 * FL0WER_STORE_SETTLE_IDLE_MS or the oldest unflushed one is FL0WER_STORE_SETTLE_MAX_AGE_MS
 * old), fl0wer_store_gc with the simulated time every minute; RocksDB's background work is let
 * finish after each step (a real hub's seconds between them). Returns 0 or 1.
 */
static int hub_sim(struct fl0wer_store *s, struct fl0wer_flow *f, size_t n, uint64_t t0,
                   uint64_t span, size_t batch, uint64_t interval_ms)
{
    uint64_t seq = 1, first = 0, last = 0, next_gc = t0 + 60000, gcs = 0, flushes = 0,
             hours = 0, joined = 0, sparse = 0;
    double gc_cpu = 0;
    size_t i = 0;
    for (uint64_t t = t0; t < t0 + span + 2 * interval_ms; t += interval_ms) {
        /* the edge's batches of the interval [t, t + interval) */
        while (i < n && f[i].last_ms < t + interval_ms) {
            struct fl0wer_batch b = {0};
            bool dup;
            size_t c = 0;
            while (i + c < n && c < batch && f[i + c].last_ms < t + interval_ms)
                c++;
            b.seq = seq++;
            b.flows = f + i;
            b.flow_count = c;
            if (fl0wer_store_put_batch(s, "edge", &b, &dup) != 0)
                return 1;
            i += c;
            last = t + interval_ms - 1;
            if (!first)
                first = last;
        }
        /* the settle ticks up to the next interval (1 s apart), on the simulated clock */
        for (uint64_t tick = t + 1000; tick <= t + interval_ms; tick += 1000) {
            bool flushed = false;
            if (first && (tick >= last + FL0WER_STORE_SETTLE_IDLE_MS ||
                          tick >= first + FL0WER_STORE_SETTLE_MAX_AGE_MS)) {
                /* due on the simulated clock: the store's own rule then holds on any mono */
                if (fl0wer_store_settle_rollups(s, UINT64_MAX / 2, &flushed) != 0)
                    return 1;
                first = 0;
                wait_compactions(s);
            }
            if (tick >= next_gc) {
                struct fl0wer_store_gc_result r;
                double c0 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
                if (fl0wer_store_gc(s, tick, &r) != 0)
                    return 1;
                gc_cpu += cpu_s(CLOCK_THREAD_CPUTIME_ID) - c0;
                gcs++;
#ifdef BENCH_GC_SETTLED /* counters of a store that settles data in gc */
                flushes += r.memtables_flushed;
                hours += r.flow_files_recompacted;
                joined += r.flow_blocks_joined;
#endif
#ifdef BENCH_GC_SPARSE
                sparse += r.address_hours_sparse;
#endif
                wait_compactions(s);
                next_gc += 60000;
            }
        }
    }
    printf("hub: %" PRIu64 " batches, %" PRIu64 " gc passes: %" PRIu64 " memtable flushes, %"
           PRIu64 " files recompacted, %" PRIu64 " flow blocks joined away, %" PRIu64
           " sparse hours; gc thread cpu %.3f s\n", seq - 1, gcs, flushes, hours, joined, sparse,
           gc_cpu);
    return 0;
}

/* Closes and reopens the store: a new, empty block cache (the files stay in the page cache). */
static struct fl0wer_store *reopen(struct fl0wer_store *s, const struct fl0wer_store_config *cfg)
{
    char err[256];
    fl0wer_store_close(s);
    if (fl0wer_store_open(&s, cfg, err) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return s;
}

/* Top-10 by an address dimension, first right after a reopen (cold block cache), then again. */
static void time_address(struct fl0wer_store **s, const struct fl0wer_store_config *cfg,
                         uint64_t from, uint64_t to, enum fl0wer_dimension dim, const char *range)
{
    char label[64];
    *s = reopen(*s, cfg);
    snprintf(label, sizeof(label), "top10 %s %s cold", fl0wer_dimension_name(dim), range);
    time_query(*s, from, to, dim, label);
    snprintf(label, sizeof(label), "top10 %s %s warm", fl0wer_dimension_name(dim), range);
    time_query(*s, from, to, dim, label);
}

static void sizes(struct fl0wer_store *s, size_t n)
{
    static const char *names[] = {"default", "flows", "rollups", "meta", "alerts"};
    uint64_t total = 0;
    /* rollups: forced through a full compaction, as the continuous merges of a running hub
       (every flush overlaps the keys of the last) rewrite them into the bottom level; flows
       keep their flushed files (time-ordered keys: later compactions only move them) */
    rocksdb_compactoptions_t *co = rocksdb_compactoptions_create();
    rocksdb_compactoptions_set_bottommost_level_compaction(co, 2 /* kForce */);
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        if (i == STORE_CF_ROLLUPS)
            rocksdb_compact_range_cf_opt(s->db, s->cf[i], co, NULL, 0, NULL, 0);
        else
            rocksdb_compact_range_cf(s->db, s->cf[i], NULL, 0, NULL, 0);
        char *v = rocksdb_property_value_cf(s->db, s->cf[i], "rocksdb.total-sst-files-size");
        uint64_t b = v ? strtoull(v, NULL, 10) : 0;
        rocksdb_free(v);
        total += b;
        printf("cf %-8s %12" PRIu64 " bytes  %6.2f bytes/flow\n", names[i], b, (double)b / (double)n);
    }
    rocksdb_compactoptions_destroy(co);
    printf("all sst  %12" PRIu64 " bytes  %6.2f bytes/flow\n", total, (double)total / (double)n);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_store DIR NFLOWS SPAN_S [NFCAPD_PORT]\n");
        return 2;
    }
    size_t n = strtoull(argv[2], NULL, 10), batch = 5000;
    if (getenv("BENCH_BATCH") && atoi(getenv("BENCH_BATCH")) > 0)
        batch = (size_t)atoi(getenv("BENCH_BATCH"));
    bool settle = getenv("BENCH_SETTLE") && atoi(getenv("BENCH_SETTLE"));
    uint64_t span = strtoull(argv[3], NULL, 10) * 1000, t0 = 1700000000000ull - 1700000000000ull % 3600000;
    struct fl0wer_flow *f = malloc(n * sizeof(*f));
    bytes_rem = getenv("BENCH_BYTES_REM") && atoi(getenv("BENCH_BYTES_REM"));
    for (size_t i = 0; i < n; i++)
        gen(&f[i], t0 + (uint64_t)((double)i * (double)span / (double)n));
    /* block payload before RocksDB compression */
    uint8_t *buf = malloc(store_block_bound(STORE_MAX_BLOCK_FLOWS));
    const struct fl0wer_flow *ptr[STORE_MAX_BLOCK_FLOWS];
    uint64_t enc = 0;
    for (size_t i = 0; i < n; i += STORE_MAX_BLOCK_FLOWS) {
        size_t c = n - i < STORE_MAX_BLOCK_FLOWS ? n - i : STORE_MAX_BLOCK_FLOWS;
        for (size_t j = 0; j < c; j++)
            ptr[j] = &f[i + j];
        enc += store_block_encode(ptr, c, buf);
    }
    printf("block encoding: %.2f bytes/flow before compression (record: 144)\n", (double)enc / (double)n);

    if (getenv("BENCH_MALLOPT") && atoi(getenv("BENCH_MALLOPT"))) {
        mallopt(M_MMAP_THRESHOLD, 4 << 20); /* freed heap kept for reuse, as hub/daemon/main.c */
        mallopt(M_TRIM_THRESHOLD, 128 << 20);
    }
    bool sync = getenv("BENCH_SYNC") && atoi(getenv("BENCH_SYNC"));
    struct fl0wer_store_config cfg = {.path = argv[1], .sync_writes = sync};
    struct fl0wer_store *s;
    char err[256];
    if (fl0wer_store_open(&s, &cfg, err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    uint64_t a = mono_us();
    double p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID), t0c = cpu_s(CLOCK_THREAD_CPUTIME_ID);
    bool hub = getenv("BENCH_HUB") && atoi(getenv("BENCH_HUB"));
    uint64_t interval_ms = 60000;
    if (getenv("BENCH_HUB_INTERVAL") && atoi(getenv("BENCH_HUB_INTERVAL")) > 0)
        interval_ms = (uint64_t)atoi(getenv("BENCH_HUB_INTERVAL")) * 1000;
    if (hub && hub_sim(s, f, n, t0, span, batch, interval_ms) != 0)
        return 1;
    for (size_t i = 0, seq = 1; !hub && i < n; i += batch, seq++) {
        struct fl0wer_batch b = {0};
        bool dup;
        b.seq = seq;
        b.flows = f + i;
        b.flow_count = n - i < batch ? n - i : batch;
        if (fl0wer_store_put_batch(s, "edge", &b, &dup) != 0)
            return 1;
        if (settle) { /* as the hub's settle tick: a rollups flush, not waited for */
            rocksdb_flushoptions_t *so = rocksdb_flushoptions_create();
            char *e = NULL;
            rocksdb_flushoptions_set_wait(so, 0);
            rocksdb_flush_cf(s->db, so, s->cf[STORE_CF_ROLLUPS], &e);
            rocksdb_free(e);
            rocksdb_flushoptions_destroy(so);
        }
    }
    double secs = (double)(mono_us() - a) / 1e6;
    double put_cpu = cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0c;
    bool fresh = getenv("BENCH_FRESH") && atoi(getenv("BENCH_FRESH"));
    uint64_t hour = t0 + (span > 3600000 ? span / 2 - span / 2 % 3600000 : 0);
    if (fresh)
        fresh_queries(s, t0, span, hour, "after ingest");
    if (hub)
        hub_state(s, argv[1], n, "running hub");
    /* memtables to SST files (ZSTD, merge operator): the rest of the cost of storing them */
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        char *e = NULL;
        uint64_t f0 = mono_us();
        double c0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
        rocksdb_flush_cf(s->db, fo, s->cf[i], &e);
        rocksdb_free(e);
        if (fresh && i == STORE_CF_ROLLUPS) /* merges every key's operands once */
            printf("flush of the rollups memtable: %.1f ms, %.1f ms process cpu\n",
                   (double)(mono_us() - f0) / 1e3, (cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3);
    }
    rocksdb_flushoptions_destroy(fo);
    if (settle) /* the compactions those flushes started count too */
        wait_compactions(s);
    double all_cpu = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
    if (fresh)
        fresh_queries(s, t0, span, hour, "after flush");
    printf("put_batch cpu (calling thread): %.0f ns/flow = %.0f flows per cpu-second\n",
           put_cpu * 1e9 / (double)n, (double)n / put_cpu);
    printf("ingest cpu incl. rocksdb threads and flush: %.0f ns/flow = %.0f flows per cpu-second\n",
           all_cpu * 1e9 / (double)n, (double)n / all_cpu);
    printf("ingest: %zu flows in %.2f s = %.0f flows/s (one thread, batches of %zu, %s)\n",
           n, secs, (double)n / secs, batch, sync ? "fsync per batch" : "no fsync");
    fl0wer_store_close(s);
    fl0wer_store_open(&s, &cfg, err);
    if (hub) /* what the hub holds after a clean restart, nothing forced */
        hub_state(s, argv[1], n, "after a clean restart");
    else
        sizes(s, n);
    if (fresh)
        fresh_queries(s, t0, span, hour, "after compaction");
    time_query(s, hour, hour + 3600000, -1, "summary 1h");
    time_query(s, hour + 1, hour + 3600000 - 1, -1, "summary 1h unaligned");
    time_query(s, hour, hour + 3600000, FL0WER_DIM_DSTPORT, "top10 dstport 1h");
    time_query(s, hour, hour + 3600000, FL0WER_DIM_SRCPORT, "top10 srcport 1h");
    time_query(s, hour, hour + 3600000, FL0WER_DIM_PROTO, "top10 proto 1h");
    time_query(s, hour, hour + 3600000, FL0WER_DIM_SRCIP, "top10 srcip 1h");
    time_query(s, hour, hour + 3600000, FL0WER_DIM_DSTPORT, "top10 dstport 1h again (warm)");
    time_query(s, t0, t0 + span, -1, "summary all");
    time_query(s, t0, t0 + span, FL0WER_DIM_DSTPORT, "top10 dstport all");
    time_query(s, t0, t0 + span, FL0WER_DIM_SRCPORT, "top10 srcport all");
    time_query(s, t0, t0 + span, FL0WER_DIM_SRCIP, "top10 srcip all");
    /* filtered summaries: over one port dimension's rollups, then one that needs raw blocks */
    static const char *const filters[] = {"dst port 443", "proto tcp and dst port 443",
                                          "proto tcp and src net 10.1.0.0/16"};
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        time_filtered(s, hour, hour + 3600000, filters[i], "1h");
        time_filtered(s, t0, t0 + span, filters[i], "all");
    }
    /* addresses: the hour and the whole data set, cold (reopened) and warm */
    time_address(&s, &cfg, hour, hour + 3600000, FL0WER_DIM_SRCIP, "1h");
    time_address(&s, &cfg, hour, hour + 3600000, FL0WER_DIM_DSTIP, "1h");
    time_address(&s, &cfg, t0, t0 + span, FL0WER_DIM_SRCIP, "all");
    time_address(&s, &cfg, t0, t0 + span, FL0WER_DIM_DSTIP, "all");
    fl0wer_store_close(s);
    if (argc > 4) {
        int sock = socket(AF_INET, SOCK_DGRAM, 0);
        send_v5(sock, atoi(argv[4]), f, n);
        close(sock);
    }
    free(f);
    free(buf);
    return 0;
}
