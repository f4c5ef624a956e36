/*
 * test_cli_json.c - the `fl0wer` CLI's JSON reader (tools/fl0wer/json.c) on what a broken or
 * hostile hub may send: RFC 8259 numbers only (the fuzz harness fuzz_cli_json found NUL bytes
 * accepted as a number, printing back as nothing), json_u64 only for plain digits, string
 * escapes and surrogates, depth limit, and exact print-back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static int parse_len(const char *text, size_t len)
{
    struct jval *v = NULL;
    int rc = json_parse(text, len, &v);
    if (rc == 0)
        json_free(v);
    return rc;
}

static int parse(const char *text)
{
    return parse_len(text, strlen(text));
}

/* json_print of text's document, into buf. */
static void reprint(const char *text, char *buf, size_t len)
{
    struct jval *v = NULL;
    FILE *f = fmemopen(buf, len, "w");
    assert_non_null(f);
    assert_int_equal(json_parse(text, strlen(text), &v), 0);
    json_print(v, f);
    fclose(f);
    json_free(v);
}

/* Regression: "\0\0" parsed as a number whose text was "". */
static void test_nul_bytes_are_not_numbers(void **state)
{
    assert_int_equal(parse_len("\0\0", 2), -1);
    assert_int_equal(parse_len("1\0", 2), -1);
    assert_int_equal(parse_len("[1,\0]", 5), -1);
}

static void test_number_grammar(void **state)
{
    static const char *const good[] = {"0", "-0", "7", "1234567890", "1.5", "-0.25", "1e9",
                                       "1E+2", "2.5e-3", "18446744073709551616"};
    static const char *const bad[] = {"01", "+1", "1.", ".5", "1e", "1e+", "--1", "-", "1.e3",
                                      "0x10", "1-2", "e5", "1.5.5", "- 1", "Infinity", "NaN"};
    char buf[64];
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        reprint(good[i], buf, sizeof(buf));
        assert_string_equal(buf, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i]) != -1)
            fail_msg("'%s' parsed as a number", bad[i]);
    }
    /* More than 64 characters is refused (a counter has at most 20 digits). */
    assert_int_equal(parse("1234567890123456789012345678901234567890123456789012345678901234"), 0);
    assert_int_equal(parse("12345678901234567890123456789012345678901234567890123456789012345"), -1);
}

static void test_u64(void **state)
{
    struct jval *v = NULL;
    static const char doc[] = "{\"max\":18446744073709551615,\"n\":42,\"frac\":1.5,\"exp\":1e3,"
                              "\"neg\":-1,\"s\":\"7\",\"zero\":0}";
    assert_int_equal(json_parse(doc, strlen(doc), &v), 0);
    assert_true(json_u64(json_get(v, "max")) == UINT64_MAX);
    assert_int_equal(json_u64(json_get(v, "n")), 42);
    assert_int_equal(json_u64(json_get(v, "frac")), 0);
    assert_int_equal(json_u64(json_get(v, "exp")), 0);
    assert_int_equal(json_u64(json_get(v, "neg")), 0);
    assert_int_equal(json_u64(json_get(v, "s")), 0);
    assert_int_equal(json_u64(json_get(v, "zero")), 0);
    assert_int_equal(json_u64(json_get(v, "missing")), 0);
    assert_true(json_num(json_get(v, "exp")) == 1000.0);
    json_free(v);
}

static void test_strings(void **state)
{
    struct jval *v = NULL;
    static const char doc[] = "[\"a\\u00e9\\ud83d\\ude00\",\"\\ud800x\",\"\\u0000\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]";
    assert_int_equal(json_parse(doc, strlen(doc), &v), 0);
    assert_int_equal(v->n, 4);
    assert_string_equal(json_str(&v->items[0]), "a\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(json_str(&v->items[1]), "\xef\xbf\xbdx");  /* lone surrogate: U+FFFD */
    assert_string_equal(json_str(&v->items[2]), "\xef\xbf\xbd");   /* NUL: U+FFFD */
    assert_string_equal(json_str(&v->items[3]), "\"\\/\b\f\n\r\t");
    json_free(v);
    assert_int_equal(parse("\"a\tb\""), -1);      /* raw control character */
    assert_int_equal(parse("\"\\x41\""), -1);     /* unknown escape */
    assert_int_equal(parse("\"\\u12\""), -1);     /* short \u */
    assert_int_equal(parse("\"\\ud83d\\u0041\""), -1); /* high surrogate + non-low */
    assert_int_equal(parse("\"abc"), -1);
    assert_int_equal(parse("\"abc\\\""), -1);
}

static void test_depth_and_structure(void **state)
{
    char deep[80];
    for (int n = 33; n <= 34; n++) {
        memset(deep, '[', (size_t)n);
        memset(deep + n, ']', (size_t)n);
        deep[2 * n] = '\0';
        assert_int_equal(parse(deep), n == 33 ? 0 : -1);
    }
    assert_int_equal(parse("{\"a\":1,}"), -1);
    assert_int_equal(parse("[1 2]"), -1);
    assert_int_equal(parse("{\"a\" 1}"), -1);
    assert_int_equal(parse("{1:2}"), -1);
    assert_int_equal(parse("[1] x"), -1);
    assert_int_equal(parse(""), -1);
    assert_int_equal(parse("  "), -1);
    assert_int_equal(parse("tru"), -1);
    char buf[128];
    reprint(" { \"k\" : [ true , false , null , \"x\\u0001\" ] , \"\" : { } } ", buf, sizeof(buf));
    assert_string_equal(buf, "{\"k\":[true,false,null,\"x\\u0001\"],\"\":{}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nul_bytes_are_not_numbers),
        cmocka_unit_test(test_number_grammar),
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_depth_and_structure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
