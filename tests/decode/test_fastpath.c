/*
 * test_fastpath.c - the fixed-length fast path of the decoder (proto/decode/fast.c) against the
 * general path (FL0WER_DECODER_GENERIC): every packet goes through both decoders, which must
 * return the same code and the same flows byte for byte; each case also asserts exact values,
 * and (white-box, through internal.h) which plan the template compiled to, so that the
 * comparison really covers the fast path's variants: sorted / in-order fields, time modes,
 * fallbacks, IPv6 flag, sampling, reverse records, batch flushes and a stopping callback.
 * Finally the real exporter datagrams of ../shared/testdata/flows (.dat/.bin) are compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <dirent.h>
#include <cmocka.h>

#include "pktbuild.h"
#include "../../proto/decode/internal.h"

#define EXP 1700000000u

static struct pb b;
static struct collect cf, cg; /* fast, general */
static struct fl0wer_decoder *df, *dg;
static struct fl0wer_source s;

static int setup(void **state)
{
    struct fl0wer_decoder_config cfg = {.flags = FL0WER_DECODER_GENERIC};

    (void)state;
    src_init(&s, "192.0.2.1", 4739, 1700000005000ull);
    if (fl0wer_decoder_create(&df, NULL) != 0)
        return -1;
    return fl0wer_decoder_create(&dg, &cfg);
}

static int teardown(void **state)
{
    (void)state;
    fl0wer_decoder_destroy(df);
    fl0wer_decoder_destroy(dg);
    return 0;
}

/* Decodes b through both decoders; asserts identical results; returns the code. */
static int both(int stop_after)
{
    int rf, rg;

    memset(&cf, 0, sizeof(cf));
    memset(&cg, 0, sizeof(cg));
    cf.stop_after = cg.stop_after = stop_after;
    rf = fl0wer_decode_packet(df, &s, b.buf, b.len, collect_cb, &cf);
    rg = fl0wer_decode_packet(dg, &s, b.buf, b.len, collect_cb, &cg);
    assert_int_equal(rf, rg);
    assert_int_equal(cf.n, cg.n);
    if (cf.n > 0)
        assert_memory_equal(cf.f, cg.f, cf.n * sizeof(cf.f[0]));
    return rf;
}

/* The compiled template id of (s, domain) in the fast decoder. */
static const struct dec_template *tmpl(uint32_t domain, uint16_t id)
{
    struct dec_exporter *ex = dec_exporter_get(df, &s, domain, 10);

    assert_non_null(ex);
    return dec_template_find(df, ex, id, s.recv_ms);
}

/* An IPFIX enterprise field specifier. */
static void spec_pen(uint16_t id, uint16_t len, uint32_t pen)
{
    pb_u16(&b, id | 0x8000u), pb_u16(&b, len), pb_u32(&b, pen);
}

