/*
 * test_agg.c - aggregation exactness: random flows in; for every key choice (incl. no
 * aggregation and a max-flows cap that forces early flushes) the records out must carry exactly
 * the input's totals, the per-key sums of an independent naive aggregation, zeroed non-key
 * fields, and (without early flushes) exactly one record per distinct (key, bucket).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg.h"
#include "agg_sink.h"

#define N_IN 20000

/* The test's own description of the key fields: name, offset, size. */
static const struct {
    const char *name;
    size_t off, size;
} fields[] = {
    {"exporter", offsetof(struct fl0wer_flow, exporter), 16},
    {"domain_id", offsetof(struct fl0wer_flow, domain_id), 4},
    {"in_if", offsetof(struct fl0wer_flow, in_if), 4},
    {"out_if", offsetof(struct fl0wer_flow, out_if), 4},
    {"src_addr", offsetof(struct fl0wer_flow, src_addr), 16},
    {"dst_addr", offsetof(struct fl0wer_flow, dst_addr), 16},
    {"src_port", offsetof(struct fl0wer_flow, src_port), 2},
    {"dst_port", offsetof(struct fl0wer_flow, dst_port), 2},
    {"proto", offsetof(struct fl0wer_flow, proto), 1},
    {"tos", offsetof(struct fl0wer_flow, tos), 1},
    {"src_as", offsetof(struct fl0wer_flow, src_as), 4},
    {"dst_as", offsetof(struct fl0wer_flow, dst_as), 4},
    {"next_hop", offsetof(struct fl0wer_flow, next_hop), 16},
    {"sampling", offsetof(struct fl0wer_flow, sampling), 4},
    {"version", offsetof(struct fl0wer_flow, version), 1},
    {"src_mask", offsetof(struct fl0wer_flow, src_mask), 1},
    {"dst_mask", offsetof(struct fl0wer_flow, dst_mask), 1},
    {"vlan", offsetof(struct fl0wer_flow, vlan), 2},
    {"direction", offsetof(struct fl0wer_flow, direction), 1},
    {"flags", offsetof(struct fl0wer_flow, flags), 1},
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

struct keyed {
    uint8_t key[160]; /* concatenated key field bytes */
    uint64_t bucket;
    uint64_t bytes, packets, flows, scaled_bytes, first, last;
    uint8_t tcp_flags;
};

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(uint64_t n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state % n;
}

/* Random flows over small value sets, so that many share keys; last_ms spans 4 buckets; some
 * addresses are IPv6, some next hops :: and some ::ffff:0.0.0.0. */
static void make_flows(struct fl0wer_flow *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fl0wer_flow_init(&f[i]);
        uint8_t v4[4] = {10, 0, 0, (uint8_t)rnd(3)};
        fl0wer_addr_from_v4(f[i].exporter, v4);
        v4[3] = (uint8_t)rnd(6);
        fl0wer_addr_from_v4(f[i].src_addr, v4);
        v4[2] = 1;
        v4[3] = (uint8_t)rnd(5);
        fl0wer_addr_from_v4(f[i].dst_addr, v4);
        switch (rnd(4)) { /* 192.168.0.1, ::ffff:0.0.0.0 or :: (two different keys) */
        case 0:
            fl0wer_addr_from_v4(f[i].next_hop, (uint8_t[4]){192, 168, 0, 1});
            break;
        case 1:
            fl0wer_addr_from_v4(f[i].next_hop, (uint8_t[4]){0, 0, 0, 0});
            break;
        }
        /* Some IPv6 addresses, so both entry layouts (IPv4 compact, full) meet in a bucket. */
        if (rnd(8) == 0) {
            static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8};
            memcpy(f[i].src_addr, v6, 16);
            f[i].src_addr[15] = (uint8_t)rnd(3);
        }
        if (rnd(16) == 0) {
            static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
            memcpy(f[i].exporter, v6, 16);
        }
        f[i].domain_id = (uint32_t)rnd(2);
        f[i].in_if = (uint32_t)rnd(3);
        f[i].out_if = (uint32_t)rnd(3);
        f[i].src_as = (uint32_t)rnd(2) * 65000;
        f[i].dst_as = (uint32_t)rnd(2);
        f[i].sampling = rnd(3) == 0 ? 100 : 1;
        f[i].src_port = (uint16_t)(rnd(2) ? 443 : 50000 + rnd(3));
        f[i].dst_port = (uint16_t)rnd(3);
        f[i].vlan = (uint16_t)rnd(2);
        f[i].proto = rnd(2) ? 6 : 17;
        f[i].tcp_flags = (uint8_t)(1u << rnd(8));
        f[i].tos = (uint8_t)rnd(2);
        f[i].src_mask = 24;
        f[i].dst_mask = (uint8_t)(rnd(2) ? 16 : 24);
        f[i].direction = (uint8_t)rnd(2);
        f[i].version = rnd(2) ? 9 : 10;
        f[i].flags = (uint8_t)(rnd(2) ? FL0WER_FLOW_F_REVERSE : 0);
        f[i].last_ms = 1700000000000ull + rnd(4 * 60000);
        f[i].first_ms = f[i].last_ms - rnd(30000);
        f[i].bytes = 40 + rnd(100000);
        f[i].packets = 1 + rnd(100);
        f[i].flows = 1;
    }
}

