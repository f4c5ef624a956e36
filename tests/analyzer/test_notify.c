/*
 * test_notify.c - alert delivery: a real HTTP server on 127.0.0.1 receives the webhook POST with
 * the alert's JSON; an unreachable webhook is retried and counted as failed; a full queue drops
 * the oldest and counts it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <arpa/inet.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "fl0wer/notify.h"

struct received {
    pthread_mutex_t lock;
    char body[2048];
    int count;
};

static struct received rx = {PTHREAD_MUTEX_INITIALIZER, "", 0};

static void hook(nng_aio *aio)
{
    nng_http_req *req = nng_aio_get_input(aio, 0);
    nng_http_res *res;
    void *data;
    size_t len;

    nng_http_req_get_data(req, &data, &len);
    pthread_mutex_lock(&rx.lock);
    if (len < sizeof(rx.body)) {
        memcpy(rx.body, data, len);
        rx.body[len] = '\0';
    }
    rx.count++;
    pthread_mutex_unlock(&rx.lock);
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    nng_http_res_set_status(res, 204);
    nng_aio_set_output(aio, 0, res);
    nng_aio_finish(aio, 0);
}

static void sample_alert(struct fl0wer_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->id = 42;
    a->kind = FL0WER_ALERT_PORT_SCAN;
    a->severity = FL0WER_SEV_WARNING;
    a->value = 1000;
    a->threshold = 100;
    assert_int_equal(fl0wer_addr_parse("198.51.100.7", a->src), 0);
    assert_int_equal(fl0wer_addr_parse("10.2.0.9", a->dst), 0);
}

static void wait_for(struct fl0wer_notifier *n, uint64_t want_done)
{
    struct fl0wer_notifier_stats st;

    for (int i = 0; i < 200; i++) {
        fl0wer_notifier_stats(n, &st);
        if (st.posted + st.failed >= want_done)
            return;
        usleep(50000);
    }
}

static void test_webhook_delivers_json(void **state)
{
    nng_url *url;
    nng_http_server *srv;
    nng_http_handler *h;
    nng_sockaddr sa;
    char hook_url[128], errbuf[256];
    struct fl0wer_notifier *n;
    struct fl0wer_notifier_config cfg = {0};
    struct fl0wer_notifier_stats st;
    struct fl0wer_alert a;

    assert_int_equal(nng_url_parse(&url, "http://127.0.0.1:0"), 0);
    assert_int_equal(nng_http_server_hold(&srv, url), 0);
    assert_int_equal(nng_http_handler_alloc(&h, "/hook", hook), 0);
    assert_int_equal(nng_http_handler_set_method(h, "POST"), 0);
    assert_int_equal(nng_http_server_add_handler(srv, h), 0);
    assert_int_equal(nng_http_server_start(srv), 0);
    assert_int_equal(nng_http_server_get_addr(srv, &sa), 0);
    snprintf(hook_url, sizeof(hook_url), "http://127.0.0.1:%u/hook",
             (unsigned)ntohs(sa.s_in.sa_port));

    cfg.webhook_url = hook_url;
    assert_int_equal(fl0wer_notifier_create(&n, &cfg, errbuf), 0);
    sample_alert(&a);
    fl0wer_notifier_send(n, &a);
    wait_for(n, 1);
    fl0wer_notifier_stats(n, &st);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.posted, 1);
    assert_int_equal(st.failed, 0);
    pthread_mutex_lock(&rx.lock);
    assert_int_equal(rx.count, 1);
    assert_non_null(strstr(rx.body, "\"id\":42,\"kind\":\"port_scan\",\"severity\":\"warning\""));
    assert_non_null(strstr(rx.body, "\"src\":\"198.51.100.7\",\"dst\":\"10.2.0.9\""));
    pthread_mutex_unlock(&rx.lock);
    fl0wer_notifier_destroy(n);
    nng_http_server_stop(srv);
    nng_http_server_release(srv);
    nng_url_free(url);
}

static void test_unreachable_webhook_counts_failure(void **state)
{
    char errbuf[256];
    struct fl0wer_notifier *n;
    struct fl0wer_notifier_config cfg = {0};
    struct fl0wer_notifier_stats st;
    struct fl0wer_alert a;

    cfg.webhook_url = "http://127.0.0.1:1/hook"; /* nothing listens on port 1 */
    assert_int_equal(fl0wer_notifier_create(&n, &cfg, errbuf), 0);
    sample_alert(&a);
    fl0wer_notifier_send(n, &a);
    wait_for(n, 1);
    fl0wer_notifier_stats(n, &st);
    assert_int_equal(st.posted, 0);
    assert_int_equal(st.failed, 1);
    fl0wer_notifier_destroy(n);
}

static void test_bad_url_and_queue_overflow(void **state)
{
    char errbuf[256];
    struct fl0wer_notifier *n;
    struct fl0wer_notifier_config cfg = {0};
    struct fl0wer_notifier_stats st;
    struct fl0wer_alert a;

    cfg.webhook_url = "ftp://example.invalid/x";
    assert_int_equal(fl0wer_notifier_create(&n, &cfg, errbuf), -EINVAL);
    assert_non_null(strstr(errbuf, "not an http:// or https:// url"));

    cfg.webhook_url = "http://127.0.0.1:1/hook";
    cfg.queue_max = 4;
    assert_int_equal(fl0wer_notifier_create(&n, &cfg, errbuf), 0);
    sample_alert(&a);
    for (int i = 0; i < 20; i++)
        fl0wer_notifier_send(n, &a);
    fl0wer_notifier_stats(n, &st);
    assert_int_equal(st.queued, 20);
    /* The worker holds at most one alert outside the queue of 4: at least 15 were dropped. */
    assert_true(st.dropped >= 15);
    fl0wer_notifier_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_webhook_delivers_json),
        cmocka_unit_test(test_unreachable_webhook_counts_failure),
        cmocka_unit_test(test_bad_url_and_queue_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
