/*
 * test_store_chunks.c - the key chunks a raw scan is shared out by (store_flow_key_chunks) and
 * the key-bounded scan each thread runs (store_scan_flow_soa_keys), against a real RocksDB: the
 * chunks are contiguous, open at both ends, cut a dense minute by batches (edge by edge when
 * several send in it) and a long range by time, and scanning them apart yields every flow of
 * the range exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_int.h"
#include "store_testutil.h"

#define MIN    60000ull
#define T0     (1700000000000ull - 1700000000000ull % (60 * MIN)) /* hour-aligned */
#define DENSE  40 /* batches of one edge in minute T0 + 5 min */
#define PER    25 /* flows per batch */
#define SPREAD 30 /* batches of another edge, one a minute from T0 + 20 min */

struct fixture {
    char dir[64];
    struct fl0wer_store *s;
};

/* Counts the flows a scan marks as in range. */
static int count_cb(void *arg, struct store_flow_soa *cols, uint64_t *sel)
{
    size_t *n = arg;
    for (size_t w = 0; w < (cols->view.n + 63) / 64; w++)
        *n += (size_t)__builtin_popcountll(sel[w]);
    return 0;
}

static size_t scan_count(struct fl0wer_store *s, uint64_t from, uint64_t to,
                         const struct store_key_range *keys)
{
    size_t n = 0;
    assert_int_equal(store_scan_flow_soa_keys(s, from, to, keys, STORE_COL_FLOWS, count_cb, &n), 0);
    return n;
}

static void put(struct fl0wer_store *s, const char *edge, uint64_t seq, uint64_t t_ms)
{
    struct fl0wer_flow f[PER];
    struct tu_rng r = {seq * 7919 + (uint64_t)edge[5]};
    bool dup;

    for (size_t i = 0; i < PER; i++)
        tu_flow(&r, &f[i], t_ms, MIN);
    struct fl0wer_batch b = tu_batch(f, PER, seq);
    assert_int_equal(fl0wer_store_put_batch(s, edge, &b, &dup), 0);
    assert_false(dup);
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    struct fl0wer_store_config cfg = {0};
    char err[256];

    assert_non_null(tu_tmpdir(fx->dir, sizeof(fx->dir)));
    cfg.path = fx->dir;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    for (uint64_t q = 1; q <= DENSE; q++)
        put(fx->s, "edge-a", q, T0 + 5 * MIN);
    for (uint64_t q = 1; q <= SPREAD; q++)
        put(fx->s, "edge-b", 100 + q, T0 + (19 + q) * MIN);
    for (uint64_t q = 1; q <= 24; q++) {
        put(fx->s, "edge-c", 200 + q, T0 + 55 * MIN);
        put(fx->s, "edge-d", 300 + q, T0 + 55 * MIN);
        if (q <= 16)
            put(fx->s, "edge-e", 400 + q, T0 + 55 * MIN);
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fl0wer_store_close(fx->s);
    tu_rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Asserts c[0..n) are contiguous and open at both ends, and that scanning them apart counts
 * exactly the flows of one scan of the whole range; returns the per-chunk counts in got. */
static void check_cover(struct fl0wer_store *s, uint64_t from, uint64_t to,
                        const struct store_key_range *c, size_t n, size_t *got)
{
    size_t sum = 0;

    assert_int_equal(c[0].lo_len, 0);
    assert_int_equal(c[n - 1].hi_len, 0);
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(c[i].hi_len, c[i + 1].lo_len);
        assert_memory_equal(c[i].hi, c[i + 1].lo, c[i].hi_len);
        if (i > 0)
            assert_true(store_key_cmp(c[i].lo, c[i].lo_len, c[i].hi, c[i].hi_len) < 0);
    }
    for (size_t i = 0; i < n; i++)
        sum += got[i] = scan_count(s, from, to, &c[i]);
    assert_int_equal(sum, scan_count(s, from, to, NULL));
}

static void test_dense_minute_by_batches(void **state)
{
    struct fixture *fx = *state;
    struct store_key_range c[8 + STORE_SPLIT_MAX_GROUPS];
    size_t n = 0, got[8 + STORE_SPLIT_MAX_GROUPS];

    assert_int_equal(store_flow_key_chunks(fx->s, T0 + 5 * MIN, T0 + 6 * MIN, c, 8, &n), 0);
    assert_int_equal(n, 8);
    check_cover(fx->s, T0 + 5 * MIN, T0 + 6 * MIN, c, n, got);
    /* batches 1..40 cut at 1 + 39 i / 8: 5 batches of 25 flows in each chunk */
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], 5 * PER);
    /* a part of the minute: the same cuts, the flows of that part only */
    assert_int_equal(
        store_flow_key_chunks(fx->s, T0 + 5 * MIN + 15000, T0 + 5 * MIN + 45000, c, 8, &n), 0);
    assert_int_equal(n, 8);
    check_cover(fx->s, T0 + 5 * MIN + 15000, T0 + 5 * MIN + 45000, c, n, got);
}

