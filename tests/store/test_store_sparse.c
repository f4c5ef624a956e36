/*
 * test_store_sparse.c - gc's markers over the address arrays of sparse settled hours (sparse.c):
 * a settled hour of fewer than STORE_SPARSE_HOUR_FLOWS flows gets empty truncated srcip/dstip
 * arrays (hour, and minute ones when the store has them) exactly once, the mark (meta v/sparse)
 * advancing hour by hour and surviving a reopen; a dense hour, an unsettled one and one whose raw
 * flows were partly removed keep theirs; a late batch merged onto a marker leaves it an empty
 * truncated array (before and after a compaction) while the other dimensions count the late
 * flows; an hour whose totals cannot be read is skipped; and the merge of a marker with any
 * array is the marker. Real RocksDB in a temporary directory; reaches into store_int.h for the
 * rollup keys and arrays.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fl0wer/store.h"
#include "store_int.h"
#include "store_testutil.h"

#define HOUR0 (1700000000000ull - 1700000000000ull % FL0WER_HOUR_MS)
#define H0    (HOUR0 / FL0WER_HOUR_MS)

/* One stored array, as read back (merge operands merged). */
struct array {
    bool present, truncated;
    size_t rows;
    uint64_t flows; /* sum of the rows' flow counts */
};

static struct array get_array(struct fl0wer_store *s, uint8_t level, unsigned dim, uint64_t period)
{
    uint8_t key[STORE_ROLLUP_KEY_LEN] = {level, (uint8_t)dim};
    struct array a = {0};
    char *err = NULL;
    size_t len = 0;

    store_be64(key + 2, period);
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_ROLLUPS], (const char *)key,
                             sizeof(key), &len, &err);
    assert_null(err);
    if (!v)
        return a;
    struct store_rollup_reader r;
    struct store_rollup_entry e;
    int got;
    assert_int_equal(store_rollup_open(&r, (const uint8_t *)v, len), 0);
    a.present = true;
    a.truncated = r.truncated;
    while ((got = store_rollup_next(&r, &e)) > 0) {
        a.rows++;
        a.flows += e.c.flows;
    }
    assert_int_equal(got, 0);
    rocksdb_free(v);
    return a;
}

/* The stored mark (hour number), or UINT64_MAX when absent. */
static uint64_t stored_mark(struct fl0wer_store *s)
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_SPARSE,
                             strlen(STORE_META_SPARSE), &len, &err);
    assert_null(err);
    if (!v)
        return UINT64_MAX;
    assert_int_equal(len, 8);
    uint64_t m = store_get_be64((const uint8_t *)v);
    rocksdb_free(v);
    return m;
}

/* n random records of flows_each flows each, ending in hour h (hours since HOUR0), put as one
   batch with sequence number seq. Returns the flows put. */
static uint64_t put_hour(struct fl0wer_store *s, unsigned h, size_t n, uint64_t flows_each,
                         uint64_t seed, uint64_t seq)
{
    struct tu_rng r = {seed};
    struct fl0wer_flow *f = malloc(n * sizeof(*f));
    uint64_t total = 0;
    bool dup;
    for (size_t i = 0; i < n; i++) {
        tu_flow(&r, &f[i], HOUR0 + h * FL0WER_HOUR_MS, FL0WER_HOUR_MS);
        f[i].flows = flows_each;
        total += flows_each;
    }
    struct fl0wer_batch b = tu_batch(f, n, seq);
    assert_int_equal(fl0wer_store_put_batch(s, "edge", &b, &dup), 0);
    assert_false(dup);
    free(f);
    return total;
}

static void assert_marker(struct fl0wer_store *s, uint8_t level, uint64_t period)
{
    for (unsigned dim = 0; dim < 2; dim++) {
        struct array a = get_array(s, level, dim, period);
        assert_true(a.present);
        assert_true(a.truncated);
        assert_int_equal(a.rows, 0);
    }
}

/* Untouched: exact arrays of every flow of the hour (flows counted per address). */
static void assert_exact(struct fl0wer_store *s, uint64_t hour, uint64_t flows)
{
    for (unsigned dim = 0; dim < 2; dim++) {
        struct array a = get_array(s, 'h', dim, hour);
        assert_true(a.present);
        assert_false(a.truncated);
        assert_true(a.rows > 1);
        assert_int_equal(a.flows, flows);
    }
}

static void compact_rollups(struct fl0wer_store *s)
{
    assert_int_equal(store_flush_all(s), 0);
    rocksdb_compact_range_cf(s->db, s->cf[STORE_CF_ROLLUPS], NULL, 0, NULL, 0);
}

