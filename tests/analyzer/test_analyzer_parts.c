/*
 * test_analyzer_parts.c - the analyzer's building blocks: Space-Saving top-K (purge threshold,
 * index epochs), HyperLogLog (dense and lazy), CIDR blocklist lookup and EWMA baselines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "blocklist.h"
#include "hll.h"
#include "topk.h"

static void test_topk_exact_below_capacity(void **state)
{
    struct anz_topk t;
    struct anz_topk_entry out[8];
    uint32_t key;

    assert_int_equal(anz_topk_init(&t, sizeof(key), 64, 0), 0);
    for (key = 0; key < 50; key++)
        for (uint32_t r = 0; r <= key; r++)
            anz_topk_update(&t, &key, 10);
    assert_int_equal(anz_topk_sorted(&t, out, 8), 8);
    for (int i = 0; i < 8; i++) {
        memcpy(&key, out[i].key, sizeof(key));
        assert_int_equal(key, 49 - i);
        assert_int_equal(out[i].weight, 10 * (50 - i));
        assert_int_equal(out[i].error, 0);
    }
    anz_topk_release(&t);
}

static void test_topk_keeps_heavy_hitters_under_churn(void **state)
{
    struct anz_topk t;
    struct anz_topk_entry out[3];
    uint32_t key;

    assert_int_equal(anz_topk_init(&t, sizeof(key), 32, ANZ_TOPK_HLL), 0);
    for (uint32_t i = 0; i < 200000; i++) {
        key = 1000 + i; /* one-off keys */
        anz_topk_update(&t, &key, 1);
        if (i % 10 == 0) {
            key = i % 30 == 0 ? 1 : (i % 30 == 10 ? 2 : 3);
            anz_topk_update(&t, &key, 100);
        }
    }
    assert_int_equal(anz_topk_sorted(&t, out, 3), 3);
    uint32_t found = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(&key, out[i].key, sizeof(key));
        assert_true(key >= 1 && key <= 3);
        found |= 1u << key;
        /* Space-Saving: weight - error <= true weight (6667 or 6666 x 100) <= weight. */
        assert_true(out[i].weight - out[i].error <= 666700);
        assert_true(out[i].weight >= 666600);
    }
    assert_int_equal(found, 0xe);
    assert_true(t.evictions > 190000);
    anz_topk_release(&t);
}

static void test_hll_accuracy(void **state)
{
    const uint32_t sizes[] = {10, 100, 1000, 50000};

    for (size_t s = 0; s < 4; s++) {
        struct anz_hll h;
        memset(&h, 0, sizeof(h));
        for (uint32_t i = 0; i < sizes[s]; i++) {
            anz_hll_add(&h, anz_hash64(&i, sizeof(i), 7));
            anz_hll_add(&h, anz_hash64(&i, sizeof(i), 7)); /* duplicates don't count */
        }
        double est = anz_hll_count(&h);
        assert_true(fabs(est - sizes[s]) <= 0.2 * sizes[s] + 2);
    }
}

/*
 * The lazy (sparse-then-dense) HyperLogLog gives exactly the dense one's registers and estimate,
 * with its sparse items in its own first bytes or kept apart (the analyzer's tables: in the
 * entry), and neither touches the registers while sparse.
 */
