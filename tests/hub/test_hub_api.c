/*
 * test_hub_api.c - fl0wer-hub with its API and a TLS listener: batches sent over nng are
 * visible through the API (/api/v1/status ingest counters, /api/v1/summary totals, /metrics),
 * and a tls+tcp:// listener accepts batches from a client that verifies the hub's certificate
 * (nng's engine, then the hub's, which also refuses a certificate its CA did not sign).
 * The hub's own TLS engine (hub/api/tls_engine.c) resumes the CLI client's sessions from their
 * tickets, falls back to a full handshake for a damaged or unknown one, and issues no usable
 * ticket across a restart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fl0wer/api.h"
#include "fl0wer/tls_engine.h"
#include "http_client.h"
#include "hub_harness.h"
#include "tls_session.h"

#define TOKEN "test-token-0123456789abcdef"

static uint64_t base_ms(void)
{
    return ((uint64_t)time(NULL) - 3600u) * 1000u;
}

static void test_api_sees_ingest(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a, stranger;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *b1, *bs;
    size_t l1, ls;
    char body[65536];
    char want[256];
    char tokens[400];
    uint64_t bytes = 0, packets = 0;
    FILE *f;

    assert_int_equal(fl0wer_edge_key_generate(&a, "site-a"), 0);
    assert_int_equal(fl0wer_edge_key_generate(&stranger, "stranger"), 0);
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    snprintf(tokens, sizeof(tokens), "%s/tokens", h.dir);
    f = fopen(tokens, "w");
    assert_non_null(f);
    fprintf(f, "tester read %s\n", TOKEN);
    fclose(f);
    h.no_api_flag_off = true;
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api=127.0.0.1:0");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api-insecure");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api-tokens=%s", tokens);
    th_hub_start(&h);
    assert_true(h.api[0] != '\0');

    th_build(&a, 1, 10, base_ms(), &b1, &l1);
    th_build(&stranger, 1, 10, base_ms(), &bs, &ls);
    assert_int_equal(th_send(h.url, b1, l1, NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, b1, l1, NULL), FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_send(h.url, bs, ls, NULL), FL0WER_ACK_REJECTED);

    assert_int_equal(th_http_get(h.api, "/api/v1/status", TOKEN, body, sizeof(body)), 200);
    assert_non_null(strstr(body, "\"batches_received\":3"));
    assert_non_null(strstr(body, "\"batches_duplicate\":1"));
    assert_non_null(strstr(body, "\"batches_rejected\":1"));
    assert_non_null(strstr(body, "\"records_stored\":10"));

    for (size_t i = 0; i < 10; i++) {
        bytes += th_bytes(1, i);
        packets += th_packets(1, i);
    }
    assert_int_equal(th_http_get(h.api, "/api/v1/summary?from=-2h&to=now", TOKEN, body,
                                 sizeof(body)),
                     200);
    snprintf(want, sizeof(want), "\"flows\":10,\"bytes\":%llu,\"packets\":%llu",
             (unsigned long long)bytes, (unsigned long long)packets);
    assert_non_null(strstr(body, want));

    assert_int_equal(th_http_get(h.api, "/metrics", TOKEN, body, sizeof(body)), 200);
    assert_non_null(strstr(body, "fl0wer_ingest_batches_total{result=\"rejected\"} 1\n"));
    assert_non_null(strstr(body, "fl0wer_ingest_batches_total{result=\"stored\"} 1\n"));
    /* group commit: the stored batch and its duplicate, sent one after the other, one sync each */
    assert_non_null(strstr(body, "fl0wer_ingest_store_syncs_total 2\n"));

    assert_int_equal(th_http_get(h.api, "/api/v1/status", "wrong-token-0000", body,
                                 sizeof(body)),
                     401);
    assert_int_equal(th_hub_stop(&h), 0);
    free(b1);
    free(bs);
    th_hub_cleanup(&h);
}

static void test_tls_listener(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    char cmd[1024], cert[320], key[320], other[320];
    uint8_t *b1, *b2;
    size_t l1, l2;
    struct th_totals t;

    if (system("command -v openssl >/dev/null 2>&1") != 0)
        skip(); /* SKIPPED: openssl not installed */
    assert_int_equal(fl0wer_edge_key_generate(&a, "site-tls"), 0);
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    snprintf(cert, sizeof(cert), "%s/cert.pem", h.dir);
    snprintf(key, sizeof(key), "%s/key.pem", h.dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s' -out '%s' -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             key, cert);
    assert_int_equal(system(cmd), 0);
    snprintf(other, sizeof(other), "%s/other.pem", h.dir); /* a CA that did not sign cert */
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout '%s/other-key.pem' -out '%s' -days 2 -subj /CN=localhost "
             "-addext subjectAltName=DNS:localhost >/dev/null 2>&1",
             h.dir, other);
    assert_int_equal(system(cmd), 0);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--listen=tls+tcp://127.0.0.1:0");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--tls-cert=%s", cert);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--tls-key=%s", key);
    th_hub_start(&h);
    assert_int_equal(strncmp(h.url2, "tls+tcp://127.0.0.1:", 20), 0);

    th_build(&a, 1, 7, base_ms(), &b1, &l1);
    th_build(&a, 2, 5, base_ms(), &b2, &l2);
    assert_int_equal(th_send_tls(h.url2, cert, b1, l1), FL0WER_ACK_STORED);
    assert_int_equal(th_send_tls(h.url2, cert, b1, l1), FL0WER_ACK_DUPLICATE);
    /* the hub's engine as a client too (the hub's webhook uses it so): verifies, or refuses */
    assert_int_equal(fl0wer_tls_engine_register(), 0);
    assert_int_equal(th_send_tls(h.url2, other, b2, l2), -1);
    assert_int_equal(th_send_tls(h.url2, cert, b2, l2), FL0WER_ACK_STORED);
    assert_int_equal(th_hub_stop(&h), 0);

    th_store_totals(h.db, &t);
    assert_int_equal(t.flows, 12);
    assert_int_equal(t.batches_stored, 2);
    free(b1);
    free(b2);
    th_hub_cleanup(&h);
}

