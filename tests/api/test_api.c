/*
 * test_api.c - black-box tests of the query service over real HTTPS: a real store holding known
 * flows, the API on 127.0.0.1 with a self-signed certificate, requests through the CLI's HTTPS
 * client with the certificate pinned. Asserts exact JSON against references computed from the
 * inserted flows, auth (401/403), parameter errors (400), filter errors with offsets, /metrics
 * syntax and values, NDJSON flow listings, and many concurrent clients while batches are stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>
#include <mbedtls/ecp.h>

#include "fixture.h"
#include "promcheck.h"

static struct fx fx;

static int group_setup(void **state)
{
    (void)state;
    return fx_setup(&fx, false);
}

static int group_teardown(void **state)
{
    (void)state;
    fx_teardown(&fx);
    return 0;
}

/* GETs path and asserts status and exact body. */
static void expect_get(const char *path, int want_status, const char *want_body)
{
    int status = 0;
    char *body = NULL;
    int rc = fx_get(&fx, path, &status, &body);
    if (rc != 0 || status != want_status || strcmp(body, want_body) != 0)
        print_error("GET %s: rc %d status %d body\n  %s\nwant %d\n  %s\n", path, rc, status,
                    body, want_status, want_body);
    assert_int_equal(rc, 0);
    assert_int_equal(status, want_status);
    assert_string_equal(body, want_body);
    free(body);
}

/* (not inlined: GCC 12 at -O2 takes the body pointer it returns for one into its own frame) */
__attribute__((noinline)) static char *get_ok(const char *path)
{
    int status = 0;
    char *body = NULL;
    assert_int_equal(fx_get(&fx, path, &status, &body), 0);
    if (status != 200)
        print_error("GET %s -> %d %s\n", path, status, body);
    assert_int_equal(status, 200);
    return body;
}

/* The number that follows the first occurrence of key in text (fails the test without one). */
static unsigned long long number_after(const char *text, const char *key)
{
    const char *at = strstr(text, key);
    assert_non_null(at);
    return strtoull(at + strlen(key), NULL, 10);
}

#define RANGE "from=1699999980&to=1700000280"

static void test_summary(void **state)
{
    char want[256];
    (void)state;
    struct fx_totals t = fx_ref_totals(&fx, FX_FROM, FX_TO, -1, false);
    assert_int_equal(t.flows, 6); /* the reference itself: 6 flows, sampled one scaled x10 */
    assert_int_equal(t.bytes, 1000 + 5000 + 3000 + 120 + 700 + 400);
    snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,\"flows\":%llu,\"bytes\":%llu,"
             "\"packets\":%llu}", (unsigned long long)FX_FROM, (unsigned long long)FX_TO,
             (unsigned long long)t.flows, (unsigned long long)t.bytes,
             (unsigned long long)t.packets);
    expect_get("/api/v1/summary?" RANGE, 200, want);
    /* ISO-8601 times give the same answer. */
    expect_get("/api/v1/summary?from=2023-11-14T22:13:00Z&to=2023-11-14T22:18:00.000Z", 200, want);

    t = fx_ref_totals(&fx, FX_FROM, FX_TO, -1, true);
    snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,\"flows\":%llu,\"bytes\":%llu,"
             "\"packets\":%llu}", (unsigned long long)FX_FROM, (unsigned long long)FX_TO,
             (unsigned long long)t.flows, (unsigned long long)t.bytes,
             (unsigned long long)t.packets);
    expect_get("/api/v1/summary?" RANGE "&unscaled=1", 200, want);

    /* A filter: only dst port 443 (percent-encoded spaces and '+'). */
    t = fx_ref_totals(&fx, FX_FROM, FX_TO, 443, false);
    assert_int_equal(t.flows, 3);
    snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,\"flows\":%llu,\"bytes\":%llu,"
             "\"packets\":%llu}", (unsigned long long)FX_FROM, (unsigned long long)FX_TO,
             (unsigned long long)t.flows, (unsigned long long)t.bytes,
             (unsigned long long)t.packets);
    expect_get("/api/v1/summary?" RANGE "&filter=dst%20port+443", 200, want);

    /* A sub-range: [T0+60s, T0+140s) holds flows 2, 3 and 4. */
    t = fx_ref_totals(&fx, FX_T0 + 60000, FX_T0 + 140000, -1, false);
    assert_int_equal(t.flows, 3);
    snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,\"flows\":%llu,\"bytes\":%llu,"
             "\"packets\":%llu}", (unsigned long long)(FX_T0 + 60000),
             (unsigned long long)(FX_T0 + 140000), (unsigned long long)t.flows,
             (unsigned long long)t.bytes, (unsigned long long)t.packets);
    expect_get("/api/v1/summary?from=1700000040&to=1700000120", 200, want);
}

