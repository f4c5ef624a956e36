/*
 * test_store_rollup.c - the store's packed rollup arrays and v2 flow blocks: codec round trips
 * for every key width, corrupt and truncated input refused without crashing, k-way merges equal
 * a reference sum (heap and sort paths), partial block decodes, and through a real RocksDB: rollup
 * rows of every dimension and level equal a reference computed from the flows (batches spanning
 * many minutes and hours, four threads putting at once, after compaction ran the merge
 * operator), retention of rollup arrays, and the on-disk format version check. Address arrays:
 * bounded merges keep exactly the top K by bytes and are flagged truncated (sticky), and in a
 * store with a tiny K a period's array is truncated exactly when it has more than K addresses,
 * else it equals the reference. The query engine's row map (direct index, then hash form) and
 * arrays decoded straight into it equal a reference sum by masked key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "fl0wer/store.h"
#include "rowmap.h"
#include "store_int.h"
#include "store_testutil.h"

#define T0 (1700000000000ull - 1700000000000ull % FL0WER_HOUR_MS)

static const unsigned widths[] = {0, 1, 2, 4, 16};

/* n random entries of width w, sorted, distinct keys; sampled ones have raw != scaled. */
static size_t random_entries(struct tu_rng *r, unsigned w, size_t n, bool sampled,
                             struct store_rollup_entry *e)
{
    uint64_t k = 0;
    if (w == 0)
        n = n ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof(e[i]));
        k += 1 + tu_below(r, w == 1 ? 1 : 40);
        if (w == 1 && k > 255)
            return i;
        if (w == 16 && tu_below(r, 2)) { /* IPv4-mapped, sometimes far from the previous */
            if (tu_below(r, 8) == 0)
                k += tu_below(r, 1u << 22);
            e[i].khi = 0;
            e[i].klo = 0xffff00000000ull | k;
        } else if (w == 16) {
            e[i].khi = 0x20010db800000000ull | tu_below(r, 4);
            e[i].klo = k;
        } else {
            e[i].klo = w ? k : 0;
        }
        e[i].c.flows = 1 + tu_below(r, 1000);
        e[i].c.raw_bytes = tu_next(r) >> tu_below(r, 64);
        e[i].c.raw_packets = tu_below(r, 100000);
        uint64_t s = sampled && tu_below(r, 2) ? 100 : 1;
        e[i].c.bytes = e[i].c.raw_bytes * s;
        e[i].c.packets = e[i].c.raw_packets * s;
    }
    if (w == 16) /* khi was random: sort by (khi, klo) */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && store_rollup_key_cmp(&e[j - 1], &e[j]) > 0; j--) {
                struct store_rollup_entry t = e[j];
                e[j] = e[j - 1];
                e[j - 1] = t;
            }
    return n;
}

static size_t read_all(const uint8_t *buf, size_t len, struct store_rollup_entry *out, size_t cap,
                       int *status)
{
    struct store_rollup_reader r;
    size_t n = 0;
    int got;
    if ((*status = store_rollup_open(&r, buf, len)) != 0)
        return 0;
    while (n < cap && (got = store_rollup_next(&r, &out[n])) > 0)
        n++;
    *status = n < cap ? got : store_rollup_next(&r, &out[n - 1]);
    return n;
}

static void test_codec_roundtrip(void **state)
{
    struct tu_rng r = {11};
    struct store_rollup_entry *e = malloc(3000 * sizeof(*e)), *got = malloc(3000 * sizeof(*e));
    uint8_t *buf = malloc(store_rollup_bound(3000));
    static const size_t sizes[] = {0, 1, 2, 17, 1000, 2999};

    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
            for (int sampled = 0; sampled < 2; sampled++) {
                size_t n = random_entries(&r, widths[wi], sizes[si], sampled, e), m;
                bool trunc = (si + wi) % 2;
                size_t len = store_rollup_encode(widths[wi], e, n, trunc, buf);
                int status;
                struct store_rollup_reader rd;
                assert_true(len <= store_rollup_bound(n));
                assert_int_equal(store_rollup_open(&rd, buf, len), 0);
                assert_int_equal(rd.truncated, trunc);
                m = read_all(buf, len, got, 3000, &status);
                assert_int_equal(status, 0);
                assert_int_equal(m, n);
                for (size_t i = 0; i < n; i++) {
                    assert_int_equal(got[i].khi, e[i].khi);
                    assert_int_equal(got[i].klo, e[i].klo);
                    assert_memory_equal(&got[i].c, &e[i].c, sizeof(e[i].c));
                }
                /* key bytes are big-endian, numeric order = byte order */
                if (n >= 2 && widths[wi] > 0) {
                    uint8_t a[16], b[16];
                    store_rollup_key_bytes(&e[0], widths[wi], a);
                    store_rollup_key_bytes(&e[1], widths[wi], b);
                    assert_true(memcmp(a, b, widths[wi]) < 0);
                }
            }
        }
    }
    free(buf);
    free(got);
    free(e);
}

