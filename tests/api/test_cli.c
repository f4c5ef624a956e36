/*
 * test_cli.c - the `fl0wer` CLI run as a real process against the API (real HTTPS, real store
 * with known flows): --format json prints exactly the API's body, csv/ndjson/table outputs,
 * fingerprint pinning (right and wrong), config file and environment, and the one-line errors
 * with exit codes: bad token, bad filter (caret under the token), bad time, unreachable hub,
 * --insecure warning over plain HTTP; the TLS session cache (--verbose says whether a command
 * resumed its session; --no-tls-cache and FL0WER_TLS_CACHE).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"

static struct fx fx;
static char cli_path[512];

static int group_setup(void **state)
{
    (void)state;
    snprintf(cli_path, sizeof(cli_path), "%s/tools/fl0wer/fl0wer", FL0WER_BINARY_DIR);
    if (access(cli_path, X_OK) != 0) {
        fprintf(stderr, "missing %s (build target fl0wer)\n", cli_path);
        return -1;
    }
    return fx_setup(&fx, false);
}

static int group_teardown(void **state)
{
    (void)state;
    fx_teardown(&fx);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    size_t n = f ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

struct run {
    int status;
    char *out, *err;
};

/*
 * Runs the CLI with argv (NULL-terminated) and env additions ("K=V", NULL-terminated), with
 * HOME set to the fixture dir (no user config) and FL0WER_* cleared. Bounded to 20 s.
 */
