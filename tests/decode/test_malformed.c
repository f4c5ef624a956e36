/*
 * test_malformed.c - bad input: every malformed message returns an error code, is counted, never
 * reads outside the datagram (each input is decoded from an exactly-sized heap copy so that
 * AddressSanitizer sees any over-read), never loops, and the stream goes on. Also the inputs the
 * fuzzer found (regressions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pktbuild.h"

#define EXP 1700000100u
#define EXA "192.0.2.50"

static struct pb b;
static struct collect c;
static struct fl0wer_decoder *d;
static struct fl0wer_source s;

/* Decodes buf[0..len) from a heap copy of exactly len bytes. */
static int decode_exact(const uint8_t *buf, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, buf, len);
    memset(&c, 0, sizeof(c));
    rc = fl0wer_decode_packet(d, &s, copy, len, collect_cb, &c);
    free(copy);
    return rc;
}

static int decode(void)
{
    return decode_exact(b.buf, b.len);
}

static int setup(void **state)
{
    src_init(&s, EXA, 2055, 1);
    return fl0wer_decoder_create(&d, NULL);
}

static int teardown(void **state)
{
    fl0wer_decoder_destroy(d);
    return 0;
}

static struct fl0wer_exporter_stats stats(uint32_t domain)
{
    return get_stats(d, EXA, 2055, domain);
}

/* A good IPFIX message with template 256 and one record (used to show the stream goes on). */
static void good_ipfix(void)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 2);
    pb_template(&b, 256, 2, 8, 4, 1, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    pb_v4(&b, "10.0.0.1");
    pb_u32(&b, 42);
    pb_set_end(&b);
    pb_ipfix_end(&b);
}

static void test_truncated_headers(void **state)
{
    static const uint8_t v5[23] = {0, 5}, v9[19] = {0, 9}, ipfix[15] = {0, 10}, one[1] = {0};
    static const uint8_t v7[40] = {0, 7};

    assert_int_equal(decode_exact(v5, sizeof(v5)), FL0WER_ERR_SHORT);
    assert_int_equal(decode_exact(v9, sizeof(v9)), FL0WER_ERR_SHORT);
    assert_int_equal(decode_exact(ipfix, sizeof(ipfix)), FL0WER_ERR_SHORT);
    assert_int_equal(decode_exact(one, sizeof(one)), FL0WER_ERR_SHORT);
    assert_int_equal(decode_exact(one, 0), FL0WER_ERR_SHORT);
    assert_int_equal(decode_exact(v7, sizeof(v7)), FL0WER_ERR_VERSION);
    assert_int_equal(stats(0).errors[FL0WER_DERR_SHORT], 5);
    assert_int_equal(stats(0).errors[FL0WER_DERR_VERSION], 1);
    assert_int_equal(fl0wer_decode_packet(d, NULL, v5, 5, NULL, NULL), FL0WER_ERR_INVAL);
    good_ipfix();
    assert_int_equal(decode(), 0);
    assert_int_equal(c.n, 1);
}

static void test_ipfix_length_field(void **state)
{
    good_ipfix();
    pb_put16(&b, 2, 12); /* shorter than the header */
    assert_int_equal(decode(), FL0WER_ERR_FORMAT);
    good_ipfix();
    pb_put16(&b, 2, (uint32_t)b.len + 1); /* longer than the datagram */
    assert_int_equal(decode(), FL0WER_ERR_SHORT);
    assert_int_equal(c.n, 0);
    assert_int_equal(stats(0).errors[FL0WER_DERR_LENGTH], 2);
}

static void test_set_length_zero(void **state)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 1);
    pb_u16(&b, 256);
    pb_u16(&b, 0); /* set length 0: must not loop */
    pb_zero(&b, 8);
    pb_ipfix_end(&b);
    assert_int_equal(decode(), FL0WER_ERR_FORMAT);
    pb_reset(&b);
    pb_v9_header(&b, 1000, EXP, 0, 1);
    pb_u16(&b, 0);
    pb_u16(&b, 0);
    pb_u32(&b, 0x01020304);
    assert_int_equal(decode(), FL0WER_ERR_FORMAT);
    pb_reset(&b);
    pb_v9_header(&b, 1000, EXP, 1, 1);
    pb_u16(&b, 300);
    pb_u16(&b, 3); /* shorter than a set header */
    pb_u32(&b, 0x01020304);
    assert_int_equal(decode(), FL0WER_ERR_FORMAT);
    assert_int_equal(stats(1).errors[FL0WER_DERR_LENGTH], 3);
}

