/*
 * test_api_auth.c - the API's tokens file and Authorization header (hub/api/auth.c): roles,
 * header forms, every refusal, and the regressions found while fuzzing it (fuzz_api_auth):
 * fgets cut lines at NUL bytes and 1023 bytes, so the tail of a comment holding a NUL byte was
 * read as a token line of its own, and a 1023-byte last line without a newline was refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "memfile.h"

struct load {
    struct api_tokens t;
    int rc;
    char err[256];
    char path[64];
};

static void load_len(struct load *l, const char *text, size_t len)
{
    const char *path = memfile_put(text, len);
    assert_non_null(path);
    snprintf(l->path, sizeof(l->path), "%s", path);
    memset(&l->t, 0, sizeof(l->t));
    l->err[0] = '\0';
    l->rc = api_tokens_load(path, &l->t, l->err);
}

static void load(struct load *l, const char *text)
{
    load_len(l, text, strlen(text));
}

static void test_roles_and_headers(void **state)
{
    struct load l;
    load(&l, "# tokens\n\n  ops@example.net admin 0f3c9a7e51d24b8c\r\n"
             "grafana\tread readtoken1   \n");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.t.n, 2);
    assert_string_equal(l.t.v[0].name, "ops@example.net");
    assert_true(l.t.v[0].admin);
    assert_string_equal(l.t.v[1].name, "grafana");
    assert_false(l.t.v[1].admin);
    assert_int_equal(api_tokens_check(&l.t, "Bearer 0f3c9a7e51d24b8c"), 1);
    assert_int_equal(api_tokens_check(&l.t, "bearer   readtoken1 \t"), 0);
    assert_int_equal(api_tokens_check(&l.t, "BEARER readtoken1"), 0);
    assert_int_equal(api_tokens_check(&l.t, "Bearer readtoken2"), -1);
    assert_int_equal(api_tokens_check(&l.t, "Bearer readtoken"), -1);
    assert_int_equal(api_tokens_check(&l.t, "Bearer "), -1);
    assert_int_equal(api_tokens_check(&l.t, "Bearer"), -1);
    assert_int_equal(api_tokens_check(&l.t, "Basic cmVhZHRva2VuMQ=="), -1);
    assert_int_equal(api_tokens_check(&l.t, "readtoken1"), -1);
    assert_int_equal(api_tokens_check(&l.t, ""), -1);
    assert_int_equal(api_tokens_check(&l.t, NULL), -1);
    api_tokens_release(&l.t);
    assert_null(l.t.v);
    assert_int_equal(l.t.n, 0);
}

static void test_refusals(void **state)
{
    static const struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"", "has no tokens"},
        {"# only a comment\n\n", "has no tokens"},
        {"alice read\n", "line 1: expected NAME ROLE TOKEN"},
        {"alice read abcdefgh extra\n", "line 1: expected NAME ROLE TOKEN"},
        {"\nalice write abcdefgh\n", "line 2: role must be read or admin"},
        {"al!ce read abcdefgh\n", "line 1: bad name (1-63 of [A-Za-z0-9._@-])"},
        {"alice read abcdefg\n", "line 1: token must be 8-512 printable characters"},
        {"alice read abcdefg\x7f\n", "line 1: token must be 8-512 printable characters"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct load l;
        char want[256];
        load(&l, cases[i].text);
        assert_int_equal(l.rc, FL0WER_API_ERR_TOKENS);
        snprintf(want, sizeof(want), "tokens file %s %s", l.path, cases[i].why);
        assert_string_equal(l.err, want);
        assert_null(l.t.v);
    }
}

/* Regression: a NUL byte ended fgets' string early; the comment's tail became a token line. */
static void test_nul_byte_comment_tail(void **state)
{
    struct load l;
    char text[1100], want[256];
    memset(text, ' ', sizeof(text));
    memcpy(text, "alice read readtoken1\n# note\0", 29);
    size_t tail = 22 + 1023; /* where fgets' next 1023-byte read began */
    memcpy(text + tail, "mallory admin evilevilevil\n", 27);
    load_len(&l, text, tail + 27);
    assert_int_equal(l.rc, FL0WER_API_ERR_TOKENS);
    snprintf(want, sizeof(want), "tokens file %s line 2: NUL byte in line", l.path);
    assert_string_equal(l.err, want);
}

/* Regression: a last line of exactly 1023 bytes without a newline was "too long". */
static void test_line_lengths(void **state)
{
    struct load l;
    char text[1200], want[256];
    memset(text, ' ', sizeof(text));
    memcpy(text, "alice read readtoken1", 21);
    load_len(&l, text, 1023);
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.t.n, 1);
    assert_int_equal(api_tokens_check(&l.t, "Bearer readtoken1"), 0);
    api_tokens_release(&l.t);
    text[1023] = '\n';
    load_len(&l, text, 1024);
    assert_int_equal(l.rc, 0);
    api_tokens_release(&l.t);
    text[1023] = ' ';
    text[1024] = '\n';
    load_len(&l, text, 1025); /* 1024 bytes before the newline */
    assert_int_equal(l.rc, FL0WER_API_ERR_TOKENS);
    snprintf(want, sizeof(want), "tokens file %s line 1: line too long", l.path);
    assert_string_equal(l.err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_headers),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nul_byte_comment_tail),
        cmocka_unit_test(test_line_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