static bool field_in(const char *list, const char *name)
{
    if (!strcmp(list, "all"))
        return true;
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static void to_keyed(const struct fl0wer_flow *f, const char *list, uint64_t bucket_ms,
                     struct keyed *k)
{
    memset(k, 0, sizeof(*k));
    size_t used = 0;
    bool sampled_key = field_in(list, "sampling");
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (!field_in(list, fields[i].name))
            continue;
        memcpy(k->key + used, (const uint8_t *)f + fields[i].off, fields[i].size);
        used += fields[i].size;
    }
    uint64_t s = sampled_key ? 1 : f->sampling;
    k->bucket = f->last_ms / bucket_ms;
    k->bytes = f->bytes * s;
    k->packets = f->packets * s;
    k->flows = f->flows;
    k->scaled_bytes = f->bytes * f->sampling;
    k->first = f->first_ms;
    k->last = f->last_ms;
    k->tcp_flags = f->tcp_flags;
}

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    int c = memcmp(x->key, y->key, sizeof(x->key));
    if (c)
        return c;
    return (x->bucket > y->bucket) - (x->bucket < y->bucket);
}

/* Merges sorted entries with equal key (and, if by_bucket, bucket) in place; returns count. */
static size_t fold(struct keyed *v, size_t n, bool by_bucket)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && !memcmp(v[out - 1].key, v[i].key, sizeof(v[i].key)) &&
            (!by_bucket || v[out - 1].bucket == v[i].bucket)) {
            struct keyed *d = &v[out - 1];
            d->bytes += v[i].bytes;
            d->packets += v[i].packets;
            d->flows += v[i].flows;
            d->scaled_bytes += v[i].scaled_bytes;
            d->first = v[i].first < d->first ? v[i].first : d->first;
            d->last = v[i].last > d->last ? v[i].last : d->last;
            d->tcp_flags |= v[i].tcp_flags;
        } else {
            v[out++] = v[i];
        }
    }
    return out;
}

/* How check_key runs the aggregator: adaptive threshold and window (0 = not adaptive), every
 * key distinct (src_as = record number, when the key holds src_as). */
struct mode {
    uint32_t pct, window;
    bool distinct;
};