static void test_codec_corrupt(void **state)
{
    struct tu_rng r = {12};
    struct store_rollup_entry e[300], got[300];
    uint8_t buf[40000], bad[40000];
    int status;

    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        size_t n = random_entries(&r, widths[wi], 200, true, e);
        size_t len = store_rollup_encode(widths[wi], e, n, false, buf);
        /* every truncation is refused */
        for (size_t cut = 0; cut < len; cut++) {
            memcpy(bad, buf, cut);
            read_all(bad, cut, got, 300, &status);
            assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
        }
        /* random damage never crashes nor reads past the end (ASan) */
        for (int round = 0; round < 2000; round++) {
            memcpy(bad, buf, len);
            bad[tu_below(&r, len)] ^= (uint8_t)(1 + tu_below(&r, 255));
            read_all(bad, len, got, 300, &status);
            assert_true(status == 0 || status == FL0WER_STORE_ERR_CORRUPT);
        }
    }
    /* keys must be strictly increasing and fit their width */
    struct store_rollup_entry dup[2] = {{0, 7, {1, 1, 1, 1, 1}}, {0, 7, {1, 1, 1, 1, 1}}};
    size_t len = store_rollup_encode(2, dup, 2, false, buf);
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    struct store_rollup_entry wide = {0, 300, {1, 1, 1, 1, 1}};
    len = store_rollup_encode(1, &wide, 1, false, buf);
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    /* 16-byte keys: equal neighbours and a first key that claims a shared prefix */
    struct store_rollup_entry a16[2] = {{5, 7, {1, 1, 1, 1, 1}}, {5, 7, {1, 1, 1, 1, 1}}};
    len = store_rollup_encode(16, a16, 2, false, buf);
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    len = store_rollup_encode(16, a16, 1, false, buf);
    buf[len - 3 - 17] = 3; /* the key's tag (shared prefix 1): 16 key bytes, 3 counters follow */
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    /* IPv4-mapped keys: the ends of the range round-trip (deltas, then a front-coded IPv6 key) */
    struct store_rollup_entry v4[4] = {{0, 0xffff00000000ull, {1, 1, 1, 1, 1}},
                                       {0, 0xffff00000001ull, {1, 2, 3, 2, 3}},
                                       {0, 0xffffffffffffull, {1, 1, 1, 1, 1}},
                                       {0x20010db800000000ull, 1, {1, 1, 1, 1, 1}}};
    len = store_rollup_encode(16, v4, 4, false, buf);
    assert_int_equal(read_all(buf, len, got, 300, &status), 4);
    assert_int_equal(status, 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got[i].khi, v4[i].khi);
        assert_int_equal(got[i].klo, v4[i].klo);
    }
    /* keys column: tag 1 + 16 bytes, delta 1 (2), delta 0xfffffffe (5-byte varint), tag 1 + 16 */
    assert_int_equal(buf[3 + 1], 17 + 1 + 5 + 17); /* after format, width, flags, count 4 */
    size_t k0 = 3 + 1 + 4; /* count and four column lengths of one byte each (small array) */
    assert_int_equal(buf[k0], 1);
    assert_int_equal(buf[k0 + 17], 2);
    assert_int_equal(buf[k0 + 18], 0xfc); /* 0xfffffffe << 1 as a varint */
    assert_int_equal(buf[k0 + 22], 0x1f);
    assert_int_equal(buf[k0 + 23], 1);
    /* a delta past ::ffff:255.255.255.255, a delta after a non-IPv4 key, a first delta */
    struct store_rollup_entry last2[2] = {{0, 0xfffffffffffeull, {1, 1, 1, 1, 1}},
                                          {0, 0xffffffffffffull, {1, 1, 1, 1, 1}}};
    len = store_rollup_encode(16, last2, 2, false, buf);
    assert_int_equal(buf[k0 + 17], 2);
    buf[k0 + 17] = 4; /* delta 2: one past the last IPv4 address */
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    struct store_rollup_entry after6[2] = {{0x20010db800000000ull, 1, {1, 1, 1, 1, 1}},
                                           {0x20010db800000000ull, 2, {1, 1, 1, 1, 1}}};
    len = store_rollup_encode(16, after6, 2, false, buf);
    assert_int_equal(buf[k0 + 17], 15 * 2 + 1); /* front-coded: 15 bytes shared */
    buf[k0 + 17] = 2; /* as a delta: the previous key is not IPv4-mapped */
    buf[k0 + 18] = 2;
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    buf[k0] = 2; /* a first key cannot be a delta */
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    len = store_rollup_encode(1, &wide, 1, false, buf);
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
    buf[0] = 1; /* another format */
    read_all(buf, len, got, 300, &status);
    assert_int_equal(status, FL0WER_STORE_ERR_CORRUPT);
}

/* The row map: small keys (direct index), then larger and 128-bit keys (the hash form). */
static void test_rowmap(void **state)
{
    static const uint64_t keys[][2] = {{0, 5}, {0, 65535}, {0, 0}, {0, 65536}, {0, 5},
                                       {7, 5}, {0, UINT64_MAX}, {0, 65535}, {7, 5}, {0, 1}};
    static const size_t want_idx[] = {0, 1, 2, 3, 0, 4, 5, 1, 4, 6};
    struct fl0wer_rowmap m;
    struct tu_rng r = {21};

    fl0wer_rowmap_init(&m);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct fl0wer_rowmap_entry *e = fl0wer_rowmap_get(&m, keys[i][0], keys[i][1]);
        assert_non_null(e);
        assert_int_equal(e - m.ents, want_idx[i]);
        assert_int_equal(e->khi, keys[i][0]);
        assert_int_equal(e->klo, keys[i][1]);
        e->c.flows += i + 1;
        if (i == 2)
            assert_non_null(m.direct); /* only small keys so far */
        if (i == 3)
            assert_null(m.direct); /* 65536 moved it to the hash form */
    }
    assert_int_equal(m.count, 7);
    assert_int_equal(m.ents[0].c.flows, 1 + 5);
    assert_int_equal(m.ents[1].c.flows, 2 + 8);
    assert_int_equal(m.ents[4].c.flows, 6 + 9);
    assert_int_equal(m.ents[6].c.flows, 10);
    fl0wer_rowmap_release(&m);
    /* many small keys in the direct form, the same keys again after a switch: same entries */
    fl0wer_rowmap_init(&m);
    for (uint64_t k = 0; k < 5000; k++)
        fl0wer_rowmap_get(&m, 0, (k * 7919) % 65536)->c.bytes = k;
    assert_non_null(m.direct);
    assert_non_null(fl0wer_rowmap_get(&m, 1, 0));
    assert_null(m.direct);
    for (int i = 0; i < 3000; i++) {
        uint64_t k = tu_below(&r, 5000);
        struct fl0wer_rowmap_entry *e = fl0wer_rowmap_get(&m, 0, (k * 7919) % 65536);
        assert_int_equal(e - m.ents, k);
        assert_int_equal(e->c.bytes, k);
    }
    assert_int_equal(m.count, 5001);
    fl0wer_rowmap_release(&m);
}

/* Reference for store_rollup_add_to_map: the entries' counters summed by masked key, in order
 * of first appearance. Returns the distinct count. */
static size_t ref_masked(const struct store_rollup_entry *e, size_t n, uint64_t mask,
                         struct store_rollup_entry *out, size_t have)
{
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < have && out[j].klo != (e[i].klo & mask); j++)
            ;
        if (j == have) {
            memset(&out[have], 0, sizeof(out[have]));
            out[have++].klo = e[i].klo & mask;
        }
        out[j].c.flows += e[i].c.flows;
        out[j].c.bytes += e[i].c.bytes;
        out[j].c.packets += e[i].c.packets;
        out[j].c.raw_bytes += e[i].c.raw_bytes;
        out[j].c.raw_packets += e[i].c.raw_packets;
    }
    return have;
}

/* Rows decoded straight into a row map equal the decoded entries summed by masked key; damaged
 * arrays are refused (or read as some valid array) without reading out of bounds. */
