/*
 * setup.c - fl0wer_api_start/stop: copies the configuration, loads tokens, prepares TLS (a
 * configured certificate, or the self-signed pair in the data directory, created on first
 * start), binds nng's HTTP server, starts the workers; and tears all of it down in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <sodium.h>

#include "api_int.h"

/* One query's raw-scan threads by default: the online CPUs, at most 8 (a scan's chunks are
 * whole minutes; more threads than that rarely pay on one query). */
static unsigned default_query_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (unsigned)n;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/*
 * Resolves the certificate and key paths (configured, or self-signed in data_dir, generated
 * if absent), loads them into a server TLS config and records the fingerprint.
 */
static int setup_tls(struct fl0wer_api *a, const struct fl0wer_api_config *cfg, char *errbuf)
{
    char cert_path[4096], key_path[4096];
    char *cert_pem = NULL, *key_pem = NULL;
    int rc = FL0WER_API_ERR_TLS, r;

    if ((cfg->tls_cert != NULL) != (cfg->tls_key != NULL)) {
        snprintf(errbuf, 256, "--tls-cert and --tls-key must be given together");
        return FL0WER_API_ERR_INVAL;
    }
    if (cfg->tls_cert) {
        snprintf(cert_path, sizeof(cert_path), "%s", cfg->tls_cert);
        snprintf(key_path, sizeof(key_path), "%s", cfg->tls_key);
    } else {
        if (!cfg->data_dir) {
            snprintf(errbuf, 256, "no data directory for the self-signed certificate");
            return FL0WER_API_ERR_INVAL;
        }
        snprintf(cert_path, sizeof(cert_path), "%s/%s", cfg->data_dir, FL0WER_API_CERT_FILE);
        snprintf(key_path, sizeof(key_path), "%s/%s", cfg->data_dir, FL0WER_API_KEY_FILE);
        bool hc = file_exists(cert_path), hk = file_exists(key_path);
        if (hc != hk) {
            snprintf(errbuf, 256, "found only one of %.100s and %.100s: remove it or restore the other",
                     hc ? cert_path : key_path, hc ? key_path : cert_path);
            return FL0WER_API_ERR_TLS;
        }
        if (!hc) {
            if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
                snprintf(errbuf, 256, "cannot create %s: %s", cfg->data_dir, strerror(errno));
                return FL0WER_API_ERR_TLS;
            }
            if ((r = api_cert_generate(cert_path, key_path, errbuf)) != 0)
                return r;
            api_log(a, 2, "created self-signed certificate %s", cert_path);
        }
    }
    if ((r = api_read_file(cert_path, &cert_pem, NULL)) != 0) {
        snprintf(errbuf, 256, "cannot read certificate %.180s: %s", cert_path, strerror(-r));
        goto out;
    }
    if ((r = api_read_file(key_path, &key_pem, NULL)) != 0) {
        snprintf(errbuf, 256, "cannot read key %.180s: %s", key_path, strerror(-r));
        goto out;
    }
    if (fl0wer_api_cert_fingerprint(cert_path, a->fingerprint, sizeof(a->fingerprint)) != 0) {
        snprintf(errbuf, 256, "%.200s is not a PEM certificate", cert_path);
        goto out;
    }
    if ((r = nng_tls_config_alloc(&a->tls, NNG_TLS_MODE_SERVER)) != 0) {
        snprintf(errbuf, 256, "cannot create tls config: %s", nng_strerror(r));
        goto out;
    }
    if ((r = nng_tls_config_own_cert(a->tls, cert_pem, key_pem, NULL)) != 0) {
        snprintf(errbuf, 256, "certificate %.100s / key %.100s unusable: %s", cert_path, key_path,
                 nng_strerror(r));
        goto out;
    }
    api_log(a, 2, "tls certificate %s sha-256 fingerprint %s", cert_path, a->fingerprint);
    rc = 0;
out:
    if (key_pem) {
        sodium_memzero(key_pem, strlen(key_pem));
        free(key_pem);
    }
    free(cert_pem);
    return rc;
}

