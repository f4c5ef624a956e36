/*
 * http_client.h - the CLI's small HTTP/1.1 client over mbedTLS (or plain TCP for http://): one
 * request per connection, Content-Length, chunked and read-until-close bodies handed to a
 * callback as they arrive (so NDJSON streams), and certificate checks:
 *   fingerprint  the server certificate's SHA-256 (of its DER bytes) must equal it (pinning);
 *   cacert       the chain must verify against that CA file and the host name;
 *   insecure     no check at all (the caller warns);
 *   none given   the chain must verify against the system CA bundle.
 * No request byte (and so no token) is sent before the certificate check passed.
 */
#ifndef FL0WER_CLI_HTTP_CLIENT_H
#define FL0WER_CLI_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPC_ERR_URL      (-1) /* server URL malformed */
#define HTTPC_ERR_CONNECT  (-2) /* resolve/connect failed or timed out */
#define HTTPC_ERR_TLS      (-3) /* handshake failed */
#define HTTPC_ERR_VERIFY   (-4) /* certificate did not verify against the CA */
#define HTTPC_ERR_PIN      (-5) /* certificate fingerprint differs from the pinned one */
#define HTTPC_ERR_IO       (-6) /* read/write failed or timed out, connection closed early */
#define HTTPC_ERR_PROTO    (-7) /* malformed HTTP response */
#define HTTPC_ERR_CALLBACK (-8) /* the body callback asked to stop */
#define HTTPC_ERR_ARG      (-9) /* bad option (e.g. fingerprint not 64 hex digits) */

struct httpc_opts {
    const char *server;      /* "https://host:port" or "http://host:port" */
    const char *token;       /* sent as Authorization: Bearer */
    const char *fingerprint; /* "AB:CD:..." or 64 hex digits */
    const char *cacert;      /* PEM file */
    bool insecure;
    int timeout_ms;          /* connect and per-read timeout; 0 = 30000 */
    const char *tls_cache_dir; /* TLS sessions are kept here (tls_session.h); NULL: none */
};

struct httpc_response {
    int status;
    char content_type[128];
    bool tls_resumed; /* the TLS session was resumed from tls_cache_dir (no full handshake) */
};

/* Receives body bytes as they arrive. Returns 0 to continue, non-zero to stop. */
typedef int (*httpc_body_fn)(void *arg, const char *data, size_t len);

/*
 * Sends method target (path and query) to the server and passes the response body to fn.
 * Returns 0 once the whole body was received (resp filled), or a HTTPC_ERR_* with a one-line
 * lowercase message in err.
 */
int httpc_request(const struct httpc_opts *o, const char *method, const char *target,
                  struct httpc_response *resp, httpc_body_fn fn, void *arg, char *err,
                  size_t errlen);

/*
 * The key-exchange groups (mbedtls_ecp_group_id values) the client offers, in order, into out
 * (at most cap); returns how many. The hub's TLS server (nng with mbedTLS 2.28) takes the first
 * group of ITS OWN list that the client offers, and that list starts with P-521, which costs
 * about twice P-256 per operation on both sides (docs/api.md, "Latency"). So the first
 * handshake offers only X25519 and P-256 (narrow; both ~128-bit strong, like the hub's P-256
 * certificate key): the hub then takes P-256. mbedTLS also requires an EC certificate key's
 * curve to be offered, so when that handshake fails on the certificate or a handshake alert,
 * the client connects once more offering every group mbedTLS supports (wide).
 */
#define HTTPC_TLS_GROUPS_MAX 32
size_t httpc_tls_groups(bool narrow, int *out, size_t cap);

/* Normalises a fingerprint to 64 lowercase hex digits in out[65]. Returns 0 or -1. */
int httpc_fingerprint_normalize(const char *in, char out[65]);

#endif /* FL0WER_CLI_HTTP_CLIENT_H */
