/*
 * api.c - the API object: TLS and listener setup with nng's HTTP server, the worker pool that
 * runs requests off nng's threads, routing, authentication and responses. Endpoint bodies are
 * in endpoints.c, metrics.c and flows.c.
 *
 * Request path: nng calls api_http_cb on its own thread; the request is queued (503 when the
 * queue is full) and a worker authenticates it, validates its parameters, runs the query and
 * finishes nng's aio with the response. Handlers are given a destructor so fl0wer_api_stop can
 * wait until nng holds no more references to the API object.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api_int.h"

uint64_t api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void api_log(struct fl0wer_api *a, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (a && a->hooks.log)
        a->hooks.log(a->hooks.arg, level, msg);
    else
        fprintf(stderr, "fl0wer-hub: %s\n", msg);
}

void api_count(struct fl0wer_api *a, enum api_endpoint ep, int status)
{
    int c;
    switch (status) {
    case 200: c = API_CODE_200; break;
    case 400: c = API_CODE_400; break;
    case 401: c = API_CODE_401; break;
    case 403: c = API_CODE_403; break;
    case 404: c = API_CODE_404; break;
    case 405: c = API_CODE_405; break;
    case 503: c = API_CODE_503; break;
    default: c = API_CODE_500; break;
    }
    atomic_fetch_add(&a->requests[ep][c], 1);
}

/* Finishes job's aio with a response (body copied). Frees nothing else. */
static void api_respond(struct api_job *job, int status, const struct api_buf *body,
                        const char *ctype)
{
    nng_http_res *res = NULL;
    static const char fallback[] = "{\"error\":\"out of memory\"}";
    const char *data = body && body->data && !body->failed ? body->data : fallback;
    size_t len = body && body->data && !body->failed ? body->len : sizeof(fallback) - 1;

    if (body && body->failed)
        status = 503;
    api_count(job->api, job->ep, status);
    if (nng_http_res_alloc(&res) != 0) {
        nng_aio_finish(job->aio, NNG_ENOMEM);
        job->aio = NULL;
        return;
    }
    if (nng_http_res_set_status(res, (uint16_t)status) != 0 ||
        nng_http_res_set_header(res, "Content-Type", ctype) != 0 ||
        nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
        (status == 401 &&
         nng_http_res_set_header(res, "WWW-Authenticate", "Bearer realm=\"fl0wer\"") != 0) ||
        nng_http_res_copy_data(res, data, len) != 0) {
        nng_http_res_free(res);
        nng_aio_finish(job->aio, NNG_ENOMEM);
        job->aio = NULL;
        return;
    }
    nng_aio_set_output(job->aio, 0, res);
    nng_aio_finish(job->aio, 0);
    job->aio = NULL;
}

static void api_respond_error(struct api_job *job, int status, const char *msg)
{
    struct api_buf b;
    api_buf_init(&b);
    api_error_body(&b, msg, NULL);
    api_respond(job, status, &b, "application/json");
    api_buf_release(&b);
}

/* The routing table: path under /api/v1 (or /metrics), method, parameters, admin-only. */
static const struct api_route {
    const char *path;
    const char *method;
    enum api_endpoint ep;
    unsigned params;
    bool admin;
} api_routes[] = {
    {"/api/v1/summary", "GET", API_EP_SUMMARY, API_P_RANGE | API_P_FILTER | API_P_UNSCALED, 0},
    {"/api/v1/top", "GET", API_EP_TOP,
     API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_TOP, 0},
    {"/api/v1/flows", "GET", API_EP_FLOWS, API_P_RANGE | API_P_FILTER | API_P_LIMIT, 0},
    {"/api/v1/series", "GET", API_EP_SERIES,
     API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_STEP, 0},
    {"/api/v1/exporters", "GET", API_EP_EXPORTERS, 0, 0},
    {"/api/v1/edges", "GET", API_EP_EDGES, 0, 0},
    {"/api/v1/alerts", "GET", API_EP_ALERTS, API_P_RANGE | API_P_FILTER | API_P_ALERT | API_P_LIMIT,
     0},
    {"/api/v1/status", "GET", API_EP_STATUS, 0, 0},
    {"/api/v1/reload", "POST", API_EP_RELOAD, 0, 1},
    {"/metrics", "GET", API_EP_METRICS, 0, 0},
};