static void test_hll_lazy_matches_dense(void **state)
{
    const uint32_t sizes[] = {0, 1, 2, 6, 7, 8, 9, 12, 40, 300, 5000};

    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct anz_hll dense, lazy, split, untouched;
        struct anz_hll_sparse sp;
        uint8_t st = 0;
        memset(&dense, 0, sizeof(dense));
        memset(&lazy, 0xa5, sizeof(lazy)); /* a new lazy counter needs no clearing */
        memset(&split, 0x5a, sizeof(split));
        memset(&untouched, 0x5a, sizeof(untouched));
        memset(&sp, 0xa5, sizeof(sp));
        sp.n = 0;
        for (uint32_t i = 0; i < sizes[s]; i++) {
            uint64_t h = anz_hash64(&i, sizeof(i), 11);
            anz_hll_add(&dense, h);
            anz_hll_add_lazy(&lazy, &st, h);
            anz_hll_add_lazy(&lazy, &st, h); /* duplicates change nothing */
            anz_hll_add_split(&split, sp.items, &sp.n, h);
            anz_hll_add_split(&split, sp.items, &sp.n, h);
        }
        assert_true(anz_hll_count_lazy(&lazy, st) == anz_hll_count(&dense));
        assert_true(anz_hll_count_lazy(&split, sp.n) == anz_hll_count(&dense));
        assert_int_equal(sp.n, st);
        if (sizes[s] <= ANZ_HLL_SPARSE_MAX) {
            assert_true(st <= ANZ_HLL_SPARSE_MAX);
            assert_memory_equal(split.reg, untouched.reg, sizeof(split.reg));
        }
        if (sizes[s] >= 40)
            assert_memory_equal(split.reg, dense.reg, sizeof(dense.reg));
        if (sizes[s] >= 40) {
            assert_int_equal(st, ANZ_HLL_DENSE);
            assert_memory_equal(lazy.reg, dense.reg, sizeof(dense.reg));
        }
    }
}

/*
 * One purge of a full table (cap 64) whose 128 keys have weights w: at most 64 stay, at least
 * `min_kept`, every kept weight >= every dropped one, exactly the 64 heaviest (ties by position)
 * when `exact`; the floor and a new entry's error are the heaviest dropped weight; the index
 * still finds every kept entry.
 */
static void check_purge(const uint64_t w[128], bool exact, size_t min_kept)
{
    struct anz_topk t;
    uint64_t sorted[128];
    uint32_t key;

    assert_int_equal(anz_topk_init(&t, sizeof(key), 64, ANZ_TOPK_HLL), 0);
    for (key = 0; key < 128; key++)
        anz_topk_update(&t, &key, w[key]);
    memcpy(sorted, w, sizeof(sorted));
    for (int i = 0; i < 128; i++) /* descending insertion sort: the reference */
        for (int j = i; j > 0 && sorted[j] > sorted[j - 1]; j--) {
            uint64_t y = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = y;
        }
    uint64_t thr = sorted[63];
    size_t above = 0, ties_kept = 64;
    for (int i = 0; i < 128; i++)
        above += w[i] > thr;
    ties_kept -= above;
    key = 1000;
    anz_topk_update(&t, &key, 1); /* full: purges first */
    size_t kept = t.count - 1;
    assert_true(kept <= 64 && kept >= min_kept);
    if (exact)
        assert_int_equal(kept, 64);
    assert_int_equal(t.evictions, 128 - kept);
    uint64_t dropped_max = 0, kept_min = UINT64_MAX;
    for (key = 0; key < 128; key++) {
        bool found = false;
        for (size_t i = 0; i < kept; i++)
            found |= memcmp(t.entries[i].key, &key, sizeof(key)) == 0;
        if (exact)
            assert_int_equal(found,
                             w[key] > thr || (w[key] == thr && ties_kept > 0 && ties_kept--));
        if (!found && w[key] > dropped_max)
            dropped_max = w[key];
        if (found && w[key] < kept_min)
            kept_min = w[key];
    }
    assert_true(kept_min >= dropped_max);
    assert_int_equal(t.floor, dropped_max);
    assert_int_equal(t.entries[kept].error, dropped_max);
    assert_int_equal(t.entries[kept].weight, dropped_max + 1);
    /* Kept entries are still found through the rebuilt index (weight 0: no change). */
    for (size_t i = 0; i < kept; i++) {
        memcpy(&key, t.entries[i].key, sizeof(key));
        assert_int_equal(anz_topk_update(&t, &key, 0)->weight, w[key]);
    }
    assert_int_equal(t.count, kept + 1);
    anz_topk_release(&t);
}

