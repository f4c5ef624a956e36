/*
 * test_gen.c - fl0wer-gen's library: the same seed gives the same bytes; the printed totals
 * equal sums recomputed from the model flow by flow; every packet is well-formed per RFC
 * (checked by the independent walker in gen_walk.c), with templates in the first and every
 * N-th packet of each exporter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_walk.h"

static void config(struct gen_config *c, uint64_t seed)
{
    gen_config_default(c);
    c->seed = seed;
    c->flows = 3000;
    c->exporters = 5;
    c->versions[0] = 5;
    c->versions[1] = 9;
    c->versions[2] = 10;
    c->n_versions = 3;
    c->ipv6_share = 0.3;
    c->sampling = 100;
    c->start_ms = 1700000000000ull;
    c->template_refresh = 4;
}

/* FNV-1a over every packet (with its length and exporter) of a run. */
static uint64_t run_hash(const struct gen_config *c, uint64_t *packets)
{
    struct gen_ctx g;
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    uint64_t h = 1469598103934665603ull;
    size_t len;
    uint32_t ex;

    assert_non_null(buf);
    assert_int_equal(gen_init(&g, c, NULL, 0), 0);
    *packets = 0;
    while (gen_next_packet(&g, buf, &len, &ex) == 1) {
        h = (h ^ len ^ (uint64_t)ex << 32) * 1099511628211ull;
        for (size_t i = 0; i < len; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
        (*packets)++;
    }
    gen_release(&g);
    free(buf);
    return h;
}

static void test_determinism(void **state)
{
    struct gen_config a, b;
    uint64_t na, nb, nc;

    config(&a, 42);
    config(&b, 42);
    assert_int_equal(run_hash(&a, &na), run_hash(&b, &nb));
    assert_int_equal(na, nb);
    assert_true(na > 50);
    config(&b, 43);
    assert_int_not_equal(run_hash(&a, &na), run_hash(&b, &nc));
}

static void test_totals_match_model(void **state)
{
    struct gen_config c;
    struct gen_ctx g, m;
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    uint64_t bytes = 0, pkts = 0, bs = 0, ps = 0, v6 = 0, per_ex[5] = {0};
    uint8_t top_key[16];
    uint64_t top_bytes = 0;
    struct gen_top_entry *rows;
    size_t len, n;
    uint32_t ex;

    assert_non_null(buf);
    config(&c, 7);
    assert_int_equal(gen_init(&g, &c, NULL, 0), 0);
    while (gen_next_packet(&g, buf, &len, &ex) == 1)
        ;
    /* Recompute from the model alone, in index order, with a naive top-1 search. */
    assert_int_equal(gen_init(&m, &c, NULL, 0), 0);
    for (uint64_t i = 0; i < c.flows; i++) {
        struct fl0wer_flow f;

        gen_model_flow(&m, i, &f);
        assert_int_equal(f.sampling, 100);
        bytes += f.bytes;
        pkts += f.packets;
        bs += f.bytes * 100;
        ps += f.packets * 100;
        v6 += (f.flags & FL0WER_FLOW_F_IPV6) != 0;
        per_ex[i % 5] += f.bytes;
        if (f.version == 5)
            assert_false(f.flags & FL0WER_FLOW_F_IPV6);
    }
    for (uint64_t i = 0; i < c.flows; i++) {
        struct fl0wer_flow f, o;
        uint64_t sum = 0;

        gen_model_flow(&m, i, &f);
        for (uint64_t j = 0; j < c.flows; j++) {
            gen_model_flow(&m, j, &o);
            if (memcmp(o.src_addr, f.src_addr, 16) == 0)
                sum += o.bytes * 100;
        }
        if (sum > top_bytes) {
            top_bytes = sum;
            memcpy(top_key, f.src_addr, 16);
        }
        if (i == 300)
            break; /* the heaviest source is among the first few hundred (Zipf); checked below */
    }
    assert_int_equal(g.totals.records, c.flows);
    assert_int_equal(g.totals.flows, c.flows);
    assert_int_equal(g.totals.bytes, bytes);
    assert_int_equal(g.totals.packets_counted, pkts);
    assert_int_equal(g.totals.bytes_scaled, bs);
    assert_int_equal(g.totals.packets_scaled, ps);
    assert_int_equal(g.totals.ipv6_flows, v6);
    assert_true(v6 > 300 && v6 < 900); /* 30% of the 3/5 of flows on v9/IPFIX exporters */
    for (int i = 0; i < 5; i++)
        assert_int_equal(g.ex[i].bytes, per_ex[i]);
    n = gen_top(&g.totals.top[GEN_DIM_SRCIP], 10, &rows);
    assert_int_equal(n, 10);
    assert_memory_equal(rows[0].key, top_key, 16);
    assert_int_equal(rows[0].bytes, top_bytes);
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i - 1].bytes >= rows[i].bytes);
    free(rows);
    gen_release(&m);
    gen_release(&g);
    free(buf);
}

static void check_wellformed(uint32_t rpp, uint32_t sampling)
{
    struct gen_config c;
    struct gen_ctx g;
    struct walk_exporter ws[5];
    struct walk_sum sum = {0};
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    size_t len;
    uint32_t ex;
    uint64_t expect_tpl_packets = 0;

    assert_non_null(buf);
    memset(ws, 0, sizeof(ws));
    config(&c, 11);
    c.records_per_packet = rpp;
    c.sampling = sampling;
    assert_int_equal(gen_init(&g, &c, NULL, 0), 0);
    while (gen_next_packet(&g, buf, &len, &ex) == 1) {
        const char *err = walk_packet(&ws[ex], buf, len, &sum);

        if (err != NULL)
            fail_msg("exporter %u packet %" PRIu64 " (v%u): %s", ex, ws[ex].packets,
                     g.ex[ex].version, err);
        if (rpp == 0)
            assert_true(len <= 1400);
    }
    for (int i = 0; i < 5; i++)
        if (g.ex[i].version != 5)
            expect_tpl_packets += (g.ex[i].packets + 3) / 4; /* packets 0, 4, 8, ... */
    assert_int_equal(sum.packets, g.totals.packets);
    assert_int_equal(sum.records, c.flows);
    assert_int_equal(sum.bytes, g.totals.bytes);
    assert_int_equal(sum.templates, g.totals.templates);
    assert_int_equal(sum.options_records, g.totals.options_records);
    assert_int_equal(sum.template_packets, expect_tpl_packets);
    assert_int_equal(sum.options_records, sampling > 1 ? expect_tpl_packets : 0);
    gen_release(&g);
    free(buf);
}

static void test_wellformed(void **state)
{
    check_wellformed(0, 100);
    check_wellformed(0, 1);
    check_wellformed(1, 5);
    check_wellformed(7, 1);
    check_wellformed(1000, 16383);
}

static void test_bad_config(void **state)
{
    struct gen_config c;
    struct gen_ctx g;
    char msg[128];

    config(&c, 1);
    c.sampling = 16384;
    assert_int_equal(gen_init(&g, &c, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "sampling must be 1..16383 (the v5 header's 14 bits)");
    config(&c, 1);
    c.exporters = 0;
    assert_int_equal(gen_init(&g, &c, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "exporters must be 1..256");
    config(&c, 1);
    c.versions[1] = 8;
    assert_int_equal(gen_init(&g, &c, msg, sizeof(msg)), -1);
    assert_string_equal(msg, "versions must be 5, 9 or 10");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_determinism), cmocka_unit_test(test_totals_match_model),
        cmocka_unit_test(test_wellformed), cmocka_unit_test(test_bad_config)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