/* Allocates one handler for path, all methods, sharing a as its data. */
static int setup_handler(struct fl0wer_api *a, const char *path, bool tree, int slot)
{
    nng_http_handler *h;
    int r = nng_http_handler_alloc(&h, path, api_http_cb);
    if (r != 0)
        return r;
    if ((r = nng_http_handler_set_method(h, NULL)) != 0 ||
        (tree && (r = nng_http_handler_set_tree(h)) != 0) ||
        (r = nng_http_handler_collect_body(h, true, 65536)) != 0 ||
        (r = nng_http_handler_set_data(h, a, api_handler_gone)) != 0) {
        nng_http_handler_free(h);
        return r;
    }
    pthread_mutex_lock(&a->q_mu);
    a->handlers_alive++;
    pthread_mutex_unlock(&a->q_mu);
    if ((r = nng_http_server_add_handler(a->server, h)) != 0) {
        nng_http_handler_free(h); /* runs api_handler_gone */
        return r;
    }
    a->handlers[slot] = h;
    return 0;
}

/* Binds and starts the HTTP(S) server on cfg->listen. */
static int setup_server(struct fl0wer_api *a, char *errbuf)
{
    char url_text[300];
    nng_url *url = NULL;
    nng_sockaddr sa;
    int r;

    if (strstr(a->listen, "://") || !strchr(a->listen, ':')) {
        snprintf(errbuf, 256, "api listen address must be ADDR:PORT, got '%s'", a->listen);
        return FL0WER_API_ERR_INVAL;
    }
    snprintf(url_text, sizeof(url_text), "%s://%s", a->insecure ? "http" : "https", a->listen);
    if ((r = nng_url_parse(&url, url_text)) != 0) {
        snprintf(errbuf, 256, "bad api listen address '%s': %s", a->listen, nng_strerror(r));
        return FL0WER_API_ERR_INVAL;
    }
    r = nng_http_server_hold(&a->server, url);
    nng_url_free(url);
    if (r != 0) {
        a->server = NULL;
        snprintf(errbuf, 256, "cannot create http server on %s: %s", a->listen, nng_strerror(r));
        return FL0WER_API_ERR_LISTEN;
    }
    if (a->tls && (r = nng_http_server_set_tls(a->server, a->tls)) != 0) {
        snprintf(errbuf, 256, "cannot enable tls: %s", nng_strerror(r));
        return FL0WER_API_ERR_TLS;
    }
    if ((r = setup_handler(a, "/api/v1", true, 0)) != 0 ||
        (r = setup_handler(a, "/metrics", false, 1)) != 0) {
        snprintf(errbuf, 256, "cannot register api handlers: %s", nng_strerror(r));
        return FL0WER_API_ERR_LISTEN;
    }
    if ((r = nng_http_server_start(a->server)) != 0) {
        snprintf(errbuf, 256, "cannot listen on %s: %s", a->listen, nng_strerror(r));
        return FL0WER_API_ERR_LISTEN;
    }
    memset(&sa, 0, sizeof(sa));
    if (nng_http_server_get_addr(a->server, &sa) == 0) {
        if (sa.s_family == NNG_AF_INET)
            a->port = ntohs(sa.s_in.sa_port);
        else if (sa.s_family == NNG_AF_INET6)
            a->port = ntohs(sa.s_in6.sa_port);
    }
    return 0;
}