/* NetFlow v9, Cisco-like 18 fields, sysUpTime times; zero next hop stays unset. */
static void test_v9_cisco(void **state)
{
    const struct dec_template *t;

    (void)state;
    pb_reset(&b);
    pb_v9_header(&b, 1000000, EXP, 1, 3);
    pb_set_begin(&b, 0);
    pb_template(&b, 256, 18, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 6, 1, 5, 1, 10, 4, 14, 4, 1, 8, 2,
                8, 15, 4, 16, 4, 17, 4, 9, 1, 13, 1, 22, 4, 21, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    for (uint32_t i = 0; i < 2; i++) {
        pb_v4(&b, "10.0.0.1"), pb_v4(&b, "192.168.1.2"), pb_u16(&b, 1024 + i), pb_u16(&b, 443);
        pb_u8(&b, 6), pb_u8(&b, 0x1b), pb_u8(&b, 0x28), pb_u32(&b, 3), pb_u32(&b, 7);
        pb_u64(&b, 1500), pb_u64(&b, 2), pb_v4(&b, i ? "0.0.0.0" : "10.0.0.254");
        pb_u32(&b, 64512), pb_u32(&b, 15169), pb_u8(&b, 24), pb_u8(&b, 16);
        pb_u32(&b, 900000), pb_u32(&b, 999000);
    }
    pb_set_end_pad(&b, 2);
    assert_int_equal(both(0), 0);
    t = dec_template_find(df, dec_exporter_get(df, &s, 3, 9), 256, s.recv_ms);
    assert_non_null(t);
    assert_true(t->fast && t->fp.sorted);
    assert_int_equal(t->fp.time_mode, DTM_UPTIME);
    assert_int_equal(t->fp.post, 0);
    assert_int_equal(cf.n, 2);
    assert_string_equal(addr_str(cf.f[0].src_addr), "10.0.0.1");
    assert_string_equal(addr_str(cf.f[0].dst_addr), "192.168.1.2");
    assert_string_equal(addr_str(cf.f[0].next_hop), "10.0.0.254");
    assert_true(fl0wer_addr_is_zero(cf.f[1].next_hop));
    assert_int_equal(cf.f[1].src_port, 1025);
    assert_int_equal(cf.f[0].tos, 0x28);
    assert_int_equal(cf.f[0].bytes, 1500);
    assert_int_equal(cf.f[0].dst_as, 15169);
    assert_int_equal(cf.f[0].first_ms, EXP * 1000ull - 100000);
    assert_int_equal(cf.f[0].last_ms, EXP * 1000ull - 1000);
    assert_int_equal(cf.f[0].domain_id, 3);
    assert_int_equal(cf.f[0].version, 9);
    assert_int_equal(cf.f[0].sampling, 1);
    assert_int_equal(cf.f[0].flows, 1);
    assert_int_equal(cf.f[0].flags, 0);
}

/* IPv6, reduced-size counters, ms times; a record with a zero start takes the general path. */
static void test_ipfix_v6_ms(void **state)
{
    const struct dec_template *t;

    (void)state;
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 10);
    pb_set_begin(&b, 2);
    pb_template(&b, 300, 10, 27, 16, 28, 16, 7, 2, 11, 2, 4, 1, 1, 4, 2, 2, 152, 8, 153, 8, 10,
                2);
    pb_set_end(&b);
    pb_set_begin(&b, 300);
    for (int i = 0; i < 2; i++) {
        pb_v6(&b, "2001:db8::1"), pb_v6(&b, "2001:db8::2"), pb_u16(&b, 53), pb_u16(&b, 5353);
        pb_u8(&b, 17), pb_u32(&b, 5000), pb_u16(&b, 7);
        pb_u64(&b, i ? 0 : 1700000000123ull), pb_u64(&b, 1700000000456ull), pb_u16(&b, 9);
    }
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(both(0), 0);
    t = tmpl(10, 300);
    assert_true(t->fast && t->fp.sorted);
    assert_int_equal(t->fp.time_mode, DTM_ABS);
    assert_int_equal(t->fp.post, DEC_POST_V6);
    assert_int_equal(cf.n, 2);
    assert_string_equal(addr_str(cf.f[0].src_addr), "2001:db8::1");
    assert_int_equal(cf.f[0].flags, FL0WER_FLOW_F_IPV6);
    assert_int_equal(cf.f[0].bytes, 5000);
    assert_int_equal(cf.f[0].packets, 7);
    assert_int_equal(cf.f[0].in_if, 9);
    assert_int_equal(cf.f[0].first_ms, 1700000000123ull);
    assert_int_equal(cf.f[0].last_ms, 1700000000456ull);
    assert_int_equal(cf.f[1].first_ms, 1700000000456ull); /* start missing: copied */
    assert_int_equal(cf.f[1].version, 10);
}

/* Fields writing the same destination keep the template order (last non-zero wins). */
static void test_conflicts(void **state)
{
    const struct dec_template *t;

    (void)state;
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 11);
    pb_set_begin(&b, 2);
    pb_template(&b, 301, 5, 8, 4, 27, 16, 9, 1, 29, 1, 12, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 301);
    pb_v4(&b, "10.1.1.1"), pb_v6(&b, "::"), pb_u8(&b, 24), pb_u8(&b, 64), pb_v4(&b, "10.2.2.2");
    pb_v4(&b, "0.0.0.0"), pb_v6(&b, "2001:db8::5"), pb_u8(&b, 8), pb_u8(&b, 48),
        pb_v4(&b, "0.0.0.0");
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(both(0), 0);
    t = tmpl(11, 301);
    assert_true(t->fast);
    assert_false(t->fp.sorted);
    assert_int_equal(t->fp.time_mode, DTM_CONST);
    assert_int_equal(cf.n, 2);
    assert_string_equal(addr_str(cf.f[0].src_addr), "10.1.1.1");
    assert_int_equal(cf.f[0].src_mask, 64);
    assert_int_equal(cf.f[0].flags, 0);
    assert_int_equal(cf.f[0].first_ms, EXP * 1000ull); /* no time field: export time */
    assert_string_equal(addr_str(cf.f[1].src_addr), "2001:db8::5");
    assert_true(fl0wer_addr_is_zero(cf.f[1].dst_addr));
    assert_int_equal(cf.f[1].flags, FL0WER_FLOW_F_IPV6);
}