static void test_top(void **state)
{
    char want[2048];
    (void)state;
    fx_ref_top_srcip_json(&fx, 10, want, sizeof(want));
    expect_get("/api/v1/top?" RANGE "&by=srcip&order=bytes", 200, want);
    fx_ref_top_srcip_json(&fx, 2, want, sizeof(want));
    expect_get("/api/v1/top?" RANGE "&by=srcip&limit=2", 200, want);
    /* dstport by flows: 443 has 3 flows; 22, 53, 80 one each (ties by key ascending). */
    expect_get("/api/v1/top?" RANGE "&by=dstport&order=flows&limit=3", 200,
               "{\"by\":\"dstport\",\"order\":\"flows\",\"rows\":["
               "{\"key\":\"443\",\"flows\":3,\"bytes\":4700,\"packets\":47},"
               "{\"key\":\"22\",\"flows\":1,\"bytes\":400,\"packets\":4},"
               "{\"key\":\"53\",\"flows\":1,\"bytes\":120,\"packets\":2}]}");
}

static void test_series(void **state)
{
    char want[2048];
    size_t o;
    (void)state;
    o = (size_t)snprintf(want, sizeof(want), "{\"step\":60000,\"points\":[");
    for (int m = 0; m < 5; m++) {
        uint64_t t0 = FX_T0 + (uint64_t)m * 60000;
        struct fx_totals t = fx_ref_totals(&fx, t0, t0 + 60000, -1, false);
        o += (size_t)snprintf(want + o, sizeof(want) - o,
                              "%s{\"t\":%llu,\"flows\":%llu,\"bytes\":%llu,\"packets\":%llu}",
                              m ? "," : "", (unsigned long long)t0, (unsigned long long)t.flows,
                              (unsigned long long)t.bytes, (unsigned long long)t.packets);
    }
    snprintf(want + o, sizeof(want) - o, "]}");
    expect_get("/api/v1/series?" RANGE "&step=60", 200, want);
    expect_get("/api/v1/series?" RANGE "&step=1m", 200, want);
    /* Default step for a 5-minute range is one minute. */
    expect_get("/api/v1/series?" RANGE, 200, want);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_flows(void **state)
{
    char *lines[FX_NFLOWS + 2], *want[FX_NFLOWS];
    size_t n = 0;
    (void)state;
    char *body = get_ok("/api/v1/flows?" RANGE);
    for (char *save = NULL, *l = strtok_r(body, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        assert_true(n < FX_NFLOWS + 2);
        lines[n++] = l;
    }
    assert_int_equal(n, FX_NFLOWS);
    for (int i = 0; i < FX_NFLOWS; i++) {
        want[i] = malloc(FL0WER_FLOW_JSON_MAX);
        assert_true(fl0wer_flow_to_json(&fx.flows[i], want[i], FL0WER_FLOW_JSON_MAX) > 0);
    }
    qsort(lines, n, sizeof(char *), cmp_str);
    qsort(want, FX_NFLOWS, sizeof(char *), cmp_str);
    for (int i = 0; i < FX_NFLOWS; i++) {
        assert_string_equal(lines[i], want[i]);
        free(want[i]);
    }
    free(body);

    /* limit and filter */
    body = get_ok("/api/v1/flows?" RANGE "&limit=2");
    n = 0;
    for (char *p = body; *p; p++)
        n += *p == '\n';
    assert_int_equal(n, 2);
    free(body);
    body = get_ok("/api/v1/flows?" RANGE "&filter=proto%20udp");
    char one[FL0WER_FLOW_JSON_MAX];
    fl0wer_flow_to_json(&fx.flows[3], one, sizeof(one));
    strcat(one, "\n");
    assert_string_equal(body, one);
    free(body);
}

static void test_exporters_edges(void **state)
{
    (void)state;
    expect_get("/api/v1/exporters", 200,
               "{\"exporters\":[{\"address\":\"192.0.2.1\",\"port\":2055,\"domain\":5,"
               "\"edge\":\"edge-a\",\"version\":10,\"records\":6,\"messages\":12,\"bytes\":4096,"
               "\"sequence_gaps\":2,\"unknown_template\":1,\"templates\":3,\"errors\":3,"
               "\"sampling\":10,\"last_seen\":1700000230000,\"interfaces\":["
               "{\"index\":7,\"name\":\"ge-0/0/1\",\"description\":\"uplink \\\"A\\\"\\\\1\"},"
               "{\"index\":8,\"name\":\"ge-0/0/2\",\"description\":\"\"}]}]}");
    char *body = get_ok("/api/v1/edges");
    unsigned long long seen = number_after(body, "\"last_seen\":");
    assert_true(seen > 1700000000000ull); /* stamped by the store at put time */
    char want[1024];
    snprintf(want, sizeof(want),
             "{\"edges\":[{\"name\":\"edge-a\",\"last_seen\":%llu,\"last_seq\":1,\"batches\":1,"
             "\"records\":6,\"rejects\":0,\"started\":%llu,\"packets_received\":100,"
             "\"kernel_drops\":1,\"records_decoded\":6,\"records_sent\":6,"
             "\"records_dropped\":4,\"spool_batches\":2,\"spool_bytes\":999}]}",
             seen, (unsigned long long)FX_T0);
    assert_string_equal(body, want);
    free(body);
    expect_get("/api/v1/alerts?" RANGE "&filter=port%2053", 200, "{\"alerts\":[]}");
}

static void test_status(void **state)
{
    (void)state;
    char *body = get_ok("/api/v1/status");
    assert_non_null(strstr(body, "\"version\":\"" FL0WER_VERSION "\""));
    assert_non_null(strstr(body, "\"flows_stored\":6,"));
    assert_non_null(strstr(body, "\"batches_stored\":1,"));
    char fp[160];
    snprintf(fp, sizeof(fp), "\"fingerprint\":\"%s\"}", fx.fingerprint);
    assert_non_null(strstr(body, fp));
    free(body);
}

static void test_auth(void **state)
{
    int status;
    char *body;
    (void)state;
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/summary", NULL, NULL, &status, &body), 0);
    assert_int_equal(status, 401);
    assert_string_equal(body, "{\"error\":\"unauthorized\"}");
    free(body);
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/summary", "read-token-0123456789abcdeX",
                                NULL, &status, &body), 0);
    assert_int_equal(status, 401);
    free(body);
    /* A prefix of a valid token is not valid. */
    assert_int_equal(fx_request(&fx, "GET", "/metrics", "read-token-0123456789", NULL, &status,
                                &body), 0);
    assert_int_equal(status, 401);
    free(body);
    /* Unknown paths say 401 before 404 without a token. */
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/nope", NULL, NULL, &status, &body), 0);
    assert_int_equal(status, 401);
    free(body);
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/nope", FX_READ_TOKEN, NULL, &status, &body),
                     0);
    assert_int_equal(status, 404);
    free(body);
    /* Admin-only action with a read token: 403; with the admin token: 200. */
    assert_int_equal(fx_request(&fx, "POST", "/api/v1/reload", FX_READ_TOKEN, NULL, &status,
                                &body), 0);
    assert_int_equal(status, 403);
    free(body);
    assert_int_equal(fx_request(&fx, "POST", "/api/v1/reload", FX_ADMIN_TOKEN, NULL, &status,
                                &body), 0);
    assert_int_equal(status, 200);
    assert_string_equal(body, "{\"reloaded\":true,\"tokens\":2}");
    free(body);
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/reload", FX_ADMIN_TOKEN, NULL, &status,
                                &body), 0);
    assert_int_equal(status, 405);
    free(body);
    /* An admin token reads too. */
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/alerts", FX_ADMIN_TOKEN, NULL, &status,
                                &body), 0);
    assert_int_equal(status, 200);
    free(body);
}