static void check_key_mode(const char *list, bool disabled, size_t max_flows,
                           const struct mode *m)
{
    static struct fl0wer_flow in[N_IN];
    static struct keyed want[N_IN], got[N_IN];
    struct sink sink = {0};
    struct edge_agg *a;
    char err[256];
    uint32_t mask = 0;
    assert_int_equal(edge_agg_key_parse(list, &mask, err), 0);
    struct edge_agg_config cfg = {.key_mask = mask, .bucket_s = 60, .grace_s = 5,
                                  .max_flows = max_flows, .disabled = disabled,
                                  .min_reduction_pct = m->pct, .window = m->window};
    assert_int_equal(edge_agg_create(&a, &cfg, sink_emit, &sink), 0);
    make_flows(in, N_IN);
    for (size_t i = 0; m->distinct && i < N_IN; i++)
        in[i].src_as = (uint32_t)i + 1;
    for (size_t i = 0; i < N_IN; i += 100)
        assert_int_equal(edge_agg_add(a, in + i, 100, 1700000400000ull), 0);
    struct edge_agg_stats st;
    edge_agg_stats(a, &st);
    assert_int_equal(st.records_in, N_IN);
    if (!disabled && max_flows == 0 && !m->pct)
        assert_int_equal(sink.n, 0); /* nothing closed yet at "now" inside bucket 3 + grace */
    edge_agg_flush_all(a);
    edge_agg_stats(a, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.records_out, sink.n);
    if (m->pct) /* these inputs merge less than the thresholds used: some records bypassed */
        assert_true(st.mode_switches > 0 && st.bypassed > 0);
    else
        assert_true(st.mode_switches == 0 && st.bypassed == 0);
    if (max_flows)
        assert_true(st.early_flushes > 0);
    assert_true(sink.n <= N_IN);
    if (disabled)
        assert_int_equal(sink.n, N_IN);

    const char *klist = disabled ? "all" : list;
    for (size_t i = 0; i < N_IN; i++)
        to_keyed(&in[i], klist, 60000, &want[i]);
    for (size_t i = 0; i < sink.n; i++) {
        to_keyed(&sink.out[i], klist, 60000, &got[i]);
        got[i].scaled_bytes = sink.out[i].bytes * sink.out[i].sampling;
        if (!disabled && !field_in(list, "sampling"))
            assert_int_equal(sink.out[i].sampling, 1);
        /* Non-key fields are zero in merged records. */
        for (size_t k = 0; k < N_FIELDS && !disabled; k++) {
            if (field_in(list, fields[k].name) || !strcmp(fields[k].name, "sampling") ||
                !strcmp(fields[k].name, "flags"))
                continue;
            static const uint8_t zero[16];
            assert_memory_equal((const uint8_t *)&sink.out[i] + fields[k].off, zero,
                                fields[k].size);
        }
    }
    /* Per (key, bucket) when nothing was flushed early: exactly one record each. */
    qsort(want, N_IN, sizeof(*want), cmp_keyed);
    qsort(got, sink.n, sizeof(*got), cmp_keyed);
    size_t n_want = N_IN, n_got = sink.n;
    if (!max_flows && !disabled && !m->pct) {
        size_t nw = fold(want, N_IN, true);
        n_want = nw;
        assert_int_equal(sink.n, nw);
        for (size_t i = 0; i < nw; i++) {
            assert_int_equal(got[i].bucket, want[i].bucket);
            assert_int_equal(got[i].bytes, want[i].bytes);
            assert_int_equal(got[i].packets, want[i].packets);
            assert_int_equal(got[i].flows, want[i].flows);
            assert_int_equal(got[i].first, want[i].first);
            assert_int_equal(got[i].last, want[i].last);
            assert_int_equal(got[i].tcp_flags, want[i].tcp_flags);
        }
    }
    /* Per key over all buckets: sums, min first, max last, OR of flags. */
    size_t nw = fold(want, n_want, false), ng = fold(got, n_got, false);
    assert_int_equal(ng, nw);
    uint64_t tb = 0, tf = 0, ts = 0;
    for (size_t i = 0; i < nw; i++) {
        assert_memory_equal(got[i].key, want[i].key, sizeof(got[i].key));
        assert_int_equal(got[i].bytes, want[i].bytes);
        assert_int_equal(got[i].packets, want[i].packets);
        assert_int_equal(got[i].flows, want[i].flows);
        assert_int_equal(got[i].scaled_bytes, want[i].scaled_bytes);
        assert_int_equal(got[i].first, want[i].first);
        assert_int_equal(got[i].last, want[i].last);
        assert_int_equal(got[i].tcp_flags, want[i].tcp_flags);
        tb += got[i].bytes;
        tf += got[i].flows;
        ts += got[i].scaled_bytes;
    }
    uint64_t eb = 0, es = 0;
    for (size_t i = 0; i < N_IN; i++) {
        eb += in[i].bytes * (field_in(klist, "sampling") ? 1 : in[i].sampling);
        es += in[i].bytes * in[i].sampling;
    }
    assert_int_equal(tf, N_IN);
    assert_int_equal(tb, eb);
    assert_int_equal(ts, es);
    edge_agg_destroy(a);
    free(sink.out);
}

static void check_key(const char *list, bool disabled, size_t max_flows)
{
    static const struct mode full = {0};
    check_key_mode(list, disabled, max_flows, &full);
}

/* Adaptive mode: thresholds these inputs stay under, so workers switch to sampled (and back,
 * where the subset merges more); per-key sums and totals must still be exact. */
