/*
 * bench_merge.c - the rollup merge (store_rollup_merge) on its own, as a read right after an
 * ingest runs it: K operands of one hour's (protocol, destination port) array, one per batch of
 * 5,000 flows with bench_store's port mix (services, ephemeral ports, 10 % random), merged
 * REPS times. Prints each run's thread CPU time and minor faults, then the minimum.
 *
 * usage: bench_merge [K] [REPS]        (default 200 operands, 5 runs)
 * BENCH_MALLOPT=1 keeps freed heap for reuse as the hub daemon does (mallopt).
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "store_int.h"

static uint64_t rs = 12345;
static uint64_t rnd(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs;
}

static int cmp_key(const void *a, const void *b)
{
    return store_rollup_key_cmp(a, b);
}

/* One operand: 5,000 flows grouped by (protocol << 16 | dst port), sorted; returns its count. */
static size_t operand(struct store_rollup_entry *e)
{
    static const uint16_t svc[] = {443, 443, 443, 443, 80, 80, 53, 123, 22, 993, 25, 8080};
    size_t n = 0;
    for (int i = 0; i < 5000; i++) {
        uint32_t r = (uint32_t)(rnd() % 100), proto = r < 80 ? 6 : r < 98 ? 17 : 1, port;
        if (proto == 1)
            port = rnd() % 2 ? 0x0800 : 0;
        else if (rnd() % 10 == 0)
            port = (uint32_t)(1024 + rnd() % 60000);
        else
            port = rnd() % 2 ? svc[rnd() % 12] : (uint32_t)(32768 + rnd() % 28000);
        e[n].khi = 0;
        e[n].klo = proto << 16 | port;
        uint64_t pk = 1 + rnd() % 4000, by = pk * (40 + rnd() % 1460);
        e[n].c = (struct fl0wer_rollup_counters){1, by, pk, by, pk};
        n++;
    }
    qsort(e, n, sizeof(*e), cmp_key);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && e[m - 1].klo == e[i].klo) {
            e[m - 1].c.flows += e[i].c.flows;
            e[m - 1].c.bytes += e[i].c.bytes;
            e[m - 1].c.packets += e[i].c.packets;
            e[m - 1].c.raw_bytes += e[i].c.raw_bytes;
            e[m - 1].c.raw_packets += e[i].c.raw_packets;
        } else {
            e[m++] = e[i];
        }
    }
    return m;
}

static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

int main(int argc, char **argv)
{
    size_t k = argc > 1 ? strtoull(argv[1], NULL, 10) : 200;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    struct store_rollup_entry *e = malloc(5000 * sizeof(*e));
    const uint8_t **vals = malloc(k * sizeof(*vals));
    size_t *lens = malloc(k * sizeof(*lens)), rows = 0;
    double best = 1e30;

    if (getenv("BENCH_MALLOPT") && atoi(getenv("BENCH_MALLOPT"))) {
        mallopt(M_MMAP_THRESHOLD, 4 << 20);
        mallopt(M_TRIM_THRESHOLD, 128 << 20);
    }
    for (size_t i = 0; i < k; i++) {
        size_t n = operand(e);
        uint8_t *v = malloc(store_rollup_bound(n));
        lens[i] = store_rollup_encode(4, e, n, false, v);
        vals[i] = v;
        rows += n;
    }
    for (int r = 0; r < reps; r++) {
        uint8_t *out;
        size_t out_len;
        long f0 = minflt();
        double t0 = thread_cpu_ms();
        int rc = store_rollup_merge(vals, lens, k, 0, &out, &out_len);
        double ms = thread_cpu_ms() - t0;
        struct store_rollup_reader rd;
        if (rc != 0 || store_rollup_open(&rd, out, out_len) != 0) {
            fprintf(stderr, "bench_merge: merge failed: %d\n", rc);
            return 1;
        }
        printf("run %d: %zu operands, %zu rows -> %zu keys, %zu bytes: %.2f ms cpu, %ld faults\n",
               r, k, rows, rd.n, out_len, ms, minflt() - f0);
        best = ms < best ? ms : best;
        free(out);
    }
    printf("min %.2f ms cpu\n", best);
    for (size_t i = 0; i < k; i++)
        free((void *)vals[i]);
    free(vals);
    free(lens);
    free(e);
    return 0;
}