static void test_bad_params(void **state)
{
    (void)state;
    expect_get("/api/v1/summary?from=yesterday", 400,
               "{\"error\":\"bad time 'yesterday' (use ISO-8601 UTC, unix seconds, -1h, -30m, "
               "-7d or now)\",\"param\":\"from\"}");
    expect_get("/api/v1/summary?from=1700000280&to=1699999980", 400,
               "{\"error\":\"from must be before to\",\"param\":\"from\"}");
    expect_get("/api/v1/top?by=color", 400,
               "{\"error\":\"by must be one of srcip, dstip, srcport, dstport, proto, exporter, "
               "srcas, dstas, inif, outif\",\"param\":\"by\"}");
    expect_get("/api/v1/top?order=size", 400,
               "{\"error\":\"order must be bytes, packets or flows\",\"param\":\"order\"}");
    expect_get("/api/v1/top?limit=10001", 400,
               "{\"error\":\"limit must be a number from 1 to 10000\",\"param\":\"limit\"}");
    expect_get("/api/v1/flows?limit=1000001", 400,
               "{\"error\":\"limit must be a number from 1 to 1000000\",\"param\":\"limit\"}");
    expect_get("/api/v1/series?step=30s", 400,
               "{\"error\":\"step must be a whole number of minutes (60, 5m, 1h)\","
               "\"param\":\"step\"}");
    expect_get("/api/v1/summary?bogus=1", 400,
               "{\"error\":\"unknown parameter 'bogus'\",\"param\":\"bogus\"}");
    expect_get("/api/v1/summary?unscaled=maybe", 400,
               "{\"error\":\"unscaled must be true, false, 1 or 0\",\"param\":\"unscaled\"}");
    expect_get("/api/v1/summary?filter=%zz", 400,
               "{\"error\":\"malformed query string (bad %-escape or too many parameters)\"}");
}