static const struct api_route *api_route_find(const char *uri)
{
    size_t len = strcspn(uri, "?#");
    while (len > 1 && uri[len - 1] == '/')
        len--;
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++)
        if (strlen(api_routes[i].path) == len && strncmp(api_routes[i].path, uri, len) == 0)
            return &api_routes[i];
    return NULL;
}

static int api_reload_endpoint(struct fl0wer_api *a, struct api_buf *body)
{
    struct jw w;
    size_t n;
    if (fl0wer_api_reload_tokens(a) != 0) {
        api_error_body(body, "cannot reload the tokens file (see the hub log); old tokens kept",
                       NULL);
        return 500;
    }
    pthread_mutex_lock(&a->tok_mu);
    n = a->tokens.n;
    pthread_mutex_unlock(&a->tok_mu);
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_key(&w, "reloaded");
    jw_bool(&w, true);
    jw_ku64(&w, "tokens", n);
    jw_obj_end(&w);
    return 200;
}

/* Runs one endpoint whose parameters are valid. Returns the status; body filled. */
static int api_dispatch(struct fl0wer_api *a, enum api_endpoint ep, const struct api_params *p,
                        struct api_buf *body)
{
    switch (ep) {
    case API_EP_SUMMARY: return api_ep_summary(a, p, body);
    case API_EP_TOP: return api_ep_top(a, p, body);
    case API_EP_SERIES: return api_ep_series(a, p, body);
    case API_EP_EXPORTERS: return api_ep_exporters(a, body);
    case API_EP_EDGES: return api_ep_edges(a, body);
    case API_EP_ALERTS: return api_ep_alerts(a, p, body);
    case API_EP_STATUS: return api_ep_status(a, body);
    case API_EP_RELOAD: return api_reload_endpoint(a, body);
    case API_EP_METRICS: return api_ep_metrics(a, body);
    default:
        api_error_body(body, "not found", NULL);
        return 404;
    }
}

/* Serves one request on a worker thread; always finishes job->aio. */
static void api_serve(struct api_job *job)
{
    struct fl0wer_api *a = job->api;
    const char *uri = nng_http_req_get_uri(job->req);
    const char *method = nng_http_req_get_method(job->req);
    const struct api_route *r = api_route_find(uri);
    struct api_qs qs;
    struct api_params p;
    struct api_buf body;
    int role, status;

    memset(&p, 0, sizeof(p));
    memset(&qs, 0, sizeof(qs));
    api_buf_init(&body);
    job->ep = r ? r->ep : API_EP_OTHER;
    pthread_mutex_lock(&a->tok_mu);
    role = api_tokens_check(&a->tokens, nng_http_req_get_header(job->req, "Authorization"));
    pthread_mutex_unlock(&a->tok_mu);
    if (role < 0) {
        api_error_body(&body, "unauthorized", NULL);
        status = 401;
        goto out_respond;
    }
    if (!r) {
        api_error_body(&body, "not found", NULL);
        status = 404;
        goto out_respond;
    }
    if (strcmp(method, r->method) != 0) {
        api_error_body(&body, "method not allowed", NULL);
        status = 405;
        goto out_respond;
    }
    if (r->admin && role < 1) {
        api_error_body(&body, "forbidden: this action needs an admin token", NULL);
        status = 403;
        goto out_respond;
    }
    if (api_qs_parse(uri, &qs) != 0) {
        api_error_body(&body, "malformed query string (bad %-escape or too many parameters)",
                       NULL);
        status = 400;
        goto out_respond;
    }
    status = api_params_parse(&qs, r->params, r->ep, api_now_ms(), &p, &body);
    if (status != 0)
        goto out_respond;
    if (r->ep == API_EP_FLOWS) {
        api_count(a, job->ep, 200);
        api_ep_flows_stream(job, &p);
        goto out;
    }
    status = api_dispatch(a, r->ep, &p, &body);
out_respond:
    api_respond(job, status, &body,
                job->ep == API_EP_METRICS && status == 200
                    ? "text/plain; version=0.0.4; charset=utf-8"
                    : "application/json");
out:
    api_params_release(&p);
    api_qs_release(&qs);
    api_buf_release(&body);
}