static void test_sparse_hours(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    /* hour 0 sparse (one flow under the bound: records of several flows each, as a
       pre-aggregating edge sends them), hour 1 dense (at the bound), hour 3 sparse */
    uint64_t f0 = put_hour(s, 0, STORE_SPARSE_HOUR_FLOWS / 64 - 1, 64, 1, 1);
    f0 += put_hour(s, 0, 1, 63, 4, 2);
    uint64_t f1 = put_hour(s, 1, STORE_SPARSE_HOUR_FLOWS / 64, 64, 2, 3);
    uint64_t f3 = put_hour(s, 3, 500, 1, 3, 4);
    assert_int_equal(f0, STORE_SPARSE_HOUR_FLOWS - 1);
    assert_int_equal(f1, STORE_SPARSE_HOUR_FLOWS);
    assert_exact(s, H0, f0);
    assert_exact(s, H0 + 1, f1);

    /* hour 0 is settled at HOUR0 + 3 h (2 h lag, whole hours): nothing before */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 3 * FL0WER_HOUR_MS - 1, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);
    assert_exact(s, H0, f0);
    assert_int_equal(stored_mark(s), H0); /* no hour before H0 holds data */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 3 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 1);
    assert_marker(s, 'h', H0);
    assert_exact(s, H0 + 1, f1);
    assert_int_equal(stored_mark(s), H0 + 1);
    /* the other dimensions are untouched: the hour totals still count every flow */
    struct array tot = get_array(s, 'h', FL0WER_ROLLUP_TOTAL, H0);
    assert_int_equal(tot.flows, f0);

    /* hours 1 (dense) and 2 (empty) are looked at, nothing marked; then hour 3 */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 5 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);
    assert_int_equal(stored_mark(s), H0 + 3);
    assert_exact(s, H0 + 1, f1);
    assert_exact(s, H0 + 3, f3);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 6 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 1);
    assert_marker(s, 'h', H0 + 3);
    assert_int_equal(stored_mark(s), H0 + 4);

    /* once: later passes, also after a reopen, mark nothing again */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 6 * FL0WER_HOUR_MS + 60000, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);
    fl0wer_store_close(s);
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 7 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);
    assert_int_equal(stored_mark(s), H0 + 5);
    assert_marker(s, 'h', H0);
    assert_exact(s, H0 + 1, f1);

    /* a late batch into hour 0 lands on the marker: still an empty truncated array, read with
       its operand unmerged and after a compaction; the totals count the late flows */
    uint64_t late = put_hour(s, 0, 40, 1, 77, 5);
    assert_marker(s, 'h', H0);
    compact_rollups(s);
    assert_marker(s, 'h', H0);
    tot = get_array(s, 'h', FL0WER_ROLLUP_TOTAL, H0);
    assert_int_equal(tot.flows, f0 + late);
    assert_exact(s, H0 + 1, f1);
    /* and it is not looked at again */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 8 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);

    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* A store with minute address arrays: a sparse hour's minute arrays become markers too. */
static void test_sparse_minutes(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir, .address_k_minute = 1000};
    struct fl0wer_store_gc_result res;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    put_hour(s, 0, 300, 1, 5, 1);
    put_hour(s, 1, 300, 1, 6, 2); /* not settled at the gc below */
    size_t minutes = 0;
    for (uint64_t m = 0; m < 60; m++)
        minutes += get_array(s, 'm', 0, H0 * 60 + m).present;
    assert_true(minutes > 50);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 3 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 1);
    assert_marker(s, 'h', H0);
    size_t marked = 0;
    for (uint64_t m = 0; m < 60; m++) {
        if (!get_array(s, 'm', 0, H0 * 60 + m).present) {
            assert_false(get_array(s, 'm', 1, H0 * 60 + m).present); /* none created */
            continue;
        }
        assert_marker(s, 'm', H0 * 60 + m);
        marked++;
    }
    assert_int_equal(marked, minutes);
    /* the next hour's minutes are untouched */
    for (uint64_t m = 0; m < 60; m++) {
        struct array a = get_array(s, 'm', 0, (H0 + 1) * 60 + m);
        assert_false(a.truncated);
        assert_true(!a.present || a.rows > 0);
    }
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* An hour some of whose raw flows retention removed keeps its arrays: nothing else holds its
   addresses any more. */