static void test_filter_error(void **state)
{
    int status;
    char *body;
    (void)state;
    /* "src port abc": the offending token starts at byte 9. */
    assert_int_equal(fx_get(&fx, "/api/v1/summary?filter=src%20port%20abc", &status, &body), 0);
    assert_int_equal(status, 400);
    assert_non_null(strstr(body, "\"param\":\"filter\",\"offset\":9,\"length\":3}"));
    assert_true(strncmp(body, "{\"error\":\"", 10) == 0);
    free(body);
}

static void test_metrics(void **state)
{
    char msg[256];
    double v;
    (void)state;
    char *body = get_ok("/metrics");
    int bad = promcheck(body, msg, sizeof(msg));
    if (bad)
        print_error("metrics line %d: %s\n", bad, msg);
    assert_int_equal(bad, 0);
    assert_int_equal(promcheck_value(body, "fl0wer_edge_records_total{edge=\"edge-a\"}", &v), 0);
    assert_true(v == 6.0);
    assert_int_equal(promcheck_value(body, "fl0wer_edge_records_dropped_total{edge=\"edge-a\"}",
                                     &v), 0);
    assert_true(v == 4.0);
    assert_int_equal(promcheck_value(body, "fl0wer_exporter_sequence_gaps_total{edge=\"edge-a\","
                                           "exporter=\"192.0.2.1\",domain=\"5\"}", &v), 0);
    assert_true(v == 2.0);
    assert_int_equal(promcheck_value(body, "fl0wer_storage_flows_stored_total", &v), 0);
    assert_true(v == 6.0);
    /* Earlier tests made 401s on /metrics and 200s on summary. */
    assert_int_equal(promcheck_value(body, "fl0wer_http_requests_total{endpoint=\"metrics\","
                                           "code=\"401\"}", &v), 0);
    assert_true(v >= 1.0);
    free(body);
    /* The validator itself rejects broken lines. */
    assert_int_not_equal(promcheck("# TYPE a counter\na{x=\"1} 2\n", msg, sizeof(msg)), 0);
    assert_int_not_equal(promcheck("# TYPE a counter\na 1 2 3\n", msg, sizeof(msg)), 0);
    assert_int_not_equal(promcheck("b 1\n", msg, sizeof(msg)), 0);
    assert_int_equal(promcheck("# HELP a x\n# TYPE a gauge\na{k=\"v\\\"\"} 1.5\n", msg,
                               sizeof(msg)), 0);
}