void *api_worker(void *arg)
{
    struct fl0wer_api *a = arg;
    for (;;) {
        pthread_mutex_lock(&a->q_mu);
        while (!a->q_head && !a->stopping)
            pthread_cond_wait(&a->q_cv, &a->q_mu);
        struct api_job *job = a->q_head;
        if (job) {
            a->q_head = job->next;
            if (!a->q_head)
                a->q_tail = NULL;
            a->queued--;
        }
        bool stopping = a->stopping;
        pthread_mutex_unlock(&a->q_mu);
        if (!job)
            break;
        if (stopping)
            api_respond_error(job, 503, "the hub is shutting down");
        else
            api_serve(job);
        free(job);
    }
    return NULL;
}

/* nng's handler callback (nng thread): queue the request for a worker. */
void api_http_cb(nng_aio *aio)
{
    nng_http_handler *h = nng_aio_get_input(aio, 1);
    struct fl0wer_api *a = nng_http_handler_get_data(h);
    struct api_job *job = calloc(1, sizeof(*job));
    if (!job) {
        nng_aio_finish(aio, NNG_ENOMEM);
        return;
    }
    job->api = a;
    job->aio = aio;
    job->req = nng_aio_get_input(aio, 0);
    job->conn = nng_aio_get_input(aio, 2);
    job->ep = API_EP_OTHER;
    pthread_mutex_lock(&a->q_mu);
    if (a->stopping || a->queued >= a->max_queued) {
        bool stopping = a->stopping;
        pthread_mutex_unlock(&a->q_mu);
        api_respond_error(job, 503, stopping ? "the hub is shutting down"
                                             : "too many requests in progress, retry later");
        free(job);
        return;
    }
    if (a->q_tail)
        a->q_tail->next = job;
    else
        a->q_head = job;
    a->q_tail = job;
    a->queued++;
    pthread_cond_signal(&a->q_cv);
    pthread_mutex_unlock(&a->q_mu);
}

/* Handler destructor: nng holds no more references to a through this handler. */
void api_handler_gone(void *arg)
{
    struct fl0wer_api *a = arg;
    pthread_mutex_lock(&a->q_mu);
    a->handlers_alive--;
    pthread_cond_broadcast(&a->gone_cv);
    pthread_mutex_unlock(&a->q_mu);
}

int fl0wer_api_reload_tokens(struct fl0wer_api *a)
{
    struct api_tokens fresh, old;
    char err[256];
    if (api_tokens_load(a->tokens_path, &fresh, err) != 0) {
        api_log(a, 0, "%s (keeping the previous tokens)", err);
        return FL0WER_API_ERR_TOKENS;
    }
    pthread_mutex_lock(&a->tok_mu);
    old = a->tokens;
    a->tokens = fresh;
    pthread_mutex_unlock(&a->tok_mu);
    api_tokens_release(&old);
    api_log(a, 2, "loaded %zu tokens from %s", fresh.n, a->tokens_path);
    return 0;
}

int fl0wer_api_port(const struct fl0wer_api *a)
{
    return a->port;
}

int fl0wer_api_fingerprint(const struct fl0wer_api *a, char *buf, size_t len)
{
    if (a->insecure)
        return -1;
    snprintf(buf, len, "%s", a->fingerprint);
    return 0;
}
