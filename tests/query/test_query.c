/*
 * test_query.c - the query engine against a reference computed directly from the input flows:
 * a few thousand random flows with random sampling over three hours, stored through
 * put_batch in a real RocksDB; summary, top-N for every dimension and order, series and flow
 * listings must equal the reference exactly, on the rollup path (no filter, aligned ranges), on
 * the raw path (unaligned edges, filters) and on mixes of both. Top-N by address: from the
 * bounded address arrays, and in a store whose tiny bound truncates some of them, from arrays,
 * minutes and raw blocks mixed, still exact; and in a store whose sparse hours gc marked
 * (address arrays replaced by empty truncated ones), from raw blocks, still exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <inttypes.h>
#include <time.h>

#include "fl0wer/filter.h"
#include "fl0wer/query.h"
#include "../store/store_testutil.h"

#define HOUR 3600000ull
#define MIN 60000ull
#define T0 (1700000000000ull - 1700000000000ull % HOUR) /* hour-aligned */
#define NFLOWS 4000

typedef bool (*pred_fn)(const struct fl0wer_flow *f);

struct fixture {
    char dir[64];
    struct fl0wer_store *s;
    struct fl0wer_flow *flows;
};

static struct fixture *fx;

static int group_setup(void **state)
{
    struct fl0wer_store_config cfg = {0};
    struct tu_rng r = {42};
    char err[256];
    bool dup;

    fx = calloc(1, sizeof(*fx));
    assert_non_null(tu_tmpdir(fx->dir, sizeof(fx->dir)));
    cfg.path = fx->dir;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    fx->flows = malloc(NFLOWS * sizeof(*fx->flows));
    /* three hours from T0, plus a few flows just before and after */
    for (size_t i = 0; i < NFLOWS; i++)
        tu_flow(&r, &fx->flows[i], T0 - 2 * MIN, 3 * HOUR + 4 * MIN);
    /* several batches from two edges, in random-ish order of time */
    for (size_t b = 0; b < 8; b++) {
        struct fl0wer_batch batch = tu_batch(fx->flows + b * (NFLOWS / 8), NFLOWS / 8, b / 2 + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, b % 2 ? "edge-1" : "edge-2", &batch, &dup),
                         0);
        assert_false(dup);
    }
    return 0;
}

static int group_teardown(void **state)
{
    fl0wer_store_close(fx->s);
    tu_rmdir(fx->dir);
    free(fx->flows);
    free(fx);
    return 0;
}

/* ---- reference computation, independent of the engine ---- */

static bool in_range(const struct fl0wer_flow *f, uint64_t from, uint64_t to, pred_fn p)
{
    return f->last_ms >= from && f->last_ms < to && (!p || p(f));
}

static void ref_add(struct fl0wer_totals *t, const struct fl0wer_flow *f, bool unscaled)
{
    uint64_t k = unscaled || f->sampling == 0 ? 1 : f->sampling;
    t->flows += f->flows;
    t->bytes += f->bytes * k;
    t->packets += f->packets * k;
}

/* Group key: 16 bytes, numbers right-aligned big-endian so memcmp is numeric order. */
static void ref_key(const struct fl0wer_flow *f, int dim, uint8_t key[16], char *text)
{
    uint32_t v = 0;
    memset(key, 0, 16);
    const uint8_t *addr = dim == 0 ? f->src_addr : dim == 1 ? f->dst_addr : dim == 5 ? f->exporter
                                                                                      : NULL;
    if (addr) {
        memcpy(key, addr, 16);
        if (fl0wer_addr_is_v4(addr))
            inet_ntop(AF_INET, addr + 12, text, 64);
        else
            inet_ntop(AF_INET6, addr, text, 64);
        return;
    }
    switch (dim) {
    case 2: v = f->src_port; break;
    case 3: v = f->dst_port; break;
    case 4: v = f->proto; break;
    case 6: v = f->src_as; break;
    case 7: v = f->dst_as; break;
    case 8: v = f->in_if; break;
    default: v = f->out_if; break;
    }
    key[12] = (uint8_t)(v >> 24);
    key[13] = (uint8_t)(v >> 16);
    key[14] = (uint8_t)(v >> 8);
    key[15] = (uint8_t)v;
    snprintf(text, 64, "%" PRIu32, v);
}

struct ref_row {
    uint8_t key[16];
    char text[64];
    struct fl0wer_totals t;
};

static int ref_order;

static uint64_t ref_metric(const struct fl0wer_totals *t)
{
    return ref_order == 0 ? t->bytes : ref_order == 1 ? t->packets : t->flows;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct ref_row *x = a, *y = b;
    uint64_t mx = ref_metric(&x->t), my = ref_metric(&y->t);
    if (mx != my)
        return mx > my ? -1 : 1;
    return memcmp(x->key, y->key, 16);
}