static void test_add_to_map(void **state)
{
    struct tu_rng r = {22};
    enum { N = 700, ARRAYS = 3 };
    struct store_rollup_entry *e = malloc(N * sizeof(*e)), *ref = malloc(ARRAYS * N * sizeof(*e));
    uint8_t *buf = malloc(store_rollup_bound(N)), *bad = malloc(store_rollup_bound(N));
    static const uint64_t masks[] = {UINT64_MAX, 0xffff, 0xff};

    for (size_t wi = 0; wi < 4; wi++) { /* widths 0, 1, 2, 4 */
        for (size_t mi = 0; mi < 3; mi++) {
            struct fl0wer_rowmap m;
            size_t nref = 0;
            fl0wer_rowmap_init(&m);
            for (int a = 0; a < ARRAYS; a++) {
                size_t n = random_entries(&r, widths[wi], N, a != 1, e);
                if (widths[wi] == 4) /* keys beyond the direct index, too */
                    for (size_t i = 0; i < n; i++)
                        e[i].klo = e[i].klo * 97 + (uint64_t)a;
                size_t len = store_rollup_encode(widths[wi], e, n, false, buf);
                struct store_rollup_reader rd;
                assert_int_equal(store_rollup_open(&rd, buf, len), 0);
                assert_int_equal(store_rollup_add_to_map(&rd, &m, masks[mi]), 0);
                nref = ref_masked(e, n, masks[mi], ref, nref);
            }
            assert_int_equal(m.count, nref);
            for (size_t i = 0; i < nref; i++) {
                assert_int_equal(m.ents[i].khi, 0);
                assert_int_equal(m.ents[i].klo, ref[i].klo);
                assert_memory_equal(&m.ents[i].c, &ref[i].c, sizeof(ref[i].c));
            }
            fl0wer_rowmap_release(&m);
        }
        /* damage: every truncation refused; random bytes never crash */
        size_t n = random_entries(&r, widths[wi], 150, true, e);
        size_t len = store_rollup_encode(widths[wi], e, n, false, buf);
        for (size_t cut = 0; cut < len; cut++) {
            struct store_rollup_reader rd;
            struct fl0wer_rowmap m;
            fl0wer_rowmap_init(&m);
            memcpy(bad, buf, cut);
            if (store_rollup_open(&rd, bad, cut) == 0)
                assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX),
                                 FL0WER_STORE_ERR_CORRUPT);
            fl0wer_rowmap_release(&m);
        }
        for (int round = 0; round < 1000; round++) {
            struct store_rollup_reader rd;
            struct fl0wer_rowmap m;
            fl0wer_rowmap_init(&m);
            memcpy(bad, buf, len);
            bad[tu_below(&r, len)] ^= (uint8_t)(1 + tu_below(&r, 255));
            if (store_rollup_open(&rd, bad, len) == 0) {
                int rc = store_rollup_add_to_map(&rd, &m, UINT64_MAX);
                assert_true(rc == 0 || rc == FL0WER_STORE_ERR_CORRUPT);
            }
            fl0wer_rowmap_release(&m);
        }
    }
    /* a repeated key (delta 0) and 16-byte keys are refused */
    struct store_rollup_entry dup[2] = {{0, 7, {1, 1, 1, 1, 1}}, {0, 7, {1, 1, 1, 1, 1}}};
    struct store_rollup_reader rd;
    struct fl0wer_rowmap m;
    fl0wer_rowmap_init(&m);
    size_t len = store_rollup_encode(2, dup, 2, false, buf);
    assert_int_equal(store_rollup_open(&rd, buf, len), 0);
    assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX), FL0WER_STORE_ERR_CORRUPT);
    len = store_rollup_encode(16, dup, 1, false, buf);
    assert_int_equal(store_rollup_open(&rd, buf, len), 0);
    assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX), FL0WER_STORE_ERR_CORRUPT);
    fl0wer_rowmap_release(&m);
    /* keys at the ends of the width are taken (a first key 0 too), one past it is refused */
    struct store_rollup_entry edge[3] = {{0, 0, {1, 2, 3, 2, 3}}, {0, 1, {1, 2, 3, 2, 3}},
                                         {0, 65535, {1, 2, 3, 2, 3}}};
    fl0wer_rowmap_init(&m);
    len = store_rollup_encode(2, edge, 3, false, buf);
    assert_int_equal(store_rollup_open(&rd, buf, len), 0);
    assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX), 0);
    assert_int_equal(m.count, 3);
    assert_int_equal(m.ents[2].klo, 65535);
    assert_int_equal(m.ents[2].c.packets, 3);
    assert_int_equal(m.ents[2].c.raw_packets, 3);
    edge[2].klo = 65536;
    len = store_rollup_encode(2, edge, 3, false, buf);
    assert_int_equal(store_rollup_open(&rd, buf, len), 0);
    assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX), FL0WER_STORE_ERR_CORRUPT);
    struct store_rollup_entry wide = {0, 256, {1, 1, 1, 1, 1}};
    len = store_rollup_encode(1, &wide, 1, false, buf);
    assert_int_equal(store_rollup_open(&rd, buf, len), 0);
    assert_int_equal(store_rollup_add_to_map(&rd, &m, UINT64_MAX), FL0WER_STORE_ERR_CORRUPT);
    fl0wer_rowmap_release(&m);
    free(bad);
    free(buf);
    free(ref);
    free(e);
}

/* Reference merge: all entries summed per key by a quadratic scan, then sorted. */
static size_t ref_merge(struct store_rollup_entry *all, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < m && (all[j].khi != all[i].khi || all[j].klo != all[i].klo); j++)
            ;
        if (j == m) {
            all[m++] = all[i];
            continue;
        }
        all[j].c.flows += all[i].c.flows;
        all[j].c.bytes += all[i].c.bytes;
        all[j].c.packets += all[i].c.packets;
        all[j].c.raw_bytes += all[i].c.raw_bytes;
        all[j].c.raw_packets += all[i].c.raw_packets;
    }
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0 && store_rollup_key_cmp(&all[j - 1], &all[j]) > 0; j--) {
            struct store_rollup_entry t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    return m;
}