/* Selector sampling, ICMP, direction, counter and next-hop fallbacks, RFC 5103 reverse. */
static void test_resolve_reverse(void **state)
{
    const struct dec_template *t;

    (void)state;
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 12);
    pb_set_begin(&b, 3);
    pb_u16(&b, 400), pb_u16(&b, 3), pb_u16(&b, 1);
    pb_u16(&b, 302), pb_u16(&b, 4), pb_u16(&b, 305), pb_u16(&b, 4), pb_u16(&b, 306),
        pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 400);
    pb_u32(&b, 7), pb_u32(&b, 1), pb_u32(&b, 99);
    pb_set_end(&b);
    pb_set_begin(&b, 2);
    pb_u16(&b, 302), pb_u16(&b, 13);
    pb_u16(&b, 8), pb_u16(&b, 4), pb_u16(&b, 12), pb_u16(&b, 4), pb_u16(&b, 4), pb_u16(&b, 1);
    pb_u16(&b, 32), pb_u16(&b, 2), pb_u16(&b, 61), pb_u16(&b, 1), pb_u16(&b, 1), pb_u16(&b, 8);
    pb_u16(&b, 23), pb_u16(&b, 8), pb_u16(&b, 2), pb_u16(&b, 8), pb_u16(&b, 18), pb_u16(&b, 4);
    pb_u16(&b, 15), pb_u16(&b, 4), pb_u16(&b, 302), pb_u16(&b, 4);
    spec_pen(1, 8, 29305), spec_pen(2, 8, 29305);
    pb_set_end(&b);
    pb_set_begin(&b, 302);
    for (int i = 0; i < 2; i++) {
        pb_v4(&b, "10.0.0.1"), pb_v4(&b, "10.0.0.2"), pb_u8(&b, 1), pb_u16(&b, 0x0303);
        pb_u8(&b, 1), pb_u64(&b, 0), pb_u64(&b, 900), pb_u64(&b, 3), pb_v4(&b, "192.0.2.9");
        pb_v4(&b, "0.0.0.0"), pb_u32(&b, 7), pb_u64(&b, i ? 0 : 400), pb_u64(&b, i ? 0 : 2);
    }
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(both(0), 0);
    t = tmpl(12, 302);
    assert_true(t->fast && t->fp.sorted);
    assert_int_equal(t->fp.post, DEC_POST_FIELDS | DEC_POST_SAMPLING | DEC_POST_REVERSE |
                                     DEC_POST_BGP_NH | DEC_POST_SCRATCH);
    assert_int_equal(cf.n, 3);
    assert_int_equal(cf.f[0].bytes, 900);
    assert_int_equal(cf.f[0].packets, 3);
    assert_int_equal(cf.f[0].dst_port, 0x0303);
    assert_int_equal(cf.f[0].direction, FL0WER_DIR_EGRESS);
    assert_string_equal(addr_str(cf.f[0].next_hop), "192.0.2.9");
    assert_int_equal(cf.f[0].sampling, 100);
    assert_int_equal(cf.f[1].flags, FL0WER_FLOW_F_REVERSE);
    assert_string_equal(addr_str(cf.f[1].src_addr), "10.0.0.2");
    assert_int_equal(cf.f[1].dst_port, 0x0303);
    assert_int_equal(cf.f[1].bytes, 400);
    assert_int_equal(cf.f[1].packets, 2);
    assert_int_equal(cf.f[1].direction, FL0WER_DIR_INGRESS);
    assert_int_equal(cf.f[2].flags, 0);
}

