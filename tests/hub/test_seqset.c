/*
 * test_seqset.c - the per-edge set of stored batch sequence numbers: out-of-order adds against a
 * plain bitmap reference, range merging, the bound on ranges (oldest hole filled), encoding
 * round trips, the legacy "highest stored" encoding and malformed encodings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "seqset.h"

static void test_out_of_order_matches_reference(void **state)
{
    enum { N = 2000 };
    static bool ref[N + 1];
    struct seqset s;
    uint32_t x = 12345;

    seqset_init(&s);
    memset(ref, 0, sizeof(ref));
    /* Mostly increasing with in-flight reordering: each number arrives up to 6 places late. */
    for (uint64_t base = 1; base + 8 <= N; base += 8) {
        uint64_t order[8];
        for (int k = 0; k < 8; k++)
            order[k] = base + (uint64_t)k;
        for (int k = 7; k > 0; k--) {
            x = x * 1103515245u + 12345u;
            int j = (int)((x >> 16) % (uint32_t)(k + 1));
            uint64_t t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < 8; k++) {
            if ((order[k] % 97) == 0)
                continue; /* a batch the edge dropped: a permanent hole */
            assert_false(seqset_contains(&s, order[k]));
            seqset_add(&s, order[k]);
            ref[order[k]] = true;
            assert_true(seqset_contains(&s, order[k]));
        }
    }
    for (uint64_t q = 1; q <= N; q++)
        assert_int_equal(seqset_contains(&s, q), ref[q]);
    assert_int_equal(seqset_max(&s), 1992);
    /* 20 holes (multiples of 97 below 1993): 21 ranges. */
    assert_int_equal(s.n, 21);
}

static void test_merging(void **state)
{
    struct seqset s;

    seqset_init(&s);
    seqset_add(&s, 5);
    seqset_add(&s, 7);
    assert_int_equal(s.n, 2);
    assert_false(seqset_contains(&s, 6));
    seqset_add(&s, 6); /* joins both */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].lo, 5);
    assert_int_equal(s.r[0].hi, 7);
    seqset_add(&s, 4);
    seqset_add(&s, 8);
    seqset_add(&s, 8);
    seqset_add(&s, 0); /* ignored */
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].lo, 4);
    assert_int_equal(s.r[0].hi, 8);
    assert_false(seqset_contains(&s, 0));
    assert_false(seqset_contains(&s, 3));
    assert_false(seqset_contains(&s, 9));
}

static void test_bound_fills_oldest_hole(void **state)
{
    struct seqset s;

    seqset_init(&s);
    for (uint64_t k = 0; k < SEQSET_MAX_RANGES; k++)
        seqset_add(&s, 10 * k + 1); /* 1, 11, 21, ...: 64 ranges, 63 holes */
    assert_int_equal(s.n, SEQSET_MAX_RANGES);
    assert_false(seqset_contains(&s, 5));
    seqset_add(&s, 10 * SEQSET_MAX_RANGES + 1); /* a 65th range */
    assert_int_equal(s.n, SEQSET_MAX_RANGES);
    assert_true(seqset_contains(&s, 5));   /* the oldest hole was filled */
    assert_false(seqset_contains(&s, 15)); /* the next one was not */
    assert_true(seqset_contains(&s, 10 * SEQSET_MAX_RANGES + 1));
    /* One more new range fills the next oldest hole. */
    seqset_add(&s, 10 * SEQSET_MAX_RANGES + 11);
    assert_int_equal(s.n, SEQSET_MAX_RANGES);
    assert_true(seqset_contains(&s, 15));
}

static void test_encoding(void **state)
{
    struct seqset s, t;
    uint8_t buf[SEQSET_ENCODED_MAX];
    size_t len;

    seqset_init(&s);
    for (uint64_t k = 1; k < 200; k += 3)
        seqset_add(&s, k);
    len = seqset_encode(&s, buf);
    assert_int_equal(len, 4 + 16 * s.n);
    assert_int_equal(seqset_decode(&t, buf, len), 0);
    assert_int_equal(t.n, s.n);
    assert_memory_equal(t.r, s.r, s.n * sizeof(s.r[0]));

    /* The older 8-byte "highest stored" value: everything up to it. */
    const uint8_t legacy[8] = {0, 0, 0, 0, 0, 0, 0x01, 0x2c};
    assert_int_equal(seqset_decode(&t, legacy, 8), 0);
    assert_int_equal(t.n, 1);
    assert_true(seqset_contains(&t, 1) && seqset_contains(&t, 300));
    assert_false(seqset_contains(&t, 301));

    /* Malformed: short, count too large, length mismatch, unsorted, adjacent, zero. */
    assert_int_equal(seqset_decode(&t, buf, 3), -1);
    uint8_t bad[4 + 32];
    memset(bad, 0, sizeof(bad));
    bad[3] = 65;
    assert_int_equal(seqset_decode(&t, bad, 4), -1);
    bad[3] = 2;
    assert_int_equal(seqset_decode(&t, bad, 20), -1);
    const uint64_t cases[][4] = {{5, 9, 1, 2}, {1, 4, 5, 9}, {0, 4, 8, 9}, {3, 2, 8, 9}};
    for (size_t c = 0; c < 4; c++) {
        for (int k = 0; k < 4; k++)
            for (int b = 0; b < 8; b++)
                bad[4 + 8 * k + b] = (uint8_t)(cases[c][k] >> (56 - 8 * b));
        assert_int_equal(seqset_decode(&t, bad, sizeof(bad)), -1);
        assert_int_equal(t.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_matches_reference),
        cmocka_unit_test(test_merging),
        cmocka_unit_test(test_bound_fills_oldest_hole),
        cmocka_unit_test(test_encoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
