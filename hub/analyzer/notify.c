/*
 * notify.c - alert delivery to syslog and a webhook, on a worker thread with a bounded queue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "fl0wer/notify.h"

#define WEBHOOK_TRIES 3
#define WEBHOOK_TIMEOUT_MS 5000

struct fl0wer_notifier {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t worker;
    bool stopping;
    bool syslog;
    nng_url *url;
    nng_http_client *client;
    nng_tls_config *tls;
    struct fl0wer_alert *queue; /* ring */
    uint32_t cap, head, len;
    struct fl0wer_notifier_stats stats;
};

/* POSTs body to the webhook. Returns the HTTP status, or a negative nng error. */
static int post_once(struct fl0wer_notifier *n, const char *body, size_t len)
{
    nng_http_req *req = NULL;
    nng_http_res *res = NULL;
    nng_aio *aio = NULL;
    int rv;

    if ((rv = nng_http_req_alloc(&req, n->url)) != 0 || (rv = nng_http_res_alloc(&res)) != 0 ||
        (rv = nng_aio_alloc(&aio, NULL, NULL)) != 0)
        goto out_free;
    nng_aio_set_timeout(aio, WEBHOOK_TIMEOUT_MS);
    nng_http_req_set_method(req, "POST");
    nng_http_req_set_header(req, "Content-Type", "application/json");
    nng_http_req_set_header(req, "User-Agent", "fl0wer-hub/" FL0WER_VERSION);
    if ((rv = nng_http_req_copy_data(req, body, len)) != 0)
        goto out_free;
    nng_http_client_transact(n->client, req, res, aio);
    nng_aio_wait(aio);
    rv = nng_aio_result(aio);
    if (rv == 0)
        rv = nng_http_res_get_status(res);
    else
        rv = -rv;
out_free:
    if (aio)
        nng_aio_free(aio);
    if (res)
        nng_http_res_free(res);
    if (req)
        nng_http_req_free(req);
    return rv;
}

static void deliver(struct fl0wer_notifier *n, const struct fl0wer_alert *a)
{
    char json[FL0WER_ALERT_JSON_MAX];
    int len = fl0wer_alert_to_json(a, json, sizeof(json));
    bool ok = false;

    if (len < 0)
        return;
    if (n->syslog) {
        syslog(a->severity >= FL0WER_SEV_CRITICAL ? LOG_CRIT : LOG_WARNING, "%s", json);
        pthread_mutex_lock(&n->lock);
        n->stats.logged++;
        pthread_mutex_unlock(&n->lock);
    }
    if (n->client == NULL)
        return;
    for (int t = 0; t < WEBHOOK_TRIES && !ok; t++) {
        int status = post_once(n, json, (size_t)len);
        ok = status >= 200 && status < 300;
        if (ok)
            break;
        if (status < 0)
            fprintf(stderr, "fl0wer-hub: warning: webhook post of alert %llu failed: %s\n",
                    (unsigned long long)a->id, nng_strerror(-status));
        else
            fprintf(stderr, "fl0wer-hub: warning: webhook post of alert %llu failed: http %d\n",
                    (unsigned long long)a->id, status);
        pthread_mutex_lock(&n->lock);
        bool stopping = n->stopping;
        pthread_mutex_unlock(&n->lock);
        if (stopping)
            break; /* shutting down: one try per alert, so destroy stays quick */
        struct timespec ts = {0, 200000000L * (t + 1)};
        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&n->lock);
    if (ok)
        n->stats.posted++;
    else
        n->stats.failed++;
    pthread_mutex_unlock(&n->lock);
}

static void *worker_main(void *arg)
{
    struct fl0wer_notifier *n = arg;
    struct fl0wer_alert a;

    pthread_mutex_lock(&n->lock);
    for (;;) {
        while (n->len == 0 && !n->stopping)
            pthread_cond_wait(&n->cond, &n->lock);
        if (n->len == 0)
            break;
        a = n->queue[n->head];
        n->head = (n->head + 1) % n->cap;
        n->len--;
        pthread_mutex_unlock(&n->lock);
        deliver(n, &a);
        pthread_mutex_lock(&n->lock);
    }
    pthread_mutex_unlock(&n->lock);
    return NULL;
}