static void check_adaptive(const char *list, size_t max_flows, uint32_t pct, bool distinct)
{
    struct mode m = {.pct = pct, .window = 1024, .distinct = distinct};
    check_key_mode(list, false, max_flows, &m);
}

static void test_adaptive_all(void **state) { check_adaptive("all", 0, 10, false); }
static void test_adaptive_all_distinct(void **state) { check_adaptive("all", 0, 10, true); }
static void test_adaptive_addr_pair(void **state)
{
    check_adaptive("src_addr,dst_addr", 0, 100, false); /* no sampling in the key: scaled */
}
static void test_adaptive_ports_sampling(void **state)
{
    check_adaptive("proto,dst_port,sampling,flags", 0, 100, false);
}
static void test_adaptive_max_flows(void **state) { check_adaptive("all", 500, 50, true); }

static void test_all_fields(void **state) { check_key("all", false, 0); }
static void test_no_aggregate(void **state) { check_key("all", true, 0); }
static void test_addr_pair(void **state) { check_key("src_addr,dst_addr", false, 0); }
static void test_exporter_only(void **state) { check_key("exporter", false, 0); }
static void test_ports_sampling(void **state)
{
    check_key("proto,dst_port,sampling,flags", false, 0);
}
static void test_interfaces(void **state) { check_key("exporter,domain_id,in_if,out_if", false, 0); }
static void test_max_flows_all(void **state) { check_key("all", false, 500); }
static void test_max_flows_small(void **state) { check_key("src_addr,dst_port", false, 7); }

/* Buckets close on the wall clock: bucket end + grace, or grace after a late bucket opened. */
static void test_tick_closes_buckets(void **state)
{
    struct sink sink = {0};
    struct edge_agg *a;
    struct edge_agg_config cfg = {.bucket_s = 10, .grace_s = 2};
    assert_int_equal(edge_agg_create(&a, &cfg, sink_emit, &sink), 0);
    struct fl0wer_flow f;
    fl0wer_flow_init(&f);
    f.bytes = 100;
    f.packets = 1;
    f.last_ms = f.first_ms = 1000000; /* bucket [1000000, 1010000) */
    assert_int_equal(edge_agg_add(a, &f, 1, 1005000), 0);
    assert_int_equal(edge_agg_add(a, &f, 1, 1006000), 0);
    assert_int_equal(edge_agg_tick(a, 1011999), 0);
    assert_int_equal(sink.n, 0);
    assert_int_equal(edge_agg_tick(a, 1012000), 1);
    assert_int_equal(sink.n, 1);
    assert_int_equal(sink.out[0].bytes, 200);
    assert_int_equal(sink.out[0].flows, 2);
    /* A record from long ago opens a late bucket: held for the grace only. */
    f.last_ms = f.first_ms = 5000;
    assert_int_equal(edge_agg_add(a, &f, 1, 2000000), 0);
    assert_int_equal(edge_agg_tick(a, 2001999), 0);
    assert_int_equal(edge_agg_tick(a, 2002000), 1);
    assert_int_equal(sink.n, 2);
    /* A record far in the future is held at most bucket + grace. */
    f.last_ms = f.first_ms = 9000000;
    assert_int_equal(edge_agg_add(a, &f, 1, 3000000), 0);
    assert_int_equal(edge_agg_tick(a, 3011999), 0);
    assert_int_equal(edge_agg_tick(a, 3012000), 1);
    assert_int_equal(sink.n, 3);
    edge_agg_destroy(a);
    free(sink.out);
}

/* A sink that takes at most `room` records per call while not asked to wait. */
struct stingy {
    struct sink s;
    size_t room;
    size_t refusals;
};

static size_t stingy_emit(void *arg, const struct fl0wer_flow *flows, size_t count, bool wait)
{
    struct stingy *g = arg;
    size_t n = count;
    if (!wait && n > g->room) {
        n = g->room;
        g->refusals++;
    }
    sink_emit(&g->s, flows, n, true);
    return n;
}

/*
 * Tables and pool chunks are reused bucket after bucket (50 buckets of 3,000 distinct keys
 * each, more than one pool chunk per bucket, with a sink that takes 100 records per call):
 * every bucket comes out exactly once per key with its exact sums, the closed bucket's rest
 * waits for edge_agg_pump(), and nothing is left held.
 */
