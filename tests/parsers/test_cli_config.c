/*
 * test_cli_config.c - the `fl0wer` CLI's config file reader (tools/fl0wer/config.c,
 * cli_config_read): settings read and trimmed, earlier sources kept, and the regressions the
 * fuzz harness (fuzz_configs) and review found: a long line's tail was read as a setting of its
 * own (1023-byte fgets), NUL bytes cut lines, "insecure = yes" was silently ignored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct run {
    struct cli c;
    int rc;
    char err[512]; /* what cli_config_read reported */
};

/* Reads text[0, len) as the config file into r->c (released by the caller). */
static void run_len(struct run *r, const char *text, size_t len)
{
    char *errs = NULL;
    size_t errlen = 0;
    FILE *f = fmemopen((void *)text, len, "r");
    FILE *e = open_memstream(&errs, &errlen);
    assert_non_null(f);
    assert_non_null(e);
    cli_init(&r->c, "test");
    r->rc = cli_config_read(&r->c, f, "conf", e);
    fclose(f);
    fclose(e);
    snprintf(r->err, sizeof(r->err), "%s", errs ? errs : "");
    free(errs);
}

static void run(struct run *r, const char *text)
{
    run_len(r, text, strlen(text));
}

static void test_settings(void **state)
{
    struct run r;
    run(&r, "# comment\n\n  server =  https://hub.example.net:7443  \r\n"
            "token=abcdefgh12345678\n\tfingerprint = SHA256:AB:CD\ncacert = /etc/ca.pem\n"
            "insecure = 1\n");
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.err, "");
    assert_string_equal(r.c.http.server, "https://hub.example.net:7443");
    assert_string_equal(r.c.http.token, "abcdefgh12345678");
    assert_string_equal(r.c.http.fingerprint, "SHA256:AB:CD");
    assert_string_equal(r.c.http.cacert, "/etc/ca.pem");
    assert_true(r.c.http.insecure);
    assert_int_equal(r.c.n_owned, 4);
    cli_release(&r.c);
}

static void test_earlier_sources_win(void **state)
{
    struct run r;
    char *text = "server = https://file:1\ntoken = fromfile\ninsecure = false\n";
    FILE *f = fmemopen(text, strlen(text), "r");
    cli_init(&r.c, "test");
    r.c.http.server = "https://flag:2";
    r.c.http.insecure = true;
    assert_int_equal(cli_config_read(&r.c, f, "conf", stderr), 0);
    fclose(f);
    assert_string_equal(r.c.http.server, "https://flag:2");
    assert_string_equal(r.c.http.token, "fromfile");
    assert_true(r.c.http.insecure);
    assert_int_equal(r.c.n_owned, 1);
    cli_release(&r.c);
}

/* Regression: a comment line of 1023+ bytes had its tail parsed as "server = ...". */
static void test_long_comment_tail_is_not_a_setting(void **state)
{
    struct run r;
    char text[1200];
    memset(text, 'x', sizeof(text));
    text[0] = '#';
    memcpy(text + 1023, "server = https://evil:7443\n", 27);
    run_len(&r, text, 1023 + 27);
    assert_int_equal(r.rc, 0);
    assert_null(r.c.http.server);
    assert_string_equal(r.err, "");
    cli_release(&r.c);
}

/* Regression: a long value was cut at 1023 bytes and its tail reported as a bad line 2. */
static void test_line_too_long(void **state)
{
    struct run r;
    size_t n = 8 + CLI_CONFIG_LINE_MAX + 1;
    char *text = malloc(n + 20);
    assert_non_null(text);
    memcpy(text, "token = ", 8);
    memset(text + 8, 'a', n - 8);
    memcpy(text + n, "\n", 2);
    run_len(&r, text, n + 1);
    assert_int_equal(r.rc, -1);
    assert_null(r.c.http.token);
    assert_string_equal(r.err, "fl0wer test: conf line 1: line too long\n");
    cli_release(&r.c);
    /* Exactly CLI_CONFIG_LINE_MAX bytes (without the newline) is fine. */
    memcpy(text + CLI_CONFIG_LINE_MAX, "\n", 2);
    run_len(&r, text, CLI_CONFIG_LINE_MAX + 1);
    assert_int_equal(r.rc, 0);
    assert_int_equal(strlen(r.c.http.token), CLI_CONFIG_LINE_MAX - 8);
    cli_release(&r.c);
    free(text);
}

/* Regression: a NUL byte ended the line early and the rest of it was dropped silently. */
static void test_nul_byte(void **state)
{
    struct run r;
    static const char text[] = "server = https://a:1\ntoken = ab\0cd\n";
    run_len(&r, text, sizeof(text) - 1);
    assert_int_equal(r.rc, -1);
    assert_null(r.c.http.token);
    assert_string_equal(r.err, "fl0wer test: conf line 2: NUL byte in line\n");
    cli_release(&r.c);
}

static void test_bad_lines(void **state)
{
    struct run r;
    run(&r, "server = https://a:1\ninsecure = yes\n");
    assert_int_equal(r.rc, -1);
    assert_false(r.c.http.insecure);
    assert_string_equal(r.err, "fl0wer test: conf line 2: insecure must be true, false, 1 or 0\n");
    cli_release(&r.c);
    run(&r, "\n\nservr = https://a:1\n");
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err, "fl0wer test: conf line 3: unknown key 'servr'\n");
    cli_release(&r.c);
    run(&r, "token abc\n");
    assert_int_equal(r.rc, -1);
    assert_string_equal(r.err, "fl0wer test: conf line 1: expected key = value\n");
    cli_release(&r.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_settings),
        cmocka_unit_test(test_earlier_sources_win),
        cmocka_unit_test(test_long_comment_tail_is_not_a_setting),
        cmocka_unit_test(test_line_too_long),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