/* ICMP type without code (and code without type): the missing half is 0, never stale. */
static void test_icmp_half(void **state)
{
    (void)state;
    for (int k = 0; k < 2; k++) {
        pb_reset(&b);
        pb_ipfix_header(&b, EXP, 0, 13 + k);
        pb_set_begin(&b, 2);
        pb_template(&b, 303, 2, 8, 4, k ? 177 : 176, 1);
        pb_set_end(&b);
        pb_set_begin(&b, 303);
        pb_v4(&b, "10.0.0.1"), pb_u8(&b, k ? 4 : 11);
        pb_set_end(&b);
        pb_ipfix_end(&b);
        assert_int_equal(both(0), 0);
        assert_int_equal(cf.n, 1);
        assert_int_equal(cf.f[0].dst_port, k ? 4 : 11 << 8);
    }
}

/* One IPFIX message: template `id` of two time fields (a, b) and one record (va, vb). */
static void time_msg(uint32_t domain, uint16_t id, int a, int la, int bb, int lb, uint64_t va,
                     uint64_t vb)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, domain);
    pb_set_begin(&b, 2);
    pb_template(&b, id, 3, 8, 4, a, la, bb, lb);
    pb_set_end(&b);
    pb_set_begin(&b, id);
    pb_v4(&b, "10.9.9.9");
    la == 8 ? pb_u64(&b, va) : pb_u32(&b, (uint32_t)va);
    lb == 8 ? pb_u64(&b, vb) : pb_u32(&b, (uint32_t)vb);
    pb_set_end(&b);
    pb_ipfix_end(&b);
}

#define NTP(unix_s, frac) ((((uint64_t)(unix_s) + 2208988800u) << 32) | (frac))

/* Every time mode of the plan, with exact ends. */
static void test_time_modes(void **state)
{
    static const struct {
        int a, la, b, lb;
        uint64_t va, vb;
        uint8_t mode;
        uint64_t first, last;
    } c[] = {
        {150, 4, 151, 4, EXP - 10, EXP, DTM_ABS, (EXP - 10) * 1000ull, EXP * 1000ull},
        {156, 8, 157, 8, NTP(EXP, 0x80000000u), NTP(EXP + 1, 0), DTM_ABS, EXP * 1000ull + 500,
         (EXP + 1) * 1000ull},
        {22, 4, 21, 4, 5000, 6000, DTM_UPTIME, 0, 0}, /* no sysinit yet: export time */
        {152, 8, 161, 4, 1700000000100ull, 250, DTM_GENERIC, 1700000000100ull,
         1700000000350ull},
        {22, 8, 21, 8, 1700000000700ull, 0, DTM_UPTIME, 0, 0},
    };

    (void)state;
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        const struct dec_template *t;

        time_msg(20 + i, 310, c[i].a, c[i].la, c[i].b, c[i].lb, c[i].va, c[i].vb);
        assert_int_equal(both(0), 0);
        t = tmpl(20 + i, 310);
        assert_true(t->fast);
        assert_int_equal(t->fp.time_mode, c[i].mode);
        assert_int_equal(cf.n, 1);
        assert_int_equal(cf.f[0].first_ms, c[i].first ? c[i].first : EXP * 1000ull);
        assert_int_equal(cf.f[0].last_ms, c[i].last ? c[i].last : EXP * 1000ull);
    }
    /* systemInitTimeMilliseconds from options data: sysUpTime-relative ends */
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 22);
    pb_set_begin(&b, 3);
    pb_u16(&b, 401), pb_u16(&b, 2), pb_u16(&b, 1), pb_u16(&b, 149), pb_u16(&b, 4);
    pb_u16(&b, 160), pb_u16(&b, 8);
    pb_set_end(&b);
    pb_set_begin(&b, 401);
    pb_u32(&b, 22), pb_u64(&b, 1699990000000ull);
    pb_set_end(&b);
    pb_set_begin(&b, 310);
    pb_v4(&b, "10.9.9.9"), pb_u32(&b, 5000), pb_u32(&b, 6000);
    pb_v4(&b, "10.9.9.8"), pb_u32(&b, 0), pb_u32(&b, 6000); /* ends 0 + init: still fast */
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(both(0), 0);
    assert_int_equal(cf.n, 2);
    assert_int_equal(cf.f[0].first_ms, 1699990005000ull);
    assert_int_equal(cf.f[0].last_ms, 1699990006000ull);
    assert_int_equal(cf.f[1].first_ms, 1699990000000ull);
    /* v5-style 0 export time is impossible in IPFIX; v9 with unix_secs 0: receive time */
    pb_reset(&b);
    pb_v9_header(&b, 1000000, 0, 2, 3);
    pb_set_begin(&b, 256);
    pb_zero(&b, 61); /* one all-zero record of the 61-byte template */
    pb_set_end_pad(&b, 3);
    assert_int_equal(both(0), 0);
    assert_int_equal(cf.n, 1);
    assert_int_equal(cf.f[0].first_ms, s.recv_ms);
    assert_int_equal(cf.f[0].flags, FL0WER_FLOW_F_TIME_RECV);
}

