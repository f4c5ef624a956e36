/*
 * test_analyzer_parts.c - the analyzer's building blocks: Space-Saving top-K, HyperLogLog,
 * CIDR blocklist lookup and EWMA baselines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
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

    assert_int_equal(anz_topk_init(&t, sizeof(key), 64, false), 0);
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

    assert_int_equal(anz_topk_init(&t, sizeof(key), 32, true), 0);
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
        cmocka_unit_test(test_blocklist_nested_and_v6),
        cmocka_unit_test(test_baseline_band),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