static void test_set_longer_than_message(void **state)
{
    good_ipfix();
    pb_put16(&b, 16 + 2, 200); /* template set claims 200 bytes */
    assert_int_equal(decode(), FL0WER_ERR_SHORT);
    assert_int_equal(c.n, 0);
    assert_int_equal(stats(0).errors[FL0WER_DERR_LENGTH], 1);
    assert_int_equal(stats(0).templates, 0);
}

static void test_absurd_template(void **state)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 2);
    pb_set_begin(&b, 2);
    pb_u16(&b, 256);
    pb_u16(&b, 60000); /* 60000 fields in a few bytes */
    pb_u16(&b, 8);
    pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 2);
    pb_u16(&b, 257);
    pb_u16(&b, 3); /* 3 fields, bytes for 2 (the fuzzer's first find) */
    pb_u16(&b, 8), pb_u16(&b, 4), pb_u16(&b, 0x8000 | 1), pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 2);
    pb_u16(&b, 12); /* template id below 256 */
    pb_u16(&b, 1);
    pb_u16(&b, 8), pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 2);
    pb_template(&b, 258, 2, 8, 0, 1, 0); /* every field 0 bytes: empty records */
    pb_set_end(&b);
    pb_set_begin(&b, 258);
    pb_u32(&b, 0);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(), FL0WER_ERR_TEMPLATE);
    assert_int_equal(c.n, 0);
    assert_int_equal(stats(2).errors[FL0WER_DERR_TEMPLATE], 4);
    assert_int_equal(stats(2).templates, 0);
    fl0wer_decoder_flush_held(d);
    assert_int_equal(stats(2).unknown_template, 1);
    /* v9: field count 0, and scope/option lengths not multiples of 4 */
    pb_reset(&b);
    pb_v9_header(&b, 1000, EXP, 0, 2);
    pb_set_begin(&b, 0);
    pb_u16(&b, 256);
    pb_u16(&b, 0);
    pb_set_end(&b);
    pb_set_begin(&b, 1);
    pb_u16(&b, 257), pb_u16(&b, 3), pb_u16(&b, 4), pb_zero(&b, 8);
    pb_set_end(&b);
    assert_int_equal(decode(), FL0WER_ERR_TEMPLATE);
    assert_int_equal(get_stats(d, EXA, 2055, 2).errors[FL0WER_DERR_TEMPLATE], 6);
}

static void test_varlen_longer_than_set(void **state)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 3);
    pb_set_begin(&b, 2);
    pb_template(&b, 256, 2, 8, 4, 82, 0xffff);
    pb_template(&b, 257, 2, 8, 4, 1, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    pb_v4(&b, "10.0.0.1");
    pb_u8(&b, 3);
    pb_bytes(&b, "abc", 3);
    pb_v4(&b, "10.0.0.2");
    pb_u8(&b, 200); /* 200 bytes announced, 3 left in the set */
    pb_bytes(&b, "abc", 3);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    pb_v4(&b, "10.0.0.3");
    pb_u8(&b, 255);
    pb_u16(&b, 1000); /* 3-byte form, too long */
    pb_set_end(&b);
    pb_set_begin(&b, 257); /* the next set is still decoded */
    pb_v4(&b, "10.0.0.4");
    pb_u32(&b, 9);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(), FL0WER_ERR_SHORT);
    assert_int_equal(c.n, 2);
    assert_string_equal(addr_str(c.f[0].src_addr), "10.0.0.1");
    assert_string_equal(addr_str(c.f[1].src_addr), "10.0.0.4");
    assert_int_equal(stats(3).errors[FL0WER_DERR_RECORD], 2);
}

static void test_options_scope_zero_ipfix(void **state)
{
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 4);
    pb_set_begin(&b, 3);
    pb_u16(&b, 256), pb_u16(&b, 1), pb_u16(&b, 0); /* scope count 0: accepted */
    pb_u16(&b, 34), pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    pb_u32(&b, 32);
    pb_set_end(&b);
    pb_set_begin(&b, 5); /* reserved set id: counted, skipped */
    pb_u32(&b, 0);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(), FL0WER_ERR_FORMAT);
    assert_int_equal(stats(4).sampling, 32);
    assert_int_equal(stats(4).errors[FL0WER_DERR_SET_ID], 1);
    assert_int_equal(stats(4).errors[FL0WER_DERR_TEMPLATE], 0);
}

