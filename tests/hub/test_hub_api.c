/*
 * test_hub_api.c - fl0wer-hub with its API and a TLS listener: batches sent over nng are
 * visible through the API (/api/v1/status ingest counters, /api/v1/summary totals, /metrics),
 * and a tls+tcp:// listener accepts batches from a client that verifies the hub's certificate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hub_harness.h"

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
    char cmd[1024], cert[320], key[320];
    uint8_t *b1;
    size_t l1;
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
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--listen=tls+tcp://127.0.0.1:0");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--tls-cert=%s", cert);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--tls-key=%s", key);
    th_hub_start(&h);
    assert_int_equal(strncmp(h.url2, "tls+tcp://127.0.0.1:", 20), 0);

    th_build(&a, 1, 7, base_ms(), &b1, &l1);
    assert_int_equal(th_send_tls(h.url2, cert, b1, l1), FL0WER_ACK_STORED);
    assert_int_equal(th_send_tls(h.url2, cert, b1, l1), FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_hub_stop(&h), 0);

    th_store_totals(h.db, &t);
    assert_int_equal(t.flows, 7);
    assert_int_equal(t.batches_stored, 1);
    free(b1);
    th_hub_cleanup(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_sees_ingest),
        cmocka_unit_test(test_tls_listener),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