static void test_merge(void **state)
{
    struct tu_rng r = {13};
    static const size_t ks[] = {1, 2, 3, 5, 8, 9, 10, 40};
    enum { PER = 60 };

    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
            size_t k = ks[ki], total = 0;
            struct store_rollup_entry *all = malloc(k * PER * sizeof(*all));
            struct store_rollup_entry *got = malloc(k * PER * sizeof(*all) + 1);
            uint8_t **vals = malloc(k * sizeof(*vals)), *out = NULL;
            size_t *lens = malloc(k * sizeof(*lens)), out_len = 0;
            int status;
            for (size_t i = 0; i < k; i++) {
                struct store_rollup_entry e[PER];
                size_t n = random_entries(&r, widths[wi], 1 + tu_below(&r, PER - 1), i % 2, e);
                vals[i] = malloc(store_rollup_bound(n));
                lens[i] = store_rollup_encode(widths[wi], e, n, false, vals[i]);
                memcpy(all + total, e, n * sizeof(*e));
                total += n;
            }
            assert_int_equal(store_rollup_merge((const uint8_t *const *)vals, lens, k, 0, &out,
                                                &out_len), 0);
            size_t m = ref_merge(all, total);
            size_t n = read_all(out, out_len, got, k * PER, &status);
            assert_int_equal(status, 0);
            assert_int_equal(n, m);
            for (size_t i = 0; i < m; i++) {
                assert_int_equal(got[i].khi, all[i].khi);
                assert_int_equal(got[i].klo, all[i].klo);
                assert_memory_equal(&got[i].c, &all[i].c, sizeof(all[i].c));
            }
            /* a damaged operand fails the merge instead of producing a value */
            if (lens[k - 1] > 3) {
                lens[k - 1] -= 1;
                uint8_t *out2 = NULL;
                assert_int_equal(store_rollup_merge((const uint8_t *const *)vals, lens, k, 0, &out2,
                                                    &out_len), FL0WER_STORE_ERR_CORRUPT);
                assert_null(out2);
            }
            for (size_t i = 0; i < k; i++)
                free(vals[i]);
            free(out);
            free(vals);
            free(lens);
            free(got);
            free(all);
        }
    }
}

/*
 * The merge's hash table grows exactly when the next entry is a key it already holds: operand
 * A fills it to its limit (512 keys: the table starts at twice the largest operand), B's first
 * key is one of A's. Every key must come out once with the sum.
 */
static void test_merge_growth(void **state)
{
    enum { NA = 512, NB = 100, NC = 101 };
    struct store_rollup_entry a[NA], b[NB], c[NC], all[NA + NB + NC], got[NA + NC];
    uint8_t *vals[3], *out = NULL;
    size_t lens[3], out_len = 0, total = 0;
    int status;

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(c, 0, sizeof(c));
    for (size_t i = 0; i < NA; i++)
        a[i] = (struct store_rollup_entry){0, i, {1, 10 * i, i, 10 * i, i}};
    for (size_t i = 0; i < NB; i++)
        b[i] = (struct store_rollup_entry){0, i, {2, 7, 1, 7, 1}};
    for (size_t i = 0; i < NC; i++)
        c[i] = (struct store_rollup_entry){0, 600 + i, {3, 5, 1, 5, 1}};
    struct store_rollup_entry *ops[3] = {a, b, c};
    size_t ns[3] = {NA, NB, NC};
    for (int i = 0; i < 3; i++) {
        vals[i] = malloc(store_rollup_bound(ns[i]));
        lens[i] = store_rollup_encode(2, ops[i], ns[i], false, vals[i]);
        memcpy(all + total, ops[i], ns[i] * sizeof(*ops[i]));
        total += ns[i];
    }
    assert_int_equal(store_rollup_merge((const uint8_t *const *)vals, lens, 3, 0, &out,
                                        &out_len), 0);
    size_t m = ref_merge(all, total);
    assert_int_equal(m, NA + NC);
    size_t n = read_all(out, out_len, got, NA + NC, &status);
    assert_int_equal(status, 0);
    assert_int_equal(n, m);
    for (size_t i = 0; i < m; i++) {
        assert_int_equal(got[i].klo, all[i].klo);
        assert_memory_equal(&got[i].c, &all[i].c, sizeof(all[i].c));
    }
    for (int i = 0; i < 3; i++)
        free(vals[i]);
    free(out);
}

/* Ranks as a top-K does: more bytes first, then the lower key. */
static int top_cmp(const void *a, const void *b)
{
    const struct store_rollup_entry *x = a, *y = b;
    if (x->c.bytes != y->c.bytes)
        return x->c.bytes > y->c.bytes ? -1 : 1;
    return store_rollup_key_cmp(x, y);
}

static int key_cmp(const void *a, const void *b)
{
    return store_rollup_key_cmp(a, b);
}

/*
 * Bounded merges of 16-byte keys: over kmax rows the result is exactly the reference's kmax rows
 * with the most bytes (ties: lower key), in key order, flagged truncated; at or under kmax it is
 * the whole reference, not flagged, unless an operand was truncated (then flagged, rows kept).
 */
static void test_merge_bounded(void **state)
{
    struct tu_rng r = {19};
    enum { PER = 50, K = 6 };

    for (int round = 0; round < 40; round++) {
        size_t k = 2 + (size_t)round % 4, total = 0, kmax = 1 + tu_below(&r, 120);
        struct store_rollup_entry all[6 * PER], got[6 * PER + 1];
        uint8_t *vals[K], *out = NULL;
        size_t lens[K], out_len = 0;
        bool in_trunc = round % 5 == 4;
        int status;
        for (size_t i = 0; i < k; i++) {
            struct store_rollup_entry e[PER];
            size_t n = random_entries(&r, 16, 1 + tu_below(&r, PER - 1), i % 2, e);
            for (size_t j = 0; j < n; j++) /* IPv4-mapped: the common shape */
                e[j].khi = 0, e[j].klo = 0xffff00000000ull | (e[j].klo & 0xffffffffu);
            qsort(e, n, sizeof(*e), key_cmp);
            vals[i] = malloc(store_rollup_bound(n));
            lens[i] = store_rollup_encode(16, e, n, in_trunc && i == 0, vals[i]);
            memcpy(all + total, e, n * sizeof(*e));
            total += n;
        }
        assert_int_equal(store_rollup_merge((const uint8_t *const *)vals, lens, k, kmax, &out,
                                            &out_len), 0);
        size_t m = ref_merge(all, total), want_n = m;
        bool want_trunc = in_trunc || m > kmax;
        if (m > kmax) {
            qsort(all, m, sizeof(*all), top_cmp);
            want_n = kmax;
            qsort(all, want_n, sizeof(*all), key_cmp);
        }
        struct store_rollup_reader rd;
        assert_int_equal(store_rollup_open(&rd, out, out_len), 0);
        assert_int_equal(rd.truncated, want_trunc);
        size_t n = read_all(out, out_len, got, 6 * PER, &status);
        assert_int_equal(status, 0);
        assert_int_equal(n, want_n);
        for (size_t i = 0; i < want_n; i++) {
            assert_int_equal(got[i].khi, all[i].khi);
            assert_int_equal(got[i].klo, all[i].klo);
            assert_memory_equal(&got[i].c, &all[i].c, sizeof(all[i].c));
        }
        /* a merge of the truncated result stays truncated, even with room to spare */
        const uint8_t *one[2] = {out, out};
        size_t one_len[2] = {out_len, out_len};
        uint8_t *again = NULL;
        assert_int_equal(store_rollup_merge(one, one_len, 2, 0, &again, &out_len), 0);
        assert_int_equal(store_rollup_open(&rd, again, out_len), 0);
        assert_int_equal(rd.truncated, want_trunc);
        assert_int_equal(rd.n, want_n);
        free(again);
        for (size_t i = 0; i < k; i++)
            free(vals[i]);
        free(out);
    }
}