static struct run run_cli(const char *const *argv, const char *const *env)
{
    struct run r = {-1, NULL, NULL};
    char outp[400], errp[400];
    snprintf(outp, sizeof(outp), "%s/cli.out", fx.dir);
    snprintf(errp, sizeof(errp), "%s/cli.err", fx.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(o, 1);
        dup2(e, 2);
        unsetenv("FL0WER_SERVER");
        unsetenv("FL0WER_TOKEN");
        unsetenv("FL0WER_FINGERPRINT");
        unsetenv("FL0WER_CACERT");
        unsetenv("FL0WER_CONFIG");
        unsetenv("XDG_CONFIG_HOME");
        unsetenv("XDG_CACHE_HOME");
        unsetenv("FL0WER_TLS_CACHE");
        setenv("HOME", fx.dir, 1);
        setenv("ASAN_OPTIONS", "detect_leaks=1", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(cli_path, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    for (int i = 0; i < 2000; i++) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (i == 1999) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("fl0wer %s did not finish in 20 s", argv[1]);
        }
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = slurp(outp);
    r.err = slurp(errp);
    return r;
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

#define CONN "--server", fx.server, "--token", FX_READ_TOKEN, "--fingerprint", fx.fingerprint
#define RANGE_ARGS "--from", "1699999980", "--to", "1700000280"

/* The API's body for path, for comparing with the CLI's json output. */
static char *api_body(const char *path)
{
    int status;
    char *body;
    assert_int_equal(fx_get(&fx, path, &status, &body), 0);
    assert_int_equal(status, 200);
    return body;
}

static void expect_json_equals_api(const char *const *argv, const char *path)
{
    char *want = api_body(path), line[8192];
    struct run r = run_cli(argv, NULL);
    snprintf(line, sizeof(line), "%s\n", want);
    if (r.status != 0)
        print_error("stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, line);
    assert_string_equal(r.err, "");
    free(want);
    run_free(&r);
}

static void test_json_outputs(void **state)
{
    (void)state;
    const char *sum[] = {cli_path, "summary", CONN, RANGE_ARGS, "--format", "json", NULL};
    expect_json_equals_api(sum, "/api/v1/summary?from=1699999980&to=1700000280");
    const char *top[] = {cli_path, "top", CONN, RANGE_ARGS, "--by", "dstport", "--order",
                         "flows", "-n", "3", "--format", "json", NULL};
    expect_json_equals_api(top, "/api/v1/top?from=1699999980&to=1700000280&by=dstport"
                                "&order=flows&limit=3");
    const char *ser[] = {cli_path, "series", CONN, RANGE_ARGS, "--step", "1m", "--filter",
                         "dst port 443", "--format", "json", NULL};
    expect_json_equals_api(ser, "/api/v1/series?from=1699999980&to=1700000280&step=60"
                                "&filter=dst%20port%20443");
    const char *exp[] = {cli_path, "exporters", CONN, "--format", "json", NULL};
    expect_json_equals_api(exp, "/api/v1/exporters");
    const char *edg[] = {cli_path, "edges", CONN, "--format", "json", NULL};
    expect_json_equals_api(edg, "/api/v1/edges");
    const char *al[] = {cli_path, "alerts", CONN, "--format", "json", NULL};
    struct run r = run_cli(al, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"alerts\":[]}\n");
    run_free(&r);
}

static void test_summary_exact(void **state)
{
    (void)state;
    /* Exact numbers: 6 flows; 1000+5000+300*10+120+700+400 bytes; 10+20+3*10+2+7+4 packets. */
    const char *argv[] = {cli_path, "summary", CONN, "--from", "2023-11-14T22:13:00Z", "--to",
                          "2023-11-14T22:18:00Z", "--format", "json", NULL};
    struct run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"from\":1699999980000,\"to\":1700000280000,\"flows\":6,"
                               "\"bytes\":10220,\"packets\":73}\n");
    run_free(&r);
    const char *csv[] = {cli_path, "summary", CONN, RANGE_ARGS, "--format", "csv", NULL};
    r = run_cli(csv, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "from,to,flows,bytes,packets\n"
                               "1699999980000,1700000280000,6,10220,73\n");
    run_free(&r);
    /* Table: human units; 10220 bytes over 300 s = 272.5 bps. */
    const char *tab[] = {cli_path, "summary", CONN, RANGE_ARGS, NULL};
    r = run_cli(tab, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "FROM                  TO                    FLOWS"));
    assert_non_null(strstr(r.out, "2023-11-14T22:13:00Z  2023-11-14T22:18:00Z"));
    assert_non_null(strstr(r.out, "10.2 kB"));
    assert_non_null(strstr(r.out, "272.5 bps"));
    run_free(&r);
}

static void test_top_csv_ndjson(void **state)
{
    (void)state;
    const char *csv[] = {cli_path, "top", CONN, RANGE_ARGS, "--by", "srcip", "--format", "csv",
                         NULL};
    struct run r = run_cli(csv, NULL);
    assert_int_equal(r.status, 0);
    /* 10.0.0.1: 6000 B; 10.0.0.2: 3000+400; 2001:db8::1: 700; 10.0.0.3: 120. */
    assert_string_equal(r.out, "key,flows,bytes,packets\n"
                               "10.0.0.1,2,6000,30\n"
                               "10.0.0.2,2,3400,34\n"
                               "2001:db8::1,1,700,7\n"
                               "10.0.0.3,1,120,2\n");
    run_free(&r);
    const char *nd[] = {cli_path, "top", CONN, RANGE_ARGS, "-n", "1", "--format", "ndjson",
                        NULL};
    r = run_cli(nd, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"key\":\"10.0.0.1\",\"flows\":2,\"bytes\":6000,\"packets\":30}\n");
    run_free(&r);
}

static void test_flows_formats(void **state)
{
    (void)state;
    const char *nd[] = {cli_path, "flows", CONN, RANGE_ARGS, "--filter", "proto udp",
                        "--format", "ndjson", NULL};
    struct run r = run_cli(nd, NULL);
    char one[FL0WER_FLOW_JSON_MAX + 2];
    fl0wer_flow_to_json(&fx.flows[3], one, sizeof(one) - 1);
    strcat(one, "\n");
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, one);
    run_free(&r);
    const char *js[] = {cli_path, "flows", CONN, RANGE_ARGS, "--filter", "proto udp",
                        "--format", "json", NULL};
    r = run_cli(js, NULL);
    one[strlen(one) - 1] = '\0';
    char want[FL0WER_FLOW_JSON_MAX + 8];
    snprintf(want, sizeof(want), "[%s]\n", one);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, want);
    run_free(&r);
    const char *csv[] = {cli_path, "flows", CONN, RANGE_ARGS, "-n", "4", "--format", "csv",
                         NULL};
    r = run_cli(csv, NULL);
    assert_int_equal(r.status, 0);
    int lines = 0;
    for (char *p = r.out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 4);
    assert_true(strncmp(r.out, "first_ms,last_ms,exporter,", 26) == 0);
    run_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    /* Bad token: 401, exit 3, one line. */
    const char *tok[] = {cli_path, "summary", "--server", fx.server, "--token", "nope-nope-nope",
                         "--fingerprint", fx.fingerprint, NULL};
    struct run r = run_cli(tok, NULL);
    assert_int_equal(r.status, 3);
    assert_string_equal(r.err, "fl0wer summary: the hub refused the token (401 unauthorized): "
                               "check --token or FL0WER_TOKEN\n");
    assert_string_equal(r.out, "");
    run_free(&r);
    /* Bad filter: the expression and a caret under the offending token. */
    const char *flt[] = {cli_path, "top", CONN, "--filter", "src port abc", NULL};
    r = run_cli(flt, NULL);
    assert_int_equal(r.status, 4);
    const char *caret = strstr(r.err, "\n  src port abc\n           ^^^\n");
    if (!caret)
        print_error("stderr was: %s", r.err);
    assert_non_null(caret);
    assert_true(strncmp(r.err, "fl0wer top: bad filter: ", 24) == 0);
    run_free(&r);
    /* Bad time: rejected locally, exit 4. */
    const char *tm[] = {cli_path, "series", CONN, "--from", "last tuesday", NULL};
    r = run_cli(tm, NULL);
    assert_int_equal(r.status, 4);
    assert_non_null(strstr(r.err, "fl0wer series: bad time for --from: 'last tuesday'"));
    run_free(&r);
    /* Wrong fingerprint: exit 2, says mismatch and what the server presented. */
    const char *pin[] = {cli_path, "status", "--server", fx.server, "--token", FX_READ_TOKEN,
                         "--fingerprint",
                         "AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:AA:"
                         "AA:AA:AA:AA:AA:AA:AA:AA", NULL};
    r = run_cli(pin, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "certificate fingerprint mismatch"));
    assert_non_null(strstr(r.err, fx.fingerprint));
    run_free(&r);
    /* No pin and no CA for a self-signed hub: verification fails, exit 2. */
    const char *nopin[] = {cli_path, "status", "--server", fx.server, "--token", FX_READ_TOKEN,
                           NULL};
    r = run_cli(nopin, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "did not verify"));
    run_free(&r);
    /* Unreachable hub (a port nobody listens on). */
    const char *down[] = {cli_path, "edges", "--server", "https://127.0.0.1:1", "--token",
                          FX_READ_TOKEN, "--fingerprint", fx.fingerprint, NULL};
    r = run_cli(down, NULL);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "fl0wer edges: cannot reach the hub at https://127.0.0.1:1: "
                                  "cannot connect to 127.0.0.1 port 1"));
    run_free(&r);
    /* --cacert with the hub's own certificate works for https://localhost (SAN). */
    char ca[400], srv[64];
    snprintf(ca, sizeof(ca), "%s/" FL0WER_API_CERT_FILE, fx.dir);
    snprintf(srv, sizeof(srv), "https://localhost:%d", fl0wer_api_port(fx.api));
    const char *cac[] = {cli_path, "alerts", "--server", srv, "--token", FX_READ_TOKEN,
                         "--cacert", ca, "--format", "json", NULL};
    r = run_cli(cac, NULL);
    if (r.status != 0)
        print_error("cacert: %s", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"alerts\":[]}\n");
    run_free(&r);
}

