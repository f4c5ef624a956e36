/*
 * test_flow.c - the canonical record's address helpers and JSON form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fl0wer/flow.h"

static void test_addr_roundtrip_v4(void **state)
{
    uint8_t a[FL0WER_ADDR_LEN];
    char buf[FL0WER_ADDR_STRLEN];

    assert_int_equal(fl0wer_addr_parse("192.0.2.17", a), 0);
    assert_true(fl0wer_addr_is_v4(a));
    assert_int_equal(a[12], 192);
    assert_int_equal(a[15], 17);
    assert_string_equal(fl0wer_addr_format(a, buf, sizeof(buf)), "192.0.2.17");
}

static void test_addr_roundtrip_v6(void **state)
{
    uint8_t a[FL0WER_ADDR_LEN];
    char buf[FL0WER_ADDR_STRLEN];

    assert_int_equal(fl0wer_addr_parse("2001:db8::1", a), 0);
    assert_false(fl0wer_addr_is_v4(a));
    assert_int_equal(a[0], 0x20);
    assert_int_equal(a[15], 1);
    assert_string_equal(fl0wer_addr_format(a, buf, sizeof(buf)), "2001:db8::1");
    assert_int_equal(fl0wer_addr_parse("not-an-address", a), -1);
}

static void test_flow_json(void **state)
{
    struct fl0wer_flow f;
    char buf[FL0WER_FLOW_JSON_MAX];
    int n;

    fl0wer_flow_init(&f);
    assert_int_equal(fl0wer_addr_parse("10.0.0.1", f.src_addr), 0);
    assert_int_equal(fl0wer_addr_parse("10.0.0.2", f.dst_addr), 0);
    f.bytes = 1500;
    f.packets = 3;
    f.proto = 6;
    f.dst_port = 443;
    n = fl0wer_flow_to_json(&f, buf, sizeof(buf));
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"src_addr\":\"10.0.0.1\""));
    assert_non_null(strstr(buf, "\"dst_port\":443"));
    assert_non_null(strstr(buf, "\"bytes\":1500,\"packets\":3,\"flows\":1,\"sampling\":1"));
    assert_int_equal(fl0wer_flow_to_json(&f, buf, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_roundtrip_v4),
        cmocka_unit_test(test_addr_roundtrip_v6),
        cmocka_unit_test(test_flow_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
