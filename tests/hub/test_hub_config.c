/*
 * test_hub_config.c - fl0wer-hub's configuration: value parsers, precedence of config file,
 * environment and flags, and the real binary's "one line, exit 2" on bad values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "hub_harness.h"

static void test_parsers(void **state)
{
    uint64_t v;

    assert_int_equal(hub_parse_duration("30d", &v), 0);
    assert_int_equal(v, 30ull * 86400 * 1000);
    assert_int_equal(hub_parse_duration("12h", &v), 0);
    assert_int_equal(v, 12ull * 3600 * 1000);
    assert_int_equal(hub_parse_duration("90", &v), 0);
    assert_int_equal(v, 90000);
    assert_int_equal(hub_parse_duration("250ms", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(hub_parse_duration("2w", &v), 0);
    assert_int_equal(v, 14ull * 86400 * 1000);
    assert_int_equal(hub_parse_duration("1x", &v), -1);
    assert_int_equal(hub_parse_duration("-1h", &v), -1);
    assert_int_equal(hub_parse_duration("", &v), -1);
    assert_int_equal(hub_parse_duration("99999999999999999999d", &v), -1);

    assert_int_equal(hub_parse_size("10G", &v), 0);
    assert_int_equal(v, 10ull << 30);
    assert_int_equal(hub_parse_size("512M", &v), 0);
    assert_int_equal(v, 512ull << 20);
    assert_int_equal(hub_parse_size("1TiB", &v), 0);
    assert_int_equal(v, 1ull << 40);
    assert_int_equal(hub_parse_size("4096", &v), 0);
    assert_int_equal(v, 4096);
    assert_int_equal(hub_parse_size("10Q", &v), -1);
    assert_int_equal(hub_parse_size("G", &v), -1);
    assert_int_equal(hub_parse_size("10GX", &v), -1);
}

/* Defaults, then file, then env, then flags; a later source replaces a repeatable list. */
static void test_precedence(void **state)
{
    char path[] = "/tmp/fl0wer-hubcfg-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    struct hub_config cfg;
    char err[HUB_ERRLEN];
    char cfgflag[64];
    char *env_none[] = {NULL};
    char *env[] = {(char *)"FL0WER_DATA=/env/data",
                   (char *)"FL0WER_HUB_LISTEN=tcp://127.0.0.1:1,tcp://127.0.0.1:2", NULL};

    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "# comment\nlisten tcp://10.0.0.1:4800\nlisten = tcp://10.0.0.2:4800\n"
               "data /file/data\nretention 12h\nmax-disk 10G\nno-api\n"
               "webhook https://hooks.example/fl0wer#team # the hook, fragment kept\n"
               "scan-max-packets 0\nrollup-address-k-minute 4096\nblock-cache 256M\n"
               "query-threads 3\n");
    fclose(f);
    snprintf(cfgflag, sizeof(cfgflag), "--config=%s", path);

    {
        char *argv[] = {(char *)"fl0wer-hub", NULL};
        assert_int_equal(hub_config_load(&cfg, 1, argv, env_none, err), 0);
        assert_string_equal(cfg.data, "/var/lib/fl0wer");
        assert_int_equal(cfg.retention_ms, 30ull * 86400000);
        assert_int_equal(cfg.listen_count, 0);
        assert_int_equal(cfg.gc_interval_ms, 60000);
        assert_int_equal(cfg.scan_max_packets, 3);
        assert_int_equal(cfg.rollup_address_k_hour, 0);
        assert_int_equal(cfg.rollup_address_k_minute, 0);
        assert_int_equal(cfg.block_cache_bytes, 0);
        assert_int_equal(cfg.query_threads, 0);
        assert_false(cfg.no_api);
        hub_config_release(&cfg);
    }
    {
        char *argv[] = {(char *)"fl0wer-hub", cfgflag, NULL};
        assert_int_equal(hub_config_load(&cfg, 2, argv, env_none, err), 0);
        assert_string_equal(cfg.data, "/file/data");
        assert_int_equal(cfg.retention_ms, 12ull * 3600000);
        assert_int_equal(cfg.max_disk_bytes, 10ull << 30);
        assert_int_equal(cfg.listen_count, 2);
        assert_string_equal(cfg.listen[1], "tcp://10.0.0.2:4800");
        assert_true(cfg.no_api);
        assert_string_equal(cfg.webhook, "https://hooks.example/fl0wer#team");
        assert_int_equal(cfg.scan_max_packets, 0);
        assert_int_equal(cfg.rollup_address_k_minute, 4096);
        assert_int_equal(cfg.block_cache_bytes, 256ull << 20);
        assert_int_equal(cfg.query_threads, 3);
        hub_config_release(&cfg);
    }
    {
        char *argv[] = {(char *)"fl0wer-hub", cfgflag, NULL};
        assert_int_equal(hub_config_load(&cfg, 2, argv, env, err), 0);
        assert_string_equal(cfg.data, "/env/data");
        assert_int_equal(cfg.listen_count, 2);
        assert_string_equal(cfg.listen[0], "tcp://127.0.0.1:1");
        assert_string_equal(cfg.listen[1], "tcp://127.0.0.1:2");
        assert_int_equal(cfg.retention_ms, 12ull * 3600000);
        hub_config_release(&cfg);
    }
    {
        char *argv[] = {(char *)"fl0wer-hub", cfgflag, (char *)"--data", (char *)"/flag/data",
                        (char *)"--listen=ipc:///tmp/x", (char *)"--retention", (char *)"7d",
                        NULL};
        assert_int_equal(hub_config_load(&cfg, 7, argv, env, err), 0);
        assert_string_equal(cfg.data, "/flag/data");
        assert_int_equal(cfg.listen_count, 1);
        assert_string_equal(cfg.listen[0], "ipc:///tmp/x");
        assert_int_equal(cfg.retention_ms, 7ull * 86400000);
        hub_config_release(&cfg);
    }
    {
        char *bad_env[] = {(char *)"FL0WER_HUB_MAX_DISK=lots", NULL};
        char *argv[] = {(char *)"fl0wer-hub", NULL};
        assert_int_equal(hub_config_load(&cfg, 1, argv, bad_env, err), -1);
        assert_string_equal(err, "FL0WER_HUB_MAX_DISK: 'lots' is not a size (e.g. 10G, 512M)");
        hub_config_release(&cfg);
    }
    unlink(path);
}

