/*
 * test_agg_adapt.c - the aggregator's adaptive mode switching (agg.h, "Adaptive mode"), with the
 * default window of 65,536 records: distinct keys make it sample after exactly one window;
 * while sampled, subset keys are merged and the others forwarded unmerged (each key always on
 * the same side); heavy repetition of subset keys brings full aggregation back at the window end
 * the documented rule gives; the records out are then exactly what each mode implies, and the
 * totals equal the input's. With a threshold of 0 nothing ever switches. A sink that refuses
 * the bypassed run makes those records go to the tables instead.
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
#include "config.h"

#define WINDOW  65536u
#define SUB_WIN (WINDOW / EDGE_AGG_SUBSET)
#define T0      1700000000000ull /* bucket [T0, T0 + 60 s) with 60 s buckets */
#define NOW     (T0 + 1000)

/* The record of key id (src_addr 10.a.b.c from id, fixed everything else but the counters). */
static void make(struct fl0wer_flow *f, uint32_t id)
{
    fl0wer_flow_init(f);
    uint8_t v4[4] = {10, (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    fl0wer_addr_from_v4(f->src_addr, v4);
    fl0wer_addr_from_v4(f->dst_addr, (uint8_t[4]){192, 0, 2, 1});
    fl0wer_addr_from_v4(f->exporter, (uint8_t[4]){192, 0, 2, 254});
    f->src_port = 40000;
    f->dst_port = 443;
    f->proto = 6;
    f->version = 9;
    f->sampling = 1;
    f->last_ms = f->first_ms = T0 + id % 1000;
    f->bytes = 100 + id % 977;
    f->packets = 1;
    f->flows = 1;
}

static uint32_t id_of(const struct fl0wer_flow *f)
{
    return (uint32_t)f->src_addr[13] << 16 | (uint32_t)f->src_addr[14] << 8 | f->src_addr[15];
}

struct run {
    struct edge_agg *a;
    struct sink sink;
    uint64_t in, bytes_in;
};

static void add_ids(struct run *r, const uint32_t *ids, size_t n)
{
    struct fl0wer_flow f[256];
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 256 && i < n; k++, i++) {
            make(&f[k], ids[i]);
            r->bytes_in += f[k].bytes;
        }
        assert_int_equal(edge_agg_add(r->a, f, k, NOW), 0);
        r->in += k;
    }
}

static void stats(struct run *r, struct edge_agg_stats *st)
{
    edge_agg_stats(r->a, st);
    assert_int_equal(st->records_in, r->in);
}