/* All groups of dim over the range, sorted as the engine must sort them. */
static struct ref_row *ref_top(int dim, int order, uint64_t from, uint64_t to, pred_fn p,
                               bool unscaled, size_t *n)
{
    struct ref_row *rows = calloc(NFLOWS, sizeof(*rows));
    *n = 0;
    for (size_t i = 0; i < NFLOWS; i++) {
        const struct fl0wer_flow *f = &fx->flows[i];
        uint8_t key[16];
        char text[64];
        size_t j;
        if (!in_range(f, from, to, p))
            continue;
        ref_key(f, dim, key, text);
        for (j = 0; j < *n && memcmp(rows[j].key, key, 16) != 0; j++)
            ;
        if (j == *n) {
            memcpy(rows[j].key, key, 16);
            strcpy(rows[j].text, text);
            (*n)++;
        }
        ref_add(&rows[j].t, f, unscaled);
    }
    ref_order = order;
    qsort(rows, *n, sizeof(*rows), ref_cmp);
    return rows;
}

/* ---- checks ---- */

/* Threads a check's query may split raw scans over: the scaled run on the caller's alone, the
 * unscaled one on three (chunks of a long range summed by several threads, then merged), so
 * every check compares both with the brute-force answer. */
static unsigned query_threads(int unscaled)
{
    return unscaled ? 3 : 1;
}

static void check_summary(uint64_t from, uint64_t to, const struct fl0wer_filter *flt, pred_fn p)
{
    for (int unscaled = 0; unscaled < 2; unscaled++) {
        struct fl0wer_query q = {from, to, flt, unscaled, 0, query_threads(unscaled)};
        struct fl0wer_totals got, want = {0};
        for (size_t i = 0; i < NFLOWS; i++)
            if (in_range(&fx->flows[i], from, to, p))
                ref_add(&want, &fx->flows[i], unscaled);
        assert_int_equal(fl0wer_query_summary(fx->s, &q, &got), 0);
        assert_int_equal(got.flows, want.flows);
        assert_int_equal(got.bytes, want.bytes);
        assert_int_equal(got.packets, want.packets);
    }
}

static void check_top_dims(uint64_t from, uint64_t to, const struct fl0wer_filter *flt,
                           pred_fn p, int dim_begin, int dim_end)
{
    static const size_t limits[] = {1, 10, 10000};
    for (int dim = dim_begin; dim < dim_end; dim++) {
        for (int order = 0; order < 3; order++) {
            for (int unscaled = 0; unscaled < 2; unscaled++) {
                size_t nref;
                struct ref_row *ref = ref_top(dim, order, from, to, p, unscaled, &nref);
                struct fl0wer_query q = {from, to, flt, unscaled, 0, query_threads(unscaled)};
                size_t limit = limits[(dim + order + unscaled) % 3];
                struct fl0wer_top_row *rows = NULL;
                size_t n = 0;
                assert_int_equal(fl0wer_query_top(fx->s, &q, dim, order, limit, &rows, &n), 0);
                assert_int_equal(n, nref < limit ? nref : limit);
                for (size_t i = 0; i < n; i++) {
                    assert_string_equal(rows[i].key, ref[i].text);
                    assert_int_equal(rows[i].totals.flows, ref[i].t.flows);
                    assert_int_equal(rows[i].totals.bytes, ref[i].t.bytes);
                    assert_int_equal(rows[i].totals.packets, ref[i].t.packets);
                }
                free(rows);
                free(ref);
            }
        }
    }
}

static void check_top(uint64_t from, uint64_t to, const struct fl0wer_filter *flt, pred_fn p)
{
    check_top_dims(from, to, flt, p, 0, FL0WER_DIM__COUNT);
}

static void check_series(uint64_t from, uint64_t to, uint64_t step, const struct fl0wer_filter *flt,
                         pred_fn p)
{
    for (int unscaled = 0; unscaled < 2; unscaled++) {
        struct fl0wer_query q = {from, to, flt, unscaled, 0, query_threads(unscaled)};
        struct fl0wer_series_point *pts = NULL;
        size_t n = 0, want_n = (to - from + step - 1) / step;
        assert_int_equal(fl0wer_query_series(fx->s, &q, step, &pts, &n), 0);
        assert_int_equal(n, want_n);
        for (size_t k = 0; k < n; k++) {
            struct fl0wer_totals want = {0};
            uint64_t t = from + k * step, end = t + step < to ? t + step : to;
            for (size_t i = 0; i < NFLOWS; i++)
                if (in_range(&fx->flows[i], t, end, p))
                    ref_add(&want, &fx->flows[i], unscaled);
            assert_int_equal(pts[k].t_ms, t);
            assert_int_equal(pts[k].totals.flows, want.flows);
            assert_int_equal(pts[k].totals.bytes, want.bytes);
            assert_int_equal(pts[k].totals.packets, want.packets);
        }
        free(pts);
    }
}

