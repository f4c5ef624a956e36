/*
 * bench_query.c - one query against an existing store, repeated (for callgrind instruction
 * counts and interleaved before/after timings on the same files). The store is one that
 * bench_store left in DIR (its flows start at the same hour t0).
 *
 * usage: bench_query DIR SPAN_S WHAT REPS [HOUR]
 *   WHAT  summary, or a dimension name (srcport, dstport, srcip, ...) for a top-10 by bytes
 *   HOUR  query only that hour of the data (0-based) instead of the whole span
 * Prints the query's first row and the time of each run (the first right after opening: cold
 * block cache) with its thread CPU time and minor page faults, then the process CPU time.
 * BENCH_FILTER=EXPR filters the query (fl0wer_filter_compile).
 * BENCH_SHIFT_MIN=N moves the range N minutes later (partial hours at both ends).
 * BENCH_T0=S starts the range at S (seconds since the epoch) instead of bench_store's hour, to
 * query another store (a stopped hub's data directory).
 * BENCH_THREADS=N splits raw scans over N threads (fl0wer_query.threads; default 1).
 * BENCH_CACHE_MB=N sets the block cache (default 64 MiB): smaller than the range's blocks, every
 * run decompresses them again, as a long-running hub does for ranges larger than its cache
 * (with BENCH_MALLOPT=1 also reusing the memory of evicted blocks, as the hub does).
 * BENCH_MALLOPT=1 keeps freed heap as the hub daemon does (mallopt), so later runs reuse the
 * first one's pages.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "fl0wer/filter.h"
#include "fl0wer/query.h"
#include "fl0wer/store.h"

static long minflt(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_query DIR SPAN_S WHAT REPS [HOUR]\n");
        return 2;
    }
    uint64_t t0 = 1700000000000ull - 1700000000000ull % 3600000;
    if (getenv("BENCH_T0")) /* another store's first hour (s), e.g. a hub's data directory */
        t0 = strtoull(getenv("BENCH_T0"), NULL, 10) * 1000;
    uint64_t from = t0, to = t0 + strtoull(argv[2], NULL, 10) * 1000;
    int reps = atoi(argv[4]);
    enum fl0wer_dimension dim = FL0WER_DIM_SRCPORT;
    bool summary = strcmp(argv[3], "summary") == 0;
    if (!summary && fl0wer_dimension_parse(argv[3], &dim) != 0) {
        fprintf(stderr, "bench_query: unknown dimension %s\n", argv[3]);
        return 2;
    }
    if (argc > 5) {
        from = t0 + strtoull(argv[5], NULL, 10) * 3600000;
        to = from + 3600000;
    }
    if (getenv("BENCH_SHIFT_MIN")) { /* a range not on whole hours: [from, to) + N minutes */
        uint64_t shift = strtoull(getenv("BENCH_SHIFT_MIN"), NULL, 10) * 60000;
        from += shift;
        to += shift;
    }
    unsigned threads = getenv("BENCH_THREADS") ? (unsigned)atoi(getenv("BENCH_THREADS")) : 1;
    if (getenv("BENCH_MALLOPT") && atoi(getenv("BENCH_MALLOPT"))) {
        mallopt(M_MMAP_THRESHOLD, 4 << 20); /* as hub/daemon/main.c */
        mallopt(M_TRIM_THRESHOLD, 128 << 20);
    }
    struct fl0wer_store_config cfg = {.path = argv[1]};
    if (getenv("BENCH_CACHE_MB"))
        cfg.block_cache_bytes = strtoull(getenv("BENCH_CACHE_MB"), NULL, 10) << 20;
    struct fl0wer_store *s;
    char err[256];
    if (fl0wer_store_open(&s, &cfg, err) != 0) {
        fprintf(stderr, "bench_query: %s\n", err);
        return 1;
    }
    struct fl0wer_filter *flt = NULL;
    struct fl0wer_filter_error ferr;
    if (getenv("BENCH_FILTER") && fl0wer_filter_compile(getenv("BENCH_FILTER"), &flt, &ferr) != 0) {
        fprintf(stderr, "bench_query: BENCH_FILTER does not compile\n");
        return 2;
    }
    for (int r = 0; r < reps; r++) {
        struct fl0wer_query q = {from, to, flt, false, 600000, threads};
        struct fl0wer_top_row *rows = NULL;
        struct fl0wer_totals t = {0};
        size_t n = 0;
        long f0 = minflt();
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        uint64_t a = mono_us();
        int rc = summary ? fl0wer_query_summary(s, &q, &t)
                         : fl0wer_query_top(s, &q, dim, FL0WER_ORDER_BYTES, 10, &rows, &n);
        double ms = (double)(mono_us() - a) / 1000.0;
        long faults = minflt() - f0;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        double cpu = (double)(c1.tv_sec - c0.tv_sec) * 1e3 +
                     (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
        if (rc != 0) {
            fprintf(stderr, "bench_query: query failed: %d\n", rc);
            return 1;
        }
        if (summary)
            printf("run %d %.3f ms cpu %.3f ms %ld faults flows %" PRIu64 " bytes %" PRIu64 "\n",
                   r, ms, cpu, faults, t.flows, t.bytes);
        else
            printf("run %d %.3f ms cpu %.3f ms %ld faults rows %zu first %s %" PRIu64
                   " last %s %" PRIu64 "\n",
                   r, ms, cpu, faults, n,
                   n ? rows[0].key : "-", n ? rows[0].totals.bytes : 0, n ? rows[n - 1].key : "-",
                   n ? rows[n - 1].totals.bytes : 0);
        free(rows);
    }
    fl0wer_store_close(s);
    fl0wer_filter_destroy(flt);
    struct timespec c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    printf("process cpu %.3f s\n", (double)c.tv_sec + (double)c.tv_nsec / 1e9);
    return 0;
}