static void test_block_partial_decode(void **state)
{
    struct tu_rng r = {14};
    enum { N = 700 };
    struct fl0wer_flow *f = malloc(N * sizeof(*f)), *got = calloc(N, sizeof(*f));
    const struct fl0wer_flow *ptr[N];
    uint8_t *buf = malloc(store_block_bound(N));
    size_t n;

    for (size_t i = 0; i < N; i++) {
        tu_flow(&r, &f[i], T0, 120000);
        f[i].reserved[1] = (uint8_t)(i * 7);
        ptr[i] = &f[i];
    }
    size_t len = store_block_encode(ptr, N, buf);
    assert_int_equal(store_block_decode(buf, len, got, N, &n), 0);
    assert_int_equal(n, N);
    assert_memory_equal(got, f, N * sizeof(*f));
    /* only the source address, counters and time: the other fields stay zero */
    memset(got, 0, N * sizeof(*got));
    uint32_t mask = STORE_COL_SRC_ADDR | STORE_COL_BYTES | STORE_COL_SAMPLING;
    assert_int_equal(store_block_decode_cols(buf, len, got, N, &n, mask), 0);
    for (size_t i = 0; i < N; i++) {
        struct fl0wer_flow want;
        memset(&want, 0, sizeof(want));
        memcpy(want.src_addr, f[i].src_addr, 16);
        want.bytes = f[i].bytes;
        want.sampling = f[i].sampling;
        assert_memory_equal(&got[i], &want, sizeof(want));
    }
    /* every truncation and random damage: refused or decoded, never a crash */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64)
        assert_int_equal(store_block_decode(buf, cut, got, N, &n), FL0WER_STORE_ERR_CORRUPT);
    for (int round = 0; round < 300; round++) {
        uint8_t save;
        size_t at = tu_below(&r, len);
        save = buf[at];
        buf[at] ^= (uint8_t)(1 + tu_below(&r, 255));
        int rc = store_block_decode(buf, len, got, N, &n);
        assert_true(rc == 0 || rc == FL0WER_STORE_ERR_CORRUPT);
        buf[at] = save;
    }
    free(buf);
    free(got);
    free(f);
}

/* ---- through a real store ---- */

struct row {
    uint64_t t;
    uint8_t key[16];
    size_t klen;
    struct fl0wer_rollup_counters c;
};

struct rows {
    struct row *r;
    size_t n, cap;
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return memcmp(x->key, y->key, 16);
}

static int collect_row(void *arg, uint64_t t, const uint8_t *key, size_t klen,
                       const struct fl0wer_rollup_counters *c)
{
    struct rows *rs = arg;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 1024;
        rs->r = realloc(rs->r, rs->cap * sizeof(*rs->r));
        assert_non_null(rs->r);
    }
    struct row *w = &rs->r[rs->n++];
    memset(w, 0, sizeof(*w));
    w->t = t;
    memcpy(w->key, key, klen);
    w->klen = klen;
    w->c = *c;
    return 0;
}

/* Reference rows of dim at level over flows, sorted by (t, key), equal keys summed. */
static struct rows ref_rows(const struct fl0wer_flow *f, size_t n, unsigned dim, uint64_t unit,
                            uint64_t from, uint64_t to)
{
    struct rows rs = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t key[FL0WER_DIMKEY_MAX];
        struct fl0wer_rollup_counters c = {0};
        uint64_t t = f[i].last_ms - f[i].last_ms % unit;
        if (t < from || t >= to)
            continue;
        fl0wer_rollup_add_flow(&c, &f[i]);
        collect_row(&rs, t, key, fl0wer_store_dim_key(&f[i], dim, key), &c);
    }
    qsort(rs.r, rs.n, sizeof(*rs.r), row_cmp);
    size_t m = 0;
    for (size_t i = 0; i < rs.n; i++) {
        if (m && row_cmp(&rs.r[m - 1], &rs.r[i]) == 0) {
            struct fl0wer_rollup_counters *a = &rs.r[m - 1].c, *b = &rs.r[i].c;
            a->flows += b->flows;
            a->bytes += b->bytes;
            a->packets += b->packets;
            a->raw_bytes += b->raw_bytes;
            a->raw_packets += b->raw_packets;
        } else {
            rs.r[m++] = rs.r[i];
        }
    }
    rs.n = m;
    return rs;
}

/*
 * Every dimension at both levels over the whole periods inside [from, to) equals the reference,
 * row for row.
 */
static void assert_dims(struct fl0wer_store *s, const struct fl0wer_flow *f, size_t n,
                        uint64_t from, uint64_t to, bool addresses)
{
    static const unsigned all[] = {0, 1, FL0WER_ROLLUP_TOTAL, 2, 3, 4, 5, 6, 7, 8, 9};
    const unsigned *dims = addresses ? all : all + 2;
    size_t ndims = addresses ? 11 : 9;
    for (int level = 0; level < 2; level++) {
        uint64_t unit = level ? FL0WER_HOUR_MS : FL0WER_MINUTE_MS;
        uint64_t lo = from % unit ? from - from % unit + unit : from, hi = to - to % unit;
        if (lo >= hi)
            continue;
        for (size_t d = 0; d < ndims; d++) {
            struct rows got = {0}, want = ref_rows(f, n, dims[d], unit, lo, hi);
            assert_int_equal(fl0wer_store_scan_rollups(s, (enum fl0wer_rollup_level)level,
                                                       dims[d], lo, hi, collect_row, &got), 0);
            if (level == 0 && !store_minute_arrays(s, dims[d]))
                want.n = 0; /* no minute arrays: source ports, AS numbers, addresses by default */
            assert_int_equal(got.n, want.n);
            for (size_t i = 0; i < want.n; i++) {
                assert_int_equal(got.r[i].t, want.r[i].t);
                assert_int_equal(got.r[i].klen, want.r[i].klen);
                assert_memory_equal(got.r[i].key, want.r[i].key, 16);
                assert_memory_equal(&got.r[i].c, &want.r[i].c, sizeof(want.r[i].c));
            }
            free(got.r);
            free(want.r);
        }
    }
}

