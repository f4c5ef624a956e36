/*
 * test_hub_alerts.c - the analyzer inside a real fl0wer-hub: a batch carrying a port scan and
 * traffic to a blocklisted address raises exactly those two alerts, visible through
 * /api/v1/alerts (with kind, state and filter parameters), counted in /metrics, posted to a
 * webhook served by this test, resolved once the scan stops, and still listed after a restart
 * (stored in RocksDB). A batch of ordinary traffic raises nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>

#include "hub_harness.h"

#define TOKEN "alert-test-token-0123456789"

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static char hook_bodies[8][1024];
static int hook_count;

static void hook(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    nng_http_res *res;
    void *data;
    size_t len;

    nng_http_req_get_data(req, &data, &len);
    pthread_mutex_lock(&hook_lock);
    if (hook_count < 8 && len < sizeof(hook_bodies[0])) {
        memcpy(hook_bodies[hook_count], data, len);
        hook_bodies[hook_count][len] = '\0';
    }
    hook_count++;
    pthread_mutex_unlock(&hook_lock);
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static void add(struct fl0wer_batch_builder *b, const char *src, const char *dst, uint8_t proto,
                uint16_t dport, uint8_t flags, uint64_t bytes, uint64_t packets)
{
    struct fl0wer_flow f;

    fl0wer_flow_init(&f);
    assert_int_equal(fl0wer_addr_parse("192.0.2.1", f.exporter), 0);
    assert_int_equal(fl0wer_addr_parse(src, f.src_addr), 0);
    assert_int_equal(fl0wer_addr_parse(dst, f.dst_addr), 0);
    f.proto = proto;
    f.src_port = 50000;
    f.dst_port = dport;
    f.tcp_flags = flags;
    f.bytes = bytes;
    f.packets = packets;
    f.version = FL0WER_EXPORT_IPFIX;
    f.last_ms = (uint64_t)time(NULL) * 1000u;
    f.first_ms = f.last_ms - 500;
    assert_int_equal(fl0wer_batch_add_flow(b, &f), 0);
}

static void send_batch(struct th_hub *h, struct fl0wer_batch_builder *b, uint64_t seq)
{
    uint8_t *buf;
    size_t len;

    assert_int_equal(fl0wer_batch_finish(b, seq, (uint64_t)time(NULL) * 1000u, NULL, &buf, &len),
                     0);
    assert_int_equal(th_send(h->url, buf, len, NULL), FL0WER_ACK_STORED);
    free(buf);
    fl0wer_batch_builder_reset(b);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Polls path until its body holds needle `want` times (up to ~15 s). Returns the body. */
static const char *wait_body(struct th_hub *h, const char *path, const char *needle, int want)
{
    static char body[65536];

    for (int i = 0; i < 150; i++) {
        assert_int_equal(th_http_get(h->api, path, TOKEN, body, sizeof(body)), 200);
        if (count(body, needle) == want)
            return body;
        usleep(100000);
    }
    fail_msg("%s never held '%s' %d times: %s", path, needle, want, body);
    return NULL;
}

