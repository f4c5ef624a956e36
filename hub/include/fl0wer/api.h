/*
 * api.h - the hub's query service: HTTPS + JSON on TCP 7443 (docs/api.md), served with nng's
 * HTTP server and TLS. Every request needs "Authorization: Bearer TOKEN" from the tokens file;
 * queries run on the API's own worker threads against the store, concurrently with ingest.
 *
 * Lifecycle: fl0wer_api_start() binds and serves until fl0wer_api_stop(). The store and the hooks
 * are borrowed: they must outlive the API object.
 */
#ifndef FL0WER_API_H
#define FL0WER_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/analyzer.h"
#include "fl0wer/filter.h"
#include "fl0wer/store.h"

#define FL0WER_API_ERR_INVAL  (-100) /* bad configuration (errbuf says which) */
#define FL0WER_API_ERR_TOKENS (-101) /* tokens file missing, unreadable or malformed */
#define FL0WER_API_ERR_TLS    (-102) /* certificate/key unusable or could not be generated */
#define FL0WER_API_ERR_LISTEN (-103) /* could not bind/listen */
#define FL0WER_API_ERR_NOMEM  (-104)

#define FL0WER_API_DEFAULT_LISTEN "0.0.0.0:7443"
/* SHA-256 fingerprint text: 32 bytes as "AB:CD:..." plus the NUL. */
#define FL0WER_API_FINGERPRINT_LEN 96
/* Self-signed files written into data_dir when no certificate is configured. */
#define FL0WER_API_CERT_FILE "api-cert.pem"
#define FL0WER_API_KEY_FILE  "api-key.pem"

/* Ingest counters the daemon reports for /api/v1/status and /metrics (cumulative). */
struct fl0wer_api_ingest_stats {
    uint64_t batches_received;
    uint64_t batches_stored;
    uint64_t batches_duplicate;
    uint64_t batches_rejected;
    uint64_t batches_retry;  /* answered RETRY (store failed) */
    uint64_t records_stored;
    uint64_t bytes_received; /* batch bytes */
    uint64_t store_syncs;    /* group commit: store syncs, one per group of acks */
    double records_per_s;    /* recent ingest rate, as the daemon measures it (0 if unknown) */
    double batches_per_s;
};

/*
 * An alert listing request: alerts whose [first, last] overlaps [from_ms, to_ms), of one kind
 * (kind < 0: any; else enum fl0wer_alert_kind), in one state (state < 0: any; else enum
 * fl0wer_alert_state), and, when filter is not NULL, whose addresses, port, protocol and
 * exporter would match it as a flow's would.
 */
struct fl0wer_api_alert_query {
    uint64_t from_ms, to_ms;
    int kind;
    int state;
    const struct fl0wer_filter *filter;
    size_t limit;
};

/*
 * Callbacks into the daemon. Every member may be NULL. They are called from API worker threads,
 * possibly concurrently, and must not block for long.
 */
struct fl0wer_api_hooks {
    void *arg;
    /* Fills *out with the current ingest counters. */
    void (*ingest_stats)(void *arg, struct fl0wer_api_ingest_stats *out);
    /*
     * Alerts: called for GET /api/v1/alerts with the parsed request. For each matching alert,
     * newest first and at most q->limit, call emit with one complete JSON object (no newline);
     * the API wraps them as {"alerts":[...]}. Returns 0 or negative on failure (-> 500). NULL
     * hook: {"alerts":[]}.
     */
    int (*alerts)(void *arg, const struct fl0wer_api_alert_query *q,
                  void (*emit)(void *emit_arg, const char *json_object), void *emit_arg);
    /* Fills *out with the analyzer's counters for /metrics; NULL when no analyzer runs. */
    void (*analyzer_stats)(void *arg, struct fl0wer_analyzer_stats *out);
    /* Log sink (level: 0 error, 1 warning, 2 info). NULL: lines go to stderr. */
    void (*log)(void *arg, int level, const char *msg);
};

struct fl0wer_api_config {
    const char *listen;      /* "ADDR:PORT" ("[::]:7443" for IPv6); NULL = "0.0.0.0:7443";
                                port 0 binds a free port (see fl0wer_api_port) */
    const char *tls_cert;    /* PEM certificate (chain) file; with tls_key. Both NULL: use or
                                create a self-signed pair in data_dir */
    const char *tls_key;     /* PEM private key file */
    const char *data_dir;    /* where the self-signed cert/key live; required unless insecure or
                                tls_cert/tls_key are given */
    bool insecure;           /* plain HTTP (explicit --api-insecure only) */
    const char *tokens_file; /* required: "NAME ROLE TOKEN" lines, ROLE read|admin */
    uint32_t query_deadline_ms; /* per query; 0 = 10000 */
    unsigned workers;        /* query worker threads; 0 = 4 */
    unsigned max_queued;     /* requests waiting for a worker before 503; 0 = 256 */
    unsigned query_threads;  /* threads one query's raw-flow scan is split over (fl0wer_query
                                threads); 0 = the number of CPUs, at most 8 */
};

struct fl0wer_api;

/*
 * Loads the tokens, prepares TLS (generating the self-signed certificate if needed and logging
 * its fingerprint), binds and starts serving. On success *out owns the API (stop with
 * fl0wer_api_stop). On failure returns a FL0WER_API_ERR_* with a lowercase message in errbuf
 * (256 bytes) and nothing to release.
 */
int fl0wer_api_start(struct fl0wer_api **out, const struct fl0wer_api_config *cfg,
                     struct fl0wer_store *store, const struct fl0wer_api_hooks *hooks,
                     char *errbuf);

/* Stops listening, waits for running requests to finish and frees a. NULL is ignored. */
void fl0wer_api_stop(struct fl0wer_api *a);

/*
 * Re-reads the tokens file (e.g. on SIGHUP or POST /api/v1/reload). On failure the old tokens
 * stay in force. Returns 0 or FL0WER_API_ERR_TOKENS (logged).
 */
int fl0wer_api_reload_tokens(struct fl0wer_api *a);

/* The TCP port actually bound (useful with port 0). */
int fl0wer_api_port(const struct fl0wer_api *a);

/*
 * Copies the SHA-256 fingerprint of the served certificate (DER), "AB:CD:...", into buf
 * (FL0WER_API_FINGERPRINT_LEN bytes). Returns 0, or -1 when serving plain HTTP.
 */
int fl0wer_api_fingerprint(const struct fl0wer_api *a, char *buf, size_t len);

/*
 * SHA-256 fingerprint of the first certificate in a PEM (or DER) file, as above. Returns 0 or
 * FL0WER_API_ERR_TLS.
 */
int fl0wer_api_cert_fingerprint(const char *cert_path, char *buf, size_t len);

/*
 * Parses a time as the API and CLI accept it: "now", Unix seconds ("1700000000"), relative to
 * now ("-1h", "-30m", "-7d", "-90s", "-2w"), or ISO-8601 UTC ("2024-01-02T03:04:05Z",
 * "2024-01-02T03:04Z", "2024-01-02", fractional seconds allowed, "+00:00" accepted). now_ms is
 * the reference for relative times. Returns 0 with *out_ms, or -1 (text not a time).
 */
int fl0wer_time_parse(const char *text, uint64_t now_ms, uint64_t *out_ms);

/*
 * Parses a duration "90s", "5m", "1h", "1d", "1w" or plain seconds into ms. Returns 0 or -1.
 */
int fl0wer_duration_parse(const char *text, uint64_t *out_ms);

#endif /* FL0WER_API_H */