/* Every dimension, addresses included (hours only, none over its bound). */
static void assert_rollups(struct fl0wer_store *s, const struct fl0wer_flow *f, size_t n,
                           uint64_t from, uint64_t to)
{
    assert_dims(s, f, n, from, to, true);
}

struct fixture {
    char dir[64];
    struct fl0wer_store *s;
};

static struct fl0wer_store *open_at(const char *dir, uint64_t rollup_retention, char *err)
{
    /* raw flows kept as long (rollups are never kept shorter than the flows) */
    struct fl0wer_store_config cfg = {.path = dir, .retention_ms = rollup_retention,
                                      .rollup_retention_ms = rollup_retention};
    struct fl0wer_store *s = NULL;
    int rc = fl0wer_store_open(&s, &cfg, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    char err[256];
    assert_non_null(tu_tmpdir(fx->dir, sizeof(fx->dir)));
    fx->s = open_at(fx->dir, 0, err);
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

static void compact_rollups(struct fl0wer_store *s)
{
    rocksdb_compact_range_cf(s->db, s->cf[STORE_CF_ROLLUPS], NULL, 0, NULL, 0);
}

/* Batches spanning minutes and hours (also > 1024 minutes: the qsort path), then compaction. */
static void test_rollups_exact(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {15};
    enum { N = 6000 };
    struct fl0wer_flow *f = malloc(N * sizeof(*f));
    bool dup;
    char err[256];

    for (size_t i = 0; i < N; i++)
        tu_flow(&r, &f[i], T0 - 3 * FL0WER_MINUTE_MS,
                i < 4000 ? 3 * FL0WER_HOUR_MS : 30 * FL0WER_HOUR_MS);
    for (size_t b = 0; b < 6; b++) {
        struct fl0wer_batch batch = tu_batch(f + b * 1000, 1000, b + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, b % 2 ? "e1" : "e2", &batch, &dup), 0);
    }
    uint64_t end = T0 + 31 * FL0WER_HOUR_MS;
    assert_rollups(fx->s, f, N, 0, end);
    assert_rollups(fx->s, f, N, T0 + 17 * FL0WER_MINUTE_MS, T0 + 2 * FL0WER_HOUR_MS);
    /* compaction runs the merge operator over the operands; reopen reads the result */
    compact_rollups(fx->s);
    fl0wer_store_close(fx->s);
    fx->s = open_at(fx->dir, 0, err);
    assert_rollups(fx->s, f, N, 0, end);
    free(f);
}

struct putter {
    struct fl0wer_store *s;
    const struct fl0wer_flow *f;
    char edge[16];
    int rc;
};

static void *put_many(void *arg)
{
    struct putter *p = arg;
    bool dup;
    for (uint64_t seq = 1; seq <= 10 && p->rc == 0; seq++) {
        struct fl0wer_batch b = tu_batch((struct fl0wer_flow *)p->f + (seq - 1) * 200, 200, seq);
        p->rc = fl0wer_store_put_batch(p->s, p->edge, &b, &dup);
        if (dup)
            p->rc = -1;
    }
    return NULL;
}

static void test_concurrent_puts(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {16};
    enum { THREADS = 4, PER = 2000 };
    struct fl0wer_flow *f = malloc(THREADS * PER * sizeof(*f));
    struct putter p[THREADS];
    pthread_t th[THREADS];

    for (size_t i = 0; i < THREADS * PER; i++)
        tu_flow(&r, &f[i], T0, 2 * FL0WER_HOUR_MS);
    for (int i = 0; i < THREADS; i++) {
        p[i] = (struct putter){fx->s, f + i * PER, "", 0};
        snprintf(p[i].edge, sizeof(p[i].edge), "edge-%d", i);
        pthread_create(&th[i], NULL, put_many, &p[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(p[i].rc, 0);
    }
    assert_rollups(fx->s, f, THREADS * PER, 0, T0 + 3 * FL0WER_HOUR_MS);
    struct fl0wer_store_status st;
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    assert_int_equal(st.flows_stored, THREADS * PER);
    assert_int_equal(st.batches_stored, THREADS * 10);
    free(f);
}

static size_t count_rows(struct fl0wer_store *s, enum fl0wer_rollup_level level, uint64_t from,
                         uint64_t to)
{
    struct rows got = {0};
    assert_int_equal(fl0wer_store_scan_rollups(s, level, 3, from, to, collect_row, &got), 0);
    free(got.r);
    return got.n;
}

/* gc drops minute arrays older than rollup_retention and hour arrays older than 5x that. */
static void test_rollup_retention(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {17};
    enum { N = 3000 };
    struct fl0wer_flow *f = malloc(N * sizeof(*f));
    struct fl0wer_store_gc_result res;
    uint64_t ret = 2 * FL0WER_HOUR_MS, end = T0 + 10 * FL0WER_HOUR_MS;
    char err[256];
    bool dup;

    fl0wer_store_close(fx->s);
    fx->s = open_at(fx->dir, ret, err);
    for (size_t i = 0; i < N; i++)
        tu_flow(&r, &f[i], T0, 10 * FL0WER_HOUR_MS);
    struct fl0wer_batch b = tu_batch(f, N, 1);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "e", &b, &dup), 0);
    /* now = T0 + 5 h + 30 min: minutes before T0 + 3 h 30 min go, hours all stay */
    uint64_t now = T0 + 5 * FL0WER_HOUR_MS + 30 * FL0WER_MINUTE_MS, cut = now - ret;
    assert_int_equal(fl0wer_store_gc(fx->s, now, &res), 0);
    /* 6 dims with minute arrays (total, dstport, proto, exporter, 2 interfaces) x 210 minutes,
       nearly all used */
    assert_true(res.rollup_rows_removed >= 6 * 200);
    assert_int_equal(count_rows(fx->s, FL0WER_ROLLUP_MINUTE, 0, cut - cut % FL0WER_MINUTE_MS), 0);
    assert_rollups(fx->s, f, N, cut - cut % FL0WER_MINUTE_MS + FL0WER_MINUTE_MS, end);
    struct rows want = ref_rows(f, N, 3, FL0WER_HOUR_MS, 0, end);
    assert_int_equal(count_rows(fx->s, FL0WER_ROLLUP_HOUR, 0, end), want.n);
    free(want.r);
    /* 5 x 2 h later than T0 + 10 h: every hour array goes too */
    assert_int_equal(fl0wer_store_gc(fx->s, end + 10 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(count_rows(fx->s, FL0WER_ROLLUP_HOUR, 0, end), 0);
    assert_int_equal(count_rows(fx->s, FL0WER_ROLLUP_MINUTE, 0, end), 0);
    free(f);
}

/* Every address array of a scan: period, truncated flag, row count; rows of exact ones. */
struct arrays {
    uint64_t t[512];
    bool trunc[512];
    size_t rows[512], n;
    struct rows exact;
};

static int note_array(void *arg, uint64_t t, struct store_rollup_reader *r)
{
    struct arrays *a = arg;
    struct store_rollup_entry e;
    uint8_t kb[16];
    size_t rows = 0;
    int got;
    while ((got = store_rollup_next(r, &e)) > 0) {
        rows++;
        if (!r->truncated) {
            store_rollup_key_bytes(&e, 16, kb);
            collect_row(&a->exact, t, kb, 16, &e.c);
        }
    }
    assert_int_equal(got, 0);
    assert_true(a->n < 512);
    a->t[a->n] = t;
    a->trunc[a->n] = r->truncated;
    a->rows[a->n++] = rows;
    return 0;
}

/*
 * Address arrays with bounds kmin/khour: a period's array is truncated exactly when the period
 * has more distinct addresses than K, then holds K rows; otherwise its rows equal the reference.
 * Returns the number of truncated arrays and adds the exact ones to *exact_n.
 */
static size_t assert_address_arrays(struct fl0wer_store *s, const struct fl0wer_flow *f,
                                    size_t n, uint64_t end, const size_t k[2], size_t *exact_n)
{
    size_t truncated = 0;
    for (int level = 0; level < 2; level++) {
        uint64_t unit = level ? FL0WER_HOUR_MS : FL0WER_MINUTE_MS;
        for (unsigned dim = 0; dim < 2; dim++) {
            struct arrays *a = calloc(1, sizeof(*a));
            struct rows want = ref_rows(f, n, dim, unit, 0, end);
            assert_int_equal(store_scan_rollup_arrays(s, (enum fl0wer_rollup_level)level, dim, 0,
                                                      end, note_array, a), 0);
            size_t p = 0, i = 0;
            while (i < want.n) {
                size_t j = i;
                while (j < want.n && want.r[j].t == want.r[i].t)
                    j++;
                assert_true(p < a->n);
                assert_int_equal(a->t[p], want.r[i].t);
                assert_int_equal(a->trunc[p], j - i > k[level]);
                if (a->trunc[p]) {
                    assert_int_equal(a->rows[p], k[level]);
                    truncated++;
                } else {
                    assert_int_equal(a->rows[p], j - i);
                }
                p++;
                i = j;
            }
            assert_int_equal(p, a->n);
            /* the exact arrays, row for row */
            size_t e = 0;
            for (size_t m = 0; m < want.n; m++) {
                size_t q;
                for (q = 0; q < a->n && a->t[q] != want.r[m].t; q++)
                    ;
                if (a->trunc[q])
                    continue;
                assert_true(e < a->exact.n);
                assert_int_equal(a->exact.r[e].t, want.r[m].t);
                assert_memory_equal(a->exact.r[e].key, want.r[m].key, 16);
                assert_memory_equal(&a->exact.r[e].c, &want.r[m].c, sizeof(want.r[m].c));
                e++;
            }
            assert_int_equal(e, a->exact.n);
            *exact_n += a->n;
            free(a->exact.r);
            free(a);
            free(want.r);
        }
    }
    return truncated;
}

static struct fl0wer_store *open_k(const char *dir, const size_t k[2])
{
    struct fl0wer_store_config cfg = {.path = dir, .address_k_minute = (uint32_t)k[0],
                                      .address_k_hour = (uint32_t)k[1]};
    struct fl0wer_store *s = NULL;
    char err[256];
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    return s;
}

/* A store with tiny address bounds: truncated and exact arrays side by side, before and after
   compaction ran the merge operator over them and after a reopen with other settings. */
static void test_address_truncation(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {20};
    enum { N = 3000 };
    static const size_t k[2] = {14, 100};
    struct fl0wer_flow *f = malloc(N * sizeof(*f));
    uint64_t end = T0 + 3 * FL0WER_HOUR_MS;
    size_t exact = 0, trunc;
    bool dup;

    fl0wer_store_close(fx->s); /* the bounds are set when a store is created: a fresh one */
    tu_rmdir(fx->dir);
    fx->s = open_k(fx->dir, k);
    for (size_t i = 0; i < N; i++)
        tu_flow(&r, &f[i], T0, 3 * FL0WER_HOUR_MS);
    for (size_t b = 0; b < 6; b++) {
        struct fl0wer_batch batch = tu_batch(f + b * 500, 500, b + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "e", &batch, &dup), 0);
    }
    trunc = assert_address_arrays(fx->s, f, N, end, k, &exact);
    assert_true(trunc > 10); /* both kinds occur: minutes of either, srcip hours */
    assert_true(exact > trunc);
    compact_rollups(fx->s);
    fl0wer_store_close(fx->s);
    /* the bounds are the store's: reopened with the default configuration, they hold */
    char err[256];
    fx->s = open_at(fx->dir, 0, err);
    exact = 0;
    assert_int_equal(assert_address_arrays(fx->s, f, N, end, k, &exact), trunc);
    /* every other dimension is unbounded and exact */
    assert_dims(fx->s, f, N, 0, end, false);
    free(f);
}

/*
 * Port rows are keyed by (protocol, port): 4 bytes 0, protocol, port (big-endian), written out
 * by hand here. TCP 53 and UDP 53 are two rows; equal (protocol, port) pairs are summed; rows
 * are in key order, so by protocol first.
 */
static void test_port_rows_by_protocol(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        uint8_t proto;
        uint16_t sport, dport;
        uint64_t bytes;
    } in[] = {{6, 40000, 53, 100}, {17, 40000, 53, 200}, {17, 53, 53, 5}, {6, 53, 443, 1000},
              {1, 0, 0, 7}};
    static const struct {
        uint8_t key[4];
        uint64_t flows, bytes;
    } want_dst[] = {{{0, 1, 0, 0}, 1, 7}, {{0, 6, 0, 53}, 1, 100}, {{0, 6, 1, 187}, 1, 1000},
                    {{0, 17, 0, 53}, 2, 205}},
      want_src[] = {{{0, 1, 0, 0}, 1, 7}, {{0, 6, 0, 53}, 1, 1000}, {{0, 6, 0x9c, 0x40}, 1, 100},
                    {{0, 17, 0, 53}, 1, 5}, {{0, 17, 0x9c, 0x40}, 1, 200}};
    enum { N = sizeof(in) / sizeof(in[0]) };
    struct fl0wer_flow f[N];
    struct tu_rng r = {21};
    bool dup;

    for (size_t i = 0; i < N; i++) {
        tu_flow(&r, &f[i], T0, 60000);
        f[i].proto = in[i].proto;
        f[i].src_port = in[i].sport;
        f[i].dst_port = in[i].dport;
        f[i].bytes = in[i].bytes;
        f[i].flows = 1;
        f[i].sampling = 1;
    }
    struct fl0wer_batch b = tu_batch(f, N, 1);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "e", &b, &dup), 0);
    for (int level = 0; level < 2; level++) {
        uint64_t unit = level ? FL0WER_HOUR_MS : FL0WER_MINUTE_MS;
        for (unsigned dim = 2; dim <= 3; dim++) {
            struct rows got = {0};
            size_t nw = dim == 3 ? 4 : level == 0 ? 0 : 5; /* source ports: hour arrays only */
            assert_int_equal(fl0wer_store_scan_rollups(fx->s, (enum fl0wer_rollup_level)level,
                                                       dim, T0 - T0 % unit, T0 - T0 % unit + unit,
                                                       collect_row, &got), 0);
            assert_int_equal(got.n, nw);
            for (size_t i = 0; i < nw; i++) {
                const uint8_t *k = dim == 3 ? want_dst[i].key : want_src[i].key;
                assert_int_equal(got.r[i].klen, 4);
                assert_memory_equal(got.r[i].key, k, 4);
                assert_int_equal(got.r[i].c.flows, dim == 3 ? want_dst[i].flows : want_src[i].flows);
                assert_int_equal(got.r[i].c.bytes, dim == 3 ? want_dst[i].bytes : want_src[i].bytes);
            }
            free(got.r);
        }
    }
}