static void test_scan_and_blocklist_raise_alerts(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key key;
    const struct fl0wer_edge_key *auth[1] = {&key};
    struct fl0wer_batch_builder b;
    char path[512], tokens[300], block[300], hook_url[128];
    char body[65536];
    nng_url *url;
    nng_http_server *srv;
    nng_http_handler *handler;
    nng_sockaddr sa;
    FILE *f;

    assert_int_equal(nng_url_parse(&url, "http://127.0.0.1:0"), 0);
    assert_int_equal(nng_http_server_hold(&srv, url), 0);
    assert_int_equal(nng_http_handler_alloc(&handler, "/hook", hook), 0);
    assert_int_equal(nng_http_handler_set_method(handler, "POST"), 0);
    assert_int_equal(nng_http_server_add_handler(srv, handler), 0);
    assert_int_equal(nng_http_server_start(srv), 0);
    assert_int_equal(nng_http_server_get_addr(srv, &sa), 0);
    snprintf(hook_url, sizeof(hook_url), "http://127.0.0.1:%u/hook",
             (unsigned)ntohs(sa.s_in.sa_port));

    assert_int_equal(fl0wer_edge_key_generate(&key, "site-a"), 0);
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    snprintf(tokens, sizeof(tokens), "%s/tokens", h.dir);
    f = fopen(tokens, "w");
    assert_non_null(f);
    fprintf(f, "tester read %s\n", TOKEN);
    fclose(f);
    snprintf(block, sizeof(block), "%s/blocklist", h.dir);
    f = fopen(block, "w");
    assert_non_null(f);
    fprintf(f, "# test\n203.0.113.0/24\n");
    fclose(f);
    h.no_api_flag_off = true;
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api=127.0.0.1:0");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api-insecure");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--api-tokens=%s", tokens);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--analyzer-window=1s");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--blocklist=%s", block);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--webhook=%s", hook_url);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--alert-syslog=false");
    th_hub_start(&h);

    /* Ordinary traffic first: nothing. */
    assert_int_equal(fl0wer_batch_builder_init(&b, &key), 0);
    for (int c = 0; c < 50; c++) {
        char src[32];
        snprintf(src, sizeof(src), "10.1.0.%d", c + 1);
        add(&b, src, "10.2.0.1", 6, 443, 0x1b, 30000, 25);
    }
    send_batch(&h, &b, 1);
    sleep(2);
    assert_int_equal(th_http_get(h.api, "/api/v1/alerts?from=-1h", TOKEN, body, sizeof(body)),
                     200);
    assert_string_equal(body, "{\"alerts\":[]}");

    /* A scan of 300 ports and one connection to a listed address. */
    for (int p = 1; p <= 300; p++)
        add(&b, "198.51.100.7", "10.2.0.9", 6, (uint16_t)p, 0x02, 44, 1);
    add(&b, "10.1.0.5", "203.0.113.80", 6, 8443, 0x1b, 9000, 12);
    send_batch(&h, &b, 2);

    wait_body(&h, "/api/v1/alerts?from=-1h", "\"kind\":", 2);
    snprintf(path, sizeof(path), "/api/v1/alerts?from=-1h&kind=port_scan");
    const char *scan = wait_body(&h, path, "\"kind\":\"port_scan\"", 1);
    assert_non_null(strstr(scan, "\"src\":\"198.51.100.7\",\"dst\":\"10.2.0.9\""));
    assert_int_equal(count(scan, "\"kind\":"), 1);
    const char *bl = wait_body(&h, "/api/v1/alerts?from=-1h&kind=blocklist", "\"kind\":", 1);
    assert_non_null(strstr(bl, "\"src\":\"10.1.0.5\",\"dst\":\"203.0.113.80\",\"proto\":6,"
                               "\"port\":8443"));
    assert_non_null(strstr(bl, "\"value\":9000"));
    /* The filter applies to an alert's addresses as to a flow's. */
    wait_body(&h, "/api/v1/alerts?from=-1h&filter=host%20203.0.113.80", "\"kind\":", 1);
    wait_body(&h, "/api/v1/alerts?from=-1h&filter=host%2010.9.9.9", "\"kind\":", 0);
    assert_int_equal(th_http_get(h.api, "/api/v1/alerts?kind=nope", TOKEN, body, sizeof(body)),
                     400);
    assert_non_null(strstr(body, "\"param\":\"kind\""));

    /* Metrics count them; the webhook got them. */
    wait_body(&h, "/metrics", "fl0wer_alerts_raised_total{kind=\"port_scan\"} 1", 1);
    wait_body(&h, "/metrics", "fl0wer_alerts_raised_total{kind=\"blocklist\"} 1", 1);
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&hook_lock);
        int n = hook_count;
        pthread_mutex_unlock(&hook_lock);
        if (n >= 2)
            break;
        usleep(100000);
    }
    pthread_mutex_lock(&hook_lock);
    assert_true(hook_count >= 2);
    int scans = 0;
    for (int i = 0; i < hook_count && i < 8; i++)
        scans += strstr(hook_bodies[i], "\"kind\":\"port_scan\"") != NULL;
    assert_true(scans >= 1);
    pthread_mutex_unlock(&hook_lock);

    /* Quiet for three windows: both resolve. */
    wait_body(&h, "/api/v1/alerts?from=-1h&state=resolved", "\"kind\":", 2);

    /* The CLI lists them too, as csv with the table's columns. */
    char cmd[1024], out[4096] = "";
    snprintf(cmd, sizeof(cmd),
             "%s/tools/fl0wer/fl0wer alerts --server %s --token %s --insecure --from -1h "
             "--kind port_scan --state resolved --format csv 2>/dev/null",
             FL0WER_BINARY_DIR, h.api, TOKEN);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(out, "last,kind,severity,state,src,dst,port,exporter,edge,value,"
                                "threshold,updates,id\n"));
    assert_non_null(strstr(out, ",port_scan,warning,resolved,198.51.100.7,10.2.0.9,0,,,"));
    assert_int_equal(count(out, "\n"), 2);

    /* Stored: a restarted hub still lists them. */
    assert_int_equal(th_hub_stop(&h), 0);
    th_hub_start(&h);
    wait_body(&h, "/api/v1/alerts?from=-1h", "\"state\":\"resolved\"", 2);

    assert_int_equal(th_hub_stop(&h), 0);
    fl0wer_batch_builder_release(&b);
    th_hub_cleanup(&h);
    nng_http_server_stop(srv);
    nng_http_server_release(srv);
    nng_url_free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_and_blocklist_raise_alerts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