struct bad_case {
    const char *args[4];
    const char *message;
};

/* The real binary: each bad value gives exactly one line on stderr and exit status 2. */
static void test_binary_bad_flags(void **state)
{
    static const struct bad_case cases[] = {
        {{"--retention", "abc"},
         "fl0wer-hub: --retention: 'abc' is not a duration (e.g. 30d, 12h, 90m, 45s)\n"},
        {{"--max-disk", "10Q"}, "fl0wer-hub: --max-disk: '10Q' is not a size (e.g. 10G, 512M)\n"},
        {{"--bogus"}, "fl0wer-hub: unknown option '--bogus' (see --help)\n"},
        {{"--listen", "http://x:1"},
         "fl0wer-hub: --listen: 'http://x:1' is not a tcp://, tls+tcp:// or ipc:// URL\n"},
        {{"--listen", "tls+tcp://127.0.0.1:0"},
         "fl0wer-hub: --listen: tls+tcp:// needs --tls-cert and --tls-key\n"},
        {{"--workers", "0"}, "fl0wer-hub: --workers: '0' is not a number from 1 to 4096\n"},
        {{"--data"}, "fl0wer-hub: --data needs a value\n"},
        {{"--config", "/nonexistent/hub.conf"},
         "fl0wer-hub: --config: cannot read /nonexistent/hub.conf: No such file or directory\n"},
    };
    char err[1024];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *argv[6] = {(char *)"fl0wer-hub"};
        int n = 1;

        for (int j = 0; j < 4 && cases[i].args[j]; j++)
            argv[n++] = (char *)cases[i].args[j];
        argv[n] = NULL;
        assert_int_equal(th_hub_run(argv, err, sizeof(err)), 2);
        assert_string_equal(err, cases[i].message);
    }
    {
        char *argv[] = {(char *)"fl0wer-hub", (char *)"--help", NULL};
        assert_int_equal(th_hub_run(argv, err, sizeof(err)), 0);
        assert_string_equal(err, "");
    }
}

/* A start failure (authorized edges file missing) is exit 1 with the reason logged. */
static void test_binary_start_failure(void **state)
{
    char err[2048];
    char data[] = "/tmp/fl0wer-hubcfg-XXXXXX";
    char dataflag[64];
    char cmd[128];

    assert_non_null(mkdtemp(data));
    snprintf(dataflag, sizeof(dataflag), "--data=%s/db", data);
    {
        char *argv[] = {(char *)"fl0wer-hub", dataflag, (char *)"--no-api",
                        (char *)"--listen", (char *)"tcp://127.0.0.1:0",
                        (char *)"--authorized-edges", (char *)"/nonexistent/authorized", NULL};
        assert_int_equal(th_hub_run(argv, err, sizeof(err)), 1);
        assert_non_null(strstr(err, "cannot start ingest: authorized edges file "
                                    "/nonexistent/authorized: No such file or directory"));
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", data);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_binary_bad_flags),
        cmocka_unit_test(test_binary_start_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
