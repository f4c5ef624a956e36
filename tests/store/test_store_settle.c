/*
 * test_store_settle.c - fl0wer_store_settle_rollups: when it flushes the rollups column family
 * (idle and age rules), that it flushes nothing twice, and that the rollup rows read the same
 * before and after the flush merged their operands. Real RocksDB in a temporary directory;
 * reaches into store_int.h for the memtable's entry count and the settle clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <time.h>
#include <unistd.h>

#include "fl0wer/query.h"
#include "fl0wer/store.h"
#include "store_int.h"
#include "store_testutil.h"

#define T0 1700000012345ull /* not minute-aligned */
#define NFLOWS 2000

struct row_sum {
    size_t rows;
    struct fl0wer_rollup_counters c;
    uint64_t key_mix; /* order-independent mix of (period, key, counters) */
};

static int sum_row(void *arg, uint64_t t_ms, const uint8_t *key, size_t klen,
                   const struct fl0wer_rollup_counters *c)
{
    struct row_sum *r = arg;
    uint64_t h = t_ms * 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < klen; i++)
        h = (h ^ key[i]) * 0x100000001b3ull;
    h ^= c->flows * 31 + c->bytes * 17 + c->packets;
    r->rows++;
    r->c.flows += c->flows;
    r->c.bytes += c->bytes;
    r->c.packets += c->packets;
    r->key_mix += h;
    return 0;
}

static struct row_sum read_rows(struct fl0wer_store *s, enum fl0wer_rollup_level level,
                                unsigned dim)
{
    struct row_sum r = {0};
    assert_int_equal(fl0wer_store_scan_rollups(s, level, dim, 0, 1000 * FL0WER_HOUR_MS * 1000,
                                               sum_row, &r),
                     0);
    return r;
}

static uint64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Entries in the rollups column family's active memtable. */
static uint64_t rollup_mem_entries(struct fl0wer_store *s)
{
    uint64_t v = 0;
    assert_int_equal(rocksdb_property_int_cf(s->db, s->cf[STORE_CF_ROLLUPS],
                                             "rocksdb.num-entries-active-mem-table", &v),
                     0);
    return v;
}

/* Waits (at most 10 s) until the started flush has emptied the rollups memtable. */
static void wait_flushed(struct fl0wer_store *s)
{
    for (int i = 0; i < 1000 && rollup_mem_entries(s) != 0; i++)
        usleep(10000);
    assert_int_equal(rollup_mem_entries(s), 0);
}

static void put(struct fl0wer_store *s, struct fl0wer_flow *flows, size_t n, uint64_t seq,
                uint64_t *bytes, uint64_t *nflows)
{
    bool dup = true;
    struct fl0wer_batch b = tu_batch(flows, n, seq);
    assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &b, &dup), 0);
    assert_false(dup);
    for (size_t i = 0; i < n; i++) {
        *bytes += flows[i].bytes * (flows[i].sampling ? flows[i].sampling : 1);
        *nflows += flows[i].flows;
    }
}

static void test_settle(void **state)
{
    (void)state;
    char dir[64];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir, .sync_writes = false};
    char err[256];
    struct tu_rng r = {7};
    struct fl0wer_flow *flows = malloc(NFLOWS * sizeof(*flows));
    uint64_t bytes = 0, nflows = 0;
    bool flushed = true;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    for (size_t i = 0; i < NFLOWS; i++)
        tu_flow(&r, &flows[i], T0, 5 * 60000);

    /* Nothing stored yet: never due. */
    assert_int_equal(fl0wer_store_settle_rollups(s, mono_now() + 3600000, &flushed), 0);
    assert_false(flushed);

    /* Three batches: the rollups are merge operands in the memtable. */
    put(s, flows, NFLOWS / 2, 1, &bytes, &nflows);
    put(s, flows + NFLOWS / 2, NFLOWS / 4, 2, &bytes, &nflows);
    put(s, flows + 3 * NFLOWS / 4, NFLOWS / 4, 3, &bytes, &nflows);
    uint64_t before_entries = rollup_mem_entries(s);
    assert_true(before_entries > 0);
    struct row_sum port_before = read_rows(s, FL0WER_ROLLUP_MINUTE, FL0WER_DIM_DSTPORT);
    struct row_sum total_before = read_rows(s, FL0WER_ROLLUP_HOUR, FL0WER_ROLLUP_TOTAL);
    assert_int_equal(total_before.c.flows, nflows);
    assert_int_equal(total_before.c.bytes, bytes);
    assert_int_equal(port_before.c.flows, nflows);

    /* Neither idle nor old yet. */
    uint64_t last = s->unsettled_last_ms, first = s->unsettled_first_ms;
    assert_true(first != 0 && first <= last);
    assert_int_equal(fl0wer_store_settle_rollups(s, last + FL0WER_STORE_SETTLE_IDLE_MS - 1,
                                                 &flushed),
                     0);
    assert_false(flushed);
    assert_int_equal(rollup_mem_entries(s), before_entries);

    /* Idle for FL0WER_STORE_SETTLE_IDLE_MS: flushed, and the rows read the same. */
    assert_int_equal(fl0wer_store_settle_rollups(s, last + FL0WER_STORE_SETTLE_IDLE_MS,
                                                 &flushed),
                     0);
    assert_true(flushed);
    wait_flushed(s);
    struct row_sum port_after = read_rows(s, FL0WER_ROLLUP_MINUTE, FL0WER_DIM_DSTPORT);
    struct row_sum total_after = read_rows(s, FL0WER_ROLLUP_HOUR, FL0WER_ROLLUP_TOTAL);
    assert_int_equal(port_after.rows, port_before.rows);
    assert_int_equal(port_after.key_mix, port_before.key_mix);
    assert_int_equal(port_after.c.bytes, port_before.c.bytes);
    assert_int_equal(total_after.c.flows, nflows);
    assert_int_equal(total_after.c.bytes, bytes);

    /* Nothing new since: not flushed again, however late. */
    assert_int_equal(fl0wer_store_settle_rollups(s, mono_now() + 3600000, &flushed), 0);
    assert_false(flushed);

    /* Steady ingest (never idle): flushed once the oldest unflushed batch is MAX_AGE old. */
    for (size_t i = 0; i < NFLOWS; i++)
        tu_flow(&r, &flows[i], T0 + FL0WER_HOUR_MS, 5 * 60000);
    put(s, flows, NFLOWS, 4, &bytes, &nflows);
    assert_true(rollup_mem_entries(s) > 0);
    first = s->unsettled_first_ms;
    s->unsettled_last_ms = first + FL0WER_STORE_SETTLE_MAX_AGE_MS - 1; /* a batch a moment ago */
    assert_int_equal(fl0wer_store_settle_rollups(s, first + FL0WER_STORE_SETTLE_MAX_AGE_MS - 1,
                                                 &flushed),
                     0);
    assert_false(flushed);
    assert_int_equal(fl0wer_store_settle_rollups(s, first + FL0WER_STORE_SETTLE_MAX_AGE_MS,
                                                 &flushed),
                     0);
    assert_true(flushed);
    wait_flushed(s);
    total_after = read_rows(s, FL0WER_ROLLUP_HOUR, FL0WER_ROLLUP_TOTAL);
    assert_int_equal(total_after.c.flows, nflows);
    assert_int_equal(total_after.c.bytes, bytes);

    assert_int_equal(fl0wer_store_settle_rollups(NULL, 0, &flushed), FL0WER_STORE_ERR_INVAL);
    fl0wer_store_close(s);
    tu_rmdir(dir);
    free(flows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