static void test_topk_purge_keeps_heaviest(void **state)
{
    uint64_t w[128], x = 12345;

    for (uint32_t k = 0; k < 128; k++) /* distinct weights, spread over 1 .. 2^40 */
        w[k] = ((uint64_t)(k * 83 % 128) + 1) << (k % 41);
    check_purge(w, false, 32);
    for (uint32_t k = 0; k < 128; k++) /* distinct weights close together */
        w[k] = 1000 + k * 77 % 128;
    check_purge(w, false, 32);
    for (uint32_t k = 0; k < 128; k++) /* the sample (odd keys) sees only light weights: the
                                          cut would keep too many, so the exact path runs */
        w[k] = k % 2 ? k : 100000 + k;
    check_purge(w, true, 64);
    for (uint32_t k = 0; k < 128; k++) /* the sample sees only heavy weights */
        w[k] = k % 2 ? 100000 + k : k;
    check_purge(w, false, 16);
    for (uint32_t k = 0; k < 128; k++) { /* many ties */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        w[k] = k < 64 ? (x >> 33) % 40 : (x >> 33) % 5000;
    }
    check_purge(w, false, 16);
}

/* Clearing is an epoch change; 300 clears pass the 8-bit wrap, and no old entry is ever found. */
static void test_topk_clear_epochs(void **state)
{
    struct anz_topk t;
    uint32_t key;

    assert_int_equal(anz_topk_init(&t, sizeof(key), 16, 0), 0);
    for (int round = 0; round < 300; round++) {
        for (key = 0; key < 20; key++)
            assert_int_equal(anz_topk_update(&t, &key, key + 1)->weight, key + 1);
        for (key = 0; key < 20; key++)
            assert_int_equal(anz_topk_update(&t, &key, 0)->weight, key + 1);
        assert_int_equal(t.count, 20);
        anz_topk_clear(&t);
        assert_int_equal(t.count, 0);
    }
    anz_topk_release(&t);
}

/* Tables carved from one caller-owned buffer (as the analyzer's window does) keep apart. */
static void test_topk_init_at_shared_buffer(void **state)
{
    struct anz_topk a, b;
    size_t na = anz_topk_bytes(16, 32, ANZ_TOPK_HLL), nb = anz_topk_bytes(4, 32, 0);
    uint8_t key[16];

    assert_int_equal(na % 64, 0);
    assert_int_equal(nb % 64, 0);
    assert_int_equal(anz_topk_bytes(0, 32, 0), 0);
    uint8_t *mem = aligned_alloc(64, na + nb);
    assert_non_null(mem);
    memset(mem, 0, na + nb);
    assert_int_equal(anz_topk_init_at(&a, 16, 32, ANZ_TOPK_HLL, mem), 0);
    assert_int_equal(anz_topk_init_at(&b, 4, 32, 0, mem + na), 0);
    for (int round = 0; round < 3; round++) { /* 64 keys = room: no purge in a */
        for (uint32_t i = 0; i < 64; i++) {
            memset(key, 0, sizeof(key));
            memcpy(key, &i, sizeof(i));
            struct anz_topk_entry *e = anz_topk_update(&a, key, 1000 + i);
            anz_topk_hll_add(&a, e, anz_hash64(&i, sizeof(i), 1));
        }
    }
    for (uint32_t i = 0; i < 1000; i++) /* b purges many times */
        anz_topk_update(&b, &i, 1 + i % 7);
    assert_true(b.count <= 64 && b.evictions > 900);
    assert_int_equal(a.count, 64);
    for (uint32_t i = 0; i < 64; i++) {
        memset(key, 0, sizeof(key));
        memcpy(key, &i, sizeof(i));
        struct anz_topk_entry *e = anz_topk_update(&a, key, 0);
        assert_int_equal(e->weight, 3 * (1000 + i));
        assert_true(anz_topk_hll_count(&a, e) > 0.9 && anz_topk_hll_count(&a, e) < 1.1);
    }
    assert_int_equal(a.count, 64);
    anz_topk_release(&a);
    anz_topk_release(&b); /* does not free mem */
    free(mem);
}