static void test_long_range_by_time(void **state)
{
    struct fixture *fx = *state;
    struct store_key_range c[6 + STORE_SPLIT_MAX_GROUPS];
    size_t n = 0, got[6 + STORE_SPLIT_MAX_GROUPS];

    /* edge-b's 30 minutes, one batch each: cut by minute, 5 minutes a chunk */
    assert_int_equal(store_flow_key_chunks(fx->s, T0 + 20 * MIN, T0 + 50 * MIN, c, 6, &n), 0);
    assert_int_equal(n, 6);
    check_cover(fx->s, T0 + 20 * MIN, T0 + 50 * MIN, c, n, got);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], 5 * PER);
    /* everything: both edges, every flow once */
    assert_int_equal(store_flow_key_chunks(fx->s, T0, T0 + 60 * MIN, c, 6, &n), 0);
    assert_true(n > 1);
    check_cover(fx->s, T0, T0 + 60 * MIN, c, n, got);
    assert_int_equal(scan_count(fx->s, T0, T0 + 60 * MIN, NULL), (DENSE + SPREAD + 64) * PER);
}

/* Three edges in one minute (24, 24 and 16 batches): each gets a share of the chunks by its
   batches (3, 3 and 2 of 8), cut by batches, instead of cuts in the edges' hash space. */
static void test_dense_minute_by_edges(void **state)
{
    struct fixture *fx = *state;
    struct store_key_range c[8 + STORE_SPLIT_MAX_GROUPS];
    size_t n = 0, got[8 + STORE_SPLIT_MAX_GROUPS], most = 0;

    assert_int_equal(store_flow_key_chunks(fx->s, T0 + 55 * MIN, T0 + 56 * MIN, c, 8, &n), 0);
    assert_int_equal(n, 8);
    check_cover(fx->s, T0 + 55 * MIN, T0 + 56 * MIN, c, n, got);
    for (size_t i = 0; i < n; i++)
        most = got[i] > most ? got[i] : most;
    /* 24 batches in 3 chunks: 8 each at most (1 + 23 i / 3 cuts), 16 in 2: 8 */
    assert_int_equal(most, 8 * PER);
    assert_int_equal(scan_count(fx->s, T0 + 55 * MIN, T0 + 56 * MIN, NULL), 64 * PER);
}

static void test_not_cut(void **state)
{
    struct fixture *fx = *state;
    struct store_key_range c[8 + STORE_SPLIT_MAX_GROUPS];
    size_t n = 9;

    /* one batch: one chunk, open */
    assert_int_equal(store_flow_key_chunks(fx->s, T0 + 20 * MIN, T0 + 21 * MIN, c, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(c[0].lo_len + c[0].hi_len, 0);
    /* nothing stored there */
    assert_int_equal(store_flow_key_chunks(fx->s, T0 + 7 * MIN, T0 + 19 * MIN, c, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_flow_key_chunks(fx->s, T0, T0, c, 8, &n), FL0WER_STORE_ERR_INVAL);
    assert_int_equal(store_flow_key_chunks(fx->s, T0, T0 + MIN, c, 0, &n), FL0WER_STORE_ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dense_minute_by_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_range_by_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dense_minute_by_edges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_cut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
