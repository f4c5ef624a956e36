/*
 * bench_spool.c - CPU cost of the edge spool per batch (not a test): each round stores one
 * signed-batch-sized buffer (edge_spool_put_many), takes it for sending (edge_spool_take) and
 * deletes it as if acked, the way the spool writer and the sender use the spool when the hub
 * keeps up. Prints user + system CPU microseconds per batch for each mode:
 *   sync      fdatasync each batch file before it enters the index (--spool-sync 0)
 *   nosync    written without fsync, group commit every GROUP batches (--spool-sync MS)
 *   ...-disk  the same without EDGE_SPOOL_KEEP: the sender reads the file back (the old path)
 *   backlog   nosync, but the hub is slow: GROUP batches are stored, all still unacked when the
 *             group commit runs (edge_spool_sync fdatasyncs every one), then taken and deleted
 *   burst     the same without the group commit (the hub acks the burst within --spool-sync)
 * (and the wall-clock us per batch, which includes waiting for the disk)
 *
 * usage: bench_edge_spool [DIR] [BATCHES] [BYTES] [GROUP] [MODE]   (defaults: a temp dir under
 *        /tmp, 1000, 65536, 100, every mode)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

static double cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

#define BENCH_BACKLOG 0x100u /* not spool flags: the loop shape of the "backlog" mode */
#define BENCH_NOCOMMIT 0x200u /* "burst": backlog without the group commit */

static double wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* backlog mode: stores group batches, group-commits them all, then takes and deletes them.
 * Returns 0 or -1. */
static int run_backlog_group(struct edge_spool *s, size_t group, size_t bytes, size_t first,
                             bool commit)
{
    uint64_t seqs[1024];
    if (group > 1024)
        return -1;
    for (size_t k = 0; k < group; k++) {
        uint8_t *buf = malloc(bytes);
        if (!buf || edge_spool_next_seq(s, &seqs[k]) != 0)
            return -1;
        memset(buf, (int)(first + k), bytes);
        struct edge_spool_item it = {.seq = seqs[k], .records = 1000, .buf = buf, .len = bytes};
        if (edge_spool_put_many(s, &it, 1, EDGE_SPOOL_KEEP | EDGE_SPOOL_NOSYNC, 1, NULL) != 0)
            return -1;
        free(it.buf);
    }
    size_t synced = 0;
    if (commit && (edge_spool_sync(s, UINT64_MAX, &synced, NULL) != 0 || synced != group))
        return -1;
    for (size_t k = 0; k < group; k++) {
        uint8_t *out;
        size_t len;
        uint64_t got_seq;
        uint32_t records;
        if (edge_spool_take(s, 0, &out, &len, &got_seq, &records) != 1 || got_seq != seqs[k])
            return -1;
        free(out);
        edge_spool_delete(s, got_seq);
    }
    return 0;
}

/* Runs one mode over a fresh spool in dir; returns CPU us per batch, or -1 on error. */
static double run(const char *dir, unsigned flags, size_t batches, size_t bytes, size_t group)
{
    char err[256];
    struct edge_spool *s;
    if (edge_spool_open(&s, dir, (uint64_t)1 << 40, err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    double t0 = cpu_us(), w0 = wall_us();
    for (size_t i = 0; (flags & BENCH_BACKLOG) && i < batches; i += group) {
        if (run_backlog_group(s, group, bytes, i, !(flags & BENCH_NOCOMMIT)) != 0)
            return -1;
    }
    for (size_t i = 0; !(flags & BENCH_BACKLOG) && i < batches; i++) {
        uint64_t seq, got_seq;
        uint32_t records;
        uint8_t *buf = malloc(bytes), *out;
        size_t len;
        memset(buf, (int)i, bytes);
        if (!buf || edge_spool_next_seq(s, &seq) != 0)
            return -1;
        struct edge_spool_item it = {.seq = seq, .records = 1000, .buf = buf, .len = bytes};
        if (edge_spool_put_many(s, &it, 1, flags, 1, NULL) != 0)
            return -1;
        free(it.buf);
        if (edge_spool_take(s, 0, &out, &len, &got_seq, &records) != 1 || got_seq != seq)
            return -1;
        free(out);
        edge_spool_delete(s, seq);
        if ((flags & EDGE_SPOOL_NOSYNC) && (i + 1) % group == 0)
            edge_spool_sync(s, UINT64_MAX, NULL, NULL);
    }
    double per = (cpu_us() - t0) / (double)batches;
    double wall = (wall_us() - w0) / (double)batches;
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    printf("  (%llu written over recycled files, %llu read back, %llu fsyncs, %.1f us wall per "
           "batch)\n", (unsigned long long)st.recycled_writes, (unsigned long long)st.disk_reads,
           (unsigned long long)st.syncs, wall);
    edge_spool_close(s);
    return per;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/fl0wer-bench-spool-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmp);
    size_t batches = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    size_t bytes = argc > 3 ? strtoul(argv[3], NULL, 10) : 65536;
    size_t group = argc > 4 ? strtoul(argv[4], NULL, 10) : 100;
    static const struct {
        const char *name;
        unsigned flags;
    } modes[] = {
        {"sync-disk", 0},
        {"sync", EDGE_SPOOL_KEEP},
        {"nosync-disk", EDGE_SPOOL_NOSYNC},
        {"nosync", EDGE_SPOOL_KEEP | EDGE_SPOOL_NOSYNC},
        {"backlog", BENCH_BACKLOG},
        {"burst", BENCH_BACKLOG | BENCH_NOCOMMIT},
    };
    if (!dir || !batches || !bytes || !group)
        return 2;
    printf("%zu batches of %zu bytes, group commit every %zu (nosync modes), spool %s\n", batches,
           bytes, group, dir);
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        if (argc > 5 && strcmp(argv[5], modes[m].name) != 0)
            continue;
        double us = run(dir, modes[m].flags, batches, bytes, group);
        if (us < 0) {
            fprintf(stderr, "%s: spool error\n", modes[m].name);
            return 1;
        }
        printf("%-12s %8.1f us CPU per batch\n", modes[m].name, us);
    }
    if (argc <= 1) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : 1;
    }
    return 0;
}