static void test_sparse_after_raw_cut(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir, .retention_ms = 2 * FL0WER_HOUR_MS + 1800000};
    struct fl0wer_store_gc_result res;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    uint64_t f0 = put_hour(s, 0, 300, 1, 7, 1);
    uint64_t f1 = put_hour(s, 1, 300, 1, 8, 2);
    /* at HOUR0 + 4 h: hours 0 and 1 settled; the raw cut (HOUR0 + 1 h 30 min) lies after hour
       0's start and inside hour 1: neither is marked */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 4 * FL0WER_HOUR_MS, &res), 0);
    assert_true(res.flow_blocks_removed > 0);
    assert_int_equal(res.address_hours_sparse, 0);
    assert_exact(s, H0, f0);
    assert_exact(s, H0 + 1, f1);
    assert_int_equal(stored_mark(s), H0 + 2);
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* The flows put_hour(s, h, n, 1, seed, ...) put, made again. */
static void hour_flows_of(unsigned h, size_t n, uint64_t seed, struct fl0wer_flow *f)
{
    struct tu_rng r = {seed};
    for (size_t i = 0; i < n; i++) {
        tu_flow(&r, &f[i], HOUR0 + h * FL0WER_HOUR_MS, FL0WER_HOUR_MS);
        f[i].flows = 1;
    }
}

/* The stored address arrays of hour h hold, row by row, exactly the sums of f[0..n) by source
   and by destination address (scaled and raw counters), untruncated. */
static void assert_rows(struct fl0wer_store *s, uint64_t h, const struct fl0wer_flow *f, size_t n)
{
    for (unsigned dim = 0; dim < 2; dim++) {
        uint8_t key[STORE_ROLLUP_KEY_LEN] = {'h', (uint8_t)dim};
        struct store_rollup_reader r;
        struct store_rollup_entry e;
        char *err = NULL;
        size_t len = 0, rows = 0, distinct = 0;
        int got;
        store_be64(key + 2, h);
        char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_ROLLUPS], (const char *)key,
                                 sizeof(key), &len, &err);
        assert_null(err);
        assert_non_null(v);
        assert_int_equal(store_rollup_open(&r, (const uint8_t *)v, len), 0);
        assert_false(r.truncated);
        while ((got = store_rollup_next(&r, &e)) > 0) {
            struct fl0wer_rollup_counters want = {0};
            for (size_t i = 0; i < n; i++) {
                uint64_t hi, lo, k = f[i].sampling ? f[i].sampling : 1;
                store_dim_value(&f[i], dim, &hi, &lo);
                if (hi != e.khi || lo != e.klo)
                    continue;
                struct fl0wer_rollup_counters c = {f[i].flows, f[i].bytes * k,
                                                   f[i].packets * k, f[i].bytes, f[i].packets};
                store_counters_add(&want, &c);
            }
            assert_true(want.flows > 0);
            assert_int_equal(e.c.flows, want.flows);
            assert_int_equal(e.c.bytes, want.bytes);
            assert_int_equal(e.c.packets, want.packets);
            assert_int_equal(e.c.raw_bytes, want.raw_bytes);
            assert_int_equal(e.c.raw_packets, want.raw_packets);
            rows++;
        }
        assert_int_equal(got, 0);
        rocksdb_free(v);
        for (size_t i = 0; i < n; i++) { /* the distinct addresses: one row each */
            uint64_t hi, lo, phi, plo;
            size_t j;
            store_dim_value(&f[i], dim, &hi, &lo);
            for (j = 0; j < i; j++) {
                store_dim_value(&f[j], dim, &phi, &plo);
                if (phi == hi && plo == lo)
                    break;
            }
            distinct += j == i;
        }
        assert_int_equal(rows, distinct);
    }
}

/* Before retention removes a marked hour's raw flows, gc computes its address arrays again from
   them, row for row; hours the cut has not reached stay markers. */