struct listed {
    struct fl0wer_flow *f;
    size_t n;
};

static int list_cb(void *arg, const struct fl0wer_flow *f)
{
    struct listed *l = arg;
    l->f[l->n++] = *f;
    return 0;
}

static void check_flows(uint64_t from, uint64_t to, const struct fl0wer_filter *flt, pred_fn p)
{
    struct fl0wer_flow *want = malloc(NFLOWS * sizeof(*want));
    struct listed l = {malloc(NFLOWS * sizeof(*want)), 0};
    struct fl0wer_query q = {from, to, flt, false, 0, 1};
    size_t m = 0;

    for (size_t i = 0; i < NFLOWS; i++)
        if (in_range(&fx->flows[i], from, to, p))
            want[m++] = fx->flows[i];
    /* all of them, exactly */
    assert_int_equal(fl0wer_query_flows(fx->s, &q, NFLOWS, list_cb, &l), 0);
    assert_int_equal(l.n, m);
    qsort(want, m, sizeof(*want), tu_flow_cmp);
    qsort(l.f, l.n, sizeof(*want), tu_flow_cmp);
    for (size_t i = 0; i < m; i++)
        assert_memory_equal(&want[i], &l.f[i], sizeof(*want));
    /* a limit stops the stream; every flow listed matches */
    l.n = 0;
    assert_int_equal(fl0wer_query_flows(fx->s, &q, 7, list_cb, &l), 0);
    assert_int_equal(l.n, m < 7 ? m : 7);
    for (size_t i = 0; i < l.n; i++)
        assert_true(in_range(&l.f[i], from, to, p));
    free(l.f);
    free(want);
}

static void check_all(uint64_t from, uint64_t to, const struct fl0wer_filter *flt, pred_fn p)
{
    check_summary(from, to, flt, p);
    check_top(from, to, flt, p);
    check_flows(from, to, flt, p);
}

/* ---- tests ---- */

static void test_rollup_path_hours(void **state)
{
    check_all(T0, T0 + 3 * HOUR, NULL, NULL);
    check_all(0, UINT64_MAX - 1, NULL, NULL);
}

static void test_rollup_path_minutes(void **state)
{
    check_all(T0 + 17 * MIN, T0 + 2 * HOUR + 5 * MIN, NULL, NULL);
}

static void test_mixed_unaligned(void **state)
{
    check_all(T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777, NULL, NULL);
    check_all(T0 + 5 * MIN + 10, T0 + 5 * MIN + 59000, NULL, NULL); /* inside one minute */
    check_all(T0 - 2 * MIN + 1, T0 + 5 * MIN, NULL, NULL);
}

static void test_series(void **state)
{
    check_series(T0, T0 + 3 * HOUR, MIN, NULL, NULL);
    check_series(T0, T0 + 3 * HOUR, HOUR, NULL, NULL);
    check_series(T0 - 2 * MIN, T0 + 3 * HOUR + 2 * MIN, HOUR, NULL, NULL); /* minutes, hours */
    check_series(T0 + 7 * MIN, T0 + 2 * HOUR + 30 * MIN + 41123, 5 * MIN, NULL, NULL);
    check_series(T0 + 7 * MIN + 500, T0 + 2 * HOUR + 500, MIN, NULL, NULL); /* raw */
    check_series(T0 + 7 * MIN + 500, T0 + 2 * HOUR + 500, HOUR, NULL, NULL);
}

static bool pred_tcp_443(const struct fl0wer_flow *f)
{
    return f->proto == 6 && f->dst_port == 443;
}

static bool pred_not_udp_or_as(const struct fl0wer_flow *f)
{
    return f->proto != 17 || f->src_as == 64510;
}

static void test_filtered(void **state)
{
    struct fl0wer_filter *a = NULL, *b = NULL, *all = NULL;
    struct fl0wer_filter_error err;

    assert_int_equal(fl0wer_filter_compile("proto tcp and dst port 443", &a, &err), 0);
    assert_int_equal(fl0wer_filter_compile("not proto udp or src as 64510", &b, &err), 0);
    assert_int_equal(fl0wer_filter_compile("", &all, &err), 0);
    check_all(T0, T0 + 3 * HOUR, a, pred_tcp_443);
    check_all(T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777, b, pred_not_udp_or_as);
    check_series(T0, T0 + 3 * HOUR, HOUR, a, pred_tcp_443);
    check_series(T0 + 3 * MIN, T0 + 3 * HOUR, MIN, b, pred_not_udp_or_as);
    check_all(T0 + 17 * MIN, T0 + 2 * HOUR, all, NULL); /* all-matching filter: rollups */
    fl0wer_filter_destroy(a);
    fl0wer_filter_destroy(b);
    fl0wer_filter_destroy(all);
}