/* Stops everything start set up, in order; safe on a partly started API. Frees a. */
static void teardown(struct fl0wer_api *a)
{
    struct timespec until;
    pthread_mutex_lock(&a->q_mu);
    a->stopping = true;
    atomic_store(&a->halting, true);
    pthread_cond_broadcast(&a->q_cv);
    pthread_mutex_unlock(&a->q_mu);
    for (int i = 0; i < 2; i++) {
        if (!a->handlers[i])
            continue;
        nng_http_server_del_handler(a->server, a->handlers[i]);
        nng_http_handler_free(a->handlers[i]);
        a->handlers[i] = NULL;
    }
    for (unsigned i = 0; i < a->n_workers; i++)
        pthread_join(a->workers[i], NULL);
    /* Wait (bounded) until nng has dropped every reference to a. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock(&a->q_mu);
    while (a->handlers_alive > 0)
        if (pthread_cond_timedwait(&a->gone_cv, &a->q_mu, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&a->q_mu);
    if (a->server) {
        nng_http_server_stop(a->server);
        nng_http_server_release(a->server);
    }
    if (a->tls)
        nng_tls_config_free(a->tls);
    api_tokens_release(&a->tokens);
    pthread_cond_destroy(&a->gone_cv);
    pthread_cond_destroy(&a->q_cv);
    pthread_mutex_destroy(&a->q_mu);
    pthread_mutex_destroy(&a->tok_mu);
    free(a->workers);
    free(a->listen);
    free(a->tokens_path);
    free(a);
}

int fl0wer_api_start(struct fl0wer_api **out, const struct fl0wer_api_config *cfg,
                     struct fl0wer_store *store, const struct fl0wer_api_hooks *hooks,
                     char *errbuf)
{
    struct fl0wer_api *a;
    unsigned n;
    int rc;

    snprintf(errbuf, 256, "ok");
    if (!out || !cfg || !store) {
        snprintf(errbuf, 256, "fl0wer_api_start: missing argument");
        return FL0WER_API_ERR_INVAL;
    }
    if (sodium_init() < 0) {
        snprintf(errbuf, 256, "cannot initialise libsodium");
        return FL0WER_API_ERR_NOMEM;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        snprintf(errbuf, 256, "out of memory");
        return FL0WER_API_ERR_NOMEM;
    }
    pthread_mutex_init(&a->tok_mu, NULL);
    pthread_mutex_init(&a->q_mu, NULL);
    pthread_cond_init(&a->q_cv, NULL);
    pthread_cond_init(&a->gone_cv, NULL);
    atomic_init(&a->halting, false);
    atomic_init(&a->flows_streamed, 0);
    a->store = store;
    if (hooks)
        a->hooks = *hooks;
    a->insecure = cfg->insecure;
    a->deadline_ms = cfg->query_deadline_ms ? cfg->query_deadline_ms : 10000;
    a->query_threads = cfg->query_threads ? cfg->query_threads : default_query_threads();
    a->max_queued = cfg->max_queued ? cfg->max_queued : 256;
    a->started_ms = api_now_ms();
    a->listen = strdup(cfg->listen ? cfg->listen : FL0WER_API_DEFAULT_LISTEN);
    a->tokens_path = cfg->tokens_file ? strdup(cfg->tokens_file) : NULL;
    n = cfg->workers ? cfg->workers : 4;
    a->workers = calloc(n, sizeof(*a->workers));
    if (!a->listen || (cfg->tokens_file && !a->tokens_path) || !a->workers) {
        snprintf(errbuf, 256, "out of memory");
        rc = FL0WER_API_ERR_NOMEM;
        goto out_fail;
    }
    if ((rc = api_tokens_load(a->tokens_path, &a->tokens, errbuf)) != 0)
        goto out_fail;
    if (!a->insecure && (rc = setup_tls(a, cfg, errbuf)) != 0)
        goto out_fail;
    if (a->insecure)
        api_log(a, 1, "serving PLAIN HTTP on %s (--api-insecure): tokens travel in clear",
                a->listen);
    for (; a->n_workers < n; a->n_workers++)
        if (pthread_create(&a->workers[a->n_workers], NULL, api_worker, a) != 0) {
            snprintf(errbuf, 256, "cannot start api worker threads");
            rc = FL0WER_API_ERR_NOMEM;
            goto out_fail;
        }
    if ((rc = setup_server(a, errbuf)) != 0)
        goto out_fail;
    api_log(a, 2, "listening on %s (port %d, %s)", a->listen, a->port,
            a->insecure ? "http" : "https");
    *out = a;
    return 0;
out_fail:
    teardown(a);
    return rc;
}

void fl0wer_api_stop(struct fl0wer_api *a)
{
    if (a)
        teardown(a);
}