static void test_switching(void **state)
{
    (void)state;
    enum { M = 16384 }; /* phase 2 keys */
    struct run r = {0};
    struct edge_agg_stats st;
    struct edge_agg_config cfg = {.bucket_s = 60, .grace_s = 5, .min_reduction_pct = 60};
    assert_int_equal(edge_agg_create(&r.a, &cfg, sink_emit, &r.sink), 0);
    static uint32_t ids[4 * WINDOW];

    /* Phase 1: one window of distinct keys; the last record of the window decides. */
    for (uint32_t i = 0; i < WINDOW; i++)
        ids[i] = i;
    add_ids(&r, ids, WINDOW - 1);
    stats(&r, &st);
    assert_false(st.sampled);
    assert_int_equal(st.mode_switches, 0);
    add_ids(&r, ids + WINDOW - 1, 1);
    stats(&r, &st);
    assert_true(st.sampled);
    assert_int_equal(st.mode_switches, 1);
    assert_int_equal(st.last_share_pm, 0);
    assert_int_equal(st.entries, WINDOW);
    assert_int_equal(r.sink.n, 0);

    /* Phase 2: M new keys, each twice in a row. Subset keys merge (50 % < 60 %: stays sampled),
     * the others pass unmerged, both occurrences. */
    for (uint32_t i = 0; i < M; i++)
        ids[2 * i] = ids[2 * i + 1] = 100000 + i;
    add_ids(&r, ids, 2 * M);
    assert_int_equal(edge_agg_pump(r.a), 0); /* hands the held bypassed records over */
    stats(&r, &st);
    assert_true(st.sampled);
    assert_int_equal(st.mode_switches, 1);
    size_t S = st.entries - WINDOW; /* subset keys: the new entries */
    assert_true(S >= M / 16 - 256 && S <= M / 16 + 256);
    assert_int_equal(st.bypassed, 2 * (M - S));
    assert_int_equal(r.sink.n, 2 * (M - S));
    static uint8_t seen[M];
    for (size_t i = 0; i < r.sink.n; i++) {
        uint32_t id = id_of(&r.sink.out[i]);
        assert_true(id >= 100000 && id < 100000 + M);
        assert_int_equal(r.sink.out[i].flows, 1);
        seen[id - 100000]++;
    }
    uint32_t sub[32], non[32];
    size_t n_sub = 0, n_non = 0, n_unseen = 0;
    for (uint32_t i = 0; i < M; i++) {
        assert_true(seen[i] == 0 || seen[i] == 2); /* a key is always in or always out */
        n_unseen += seen[i] == 0;
        if (seen[i] == 0 && n_sub < 32)
            sub[n_sub++] = 100000 + i;
        if (seen[i] == 2 && n_non < 32)
            non[n_non++] = 100000 + i;
    }
    assert_int_equal(n_unseen, S);
    assert_int_equal(n_sub, 32);
    assert_int_equal(n_non, 32);

    /* Phase 3: subset and other keys alternate, subset first; subset records all merge. The
     * subset window holds c = 2S mod SUB_WIN records (half merged); full aggregation resumes at
     * the first window end whose share is >= 60 %. */
    size_t c = (2 * S) % SUB_WIN, x = SUB_WIN - c;
    if ((c / 2 + x) * 100 < 60 * SUB_WIN)
        x += SUB_WIN;
    size_t n3 = 2 * x + 2000;
    for (size_t i = 0; i < n3; i++)
        ids[i] = i % 2 ? non[(i / 2) % 32] : sub[(i / 2) % 32];
    add_ids(&r, ids, 2 * x - 2); /* x - 1 subset records: still sampled */
    stats(&r, &st);
    assert_true(st.sampled);
    add_ids(&r, ids + 2 * x - 2, 1); /* the x-th */
    stats(&r, &st);
    assert_false(st.sampled);
    assert_int_equal(st.mode_switches, 2);
    add_ids(&r, ids + 2 * x - 1, n3 - (2 * x - 1));
    assert_int_equal(edge_agg_pump(r.a), 0);
    stats(&r, &st);
    assert_false(st.sampled);
    assert_int_equal(st.bypassed, 2 * (M - S) + x - 1);
    assert_int_equal(st.entries, WINDOW + S + 32); /* the 32 other keys aggregated now */

    /* Everything out: exactly one record per entry plus the bypassed ones; exact totals. */
    edge_agg_flush_all(r.a);
    stats(&r, &st);
    assert_int_equal(r.sink.n, WINDOW + S + 32 + 2 * (M - S) + x - 1);
    assert_int_equal(st.records_out, r.sink.n);
    uint64_t flows = 0, bytes = 0;
    for (size_t i = 0; i < r.sink.n; i++) {
        flows += r.sink.out[i].flows;
        bytes += r.sink.out[i].bytes;
    }
    assert_int_equal(flows, r.in);
    assert_int_equal(bytes, r.bytes_in);
    edge_agg_destroy(r.a);
    free(r.sink.out);
}

/* A threshold of 0 never switches, whatever the input. */
static void test_pct0_never_switches(void **state)
{
    (void)state;
    struct run r = {0};
    struct edge_agg_stats st;
    struct edge_agg_config cfg = {.bucket_s = 60, .grace_s = 5, .min_reduction_pct = 0};
    assert_int_equal(edge_agg_create(&r.a, &cfg, sink_emit, &r.sink), 0);
    static uint32_t ids[3 * WINDOW];
    for (uint32_t i = 0; i < 3 * WINDOW; i++)
        ids[i] = i;
    add_ids(&r, ids, 3 * WINDOW);
    stats(&r, &st);
    assert_false(st.sampled);
    assert_int_equal(st.mode_switches, 0);
    assert_int_equal(st.entries, 3 * WINDOW);
    edge_agg_flush_all(r.a);
    stats(&r, &st);
    assert_int_equal(st.bypassed, 0);
    assert_int_equal(r.sink.n, 3 * WINDOW);
    edge_agg_destroy(r.a);
    free(r.sink.out);
}

/* Merging at or above the threshold keeps full aggregation: each key three times (2/3 merge)
 * against 60 %; at 70 % the same stream switches. */
static void check_repeats(uint32_t pct, bool want_sampled)
{
    struct run r = {0};
    struct edge_agg_stats st;
    struct edge_agg_config cfg = {.bucket_s = 60, .grace_s = 5, .min_reduction_pct = pct};
    assert_int_equal(edge_agg_create(&r.a, &cfg, sink_emit, &r.sink), 0);
    static uint32_t ids[3 * WINDOW];
    for (uint32_t i = 0; i < 3 * WINDOW; i++)
        ids[i] = i / 3;
    add_ids(&r, ids, WINDOW);
    stats(&r, &st);
    assert_int_equal(st.sampled, want_sampled);
    assert_int_equal(st.mode_switches, want_sampled ? 1 : 0);
    assert_int_equal(st.last_share_pm, (WINDOW - (WINDOW + 2) / 3) * 1000 / WINDOW);
    edge_agg_flush_all(r.a);
    stats(&r, &st);
    assert_int_equal(st.bypassed, 0);
    assert_int_equal(r.sink.n, (WINDOW + 2) / 3);
    edge_agg_destroy(r.a);
    free(r.sink.out);
}

static void test_repeats_keep_full(void **state)
{
    (void)state;
    check_repeats(60, false);
    check_repeats(70, true);
}

