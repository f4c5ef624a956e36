/*
 * test_templates.c - template cache rules: scope per (exporter address, port, domain), refresh
 * (changed layout replaces, identical resend does not count), expiry, caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pktbuild.h"

#define EXP 1700000100u

static struct pb b;
static struct collect c;

static int decode(struct fl0wer_decoder *d, struct fl0wer_source *s)
{
    memset(&c, 0, sizeof(c));
    return fl0wer_decode_packet(d, s, b.buf, b.len, collect_cb, &c);
}

/* Layout A of template 256: src(4) dst(4) bytes(4). Layout B: bytes(8) dst(4) src(4). */
static void tpl(struct pb *p, int layout)
{
    pb_set_begin(p, 2);
    if (layout == 0)
        pb_template(p, 256, 3, 8, 4, 12, 4, 1, 4);
    else
        pb_template(p, 256, 3, 1, 8, 12, 4, 8, 4);
    pb_set_end(p);
}

/* One record of template 256 written in the given layout: src 10.0.0.1 dst 10.0.0.2 bytes. */
static void rec(struct pb *p, int layout, uint32_t bytes)
{
    pb_set_begin(p, 256);
    if (layout == 0) {
        pb_v4(p, "10.0.0.1"), pb_v4(p, "10.0.0.2"), pb_u32(p, bytes);
    } else {
        pb_u64(p, bytes), pb_v4(p, "10.0.0.2"), pb_v4(p, "10.0.0.1");
    }
    pb_set_end(p);
}

static void msg(uint32_t domain, int with_tpl, int tpl_layout, int rec_layout, uint32_t bytes)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, domain);
    if (with_tpl)
        tpl(&b, tpl_layout);
    if (rec_layout >= 0)
        rec(&b, rec_layout, bytes);
    pb_ipfix_end(&b);
}

static void check_flow(uint64_t bytes)
{
    assert_int_equal(c.n, 1);
    assert_string_equal(addr_str(c.f[0].src_addr), "10.0.0.1");
    assert_string_equal(addr_str(c.f[0].dst_addr), "10.0.0.2");
    assert_int_equal(c.f[0].bytes, bytes);
}

static void test_scope_isolation(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source a, a_port, bsrc;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&a, "192.0.2.1", 4739, 1);
    src_init(&a_port, "192.0.2.1", 4740, 1);
    src_init(&bsrc, "192.0.2.2", 4739, 1);
    msg(0, 1, 0, -1, 0);
    assert_int_equal(decode(d, &a), 0);
    msg(0, 1, 1, -1, 0);
    assert_int_equal(decode(d, &bsrc), 0); /* same id, other exporter, other layout */
    msg(7, 1, 1, -1, 0);
    assert_int_equal(decode(d, &a), 0); /* same exporter, other domain */
    msg(0, 1, 1, -1, 0);
    assert_int_equal(decode(d, &a_port), 0); /* same address, other source port */
    msg(0, 0, 0, 0, 111);
    assert_int_equal(decode(d, &a), 0);
    check_flow(111);
    msg(0, 0, 0, 1, 222);
    assert_int_equal(decode(d, &bsrc), 0);
    check_flow(222);
    msg(7, 0, 0, 1, 333);
    assert_int_equal(decode(d, &a), 0);
    check_flow(333);
    assert_int_equal(c.f[0].domain_id, 7);
    msg(0, 0, 0, 1, 444);
    assert_int_equal(decode(d, &a_port), 0);
    check_flow(444);
    assert_int_equal(get_stats(d, "192.0.2.1", 4739, 0).template_changes, 0);
    fl0wer_decoder_destroy(d);
}

static void test_refresh(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_exporter_stats st;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.3", 4739, 1);
    msg(0, 1, 0, 0, 1);
    assert_int_equal(decode(d, &s), 0);
    check_flow(1);
    msg(0, 1, 0, 0, 2); /* identical resend */
    assert_int_equal(decode(d, &s), 0);
    check_flow(2);
    st = get_stats(d, "192.0.2.3", 4739, 0);
    assert_int_equal(st.templates, 2);
    assert_int_equal(st.template_changes, 0);
    msg(0, 1, 1, 1, 3); /* redefined with another layout */
    assert_int_equal(decode(d, &s), 0);
    check_flow(3);
    msg(0, 0, 0, 1, 4);
    assert_int_equal(decode(d, &s), 0);
    check_flow(4);
    st = get_stats(d, "192.0.2.3", 4739, 0);
    assert_int_equal(st.templates, 3);
    assert_int_equal(st.template_changes, 1);
    fl0wer_decoder_destroy(d);
}

static void test_expiry(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_decoder_config cfg = {.template_timeout_s = 10,
                                        .flags = FL0WER_DECODER_NO_HOLD};
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, &cfg), 0);
    src_init(&s, "192.0.2.4", 4739, 1000);
    msg(0, 1, 0, -1, 0);
    assert_int_equal(decode(d, &s), 0);
    s.recv_ms = 9000; /* refreshed at 9 s */
    assert_int_equal(decode(d, &s), 0);
    s.recv_ms = 18000; /* 9 s after the refresh: still valid */
    msg(0, 0, 0, 0, 5);
    assert_int_equal(decode(d, &s), 0);
    check_flow(5);
    s.recv_ms = 19500; /* 10.5 s after the refresh: expired */
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(get_stats(d, "192.0.2.4", 4739, 0).unknown_template, 1);
    /* fl0wer_decoder_expire() on an idle stream */
    msg(0, 1, 0, -1, 0);
    assert_int_equal(decode(d, &s), 0);
    fl0wer_decoder_expire(d, 19500 + 5000);
    msg(0, 0, 0, 0, 6);
    assert_int_equal(decode(d, &s), 0);
    check_flow(6);
    fl0wer_decoder_expire(d, 19500 + 11000);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 0);
    fl0wer_decoder_destroy(d);
}

static void test_caps(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_decoder_config cfg = {.max_templates = 2, .max_exporters = 2};
    struct fl0wer_source s;
    struct fl0wer_decoder_totals t;

    assert_int_equal(fl0wer_decoder_create(&d, &cfg), 0);
    src_init(&s, "192.0.2.5", 4739, 1);
    msg(0, 1, 0, -1, 0);
    assert_int_equal(decode(d, &s), 0);
    msg(1, 1, 0, -1, 0);
    assert_int_equal(decode(d, &s), 0);
    msg(2, 1, 0, -1, 0); /* third exporter (domain): over the cap */
    assert_int_equal(decode(d, &s), FL0WER_ERR_LIMIT);
    src_init(&s, "192.0.2.5", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 1);
    pb_set_begin(&b, 2);
    pb_template(&b, 300, 1, 8, 4); /* third template: over the cap */
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), FL0WER_ERR_LIMIT);
    assert_int_equal(get_stats(d, "192.0.2.5", 4739, 1).errors[FL0WER_DERR_LIMIT], 1);
    assert_string_equal(fl0wer_decode_error_name(FL0WER_DERR_LIMIT), "limit");
    msg(1, 0, 0, 0, 9); /* the existing ones still work */
    assert_int_equal(decode(d, &s), 0);
    check_flow(9);
    fl0wer_decoder_totals(d, &t);
    assert_int_equal(t.templates, 3);
    assert_int_equal(t.errors, 2); /* the exporter cap (unattributed) and the template cap */
    fl0wer_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_isolation),
        cmocka_unit_test(test_refresh),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