/* Sets (val non-NULL) or deletes a meta key with RocksDB directly, the store closed. */
static void raw_meta(const char *dir, const char *key, const char *val)
{
    static const char *const names[STORE_CF__COUNT] = {"default", "flows", "rollups", "meta",
                                                       "alerts"};
    rocksdb_options_t *o = rocksdb_options_create();
    const rocksdb_options_t *opts[STORE_CF__COUNT];
    rocksdb_column_family_handle_t *cf[STORE_CF__COUNT];
    rocksdb_writeoptions_t *w = rocksdb_writeoptions_create();
    char *err = NULL;

    for (int i = 0; i < STORE_CF__COUNT; i++)
        opts[i] = o;
    rocksdb_t *db = rocksdb_open_column_families(o, dir, STORE_CF__COUNT, names, opts, cf, &err);
    assert_null(err);
    if (val)
        rocksdb_put_cf(db, w, cf[STORE_CF_META], key, strlen(key), val, strlen(val), &err);
    else
        rocksdb_delete_cf(db, w, cf[STORE_CF_META], key, strlen(key), &err);
    assert_null(err);
    for (int i = 0; i < STORE_CF__COUNT; i++)
        rocksdb_column_family_handle_destroy(cf[i]);
    rocksdb_close(db);
    rocksdb_writeoptions_destroy(w);
    rocksdb_options_destroy(o);
}