static bool pred_src10_big(const struct fl0wer_flow *f)
{
    return fl0wer_addr_is_v4(f->src_addr) && f->src_addr[12] == 10 && f->bytes > 1000;
}

static bool pred_in2_or_few(const struct fl0wer_flow *f)
{
    return f->in_if == 2 || f->packets < 3;
}

static bool pred_syn_only(const struct fl0wer_flow *f)
{
    return (f->tcp_flags & 0x02) && !(f->tcp_flags & 0x10);
}

static bool pred_v4_low_port(const struct fl0wer_flow *f)
{
    bool v6 = (f->flags & FL0WER_FLOW_F_IPV6) ||
              (!fl0wer_addr_is_v4(f->src_addr) && !fl0wer_addr_is_zero(f->src_addr));
    return !v6 && f->dst_port < 1024;
}

static bool pred_not_udp(const struct fl0wer_flow *f)
{
    return f->proto != 17;
}

static bool pred_low_dport(const struct fl0wer_flow *f)
{
    return f->dst_port < 1024;
}

static bool pred_two_as(const struct fl0wer_flow *f)
{
    return f->src_as == 64510 || f->src_as == 64511;
}

static bool pred_in2(const struct fl0wer_flow *f)
{
    return f->in_if == 2;
}

static bool pred_udp_53(const struct fl0wer_flow *f)
{
    return f->dst_port == 53 && f->proto == 17;
}

static bool pred_udp_sport_dns_ntp(const struct fl0wer_flow *f)
{
    return f->proto == 17 && (f->src_port == 53 || f->src_port == 123);
}

static bool pred_not_tcp_low_dport(const struct fl0wer_flow *f)
{
    return !(f->proto == 6) && f->dst_port < 1024;
}

/* A filter expression and the predicate that computes the same thing by hand. */
struct filter_case {
    const char *expr;
    bool (*pred)(const struct fl0wer_flow *f);
};

/* Checks every case against brute force over a ragged range, and with series also over the
 * whole data's hours and minutes. */
static void check_filter_cases(const struct filter_case *cases, size_t n, bool series)
{
    for (size_t i = 0; i < n; i++) {
        struct fl0wer_filter *f = NULL;
        struct fl0wer_filter_error err;
        assert_int_equal(fl0wer_filter_compile(cases[i].expr, &f, &err), 0);
        check_all(T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777, f, cases[i].pred);
        if (series) {
            check_all(T0, T0 + 3 * HOUR, f, cases[i].pred);
            check_series(T0, T0 + 3 * HOUR, HOUR, f, cases[i].pred);
            check_series(T0 + 3 * MIN, T0 + 3 * HOUR, MIN, f, cases[i].pred);
        }
        fl0wer_filter_destroy(f);
    }
}

/*
 * Filters that read one rolled-up dimension's fields are decided per row of that dimension's
 * rollup arrays (whole minutes and hours) and per flow at the raw edges: equal to brute force
 * for summaries, series and every top-N (those grouped by another dimension stay raw).
 */
static void test_filtered_from_rollups(void **state)
{
    static const struct filter_case cases[] = {
        {"not proto udp", pred_not_udp},
        {"dst port < 1024", pred_low_dport},
        {"proto tcp and dst port 443", pred_tcp_443},
        {"dst port 53 and proto udp", pred_udp_53},
        {"src as 64510 or src as 64511", pred_two_as},
        {"in if 2", pred_in2},
    };
    static const struct filter_case more[] = { /* ragged range only, to keep the test short */
        {"proto udp and (src port 53 or src port 123)", pred_udp_sport_dns_ntp},
        {"not proto tcp and dst port < 1024", pred_not_tcp_low_dport},
    };
    (void)state;
    check_filter_cases(cases, sizeof(cases) / sizeof(cases[0]), true);
    check_filter_cases(more, sizeof(more) / sizeof(more[0]), false);
}

/*
 * Filters over other fields: a filtered scan decodes only the columns the query and the filter
 * read (fl0wer_filter_uses), so each kind of field must still be decoded when a filter uses it.
 */
static void test_filtered_columns(void **state)
{
    static const struct filter_case cases[] = {
        {"src net 10.0.0.0/8 and bytes > 1000", pred_src10_big},
        {"in if 2 or packets < 3", pred_in2_or_few},
        {"flags S and not flags A", pred_syn_only},
        {"ipv4 and dst port < 1024", pred_v4_low_port},
    };
    (void)state;
    check_filter_cases(cases, sizeof(cases) / sizeof(cases[0]), false);
}

/*
 * A top-N by port ranks ports: the rows of one port under TCP and UDP are summed (the data
 * has both), while a filter on the protocol picks that protocol's part of the port.
 */