static void test_pin_mismatch(void **state)
{
    int status;
    char *body;
    (void)state;
    const char *wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
    assert_int_equal(fx_request(&fx, "GET", "/api/v1/status", FX_READ_TOKEN, wrong, &status,
                                &body), HTTPC_ERR_PIN);
    assert_non_null(strstr(body, "certificate fingerprint mismatch"));
    assert_non_null(strstr(body, fx.fingerprint));
    free(body);
    /* The fingerprint the API reports is the one of the PEM file it wrote. */
    char path[400], fp[FL0WER_API_FINGERPRINT_LEN];
    snprintf(path, sizeof(path), "%s/" FL0WER_API_CERT_FILE, fx.dir);
    assert_int_equal(fl0wer_api_cert_fingerprint(path, fp, sizeof(fp)), 0);
    assert_string_equal(fp, fx.fingerprint);
    /* Cross-check with openssl when it is installed. */
    char cmd[600], line[256] = "";
    snprintf(cmd, sizeof(cmd), "openssl x509 -noout -fingerprint -sha256 -in '%s' 2>/dev/null",
             path);
    FILE *p = popen(cmd, "r");
    if (p && fgets(line, sizeof(line), p) && strchr(line, '=')) {
        line[strcspn(line, "\n")] = '\0';
        assert_string_equal(strchr(line, '=') + 1, fx.fingerprint);
    }
    if (p)
        pclose(p);
}

/*
 * The client's key-exchange groups: narrow = X25519 and P-256 only (the hub, which prefers
 * P-521 among what is offered, takes P-256); wide = those two, then every other group mbedTLS
 * has, each once.
 */
static void test_tls_groups(void **state)
{
    int g[HTTPC_TLS_GROUPS_MAX];
    size_t n, all = 0;
    (void)state;

    n = httpc_tls_groups(true, g, HTTPC_TLS_GROUPS_MAX);
    assert_int_equal(n, 2);
    assert_int_equal(g[0], MBEDTLS_ECP_DP_CURVE25519);
    assert_int_equal(g[1], MBEDTLS_ECP_DP_SECP256R1);
    for (const mbedtls_ecp_group_id *l = mbedtls_ecp_grp_id_list(); *l; l++)
        all++;
    n = httpc_tls_groups(false, g, HTTPC_TLS_GROUPS_MAX);
    assert_int_equal(n, all);
    assert_int_equal(g[0], MBEDTLS_ECP_DP_CURVE25519);
    assert_int_equal(g[1], MBEDTLS_ECP_DP_SECP256R1);
    for (const mbedtls_ecp_group_id *l = mbedtls_ecp_grp_id_list(); *l; l++) {
        size_t seen = 0;
        for (size_t i = 0; i < n; i++)
            seen += g[i] == (int)*l;
        assert_int_equal(seen, 1);
    }
}

/*
 * A certificate whose key is on P-384 is outside the narrow group list, which mbedTLS then
 * refuses; the client must connect again offering every group and get its answer (pinned).
 */