/* 300 records with reverse flows cross batch flushes; a callback that stops decoding. */
static void test_batches(void **state)
{
    (void)state;
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 30);
    pb_set_begin(&b, 2);
    pb_u16(&b, 320), pb_u16(&b, 4);
    pb_u16(&b, 8), pb_u16(&b, 4), pb_u16(&b, 12), pb_u16(&b, 4), pb_u16(&b, 1), pb_u16(&b, 4);
    spec_pen(1, 4, 29305);
    pb_set_end(&b);
    pb_set_begin(&b, 320);
    for (uint32_t i = 0; i < 300; i++)
        pb_u32(&b, 0x0a000000u + i), pb_u32(&b, 0x0b000000u), pb_u32(&b, i + 1),
            pb_u32(&b, 1000 + i);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(both(0), 0);
    assert_int_equal(cf.n, 600);
    assert_int_equal(cf.f[599].bytes, 1299);
    assert_int_equal(cf.f[599].flags, FL0WER_FLOW_F_REVERSE);
    assert_int_equal(cf.f[256].bytes, 129);
    assert_int_equal(both(300), FL0WER_ERR_CALLBACK);
    assert_int_equal(cf.n, 512); /* two whole batches were delivered */
    assert_int_equal(get_stats(df, "192.0.2.1", 4739, 30).records,
                     get_stats(dg, "192.0.2.1", 4739, 30).records);
}

/* Real exporter datagrams (.dat / .bin under the shared folder) decode identically. */
static void test_shared_files(void **state)
{
    static const char *const sub[] = {
        "logstash-codec-netflow",      "graylog-plugin-netflow",
        "telegraf/ipfix_example",      "telegraf/ipfix_options",
        "telegraf/ipfix_pen_35632",    "telegraf/issue_13305",
        "telegraf/netflow_v9_example", "telegraf/netflow_v9_options",
    };
    const char *env = getenv("FL0WER_SHARED_FLOWS");
    char dir[1024], path[1400];
    int files = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s", env && *env ? env : FL0WER_SHARED_FLOWS);
    for (unsigned k = 0; k < sizeof(sub) / sizeof(sub[0]); k++) {
        struct dirent **e;
        int ne;

        snprintf(path, sizeof(path), "%s/%s", dir, sub[k]);
        if ((ne = scandir(path, &e, NULL, alphasort)) < 0)
            continue;
        for (int i = 0; i < ne; i++) {
            size_t n = strlen(e[i]->d_name);
            FILE *f;

            snprintf(path, sizeof(path), "%s/%s/%s", dir, sub[k], e[i]->d_name);
            if (n >= 5 && (!strcmp(e[i]->d_name + n - 4, ".dat") ||
                           !strcmp(e[i]->d_name + n - 4, ".bin")) &&
                (f = fopen(path, "rb")) != NULL) {
                b.len = fread(b.buf, 1, sizeof(b.buf), f);
                fclose(f);
                (void)both(0);
                files++;
            }
            free(e[i]);
        }
        free(e);
    }
    if (files == 0) {
        printf("SKIPPED: no .dat/.bin files in %s (../shared/testdata/flows absent)\n", dir);
        skip();
    }
    assert_true(files >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v9_cisco),        cmocka_unit_test(test_ipfix_v6_ms),
        cmocka_unit_test(test_conflicts),       cmocka_unit_test(test_resolve_reverse),
        cmocka_unit_test(test_icmp_half),       cmocka_unit_test(test_time_modes),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_shared_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
