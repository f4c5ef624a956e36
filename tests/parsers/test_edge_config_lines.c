/*
 * test_edge_config_lines.c - regressions in the edge's config parser (edge/core/config.c) found
 * while fuzzing it (fuzz_configs):
 *   - the config file was read with fgets into 2048 bytes: the tail of a longer line was read as
 *     a line of its own, so a long comment could set an option; lines are now read whole and a
 *     line over 4096 bytes is an error;
 *   - a --listen value was copied into 1024 bytes without a length check: a longer list was cut
 *     and its last address silently changed (192.0.2.1:20560 -> :2056); it is now refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../edge/core/config.h"
#include "memfile.h"

/* memfile_long_comment, failing the test without memory. */
static char *long_comment(size_t comment_len, const char *tail, size_t *len)
{
    char *text = memfile_long_comment(comment_len, tail, len);
    assert_non_null(text);
    return text;
}

static void test_edge_long_comment_sets_nothing(void **state)
{
    static struct edge_config cfg;
    char err[512] = "";
    size_t len;
    char *text = long_comment(2047, "no-aggregate = true\n", &len);
    const char *path = memfile_put(text, len);
    char *argv[] = {"fl0wer-edge", "--config", (char *)path, NULL};
    assert_non_null(path);
    assert_int_equal(edge_config_parse(&cfg, 3, argv, NULL, stdout, err, sizeof(err)), 0);
    assert_false(cfg.no_aggregate); /* was applied before the fix */
    free(text);
}

static void test_edge_long_listen_not_cut(void **state)
{
    static struct edge_config cfg;
    char err[512] = "";
    char value[1100];
    size_t n = 0;
    /* 13 + 996 spaces + 15 = 1024 characters: the last one ('0') is what a 1024-byte copy cuts. */
    n += (size_t)snprintf(value, sizeof(value), "10.0.0.1:2056");
    memset(value + n, ' ', 996);
    n += 996;
    snprintf(value + n, sizeof(value) - n, "192.0.2.1:20560");
    char *argv[] = {"fl0wer-edge", "--listen", value, NULL};
    int rc = edge_config_parse(&cfg, 3, argv, NULL, stdout, err, sizeof(err));
    /* Either refused, or both addresses with the right port; never a silently cut port. */
    if (rc == 0) {
        assert_int_equal(cfg.n_listen, 2);
        const struct sockaddr_in *a = (const struct sockaddr_in *)&cfg.listen[1].addr;
        assert_int_equal(ntohs(a->sin_port), 20560); /* was 2056 before the fix */
    } else {
        assert_int_equal(rc, -1);
        assert_non_null(strstr(err, "listen"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_long_comment_sets_nothing),
        cmocka_unit_test(test_edge_long_listen_not_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