static void test_blocklist_nested_and_v6(void **state)
{
    struct anz_range *r = NULL;
    size_t n = 0, cap = 0;
    struct anz_blocklist bl;
    uint8_t a[FL0WER_ADDR_LEN];
    const char *text = "10.0.0.0/8\n10.1.2.3\n10.200.0.0/16 # nested\n"
                       "192.0.2.0/24\n2001:db8::/32\n::/0x\n300.1.1.1/8\n";

    assert_int_equal(anz_blocklist_parse(text, 0, &r, &n, &cap), 2);
    assert_int_equal(n, 5);
    anz_blocklist_build(&bl, r, n);
    assert_int_equal(bl.count, 3); /* the two inside 10/8 fold into it */
    const char *in[] = {"10.0.0.0", "10.255.255.255", "10.1.2.3", "192.0.2.200", "2001:db8:ffff::1"};
    const char *out[] = {"9.255.255.255", "11.0.0.0", "192.0.3.0", "2001:db9::", "::ffff:0:0"};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fl0wer_addr_parse(in[i], a), 0);
        assert_non_null(anz_blocklist_find(&bl, a));
        assert_int_equal(fl0wer_addr_parse(out[i], a), 0);
        assert_null(anz_blocklist_find(&bl, a));
    }
    anz_blocklist_release(&bl);
}

/* A prefix followed by a comment of any length is kept; a line whose prefix text is too long is
 * skipped and counted. */
static void test_blocklist_long_comment(void **state)
{
    struct anz_range *r = NULL;
    size_t n = 0, cap = 0;
    struct anz_blocklist bl;
    uint8_t a[FL0WER_ADDR_LEN];
    char text[1024], comment[301], junk[201];

    memset(comment, 'x', sizeof(comment) - 1);
    comment[sizeof(comment) - 1] = '\0';
    memset(junk, '1', sizeof(junk) - 1);
    junk[sizeof(junk) - 1] = '\0';
    snprintf(text, sizeof(text), "198.51.100.0/24   # %s\n%s\n203.0.113.7\n", comment, junk);
    assert_int_equal(anz_blocklist_parse(text, 0, &r, &n, &cap), 1);
    assert_int_equal(n, 2);
    anz_blocklist_build(&bl, r, n);
    assert_int_equal(fl0wer_addr_parse("198.51.100.77", a), 0);
    assert_non_null(anz_blocklist_find(&bl, a));
    assert_int_equal(fl0wer_addr_parse("203.0.113.7", a), 0);
    assert_non_null(anz_blocklist_find(&bl, a));
    anz_blocklist_release(&bl);
}

static void test_baseline_band(void **state)
{
    struct anz_baseline b = {0};

    for (int i = 0; i < 30; i++)
        anz_baseline_update(&b, i % 2 ? 110.0 : 90.0, 0.1);
    assert_true(fabs(b.mean - 100.0) < 2.0);
    assert_int_equal(anz_baseline_check(&b, 105.0, 4.0, 0.0, 15), 0);
    assert_int_equal(anz_baseline_check(&b, 200.0, 4.0, 0.0, 15), 1);
    assert_int_equal(anz_baseline_check(&b, 10.0, 4.0, 0.0, 15), -1);
    assert_int_equal(anz_baseline_check(&b, 200.0, 4.0, 0.0, 31), 0); /* still warming up */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topk_exact_below_capacity),
        cmocka_unit_test(test_topk_keeps_heavy_hitters_under_churn),
        cmocka_unit_test(test_hll_accuracy),
        cmocka_unit_test(test_hll_lazy_matches_dense),
        cmocka_unit_test(test_topk_purge_keeps_heaviest),
        cmocka_unit_test(test_topk_clear_epochs),
        cmocka_unit_test(test_topk_init_at_shared_buffer),
        cmocka_unit_test(test_blocklist_nested_and_v6),
        cmocka_unit_test(test_blocklist_long_comment),
        cmocka_unit_test(test_baseline_band),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