static int setup_webhook(struct fl0wer_notifier *n, const struct fl0wer_notifier_config *cfg,
                         char *errbuf)
{
    int rv;

    if ((rv = nng_url_parse(&n->url, cfg->webhook_url)) != 0 ||
        (strcmp(n->url->u_scheme, "http") != 0 && strcmp(n->url->u_scheme, "https") != 0)) {
        snprintf(errbuf, 256, "webhook url '%s' is not an http:// or https:// url",
                 cfg->webhook_url);
        return -EINVAL;
    }
    if ((rv = nng_http_client_alloc(&n->client, n->url)) != 0) {
        snprintf(errbuf, 256, "webhook client: %s", nng_strerror(rv));
        return -ENOMEM;
    }
    if (strcmp(n->url->u_scheme, "https") == 0) {
        if ((rv = nng_tls_config_alloc(&n->tls, NNG_TLS_MODE_CLIENT)) != 0)
            return -ENOMEM;
        if (cfg->webhook_ca) {
            if ((rv = nng_tls_config_ca_file(n->tls, cfg->webhook_ca)) != 0) {
                snprintf(errbuf, 256, "webhook ca file '%s': %s", cfg->webhook_ca,
                         nng_strerror(rv));
                return -EINVAL;
            }
            nng_tls_config_server_name(n->tls, n->url->u_hostname);
            nng_tls_config_auth_mode(n->tls, NNG_TLS_AUTH_MODE_REQUIRED);
        } else {
            fprintf(stderr, "fl0wer-hub: warning: webhook %s: no --webhook-ca, the server's "
                            "certificate is not verified\n", cfg->webhook_url);
            nng_tls_config_auth_mode(n->tls, NNG_TLS_AUTH_MODE_NONE);
        }
        nng_http_client_set_tls(n->client, n->tls);
    }
    return 0;
}

int fl0wer_notifier_create(struct fl0wer_notifier **out, const struct fl0wer_notifier_config *cfg,
                           char *errbuf)
{
    struct fl0wer_notifier *n;
    int rc;

    *out = NULL;
    n = calloc(1, sizeof(*n));
    if (n == NULL)
        return -ENOMEM;
    n->cap = cfg->queue_max ? cfg->queue_max : 1024;
    n->queue = calloc(n->cap, sizeof(*n->queue));
    if (n->queue == NULL) {
        rc = -ENOMEM;
        goto out_free;
    }
    n->syslog = cfg->syslog;
    if (cfg->webhook_url && (rc = setup_webhook(n, cfg, errbuf)) != 0)
        goto out_free;
    if (n->syslog)
        openlog("fl0wer-hub", LOG_PID, LOG_DAEMON);
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->cond, NULL);
    if (pthread_create(&n->worker, NULL, worker_main, n) != 0) {
        rc = -ENOMEM;
        pthread_cond_destroy(&n->cond);
        pthread_mutex_destroy(&n->lock);
        goto out_free;
    }
    *out = n;
    return 0;

out_free:
    if (n->tls)
        nng_tls_config_free(n->tls);
    if (n->client)
        nng_http_client_free(n->client);
    if (n->url)
        nng_url_free(n->url);
    free(n->queue);
    free(n);
    return rc;
}

void fl0wer_notifier_send(struct fl0wer_notifier *n, const struct fl0wer_alert *a)
{
    pthread_mutex_lock(&n->lock);
    if (n->len == n->cap) {
        n->head = (n->head + 1) % n->cap; /* drop the oldest */
        n->len--;
        n->stats.dropped++;
    }
    n->queue[(n->head + n->len) % n->cap] = *a;
    n->len++;
    n->stats.queued++;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
}

void fl0wer_notifier_stats(struct fl0wer_notifier *n, struct fl0wer_notifier_stats *out)
{
    pthread_mutex_lock(&n->lock);
    *out = n->stats;
    pthread_mutex_unlock(&n->lock);
}

void fl0wer_notifier_destroy(struct fl0wer_notifier *n)
{
    if (n == NULL)
        return;
    pthread_mutex_lock(&n->lock);
    n->stopping = true;
    pthread_cond_signal(&n->cond);
    pthread_mutex_unlock(&n->lock);
    pthread_join(n->worker, NULL);
    if (n->syslog)
        closelog();
    if (n->tls)
        nng_tls_config_free(n->tls);
    if (n->client)
        nng_http_client_free(n->client);
    if (n->url)
        nng_url_free(n->url);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->lock);
    free(n->queue);
    free(n);
}