static void test_port_over_protocols(void **state)
{
    struct fl0wer_query q = {T0, T0 + 3 * HOUR, NULL, false, 0, 1};
    struct fl0wer_totals tcp = {0}, udp = {0}, got;
    struct fl0wer_top_row *rows = NULL;
    struct fl0wer_filter *f = NULL;
    size_t n = 0, found = 0;
    (void)state;

    for (size_t i = 0; i < NFLOWS; i++)
        if (in_range(&fx->flows[i], T0, T0 + 3 * HOUR, NULL) && fx->flows[i].dst_port == 53)
            ref_add(fx->flows[i].proto == 6 ? &tcp : &udp, &fx->flows[i], false);
    assert_true(tcp.flows > 0 && udp.flows > 0);
    assert_int_equal(fl0wer_query_top(fx->s, &q, FL0WER_DIM_DSTPORT, FL0WER_ORDER_BYTES, 10000,
                                      &rows, &n), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].key, "53") != 0)
            continue;
        found++;
        assert_int_equal(rows[i].totals.flows, tcp.flows + udp.flows);
        assert_int_equal(rows[i].totals.bytes, tcp.bytes + udp.bytes);
        assert_int_equal(rows[i].totals.packets, tcp.packets + udp.packets);
    }
    assert_int_equal(found, 1);
    free(rows);
    assert_int_equal(fl0wer_filter_compile("proto udp and dst port 53", &f, NULL), 0);
    q.filter = f;
    assert_int_equal(fl0wer_query_summary(fx->s, &q, &got), 0);
    assert_int_equal(got.flows, udp.flows);
    assert_int_equal(got.bytes, udp.bytes);
    fl0wer_filter_destroy(f);
}

struct count_rows {
    size_t rows;
    uint64_t periods[512];
    size_t n;
};

static int count_row(void *arg, uint64_t t, const uint8_t *key, size_t klen,
                     const struct fl0wer_rollup_counters *c)
{
    struct count_rows *cr = arg;
    cr->rows++;
    if (cr->n == 0 || cr->periods[cr->n - 1] != t) {
        assert_true(cr->n < 512);
        cr->periods[cr->n++] = t;
    }
    return 0;
}

/* Top-N by address over aligned, whole and ragged ranges. */
static void check_address_ranges(void)
{
    check_top_dims(T0, T0 + 3 * HOUR, NULL, NULL, 0, 2);
    check_top_dims(T0 + HOUR, T0 + 2 * HOUR, NULL, NULL, 0, 2);
    check_top_dims(0, UINT64_MAX - 1, NULL, NULL, 0, 2);
    check_top_dims(T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777, NULL, NULL, 0, 2);
    check_top_dims(T0 + 17 * MIN, T0 + 2 * HOUR + 5 * MIN, NULL, NULL, 0, 2);
}

/*
 * A second store with the same flows and tiny address bounds (hour 60 rows, minute 12 or no
 * minute arrays): source address arrays of every hour (and of many minutes) are truncated,
 * destination hours are not. Top-N by address must still equal the reference on aligned, whole
 * and ragged ranges, also after a reopen that asks for other bounds (the stored ones hold).
 */
static void address_truncated(uint32_t k_minute, uint32_t other_k_minute)
{
    struct fl0wer_store_config cfg = {.address_k_minute = k_minute, .address_k_hour = 60};
    struct fl0wer_store *full = fx->s;
    char dir[64], err[256];
    bool dup;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    cfg.path = dir;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    for (size_t b = 0; b < 8; b++) {
        struct fl0wer_batch batch = tu_batch(fx->flows + b * (NFLOWS / 8), NFLOWS / 8, b + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge", &batch, &dup), 0);
    }
    /* the bound bites: each hour keeps 60 source rows of its ~200 addresses */
    struct count_rows cr = {0};
    assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_HOUR, FL0WER_DIM_SRCIP, T0,
                                               T0 + 3 * HOUR, count_row, &cr), 0);
    assert_int_equal(cr.n, 3);
    assert_int_equal(cr.rows, 3 * 60);
    cr.n = cr.rows = 0;
    assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_MINUTE, FL0WER_DIM_SRCIP, T0,
                                               T0 + 3 * HOUR, count_row, &cr), 0);
    assert_true(k_minute ? cr.rows > 0 : cr.rows == 0);
    check_address_ranges();
    fl0wer_store_close(fx->s);
    cfg.address_k_minute = other_k_minute;
    cfg.address_k_hour = 0;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    check_address_ranges();
    fl0wer_store_close(fx->s);
    fx->s = full;
    tu_rmdir(dir);
}

static void test_address_truncated(void **state)
{
    address_truncated(12, 0);
    address_truncated(0, 12);
}

static bool pred_src_low(const struct fl0wer_flow *f)
{
    const uint8_t *a = f->src_addr;
    return fl0wer_addr_is_v4(a) && a[12] == 10 && a[13] == 0 && a[14] == 0 && a[15] < 128;
}