static void test_reuse_across_buckets(void **state)
{
    enum { KEYS = 3000, BUCKETS = 50 };
    struct stingy g = {.room = 100};
    struct edge_agg *a;
    struct edge_agg_config cfg = {.bucket_s = 10, .grace_s = 0, .max_flows = 10000};
    assert_int_equal(edge_agg_create(&a, &cfg, stingy_emit, &g), 0);
    static struct fl0wer_flow f[2 * KEYS];
    for (uint64_t b = 0; b < BUCKETS; b++) {
        uint64_t t0 = 1700000000000ull + b * 10000;
        for (size_t i = 0; i < 2 * KEYS; i++) {
            fl0wer_flow_init(&f[i]);
            uint8_t v4[4] = {10, (uint8_t)b, (uint8_t)((i % KEYS) >> 8), (uint8_t)(i % KEYS)};
            fl0wer_addr_from_v4(f[i].src_addr, v4);
            f[i].last_ms = f[i].first_ms = t0 + (i % 7);
            f[i].bytes = i % KEYS + 1 + b;
            f[i].packets = 1;
        }
        assert_int_equal(edge_agg_add(a, f, 2 * KEYS, t0 + 1), 0);
        size_t before = g.s.n;
        assert_int_equal(edge_agg_tick(a, t0 + 10000), 1);
        assert_int_equal(g.s.n - before, 100); /* first call only: the sink refused the rest */
        size_t left = KEYS - 100, rounds = 0;
        while (left) {
            size_t l = edge_agg_pump(a);
            /* 100 per sink call; a call that ends a pool chunk leaves room for the next */
            assert_true(l < left && left - l >= (left >= 100 ? 100 : left) &&
                        left - l <= 200);
            left = l;
            rounds++;
        }
        assert_true(rounds >= (KEYS - 100 + 199) / 200 && rounds <= (KEYS - 100 + 99) / 100);
        assert_int_equal(g.s.n - before, KEYS);
        for (size_t k = before; k < g.s.n; k++) {
            const struct fl0wer_flow *o = &g.s.out[k];
            size_t key = (size_t)o->src_addr[14] << 8 | o->src_addr[15];
            assert_int_equal(o->src_addr[13], b);
            assert_int_equal(o->flows, 2);
            assert_int_equal(o->bytes, 2 * (key + 1 + b));
            assert_int_equal(o->last_ms / 10000, t0 / 10000);
        }
        struct edge_agg_stats st;
        edge_agg_stats(a, &st);
        assert_int_equal(st.entries, 0);
        assert_int_equal(st.buckets, 0);
        assert_int_equal(st.pending, 0);
    }
    assert_int_equal(g.s.n, (size_t)BUCKETS * KEYS);
    assert_true(g.refusals >= BUCKETS);
    edge_agg_destroy(a);
    free(g.s.out);
}

static void test_key_parse(void **state)
{
    uint32_t m;
    char err[256], buf[512];
    assert_int_equal(edge_agg_key_parse("src_addr, dst_addr,domain", &m, err), 0);
    assert_int_equal(m, EDGE_KEY_SRC_ADDR | EDGE_KEY_DST_ADDR | EDGE_KEY_DOMAIN);
    edge_agg_key_format(m, buf, sizeof(buf));
    assert_string_equal(buf, "domain_id,src_addr,dst_addr");
    assert_int_equal(edge_agg_key_parse("src_addr,bogus", &m, err), -1);
    assert_string_equal(err, "unknown aggregate key field 'bogus'");
    assert_int_equal(edge_agg_key_parse("", &m, err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_fields),     cmocka_unit_test(test_no_aggregate),
        cmocka_unit_test(test_addr_pair),      cmocka_unit_test(test_exporter_only),
        cmocka_unit_test(test_ports_sampling), cmocka_unit_test(test_interfaces),
        cmocka_unit_test(test_max_flows_all),  cmocka_unit_test(test_max_flows_small),
        cmocka_unit_test(test_tick_closes_buckets), cmocka_unit_test(test_key_parse),
        cmocka_unit_test(test_reuse_across_buckets),
        cmocka_unit_test(test_adaptive_all), cmocka_unit_test(test_adaptive_all_distinct),
        cmocka_unit_test(test_adaptive_addr_pair), cmocka_unit_test(test_adaptive_ports_sampling),
        cmocka_unit_test(test_adaptive_max_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