static void test_env_and_config(void **state)
{
    (void)state;
    char e1[128], e2[160], e3[160];
    snprintf(e1, sizeof(e1), "FL0WER_SERVER=%s", fx.server);
    snprintf(e2, sizeof(e2), "FL0WER_TOKEN=%s", FX_READ_TOKEN);
    snprintf(e3, sizeof(e3), "FL0WER_FINGERPRINT=%s", fx.fingerprint);
    const char *env[] = {e1, e2, e3, NULL};
    const char *argv[] = {cli_path, "alerts", "--format", "json", NULL};
    struct run r = run_cli(argv, env);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"alerts\":[]}\n");
    run_free(&r);
    /* ~/.config/fl0wer/config (HOME is the fixture dir). */
    char path[400];
    snprintf(path, sizeof(path), "%s/.config", fx.dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.config/fl0wer", fx.dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/.config/fl0wer/config", fx.dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# cli defaults\nserver = %s\ntoken = %s\nfingerprint = %s\n", fx.server,
            FX_READ_TOKEN, fx.fingerprint);
    fclose(f);
    const char *sum[] = {cli_path, "summary", RANGE_ARGS, "--format", "json", NULL};
    r = run_cli(sum, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"from\":1699999980000,\"to\":1700000280000,\"flows\":6,"
                               "\"bytes\":10220,\"packets\":73}\n");
    run_free(&r);
    unlink(path);
}