static void test_tls_p384_certificate(void **state)
{
    char cmd[1200], cert[320], key[320], err[256], fp[FL0WER_API_FINGERPRINT_LEN];
    struct fl0wer_api_config ac;
    struct fl0wer_api *api = NULL;
    struct fx other;
    int status = 0;
    char *body = NULL;
    (void)state;

    snprintf(cert, sizeof(cert), "%s/p384-cert.pem", fx.dir);
    snprintf(key, sizeof(key), "%s/p384-key.pem", fx.dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost >/dev/null 2>&1", key, cert);
    if (system(cmd) != 0)
        skip(); /* no openssl command: nothing to make the certificate with */
    memset(&ac, 0, sizeof(ac));
    ac.listen = "127.0.0.1:0";
    ac.tokens_file = fx.tokens;
    ac.tls_cert = cert;
    ac.tls_key = key;
    ac.workers = 1;
    if (fl0wer_api_start(&api, &ac, fx.store, NULL, err) != 0)
        fail_msg("api with a p-384 certificate: %s", err);
    assert_int_equal(fl0wer_api_fingerprint(api, fp, sizeof(fp)), 0);
    other = fx;
    snprintf(other.server, sizeof(other.server), "https://127.0.0.1:%d", fl0wer_api_port(api));
    snprintf(other.fingerprint, sizeof(other.fingerprint), "%s", fp);
    int rc = fx_request(&other, "GET", "/api/v1/summary?" RANGE, FX_READ_TOKEN, NULL, &status,
                        &body);
    if (rc != 0)
        print_error("request: %s\n", body);
    assert_int_equal(rc, 0);
    assert_int_equal(status, 200);
    assert_non_null(strstr(body, "\"flows\":6,"));
    free(body);
    fl0wer_api_stop(api);
}

/*
 * ---- concurrency: 16 clients x CONC_REQUESTS requests (each a fresh TLS connection) while
 * another edge's batches are stored ----
 */
#define CONC_REQUESTS 12
struct conc_arg {
    const char *want;
    int failures;
};

static void *conc_client(void *arg)
{
    struct conc_arg *a = arg;
    for (int i = 0; i < CONC_REQUESTS; i++) {
        int status = 0;
        char *body = NULL;
        if (fx_get(&fx, "/api/v1/summary?" RANGE, &status, &body) != 0 || status != 200 ||
            strcmp(body, a->want) != 0)
            a->failures++;
        free(body);
    }
    return NULL;
}

static void *conc_writer(void *arg)
{
    int *stored = arg;
    struct fl0wer_flow fl[50];
    for (int s = 1; s <= 20; s++) {
        struct fl0wer_batch b;
        bool dup;
        for (int i = 0; i < 50; i++) {
            fl0wer_flow_init(&fl[i]);
            fl0wer_addr_parse("10.9.9.9", fl[i].src_addr);
            fl[i].bytes = 100;
            fl[i].packets = 1;
            fl[i].last_ms = FX_TO + 3600000 + (uint64_t)i * 1000; /* outside RANGE */
            fl[i].first_ms = fl[i].last_ms;
        }
        memset(&b, 0, sizeof(b));
        b.seq = (uint64_t)s;
        b.flows = fl;
        b.flow_count = 50;
        if (fl0wer_store_put_batch(fx.store, "edge-b", &b, &dup) == 0 && !dup)
            (*stored)++;
    }
    return NULL;
}

static void test_concurrent(void **state)
{
    pthread_t th[16], w;
    struct conc_arg args[16];
    char want[256];
    int stored = 0;
    (void)state;
    struct fx_totals t = fx_ref_totals(&fx, FX_FROM, FX_TO, -1, false);
    snprintf(want, sizeof(want), "{\"from\":%llu,\"to\":%llu,\"flows\":%llu,\"bytes\":%llu,"
             "\"packets\":%llu}", (unsigned long long)FX_FROM, (unsigned long long)FX_TO,
             (unsigned long long)t.flows, (unsigned long long)t.bytes,
             (unsigned long long)t.packets);
    assert_int_equal(pthread_create(&w, NULL, conc_writer, &stored), 0);
    for (int i = 0; i < 16; i++) {
        args[i].want = want;
        args[i].failures = 0;
        assert_int_equal(pthread_create(&th[i], NULL, conc_client, &args[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        failures += args[i].failures;
    }
    pthread_join(w, NULL);
    assert_int_equal(failures, 0);
    assert_int_equal(stored, 20);
    /* The stored batches are visible afterwards: 1000 flows of edge-b one hour later. */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/summary?from=%llu&to=%llu",
             (unsigned long long)(FX_TO + 3600000) / 1000,
             (unsigned long long)(FX_TO + 3600000 + 60000) / 1000);
    char *body = get_ok(path);
    assert_non_null(strstr(body, "\"flows\":1000,\"bytes\":100000,\"packets\":1000}"));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_summary),    cmocka_unit_test(test_top),
        cmocka_unit_test(test_series),     cmocka_unit_test(test_flows),
        cmocka_unit_test(test_exporters_edges), cmocka_unit_test(test_status),
        cmocka_unit_test(test_auth),       cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_filter_error), cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_pin_mismatch), cmocka_unit_test(test_tls_groups),
        cmocka_unit_test(test_tls_p384_certificate), cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