/* The largest IPFIX message: 65535 bytes, 5457 records of 12 bytes and 11 bytes of padding. */
static void test_max_size_message(void **state)
{
    size_t n;

    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 5);
    pb_set_begin(&b, 2);
    pb_template(&b, 256, 3, 8, 4, 12, 4, 1, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 256);
    n = (65535 - b.len) / 12;
    for (size_t i = 0; i < n; i++) {
        pb_v4(&b, "10.0.0.1");
        pb_v4(&b, "10.0.0.2");
        pb_u32(&b, (uint32_t)i);
    }
    pb_set_end_pad(&b, 65535 - b.len);
    pb_ipfix_end(&b);
    assert_int_equal(b.len, 65535);
    assert_int_equal(n, 5457);
    assert_int_equal(decode(), 0);
    assert_int_equal(c.n, 4096); /* the collector keeps 4096 */
    assert_int_equal(stats(5).records, 5457);
    assert_int_equal(c.f[4095].bytes, 4095);
}

/* Palo Alto 8.1: one set, then zeros up to 1400 bytes: padding, not an error. */
static void test_v9_zero_filled(void **state)
{
    pb_reset(&b);
    pb_v9_header(&b, 1000, EXP, 0, 6);
    pb_set_begin(&b, 0);
    pb_template(&b, 256, 1, 8, 4);
    pb_set_end(&b);
    pb_zero(&b, 1400 - b.len);
    assert_int_equal(decode(), 0);
    assert_int_equal(stats(6).templates, 1);
    for (int k = 0; k < FL0WER_DERR__COUNT; k++)
        assert_int_equal(stats(6).errors[k], 0);
}

/* Fuzzer find 1: template field specifiers ending exactly at the end of the datagram. */
static void test_fuzz_regression_spec_overread(void **state)
{
    static const uint8_t crash1[] = {
        0x00, 0x0a, 0x00, 0x8c, 0x58, 0x5f, 0xc3, 0xaa, 0x00, 0x00, 0x00, 0x22, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x02, 0x00, 0x7c, 0xb3, 0x11, 0x00, 0x15, 0x00, 0x98, 0x00, 0x08, 0x00, 0x99,
        0x00, 0x08, 0x00, 0x55, 0x00, 0x04, 0x80, 0x55, 0x00, 0x04, 0x00, 0x00, 0x72, 0x79, 0x00,
        0x56, 0x00, 0x04, 0x80, 0x56, 0x00, 0x04, 0x00, 0x00, 0x72, 0x79, 0x00, 0x08, 0x00, 0x04,
        0x00, 0x0c, 0x00, 0x04, 0x00, 0x07, 0x00, 0x02, 0x00, 0x0b, 0x00, 0x02, 0x80, 0x28, 0x00,
        0x02, 0x00, 0x00, 0x1a, 0xd7, 0xc0, 0x28, 0x00, 0x02, 0x00, 0x00, 0x1a, 0xd7, 0x00, 0x04,
        0x00, 0x01, 0x00, 0x88, 0x00, 0x01, 0x80, 0x21, 0xb4, 0x06, 0x00, 0x35, 0x00, 0x01, 0x00,
        0x00, 0x11, 0x01, 0x00, 0x35, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0x00, 0x11, 0x03, 0xc0, 0x04, 0x00, 0x10, 0x00, 0x0c, 0x29, 0x70, 0x86, 0x09, 0x00,
        0x0c, 0x29, 0x8d, 0xaf, 0xc3};

    src_init(&s, "192.0.2.99", 2055, 1);
    assert_int_equal(decode_exact(crash1, sizeof(crash1)), FL0WER_ERR_TEMPLATE);
    assert_int_equal(get_stats(d, "192.0.2.99", 2055, 0).errors[FL0WER_DERR_TEMPLATE], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_truncated_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipfix_length_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_length_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_longer_than_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absurd_template, setup, teardown),
        cmocka_unit_test_setup_teardown(test_varlen_longer_than_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_scope_zero_ipfix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_size_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v9_zero_filled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fuzz_regression_spec_overread, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