static bool pred_dst_low(const struct fl0wer_flow *f)
{
    const uint8_t *a = f->dst_addr;
    return fl0wer_addr_is_v4(a) && a[12] == 10 && a[13] == 0 && a[14] == 0 && a[15] < 16;
}

/* Summary, top-N by address (and every dimension once) and address filters over the ranges a
 * sparse hour's markers change: whole hours, partial hours at either edge, ragged ranges. */
static void check_sparse_ranges(const struct fl0wer_filter *src, const struct fl0wer_filter *dst)
{
    static const uint64_t ranges[][2] = {
        {T0, T0 + 3 * HOUR},
        {T0 + HOUR, T0 + 2 * HOUR},
        {T0 - HOUR, T0 + 4 * HOUR}, /* every flow */
        {T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777},
        {T0 + 17 * MIN, T0 + 2 * HOUR + 5 * MIN},
        {T0 + 50 * MIN, T0 + HOUR},           /* a partial hour: the rest is larger */
        {T0 + HOUR + 3 * MIN, T0 + 2 * HOUR}, /* hour array minus the first 3 minutes */
        {T0 + 2 * HOUR, T0 + 2 * HOUR + 55 * MIN},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        uint64_t from = ranges[i][0], to = ranges[i][1];
        check_summary(from, to, NULL, NULL);
        check_top_dims(from, to, NULL, NULL, 0, 2);
        check_summary(from, to, src, pred_src_low);
        check_summary(from, to, dst, pred_dst_low);
        check_top_dims(from, to, src, pred_src_low, 0, 2);
        check_top_dims(from, to, dst, pred_dst_low, 0, 2);
    }
    /* unfiltered only: a filtered raw scan of [0, UINT64_MAX - 1) over several threads
       divides by zero in rawscan.c (scan_parallel's minute count overflows) */
    check_summary(0, UINT64_MAX - 1, NULL, NULL);
    check_top_dims(0, UINT64_MAX - 1, NULL, NULL, 0, 2);
    check_top(T0 + 17 * MIN + 1234, T0 + 2 * HOUR + 5 * MIN + 45777, NULL, NULL);
}

/*
 * gc's markers over sparse settled hours (hub/store/sparse.c): a second store with the same
 * flows, every hour far below the sparse bound. Before gc its address hour arrays are exact;
 * gc at T0 + 6 h replaces those of the five settled hours that hold data by empty truncated
 * arrays; every answer equals the brute-force one before and after, also with an address filter
 * and after a late batch landed on the markers.
 */
static void test_sparse_hours(void **state)
{
    struct fl0wer_store_config cfg = {0};
    struct fl0wer_store_gc_result res;
    struct fl0wer_store *full = fx->s;
    struct fl0wer_filter *src = NULL, *dst = NULL;
    char dir[64], err[256];
    bool dup;
    (void)state;

    assert_int_equal(fl0wer_filter_compile("src net 10.0.0.0/25", &src, NULL), 0);
    assert_int_equal(fl0wer_filter_compile("dst net 10.0.0.0/28", &dst, NULL), 0);
    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    cfg.path = dir;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    /* the last batch is held back: it arrives late, after the markers */
    for (size_t b = 0; b < 7; b++) {
        struct fl0wer_batch batch = tu_batch(fx->flows + b * (NFLOWS / 8), NFLOWS / 8, b + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge", &batch, &dup), 0);
    }
    struct count_rows cr = {0};
    assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_HOUR, FL0WER_DIM_SRCIP,
                                               T0 - HOUR, T0 + 4 * HOUR, count_row, &cr), 0);
    assert_int_equal(cr.n, 5); /* T0 - 1 h (its last 2 minutes) to T0 + 3 h (its first 2) */
    assert_true(cr.rows > 5 * 60);
    assert_int_equal(fl0wer_store_gc(fx->s, T0 + 6 * HOUR, &res), 0);
    assert_int_equal(res.address_hours_sparse, 5);
    /* the markers: no rows left in any address hour array */
    for (int dim = FL0WER_DIM_SRCIP; dim <= FL0WER_DIM_DSTIP; dim++) {
        memset(&cr, 0, sizeof(cr));
        assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_HOUR, (unsigned)dim,
                                                   T0 - HOUR, T0 + 4 * HOUR, count_row, &cr),
                         0);
        assert_int_equal(cr.rows, 0);
    }
    struct fl0wer_batch late = tu_batch(fx->flows + 7 * (NFLOWS / 8), NFLOWS / 8, 8);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge", &late, &dup), 0);
    memset(&cr, 0, sizeof(cr));
    assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_HOUR, FL0WER_DIM_SRCIP,
                                               T0 - HOUR, T0 + 4 * HOUR, count_row, &cr), 0);
    assert_int_equal(cr.rows, 0);
    check_sparse_ranges(src, dst);
    /* settled again later: nothing new to mark, answers unchanged after a reopen */
    assert_int_equal(fl0wer_store_gc(fx->s, T0 + 7 * HOUR, &res), 0);
    assert_int_equal(res.address_hours_sparse, 0);
    fl0wer_store_close(fx->s);
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    check_sparse_ranges(src, dst);
    fl0wer_store_close(fx->s);
    fx->s = full;
    /* the same checks on the unmarked store, whose arrays are exact */
    check_sparse_ranges(src, dst);
    tu_rmdir(dir);
    fl0wer_filter_destroy(src);
    fl0wer_filter_destroy(dst);
}

