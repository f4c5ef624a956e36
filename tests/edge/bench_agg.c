/*
 * bench_agg.c - not a test: CPU per record of the edge's aggregator alone (edge_agg_add, then
 * flush_all) over N distinct IPv4 flows in one bucket, added 24 at a time as a decoder would,
 * into a sink that only counts; for instruction counts run it under callgrind.
 *
 * usage: bench_edge_agg [N (default 1000000)] [PCT (--aggregate-min-reduction, default 10)]
 *        [ROUNDS (default 2: the second round reuses the warm pool)]
 * prints: one line per round with the CPU ns per record, records out and records bypassed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agg.h"

struct count_sink {
    size_t n;
    uint64_t bytes;
};

static size_t count_emit(void *arg, const struct fl0wer_flow *flows, size_t count, bool wait)
{
    struct count_sink *s = arg;
    (void)wait;
    for (size_t i = 0; i < count; i++)
        s->bytes += flows[i].bytes;
    s->n += count;
    return count;
}

static double cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    unsigned pct = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10;
    unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2;
    struct fl0wer_flow *f = calloc(n, sizeof(*f));
    if (!f)
        return 1;
    uint64_t t0 = 1700000000000ull;
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) { /* distinct keys: src address, ports vary */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        fl0wer_flow_init(&f[i]);
        fl0wer_addr_from_v4(f[i].exporter, (uint8_t[4]){192, 0, 2, 1});
        fl0wer_addr_from_v4(f[i].src_addr,
                            (uint8_t[4]){10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i});
        fl0wer_addr_from_v4(f[i].dst_addr, (uint8_t[4]){198, 18, 0, (uint8_t)(x % 200)});
        f[i].src_port = (uint16_t)(1024 + x % 60000);
        f[i].dst_port = (uint16_t)(x >> 20) % 1024;
        f[i].proto = 6;
        f[i].version = 9;
        f[i].sampling = 1;
        f[i].last_ms = t0 + i % 50000;
        f[i].first_ms = f[i].last_ms - 100;
        f[i].bytes = 40 + x % 1500;
        f[i].packets = 1;
        f[i].flows = 1;
    }
    struct count_sink sink = {0};
    struct edge_agg *a;
    struct edge_agg_config cfg = {.bucket_s = 60, .grace_s = 5, .min_reduction_pct = pct};
    if (edge_agg_create(&a, &cfg, count_emit, &sink) != 0)
        return 1;
    for (unsigned r = 0; r < rounds; r++) {
        size_t out0 = sink.n;
        struct edge_agg_stats st0, st;
        edge_agg_stats(a, &st0);
        double c0 = cpu_ns();
        for (size_t i = 0; i < n; i += 24)
            edge_agg_add(a, f + i, n - i < 24 ? n - i : 24, t0 + 1000);
        edge_agg_flush_all(a);
        double c1 = cpu_ns();
        edge_agg_stats(a, &st);
        printf("round %u: %.1f CPU ns/record, %zu records out, %llu bypassed, sampled=%d\n", r,
               (c1 - c0) / (double)n, sink.n - out0,
               (unsigned long long)(st.bypassed - st0.bypassed), st.sampled);
    }
    edge_agg_destroy(a);
    free(f);
    return 0;
}