static void test_sparse_restored_by_retention(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir, .retention_ms = 6 * FL0WER_HOUR_MS};
    struct fl0wer_store_gc_result res;
    struct fl0wer_flow *f[3];

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    for (unsigned h = 0; h < 3; h++) {
        f[h] = malloc(300 * sizeof(*f[h]));
        hour_flows_of(h, 300, 11 + h, f[h]);
        put_hour(s, h, 300, 1, 11 + h, 1 + h);
    }
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 5 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 3);
    assert_int_equal(res.address_hours_restored, 0);
    for (unsigned h = 0; h < 3; h++)
        assert_marker(s, 'h', H0 + h);
    /* the cut enters hour 0 */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 6 * FL0WER_HOUR_MS + 1800000, &res), 0);
    assert_int_equal(res.address_hours_restored, 1);
    assert_true(res.flow_blocks_removed > 0);
    assert_rows(s, H0, f[0], 300);
    assert_marker(s, 'h', H0 + 1);
    /* the same cut again: nothing to do */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 6 * FL0WER_HOUR_MS + 1800000, &res), 0);
    assert_int_equal(res.address_hours_restored, 0);
    /* past hour 1 and into hour 2 */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 8 * FL0WER_HOUR_MS + 60000, &res), 0);
    assert_int_equal(res.address_hours_restored, 2);
    assert_rows(s, H0 + 1, f[1], 300);
    assert_rows(s, H0 + 2, f[2], 300);
    compact_rollups(s);
    assert_rows(s, H0, f[0], 300);
    for (unsigned h = 0; h < 3; h++)
        free(f[h]);
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* The disk cap removes the oldest flows: the marked hours it removes get their arrays back. */
static void test_sparse_restored_by_cap(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;
    struct fl0wer_flow *f[2];

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    for (unsigned h = 0; h < 2; h++) {
        f[h] = malloc(200 * sizeof(*f[h]));
        hour_flows_of(h, 200, 21 + h, f[h]);
        put_hour(s, h, 200, 1, 21 + h, 1 + h);
    }
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 4 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 2);
    fl0wer_store_close(s);
    cfg.max_disk_bytes = 1; /* every flow must go */
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 4 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_restored, 2);
    assert_rows(s, H0, f[0], 200);
    assert_rows(s, H0 + 1, f[1], 200);
    for (unsigned h = 0; h < 2; h++)
        free(f[h]);
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* An hour whose totals array cannot be read is left as it is; gc goes on past it. */
static void test_sparse_corrupt_totals(void **state)
{
    (void)state;
    char dir[64], err[256], *e = NULL;
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;
    uint8_t key[STORE_ROLLUP_KEY_LEN] = {'h', FL0WER_ROLLUP_TOTAL};
    static const char junk[] = {9, 9, 9};

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    uint64_t f0 = put_hour(s, 0, 200, 1, 11, 1);
    put_hour(s, 1, 200, 1, 12, 2);
    store_be64(key + 2, H0);
    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_ROLLUPS], (const char *)key, sizeof(key), junk,
                   sizeof(junk), &e);
    assert_null(e);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 4 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.address_hours_sparse, 1); /* hour 1 */
    assert_exact(s, H0, f0);
    assert_marker(s, 'h', H0 + 1);
    assert_int_equal(stored_mark(s), H0 + 2);
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* The merge of a marker with any arrays (either order, several) is the marker. */
static void test_marker_merge(void **state)
{
    (void)state;
    struct store_rollup_entry e[3] = {{0, 0xffff0a000001ull, {1, 100, 1, 100, 1}},
                                      {0, 0xffff0a000002ull, {2, 200, 2, 20, 2}},
                                      {1, 5, {3, 300, 3, 300, 3}}};
    uint8_t marker[16], full[512], other[512];
    size_t ml = store_rollup_encode(16, NULL, 0, true, marker);
    size_t fl = store_rollup_encode(16, e, 3, false, full);
    size_t ol = store_rollup_encode(16, e + 1, 1, false, other);
    const uint8_t *vals[3];
    size_t lens[3];
    uint8_t *out;
    size_t out_len;
    struct store_rollup_reader r;

    for (int order = 0; order < 3; order++) {
        vals[0] = full;
        lens[0] = fl;
        vals[1] = other;
        lens[1] = ol;
        vals[2] = other;
        lens[2] = ol;
        vals[order] = marker;
        lens[order] = ml;
        for (size_t k = order < 2 ? 2 : 3; k <= 3; k++) { /* the marker among the k */
            assert_int_equal(store_rollup_merge(vals, lens, k, 65536, &out, &out_len), 0);
            assert_int_equal(store_rollup_open(&r, out, out_len), 0);
            assert_true(r.truncated);
            assert_int_equal(r.n, 0);
            assert_int_equal(r.width, 16);
            free(out);
        }
    }
    /* without a marker: the rows summed, exact */
    vals[0] = full;
    lens[0] = fl;
    vals[1] = other;
    lens[1] = ol;
    assert_int_equal(store_rollup_merge(vals, lens, 2, 65536, &out, &out_len), 0);
    assert_int_equal(store_rollup_open(&r, out, out_len), 0);
    assert_false(r.truncated);
    assert_int_equal(r.n, 3);
    struct store_rollup_entry got;
    assert_int_equal(store_rollup_next(&r, &got), 1);
    assert_int_equal(store_rollup_next(&r, &got), 1);
    assert_int_equal(got.c.flows, 4);
    assert_int_equal(got.c.raw_bytes, 40);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_hours),         cmocka_unit_test(test_sparse_minutes),
        cmocka_unit_test(test_sparse_after_raw_cut), cmocka_unit_test(test_sparse_corrupt_totals),
        cmocka_unit_test(test_marker_merge),
        cmocka_unit_test(test_sparse_restored_by_retention),
        cmocka_unit_test(test_sparse_restored_by_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