static void test_invalid(void **state)
{
    struct fl0wer_query q = {T0, T0 + HOUR, NULL, false, 0, 1}, bad = {T0, T0, NULL, false, 0, 1};
    struct fl0wer_totals t;
    struct fl0wer_series_point *pts;
    struct fl0wer_top_row *rows;
    size_t n;
    enum fl0wer_dimension d;
    enum fl0wer_order o;

    assert_int_equal(fl0wer_query_summary(fx->s, &bad, &t), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_query_series(fx->s, &q, 30000, &pts, &n), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_query_series(fx->s, &q, 90000, &pts, &n), FL0WER_QUERY_ERR_INVAL);
    struct fl0wer_query huge = {0, 100001ull * MIN, NULL, false, 0, 1};
    assert_int_equal(fl0wer_query_series(fx->s, &huge, MIN, &pts, &n), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_query_top(fx->s, &q, FL0WER_DIM_PROTO, FL0WER_ORDER_BYTES, 0, &rows,
                                      &n), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_query_top(fx->s, &q, FL0WER_DIM_PROTO, FL0WER_ORDER_BYTES, 10001,
                                      &rows, &n), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_query_top(fx->s, &q, FL0WER_DIM__COUNT, FL0WER_ORDER_BYTES, 5,
                                      &rows, &n), FL0WER_QUERY_ERR_INVAL);
    for (int i = 0; i < FL0WER_DIM__COUNT; i++) {
        assert_int_equal(fl0wer_dimension_parse(fl0wer_dimension_name(i), &d), 0);
        assert_int_equal(d, i);
    }
    assert_int_equal(fl0wer_dimension_parse("dstport", &d), 0);
    assert_int_equal(d, FL0WER_DIM_DSTPORT);
    assert_int_equal(fl0wer_dimension_parse("port", &d), FL0WER_QUERY_ERR_INVAL);
    assert_int_equal(fl0wer_order_parse("packets", &o), 0);
    assert_int_equal(o, FL0WER_ORDER_PACKETS);
    assert_string_equal(fl0wer_order_name(FL0WER_ORDER_FLOWS), "flows");
    assert_int_equal(fl0wer_order_parse("speed", &o), FL0WER_QUERY_ERR_INVAL);
}

static int slow_cb(void *arg, const struct fl0wer_flow *f)
{
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    return 0;
}

static void test_timeout(void **state)
{
    struct fl0wer_query q = {0, UINT64_MAX, NULL, false, 20, 3};
    assert_int_equal(fl0wer_query_flows(fx->s, &q, NFLOWS, slow_cb, NULL),
                     FL0WER_QUERY_ERR_TIMEOUT);
}

/*
 * Proof that the aligned, unfiltered path reads rollups: once the raw flows have expired, the
 * rollup answers still count every flow while the raw path finds none. Runs last.
 */
