/*
 * api_int.h - internals shared by the files of hub/api: the API object, the request being
 * served, token table, query parameters, and the per-endpoint entry points.
 */
#ifndef FL0WER_API_INT_H
#define FL0WER_API_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>

#include "fl0wer/api.h"
#include "fl0wer/filter.h"
#include "fl0wer/query.h"
#include "jsonw.h"

/* ---- tokens (auth.c) ---- */
struct api_token {
    char name[64];
    bool admin;
    unsigned char hash[32]; /* crypto_generichash of the token */
};

struct api_tokens {
    struct api_token *v;
    size_t n;
};

/* Parses the tokens file. Returns 0 or FL0WER_API_ERR_TOKENS with errbuf (256). */
int api_tokens_load(const char *path, struct api_tokens *out, char *errbuf);
void api_tokens_release(struct api_tokens *t);
/*
 * Checks an Authorization header value in constant time over the table. Returns 1 for an admin
 * token, 0 for a read token, -1 when missing or unknown.
 */
int api_tokens_check(const struct api_tokens *t, const char *authorization);

/* ---- endpoints and counters ---- */
enum api_endpoint {
    API_EP_SUMMARY = 0,
    API_EP_TOP,
    API_EP_FLOWS,
    API_EP_SERIES,
    API_EP_EXPORTERS,
    API_EP_EDGES,
    API_EP_ALERTS,
    API_EP_STATUS,
    API_EP_RELOAD,
    API_EP_METRICS,
    API_EP_OTHER,
    API_EP__COUNT
};

/* Status codes counted for /metrics. */
enum { API_CODE_200 = 0, API_CODE_400, API_CODE_401, API_CODE_403, API_CODE_404, API_CODE_405,
       API_CODE_500, API_CODE_503, API_CODE__COUNT };

struct api_job;

struct fl0wer_api {
    char *listen;
    char *tokens_path;
    bool insecure;
    uint32_t deadline_ms;
    unsigned query_threads; /* fl0wer_query.threads of every query */
    struct fl0wer_store *store;
    struct fl0wer_api_hooks hooks;
    uint64_t started_ms;

    nng_http_server *server;
    nng_http_handler *handlers[2];
    nng_tls_config *tls;
    char fingerprint[FL0WER_API_FINGERPRINT_LEN];
    int port;

    pthread_mutex_t tok_mu;
    struct api_tokens tokens;

    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;     /* work queued or stopping */
    pthread_cond_t gone_cv;  /* a handler was destroyed by nng */
    struct api_job *q_head, *q_tail;
    unsigned queued, max_queued;
    unsigned handlers_alive;
    bool stopping;
    atomic_bool halting; /* read without the lock by long-running streams */
    pthread_t *workers;
    unsigned n_workers;

    _Atomic uint64_t requests[API_EP__COUNT][API_CODE__COUNT];
    _Atomic uint64_t flows_streamed;
};

/* One request being served by a worker. */
struct api_job {
    struct api_job *next;
    struct fl0wer_api *api;
    nng_aio *aio;          /* the server's handler aio; finished exactly once */
    nng_http_req *req;
    nng_http_conn *conn;
    enum api_endpoint ep;
};

void api_log(struct fl0wer_api *a, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
uint64_t api_now_ms(void);
void api_count(struct fl0wer_api *a, enum api_endpoint ep, int status);

/* ---- request plumbing (api.c), used by setup.c ---- */
void *api_worker(void *arg);
void api_http_cb(nng_aio *aio);
void api_handler_gone(void *arg);

/* ---- query string and parameters (params.c) ---- */
#define API_MAX_PARAMS 16
struct api_qs {
    size_t n;
    char *name[API_MAX_PARAMS];
    char *value[API_MAX_PARAMS];
    char *storage;
};

/* Splits and percent-decodes the query part of uri. Returns 0 or -1 (too many / bad escape). */
int api_qs_parse(const char *uri, struct api_qs *qs);
void api_qs_release(struct api_qs *qs);

/* Which parameters an endpoint accepts. */
#define API_P_RANGE    0x01u /* from, to */
#define API_P_FILTER   0x02u
#define API_P_UNSCALED 0x04u
#define API_P_TOP      0x08u /* by, order, limit */
#define API_P_STEP     0x10u
#define API_P_LIMIT    0x20u /* limit (flows) */
#define API_P_ALERT    0x40u /* kind, state */

struct api_params {
    uint64_t from_ms, to_ms;
    struct fl0wer_filter *filter; /* NULL when none given */
    const char *filter_text;      /* borrowed from the api_qs */
    bool unscaled;
    enum fl0wer_dimension by;
    enum fl0wer_order order;
    size_t limit;
    uint64_t step_ms;
    int alert_kind;  /* -1 = any */
    int alert_state; /* -1 = any */
};

/*
 * Validates qs against the accepted set for ep. Returns 0, or 400 with a JSON error body
 * ({"error":..,"param":..}, plus "offset"/"length" for filter syntax errors) in err.
 */
int api_params_parse(const struct api_qs *qs, unsigned accepted, enum api_endpoint ep,
                     uint64_t now_ms, struct api_params *p, struct api_buf *err);
void api_params_release(struct api_params *p);

/* {"error":msg} or {"error":msg,"param":param} into b. */
void api_error_body(struct api_buf *b, const char *msg, const char *param);

/* ---- endpoints (endpoints.c, metrics.c, flows.c) ---- */
/* Each fills body and returns the HTTP status. */
int api_ep_summary(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body);
int api_ep_top(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body);
int api_ep_series(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body);
int api_ep_exporters(struct fl0wer_api *a, struct api_buf *body);
int api_ep_edges(struct fl0wer_api *a, struct api_buf *body);
int api_ep_alerts(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body);
int api_ep_status(struct fl0wer_api *a, struct api_buf *body);
int api_ep_metrics(struct fl0wer_api *a, struct api_buf *body);
/* Maps a FL0WER_QUERY_ERR_* to a status and error body. */
int api_query_error(struct fl0wer_api *a, int rc, struct api_buf *body);
/*
 * Streams matching flows as chunked NDJSON on the hijacked connection, finishing job->aio
 * itself. Returns the status it reported (200).
 */
int api_ep_flows_stream(struct api_job *job, const struct api_params *p);

/* ---- TLS material (cert.c) ---- */
int api_cert_generate(const char *cert_path, const char *key_path, char *errbuf);
int api_read_file(const char *path, char **out, size_t *out_len);
void api_format_fingerprint(const unsigned char d[32], char *buf, size_t len);

#endif /* FL0WER_API_INT_H */
