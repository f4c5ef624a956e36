/*
 * test_config.c - fl0wer-edge settings: defaults, precedence flags > environment > config file
 * > defaults (including the repeatable --listen), and one-line errors for bad values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg.h"
#include "config.h"

static struct edge_config cfg;
static char err[512];

static int parse(char **argv, char **envp)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    FILE *out = fopen("/dev/null", "w");
    err[0] = '\0';
    int rc = edge_config_parse(&cfg, argc, argv, envp, out, err, sizeof(err));
    fclose(out);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_defaults(void **state)
{
    char *argv[] = {"fl0wer-edge", NULL};
    assert_int_equal(parse(argv, NULL), 0);
    assert_int_equal(cfg.n_listen, 1);
    assert_string_equal(cfg.listen[0].text, "0.0.0.0:2056");
    assert_string_equal(cfg.hub, "tcp://127.0.0.1:4800");
    assert_string_equal(cfg.spool_dir, "/var/lib/fl0wer-edge/spool");
    assert_int_equal(cfg.spool_max, 1ull << 30);
    assert_int_equal(cfg.rcvbuf, 32ull << 20);
    assert_int_equal(cfg.bucket_s, 60);
    assert_int_equal(cfg.batch_bytes, 262144);
    assert_int_equal(cfg.batch_age_ms, 1000);
    assert_int_equal(cfg.max_flows, 1000000);
    assert_int_equal(cfg.aggregate_key, EDGE_KEY_ALL);
    assert_false(cfg.no_aggregate);
    assert_int_equal(cfg.workers, 0);
    assert_int_equal(cfg.inflight, 4);
    assert_int_equal(cfg.ack_timeout_ms, 5000);
    assert_int_equal(cfg.spool_sync_ms, 1000);
}

static void test_precedence(void **state)
{
    char path[] = "/tmp/fl0wer-test-edge-conf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, "# comment\n"
                     "bucket = 30\n"
                     "batch-bytes = 32K   # trailing comment\n"
                     "workers 3\n"
                     "ready-file\t/tmp/ready with space\n"
                     "listen = 127.0.0.1:9995\n"
                     "listen = [::1]:9996\n"
                     "no-aggregate = true\n"
                     "hub = tcp://file:1\n");
    char conf[128];
    snprintf(conf, sizeof(conf), "FL0WER_EDGE_CONFIG=%s", path);
    char *envp[] = {conf, "FL0WER_BUCKET=20", "FL0WER_HUB=tcp://env:2", "OTHER=1",
                    "FL0WER_LISTEN=127.0.0.1:7001,[::]:7002", NULL};
    char *argv[] = {"fl0wer-edge", "--bucket", "10", "--aggregate-key=src_addr,dst_addr",
                    "--spool-sync", "0", NULL};
    assert_int_equal(parse(argv, envp), 0);
    assert_int_equal(cfg.bucket_s, 10);             /* flag beats env and file */
    assert_int_equal(cfg.spool_sync_ms, 0);         /* fsync each batch */
    assert_string_equal(cfg.hub, "tcp://env:2");    /* env beats file */
    assert_int_equal(cfg.batch_bytes, 32768);       /* file beats default */
    assert_int_equal(cfg.workers, 3);               /* "name value" line */
    assert_string_equal(cfg.ready_file, "/tmp/ready with space");
    assert_true(cfg.no_aggregate);
    assert_int_equal(cfg.aggregate_key, EDGE_KEY_SRC_ADDR | EDGE_KEY_DST_ADDR);
    assert_int_equal(cfg.n_listen, 2);              /* env list replaces the file's */
    assert_string_equal(cfg.listen[0].text, "127.0.0.1:7001");
    assert_string_equal(cfg.listen[1].text, "[::]:7002");
    assert_int_equal(cfg.listen[1].addr.ss_family, AF_INET6);

    /* Flags replace the env list; repeated flags accumulate. */
    char *argv2[] = {"fl0wer-edge", "--listen", "0.0.0.0:2056", "--listen", "[::]:4739",
                     "--config", path, NULL};
    char *envp2[] = {"FL0WER_LISTEN=127.0.0.1:7001", NULL};
    assert_int_equal(parse(argv2, envp2), 0);
    assert_int_equal(cfg.n_listen, 2);
    assert_string_equal(cfg.listen[0].text, "0.0.0.0:2056");
    assert_string_equal(cfg.listen[1].text, "[::]:4739");
    assert_int_equal(cfg.bucket_s, 30);             /* from the file given by --config */

    /* The deprecated FL0WER_CONFIG still names the file; FL0WER_EDGE_CONFIG wins over it. */
    char *argv3[] = {"fl0wer-edge", NULL};
    char old[128];
    snprintf(old, sizeof(old), "FL0WER_CONFIG=%s", path);
    char *envp3[] = {old, NULL};
    assert_int_equal(parse(argv3, envp3), 0);
    assert_int_equal(cfg.bucket_s, 30);
    char *envp4[] = {old, "FL0WER_EDGE_CONFIG=/nonexistent/edge.conf", NULL};
    assert_int_equal(parse(argv3, envp4), -1);
    assert_non_null(strstr(err, "cannot read config file /nonexistent/edge.conf"));
    unlink(path);
}