static void test_rollups_outlive_raw(void **state)
{
    struct fl0wer_store_config cfg = {.path = fx->dir, .retention_ms = 60000};
    struct fl0wer_store_gc_result res;
    char err[256];

    fl0wer_store_close(fx->s);
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_gc(fx->s, T0 + 4 * HOUR, &res), 0);
    assert_true(res.flow_blocks_removed > 0);
    struct fl0wer_query q = {T0, T0 + 3 * HOUR, NULL, false, 0, 1};
    struct fl0wer_totals got, want = {0};
    for (size_t i = 0; i < NFLOWS; i++)
        if (in_range(&fx->flows[i], T0, T0 + 3 * HOUR, NULL))
            ref_add(&want, &fx->flows[i], false);
    assert_int_equal(fl0wer_query_summary(fx->s, &q, &got), 0);
    assert_int_equal(got.flows, want.flows);
    assert_int_equal(got.bytes, want.bytes);
    /* top-N by address too: from the hour arrays */
    check_top_dims(T0, T0 + 3 * HOUR, NULL, NULL, 0, 2);
    /* a filter over one dimension's rows (a port's with its protocol) is answered from that
       dimension's arrays: summaries, and a top-N whose group those rows hold too */
    static const struct filter_case rolled[] = {
        {"not proto udp", pred_not_udp},
        {"proto tcp and dst port 443", pred_tcp_443},
        {"dst port 53 and proto udp", pred_udp_53},
    };
    for (size_t c = 0; c < sizeof(rolled) / sizeof(rolled[0]); c++) {
        struct fl0wer_filter *f = NULL;
        struct fl0wer_totals fgot, fwant = {0};
        assert_int_equal(fl0wer_filter_compile(rolled[c].expr, &f, NULL), 0);
        for (size_t i = 0; i < NFLOWS; i++)
            if (in_range(&fx->flows[i], T0, T0 + 3 * HOUR, rolled[c].pred))
                ref_add(&fwant, &fx->flows[i], false);
        q.filter = f;
        assert_int_equal(fl0wer_query_summary(fx->s, &q, &fgot), 0);
        q.filter = NULL;
        assert_true(fwant.flows > 0 && fwant.flows < want.flows);
        assert_int_equal(fgot.flows, fwant.flows);
        assert_int_equal(fgot.bytes, fwant.bytes);
        /* top-N by dstport and by proto from the dstport rows (the proto ones for the first) */
        check_top_dims(T0, T0 + 3 * HOUR, f, rolled[c].pred, FL0WER_DIM_DSTPORT,
                       FL0WER_DIM_PROTO + 1);
        fl0wer_filter_destroy(f);
    }
    /* a partial hour is never its hour's array minus the rest of the hour once the raw flows
       of that hour are gone: top-N by address over part of an hour finds nothing */
    {
        struct fl0wer_query pq = {T0 + 17 * MIN, T0 + HOUR, NULL, false, 0, 1};
        struct fl0wer_top_row *rows = NULL;
        size_t n = 99;
        assert_int_equal(fl0wer_query_top(fx->s, &pq, FL0WER_DIM_SRCIP, FL0WER_ORDER_BYTES, 10,
                                          &rows, &n), 0);
        assert_int_equal(n, 0);
        free(rows);
    }
    q.from_ms += 1; /* the first partial minute now comes from (empty) raw blocks */
    assert_int_equal(fl0wer_query_summary(fx->s, &q, &got), 0);
    size_t first_minute = 0;
    for (size_t i = 0; i < NFLOWS; i++)
        if (in_range(&fx->flows[i], T0, T0 + MIN, NULL))
            first_minute += fx->flows[i].flows;
    assert_int_equal(got.flows, want.flows - first_minute);
}

/* NFLOWS flows in one minute from one edge's 80 batches: a raw scan of that minute is cut by
 * batches over the threads (store_flow_key_chunks); every answer still equals the reference. */
static void test_dense_minute(void **state)
{
    struct fl0wer_store_config cfg = {0};
    struct fl0wer_store *full = fx->s;
    struct fl0wer_flow *all = fx->flows;
    struct fl0wer_filter *two = NULL;
    struct fl0wer_filter_error ferr;
    struct tu_rng r = {7};
    char dir[64], err[256];
    bool dup;

    (void)state;
    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    cfg.path = dir;
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    fx->flows = malloc(NFLOWS * sizeof(*fx->flows));
    for (size_t i = 0; i < NFLOWS; i++)
        tu_flow(&r, &fx->flows[i], T0 + 30 * MIN, MIN);
    for (size_t b = 0; b < 80; b++) {
        struct fl0wer_batch batch = tu_batch(fx->flows + b * (NFLOWS / 80), NFLOWS / 80, b + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-1", &batch, &dup), 0);
    }
    assert_int_equal(fl0wer_filter_compile("not proto udp or src as 64510", &two, &ferr), 0);
    check_summary(T0 + 30 * MIN, T0 + 31 * MIN, two, pred_not_udp_or_as);
    check_top(T0 + 30 * MIN, T0 + 31 * MIN, two, pred_not_udp_or_as);
    check_summary(T0 + 30 * MIN + 7000, T0 + 30 * MIN + 51000, NULL, NULL);
    check_top(T0 + 30 * MIN + 7000, T0 + 30 * MIN + 51000, NULL, NULL);
    check_series(T0 + 29 * MIN + 500, T0 + 32 * MIN + 500, MIN, two, pred_not_udp_or_as);
    check_all(T0, T0 + HOUR, two, pred_not_udp_or_as);
    check_summary(0, UINT64_MAX - 1, two, pred_not_udp_or_as); /* the widest range, cut */
    fl0wer_filter_destroy(two);
    fl0wer_store_close(fx->s);
    tu_rmdir(dir);
    free(fx->flows);
    fx->s = full;
    fx->flows = all;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rollup_path_hours),
        cmocka_unit_test(test_rollup_path_minutes),
        cmocka_unit_test(test_mixed_unaligned),
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_filtered),
        cmocka_unit_test(test_filtered_columns),
        cmocka_unit_test(test_filtered_from_rollups),
        cmocka_unit_test(test_port_over_protocols),
        cmocka_unit_test(test_address_truncated),
        cmocka_unit_test(test_sparse_hours),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_rollups_outlive_raw),
        cmocka_unit_test(test_dense_minute),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
