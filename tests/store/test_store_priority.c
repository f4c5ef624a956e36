/*
 * test_store_priority.c - the store runs RocksDB's compactions at the lowest CPU priority
 * (nice 19) and leaves flushes and the caller's threads at their own: after a burst of ingest,
 * queries must not wait behind compactions. Real RocksDB in a temporary directory; reads each
 * thread's name and nice value from /proc/self/task; reaches into store_int.h to compact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fl0wer/store.h"
#include "store_int.h"
#include "store_testutil.h"

#define NFLOWS 3000

/* The nice value (field 19 of stat) of the first thread named name, or 99 when there is none. */
static int thread_nice(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int nice = 99;
    assert_non_null(d);
    while (nice == 99 && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "", stat[1024];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        f = fopen(path, "r");
        assert_non_null(f);
        size_t n = fread(stat, 1, sizeof(stat) - 1, f);
        fclose(f);
        stat[n] = '\0';
        /* after the ")" closing the name: state is field 3, nice field 19 */
        const char *p = strrchr(stat, ')');
        assert_non_null(p);
        long v[17];
        char state;
        assert_int_equal(sscanf(p + 2, "%c %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld "
                                       "%ld %ld %ld", &state, &v[0], &v[1], &v[2], &v[3], &v[4],
                                &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12],
                                &v[13], &v[14], &v[15]),
                         17);
        nice = (int)v[15];
    }
    closedir(d);
    return nice;
}

static void test_compactions_niced(void **state)
{
    (void)state;
    char dir[64];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir, .sync_writes = false};
    char err[256], *rerr = NULL;
    struct tu_rng r = {11};
    struct fl0wer_flow *flows = malloc(NFLOWS * sizeof(*flows));
    bool dup = true;

    assert_non_null(flows);
    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    for (size_t i = 0; i < NFLOWS; i++)
        tu_flow(&r, &flows[i], 1700000000000ull, 10 * 60000);
    struct fl0wer_batch b = tu_batch(flows, NFLOWS, 1);
    assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &b, &dup), 0);
    assert_false(dup);

    /* A manual compaction runs on the compaction (low) pool; the flush it needs first on the
       high pool. Both pools' threads are named by RocksDB ("rocksdb:low", "rocksdb:high"). */
    rocksdb_compact_range_cf(s->db, s->cf[STORE_CF_FLOWS], NULL, 0, NULL, 0);
    rocksdb_compact_range_cf(s->db, s->cf[STORE_CF_ROLLUPS], NULL, 0, NULL, 0);
    rocksdb_flush_wal(s->db, 1, &rerr);
    assert_null(rerr);
    assert_int_equal(thread_nice("rocksdb:low"), 19);
    assert_int_equal(thread_nice("rocksdb:high"), 0);
    assert_int_equal(nice(0), 0); /* the caller's thread keeps its priority */

    fl0wer_store_close(s);
    tu_rmdir(dir);
    free(flows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compactions_niced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