struct bad_case {
    const char *args[4];
    const char *env;
    const char *want; /* substring of the message */
};

static void test_bad_values(void **state)
{
    static const struct bad_case cases[] = {
        {{"--bucket", "abc"}, NULL, "bad --bucket value 'abc' from the command line"},
        {{"--bucket", "0"}, NULL, "want a number from 1 to 3600"},
        {{"--listen", "1.2.3.4"}, NULL, "bad --listen address '1.2.3.4'"},
        {{"--listen", "300.1.1.1:5"}, NULL, "bad --listen address"},
        {{"--listen", "[::1]:70000"}, NULL, "bad --listen address"},
        {{"--hub", "http://x:1"}, NULL, "bad --hub value 'http://x:1'"},
        {{"--hub", "tls+tcp://h:4800"}, NULL, "give its CA file with --hub-ca"},
        {{"--frobnicate"}, NULL, "unknown option '--frobnicate'"},
        {{"--batch-bytes"}, NULL, "option --batch-bytes needs a value"},
        {{"--aggregate-key", "src_addr,colour"}, NULL, "unknown aggregate key field 'colour'"},
        {{"--spool-max", "12Q"}, NULL, "bad --spool-max value '12Q'"},
        {{"--no-aggregate=maybe"}, NULL, "bad --no-aggregate value 'maybe'"},
        {{NULL}, "FL0WER_WORKERS=-1", "bad --workers value '-1' from FL0WER_WORKERS"},
        {{"--config", "/nonexistent/fl0wer.conf"}, NULL, "cannot read config file"},
        {{"stray"}, NULL, "unexpected argument 'stray'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[6] = {"fl0wer-edge"};
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[k + 1] = (char *)cases[i].args[k];
        char *envp[2] = {(char *)cases[i].env, NULL};
        assert_int_equal(parse(argv, envp), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err, cases[i].want);
        assert_null(strchr(err, '\n'));
    }
}

static void test_bad_file_lines(void **state)
{
    char path[] = "/tmp/fl0wer-test-edge-conf-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    char *argv[] = {"fl0wer-edge", "--config", path, NULL};
    write_file(path, "bucket = 5\ncolour = blue\n");
    assert_int_equal(parse(argv, NULL), -1);
    assert_non_null(strstr(err, ":2: unknown setting 'colour'"));
    write_file(path, "bucket 5\n");
    assert_int_equal(parse(argv, NULL), 0);
    assert_int_equal(cfg.bucket_s, 5);
    write_file(path, "# only a name\nbucket\n");
    assert_int_equal(parse(argv, NULL), -1);
    assert_non_null(strstr(err, ":2: expected 'name = value' or 'name value'"));
    write_file(path, "max-flows = lots\n");
    assert_int_equal(parse(argv, NULL), -1);
    assert_non_null(strstr(err, "bad --max-flows value 'lots'"));
    unlink(path);
}

static void test_help(void **state)
{
    char *argv[] = {"fl0wer-edge", "--bucket", "zz", "--help", NULL};
    assert_int_equal(parse(argv, NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),    cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_bad_values),  cmocka_unit_test(test_bad_file_lines),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