static void test_insecure_and_help(void **state)
{
    struct fx plain;
    (void)state;
    assert_int_equal(fx_setup(&plain, true), 0);
    const char *argv[] = {cli_path, "summary", "--server", plain.server, "--token",
                          FX_READ_TOKEN, "--insecure", RANGE_ARGS, "--format", "json", NULL};
    struct run r = run_cli(argv, NULL);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"from\":1699999980000,\"to\":1700000280000,\"flows\":6,"
                               "\"bytes\":10220,\"packets\":73}\n");
    assert_non_null(strstr(r.err, "warning: --insecure"));
    run_free(&r);
    fx_teardown(&plain);
    static const char *const cmds[] = {"summary", "top", "flows", "series", "exporters",
                                       "edges", "alerts", "status", "keygen"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const char *h[] = {cli_path, cmds[i], "--help", NULL};
        r = run_cli(h, NULL);
        assert_int_equal(r.status, 0);
        char want[64];
        snprintf(want, sizeof(want), "usage: fl0wer %s", cmds[i]);
        assert_true(strncmp(r.out, want, strlen(want)) == 0);
        run_free(&r);
    }
    /* status table shows the fingerprint line. */
    const char *st[] = {cli_path, "status", CONN, NULL};
    r = run_cli(st, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "storage.flows_stored         6\n"));
    assert_non_null(strstr(r.out, fx.fingerprint));
    run_free(&r);
}

/* How many session files dir holds (0 when it does not exist). */
static int session_files(const char *dir)
{
    char cmd[600], buf[32] = "";
    snprintf(cmd, sizeof(cmd), "ls '%s' 2>/dev/null | grep -c '^tls-session-'", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(buf, sizeof(buf), p))
        buf[0] = '\0';
    pclose(p);
    return atoi(buf);
}

/* Runs a verbose summary; asserts its output and returns whether it resumed its TLS session. */
static bool summary_resumed(const char *extra, const char *const *env)
{
    const char *argv[] = {cli_path, "summary", CONN, RANGE_ARGS, "--format", "json",
                          "--verbose", extra, NULL};
    struct run r = run_cli(argv, env);
    char want[300];
    bool resumed;
    snprintf(want, sizeof(want), "fl0wer summary: %s: tls session ", fx.server);
    if (r.status != 0)
        print_error("stderr: %s\n", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "{\"from\":1699999980000,\"to\":1700000280000,\"flows\":6,"
                               "\"bytes\":10220,\"packets\":73}\n");
    assert_true(strncmp(r.err, want, strlen(want)) == 0);
    resumed = strcmp(r.err + strlen(want), "resumed\n") == 0;
    if (!resumed)
        assert_string_equal(r.err + strlen(want), "new (full handshake)\n");
    run_free(&r);
    return resumed;
}

static void test_tls_session_cache(void **state)
{
    char home_cache[400], alt[400], alt_env[420];
    (void)state;
    snprintf(home_cache, sizeof(home_cache), "%s/.cache/fl0wer", fx.dir);
    snprintf(alt, sizeof(alt), "%s/alt-cache", fx.dir);
    snprintf(alt_env, sizeof(alt_env), "FL0WER_TLS_CACHE=%s", alt);
    const char *off[] = {"FL0WER_TLS_CACHE=off", NULL}, *alt_e[] = {alt_env, NULL};
    char cmd[500];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home_cache);
    assert_int_equal(system(cmd), 0);

    assert_false(summary_resumed(NULL, NULL)); /* first contact: full handshake, kept */
    assert_int_equal(session_files(home_cache), 1);
    assert_true(summary_resumed(NULL, NULL));
    assert_true(summary_resumed(NULL, NULL));
    assert_false(summary_resumed("--no-tls-cache", NULL));
    assert_false(summary_resumed(NULL, off));
    assert_false(summary_resumed(NULL, alt_e)); /* another cache: its own first contact */
    assert_int_equal(session_files(alt), 1);
    assert_true(summary_resumed(NULL, alt_e));
    assert_int_equal(session_files(home_cache), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_outputs),   cmocka_unit_test(test_summary_exact),
        cmocka_unit_test(test_top_csv_ndjson), cmocka_unit_test(test_flows_formats),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_env_and_config),
        cmocka_unit_test(test_insecure_and_help), cmocka_unit_test(test_tls_session_cache),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