/* Another layout version, or an older store without the key, is refused with a clear error. */
static void test_format_version(void **state)
{
    struct fixture *fx = *state;
    struct fl0wer_store_config cfg = {.path = fx->dir};
    struct fl0wer_store *s = NULL;
    struct fl0wer_flow f[3];
    struct tu_rng r = {18};
    char err[256], cur[2] = {(char)STORE_FORMAT_VERSION, 0};
    bool dup;

    for (int i = 0; i < 3; i++)
        tu_flow(&r, &f[i], T0, 60000);
    struct fl0wer_batch b = tu_batch(f, 3, 1);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "e", &b, &dup), 0);
    /* into SST files: raw_meta's plain RocksDB has no merge operator to replay the WAL with */
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    for (int i = 0; i < STORE_CF__COUNT; i++) {
        char *e = NULL;
        rocksdb_flush_cf(fx->s->db, fo, fx->s->cf[i], &e);
        assert_null(e);
    }
    rocksdb_flushoptions_destroy(fo);
    fl0wer_store_close(fx->s);
    fx->s = NULL;
    raw_meta(fx->dir, STORE_META_FORMAT, "\x01");
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(err, "format 1, this build reads only 5"));
    raw_meta(fx->dir, STORE_META_FORMAT, "\x02"); /* before address rollups */
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_CORRUPT);
    assert_non_null(strstr(err, "format 2, this build reads only 5"));
    raw_meta(fx->dir, STORE_META_FORMAT, "\x03"); /* ports keyed without their protocol */
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_CORRUPT);
    assert_non_null(strstr(err, "format 3, this build reads only 5"));
    raw_meta(fx->dir, STORE_META_FORMAT, "\x04"); /* IPv4 address keys front-coded only */
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_CORRUPT);
    assert_non_null(strstr(err, "format 4, this build reads only 5"));
    /* a format-1 store had the counters but no version key */
    raw_meta(fx->dir, STORE_META_FORMAT, NULL);
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_CORRUPT);
    assert_non_null(strstr(err, "format 1"));
    /* the version key alone decides: set back, the store opens with its data */
    raw_meta(fx->dir, STORE_META_FORMAT, cur);
    fx->s = open_at(fx->dir, 0, err);
    struct fl0wer_store_status st;
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    assert_int_equal(st.flows_stored, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_codec_corrupt),
        cmocka_unit_test(test_rowmap),
        cmocka_unit_test(test_add_to_map),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_bounded),
        cmocka_unit_test(test_merge_growth),
        cmocka_unit_test(test_block_partial_decode),
        cmocka_unit_test_setup_teardown(test_rollups_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_puts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_address_truncation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_port_rows_by_protocol, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