/* GET /api/v1/status over o; returns whether the TLS session was resumed (status 200 asserted). */
static bool status_resumed(const struct httpc_opts *o)
{
    struct httpc_response resp;
    char err[256] = "";
    int rc = httpc_request(o, "GET", "/api/v1/status", &resp, NULL, NULL, err, sizeof(err));
    if (rc != 0)
        fail_msg("request to %s failed: %s", o->server, err);
    assert_int_equal(resp.status, 200);
    return resp.tls_resumed;
}

/* The API of a real hub process, as the CLI reaches it: sessions resume from their tickets. */
static void test_api_tls_resumption(void **state)
{
    struct th_hub h;
    char tokens[400], cert[400], cache[400], path[4300], moved[4300];
    char fp[FL0WER_API_FINGERPRINT_LEN];
    struct httpc_opts o = {0};
    struct stat st;
    FILE *f;
    (void)state;

    th_hub_init(&h);
    th_write_authorized(&h, NULL, 0);
    snprintf(tokens, sizeof(tokens), "%s/tokens", h.dir);
    snprintf(cache, sizeof(cache), "%s/cache/fl0wer", h.dir); /* made by the first save */
    assert_non_null(f = fopen(tokens, "w"));
    fprintf(f, "tester read %s\n", TOKEN);
    fclose(f);
    h.no_api_flag_off = true;
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api=127.0.0.1:0");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api-tokens=%s", tokens);
    th_hub_start(&h);
    assert_int_equal(strncmp(h.api, "https://127.0.0.1:", 18), 0);
    snprintf(cert, sizeof(cert), "%s/%s", h.db, FL0WER_API_CERT_FILE);
    assert_int_equal(fl0wer_api_cert_fingerprint(cert, fp, sizeof(fp)), 0);
    o.server = h.api;
    o.token = TOKEN;
    o.fingerprint = fp;
    o.tls_cache_dir = cache;

    /* first contact: a full handshake, then the session is kept privately */
    assert_false(status_resumed(&o));
    assert_int_equal(httpc_session_path(&o, path, sizeof(path)), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_true(status_resumed(&o));
    assert_true(status_resumed(&o));

    /* a damaged master secret fails the resumption: dropped, full handshake, kept afresh */
    assert_non_null(f = fopen(path, "r+"));
    assert_int_equal(fseek(f, 60, SEEK_SET), 0);
    for (int i = 0; i < 16; i++) /* the master secret is bytes 49-96 of mbedTLS's format */
        fputc(0x5a, f);
    fclose(f);
    assert_false(status_resumed(&o));
    assert_true(status_resumed(&o));

    /* a certificate that does not match the pin: refused, and its session not kept */
    {
        struct httpc_opts wrong = o;
        struct httpc_response resp;
        char err[256], wpath[4300];
        wrong.fingerprint = "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
                            "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff";
        assert_int_equal(httpc_request(&wrong, "GET", "/api/v1/status", &resp, NULL, NULL, err,
                                       sizeof(err)),
                         HTTPC_ERR_PIN);
        assert_int_equal(httpc_session_path(&wrong, wpath, sizeof(wpath)), 0);
        assert_int_not_equal(access(wpath, F_OK), 0);
    }

    /* no cache directory: never resumed, nothing written */
    o.tls_cache_dir = NULL;
    assert_false(status_resumed(&o));
    o.tls_cache_dir = cache;

    /* a restarted hub has new ticket keys: the old ticket gets a full handshake (the new port
     * names another file, so the old session is moved there) */
    assert_int_equal(th_hub_stop(&h), 0);
    th_hub_start(&h);
    o.server = h.api;
    assert_int_equal(httpc_session_path(&o, moved, sizeof(moved)), 0);
    assert_int_equal(rename(path, moved), 0);
    assert_false(status_resumed(&o));
    assert_true(status_resumed(&o));
    assert_int_equal(th_hub_stop(&h), 0);
    th_hub_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_sees_ingest),
        cmocka_unit_test(test_tls_listener),
        cmocka_unit_test(test_api_tls_resumption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