/* A sink that refuses everything offered without waiting while closed is true. */
struct gate {
    struct sink s;
    bool closed;
    size_t refusals;
};

static size_t gate_emit(void *arg, const struct fl0wer_flow *flows, size_t count, bool wait)
{
    struct gate *g = arg;
    if (!wait && g->closed) {
        g->refusals++;
        return 0;
    }
    return sink_emit(&g->s, flows, count, wait);
}

/* While the sink refuses a bypassed run (full queue), records that would be bypassed are
 * aggregated instead; once a pump gets the run out, bypassing resumes. */
static void test_full_sink_aggregates(void **state)
{
    (void)state;
    enum { M = 8192, RUN = 512 };
    struct gate g = {0};
    struct run r = {0};
    struct edge_agg_stats st;
    struct edge_agg_config cfg = {.bucket_s = 60, .grace_s = 5, .min_reduction_pct = 10};
    assert_int_equal(edge_agg_create(&r.a, &cfg, gate_emit, &g), 0);
    static uint32_t ids[WINDOW + 2 * M];
    for (uint32_t i = 0; i < WINDOW + 2 * M; i++)
        ids[i] = i;
    add_ids(&r, ids, WINDOW); /* distinct: sampled from here */
    stats(&r, &st);
    assert_true(st.sampled);
    g.closed = true;
    add_ids(&r, ids + WINDOW, M); /* fills the run, which the sink then refuses */
    stats(&r, &st);
    size_t agg1 = st.entries - WINDOW; /* subset keys plus the ones held in the tables */
    assert_true(g.refusals >= 1);
    assert_int_equal(g.s.n, 0);
    assert_int_equal(agg1, M - RUN);
    assert_int_equal(edge_agg_pump(r.a), RUN); /* still refused: the run waits */
    g.closed = false;
    assert_int_equal(edge_agg_pump(r.a), 0);
    assert_int_equal(g.s.n, RUN);
    add_ids(&r, ids + WINDOW + M, M); /* bypassing again */
    assert_int_equal(edge_agg_pump(r.a), 0);
    stats(&r, &st);
    size_t sub2 = st.entries - WINDOW - agg1; /* subset keys of the second stretch */
    assert_true(sub2 >= M / 16 - 200 && sub2 <= M / 16 + 200);
    assert_int_equal(st.bypassed, RUN + M - sub2);
    edge_agg_flush_all(r.a);
    stats(&r, &st);
    assert_int_equal(g.s.n, WINDOW + 2 * M); /* distinct keys: one record each, either way */
    assert_int_equal(st.records_out, g.s.n);
    uint64_t bytes = 0;
    for (size_t i = 0; i < g.s.n; i++)
        bytes += g.s.out[i].bytes;
    assert_int_equal(bytes, r.bytes_in);
    edge_agg_destroy(r.a);
    free(g.s.out);
}

/* The option: default 10, flag over environment, 0 accepted, out-of-range and non-numbers
 * refused with a one-line error naming the option. */
static int parse(struct edge_config *cfg, char **argv, char **envp, char *err, size_t len)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    FILE *out = fopen("/dev/null", "w");
    assert_non_null(out);
    err[0] = '\0';
    int rc = edge_config_parse(cfg, argc, argv, envp, out, err, len);
    fclose(out);
    return rc;
}

static void test_option(void **state)
{
    (void)state;
    static struct edge_config cfg;
    char err[512];
    char *plain[] = {"fl0wer-edge", NULL};
    assert_int_equal(parse(&cfg, plain, NULL, err, sizeof(err)), 0);
    assert_int_equal(cfg.aggregate_min_reduction, 10);
    char *env[] = {"FL0WER_AGGREGATE_MIN_REDUCTION=25", NULL};
    assert_int_equal(parse(&cfg, plain, env, err, sizeof(err)), 0);
    assert_int_equal(cfg.aggregate_min_reduction, 25);
    char *flag[] = {"fl0wer-edge", "--aggregate-min-reduction", "0", NULL};
    assert_int_equal(parse(&cfg, flag, env, err, sizeof(err)), 0);
    assert_int_equal(cfg.aggregate_min_reduction, 0);
    char *big[] = {"fl0wer-edge", "--aggregate-min-reduction=101", NULL};
    assert_int_equal(parse(&cfg, big, NULL, err, sizeof(err)), -1);
    assert_string_equal(err, "bad --aggregate-min-reduction value '101' from the command line "
                             "(want a number from 0 to 100)");
    char *word[] = {"fl0wer-edge", "--aggregate-min-reduction", "ten", NULL};
    assert_int_equal(parse(&cfg, word, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad --aggregate-min-reduction value 'ten'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_switching),
        cmocka_unit_test(test_pct0_never_switches),
        cmocka_unit_test(test_repeats_keep_full),
        cmocka_unit_test(test_full_sink_aggregates),
        cmocka_unit_test(test_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
