/*
 * test_hub_config_lines.c - a regression in hub/daemon/config.c found by fuzz_configs: the
 * config file was read with fgets into 1024 bytes, so the tail of a longer line was read as a
 * line of its own and a long comment could set an option. Fixed in 0838059 (whole lines;
 * a NUL byte or a line over 4096 bytes is an error naming the line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../hub/daemon/config.h"
#include "memfile.h"

struct run {
    struct hub_config cfg;
    int rc;
    char err[HUB_ERRLEN];
    char path[64];
};

static void run(struct run *r, const char *text, size_t len)
{
    const char *path = memfile_put(text, len);
    assert_non_null(path);
    snprintf(r->path, sizeof(r->path), "%s", path);
    char *argv[] = {"fl0wer-hub", "--config", r->path, NULL};
    r->err[0] = '\0';
    r->rc = hub_config_load(&r->cfg, 3, argv, NULL, r->err);
}

/* memfile_long_comment, failing the test without memory. */
static char *long_comment(size_t comment_len, const char *tail, size_t *len)
{
    char *text = memfile_long_comment(comment_len, tail, len);
    assert_non_null(text);
    return text;
}

static void test_long_comment_sets_nothing(void **state)
{
    struct run r;
    size_t len;
    char *text = long_comment(1023, "no-api\n", &len);
    run(&r, text, len);
    assert_int_equal(r.rc, 0);
    assert_false(r.cfg.no_api); /* was true: the comment's tail "no-api" was applied */
    hub_config_release(&r.cfg);
    free(text);
}

static void test_bad_lines(void **state)
{
    struct run r;
    char want[HUB_ERRLEN];
    size_t len;
    char *text = long_comment(4097, "\n", &len); /* 4098 bytes with the newline */
    run(&r, text, len);
    assert_int_equal(r.rc, -1);
    snprintf(want, sizeof(want), "%s line 1: line too long", r.path);
    assert_string_equal(r.err, want);
    hub_config_release(&r.cfg);
    free(text);
    static const char nul[] = "no-api\nworkers 8\0 9\n";
    run(&r, nul, sizeof(nul) - 1);
    assert_int_equal(r.rc, -1);
    snprintf(want, sizeof(want), "%s line 2: NUL byte in line", r.path);
    assert_string_equal(r.err, want);
    hub_config_release(&r.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_comment_sets_nothing),
        cmocka_unit_test(test_bad_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
