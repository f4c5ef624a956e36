/*
 * http_client.c - one HTTP/1.1 request per connection over mbedTLS or plain TCP (see
 * http_client.h). The request does not ask the server to close: nng's TLS server can lose the
 * tail of a response when it closes right after writing it, so the client reads the complete
 * (Content-Length or chunked) body and closes first. Responses are read through a bounded buffer; header lines over 8 KiB, more
 * than 100 headers or malformed chunk sizes are protocol errors, never overruns.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "http_client.h"
#include "tls_session.h"

#define HC_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define HC_LINE_MAX  8192

struct hc {
    bool tls;
    int timeout_ms;
    mbedtls_net_context net;
    mbedtls_ssl_context ssl;
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ecp_group_id groups[HTTPC_TLS_GROUPS_MAX]; /* offered, in order (conf points here) */
    int tls_ret; /* mbedTLS's error of a failed handshake */
    char session_path[4200];     /* the session cache file ("" when there is none) */
    mbedtls_ssl_session offered; /* the cached session offered, when offering */
    bool offering, resumed, handshake_ok;
    unsigned char rbuf[16384];
    size_t rpos, rlen;
    char *err;
    size_t errlen;
};

static int hc_fail(struct hc *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int hc_fail(struct hc *c, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static const char *hc_tls_err(int ret, char *buf, size_t len)
{
    mbedtls_strerror(ret, buf, len);
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return buf;
}

int httpc_fingerprint_normalize(const char *in, char out[65])
{
    size_t n = 0;
    if (strncasecmp(in, "sha256:", 7) == 0)
        in += 7;
    for (; *in; in++) {
        if (*in == ':' || *in == ' ')
            continue;
        if (!isxdigit((unsigned char)*in) || n == 64)
            return -1;
        out[n++] = (char)tolower((unsigned char)*in);
    }
    out[n] = '\0';
    return n == 64 ? 0 : -1;
}

/* Splits "scheme://host[:port][/...]" into parts. Returns 0 or -1. */
static int hc_parse_url(const char *url, bool *tls, char *host, size_t hostlen, char *port,
                        size_t portlen)
{
    const char *p, *h, *hend, *pend;
    if (strncmp(url, "https://", 8) == 0) {
        *tls = true;
        p = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        *tls = false;
        p = url + 7;
    } else {
        return -1;
    }
    if (*p == '[') {
        h = p + 1;
        if (!(hend = strchr(h, ']')))
            return -1;
        p = hend + 1;
    } else {
        h = p;
        hend = p + strcspn(p, ":/");
        p = hend;
    }
    if (hend == h || (size_t)(hend - h) >= hostlen)
        return -1;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (*p == ':') {
        p++;
        pend = p + strcspn(p, "/");
        if (pend == p || (size_t)(pend - p) >= portlen)
            return -1;
        for (const char *q = p; q < pend; q++)
            if (!isdigit((unsigned char)*q))
                return -1;
        memcpy(port, p, (size_t)(pend - p));
        port[pend - p] = '\0';
        p = pend;
    } else {
        snprintf(port, portlen, "7443");
    }
    return (*p == '\0' || strcmp(p, "/") == 0) ? 0 : -1;
}

/*
 * Asks the kernel to acknowledge what arrives next at once. The hub's HTTP server (nng 1.5)
 * leaves Nagle's algorithm on and writes a TLS handshake flight or a response head and body as
 * separate small records, so each second record waits for our ACK, which Linux delays by about
 * 40 ms: that made every query cost 100-150 ms more than its work. The flag does not stick,
 * so it is set again before every read.
 */
static void hc_quickack(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* mbedTLS receive callback: hc_quickack, then mbedTLS's own receive with timeout. */
static int hc_tls_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
    hc_quickack(((mbedtls_net_context *)ctx)->fd);
    return mbedtls_net_recv_timeout(ctx, buf, len, timeout);
}

/* Connects to host:port with a timeout. Returns the socket or a negative error (message set). */
static int hc_connect(struct hc *c, const char *host, const char *port)
{
    struct addrinfo hints, *res = NULL, *ai;
    int fd = -1, r, soerr = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if ((r = getaddrinfo(host, port, &hints, &res)) != 0)
        return hc_fail(c, HTTPC_ERR_CONNECT, "cannot resolve %s: %s", host, gai_strerror(r));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) {
            soerr = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        if (errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            socklen_t sl = sizeof(soerr);
            r = poll(&pfd, 1, c->timeout_ms);
            if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
            if (r == 0)
                soerr = ETIMEDOUT;
        } else {
            soerr = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return hc_fail(c, HTTPC_ERR_CONNECT, "cannot connect to %s port %s: %s", host, port,
                       strerror(soerr ? soerr : ECONNREFUSED));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* The request and each handshake flight go out at once, not after the server's ACK. */
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    hc_quickack(fd);
    return fd;
}

/* Compares the peer certificate's SHA-256 with the pinned value. */
static int hc_check_pin(struct hc *c, const char *want)
{
    const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&c->ssl);
    unsigned char d[32];
    char got[65], got_colons[96];
    static const char hex[] = "0123456789abcdef";
    if (!peer || mbedtls_sha256_ret(peer->raw.p, peer->raw.len, d, 0) != 0)
        return hc_fail(c, HTTPC_ERR_PIN, "server sent no certificate to check the pin against");
    for (int i = 0; i < 32; i++) {
        got[2 * i] = hex[d[i] >> 4];
        got[2 * i + 1] = hex[d[i] & 15];
        got_colons[3 * i] = (char)toupper((unsigned char)hex[d[i] >> 4]);
        got_colons[3 * i + 1] = (char)toupper((unsigned char)hex[d[i] & 15]);
        got_colons[3 * i + 2] = i == 31 ? '\0' : ':';
    }
    got[64] = '\0';
    if (strcmp(got, want) != 0)
        return hc_fail(c, HTTPC_ERR_PIN,
                       "certificate fingerprint mismatch: the server presented %s, which is not "
                       "the pinned --fingerprint", got_colons);
    return 0;
}

size_t httpc_tls_groups(bool narrow, int *out, size_t cap)
{
    static const mbedtls_ecp_group_id first[] = {MBEDTLS_ECP_DP_CURVE25519,
                                                 MBEDTLS_ECP_DP_SECP256R1};
    const mbedtls_ecp_group_id *all = mbedtls_ecp_grp_id_list();
    size_t n = 0;

    /* the two fast ones when this mbedTLS has them, then (wide) every other in its order */
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; all[j] != MBEDTLS_ECP_DP_NONE; j++)
            if (all[j] == first[i] && n < cap)
                out[n++] = (int)first[i];
    for (size_t j = 0; !narrow && all[j] != MBEDTLS_ECP_DP_NONE; j++)
        if (all[j] != first[0] && all[j] != first[1] && n < cap)
            out[n++] = (int)all[j];
    return n;
}

/* Fills c->groups (httpc_tls_groups, NONE-terminated) and hands it to the TLS config. */
static void hc_conf_groups(struct hc *c, bool narrow)
{
    int g[HTTPC_TLS_GROUPS_MAX];
    size_t n = httpc_tls_groups(narrow, g, HTTPC_TLS_GROUPS_MAX - 1);

    for (size_t i = 0; i < n; i++)
        c->groups[i] = (mbedtls_ecp_group_id)g[i];
    c->groups[n] = MBEDTLS_ECP_DP_NONE;
    mbedtls_ssl_conf_curves(&c->conf, c->groups);
}

/* TLS setup and handshake on c->net, then the certificate policy. */
static int hc_tls(struct hc *c, const struct httpc_opts *o, const char *host, const char *pin,
                  bool narrow)
{
    static const char pers[] = "fl0wer-cli";
    char eb[160];
    int ret;
    if (mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->entropy,
                              (const unsigned char *)pers, sizeof(pers) - 1) != 0 ||
        mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
                                    MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return hc_fail(c, HTTPC_ERR_TLS, "cannot initialise tls");
    if (pin || o->insecure) {
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
    } else {
        const char *ca = o->cacert ? o->cacert : HC_SYSTEM_CA;
        if ((ret = mbedtls_x509_crt_parse_file(&c->ca, ca)) < 0)
            return hc_fail(c, HTTPC_ERR_ARG, "cannot load ca certificates from %s: %s", ca,
                           hc_tls_err(ret, eb, sizeof(eb)));
        mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
    }
    mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
    hc_conf_groups(c, narrow);
    mbedtls_ssl_conf_read_timeout(&c->conf, (uint32_t)c->timeout_ms);
    if (mbedtls_ssl_setup(&c->ssl, &c->conf) != 0 || mbedtls_ssl_set_hostname(&c->ssl, host) != 0)
        return hc_fail(c, HTTPC_ERR_TLS, "cannot initialise tls session");
    mbedtls_ssl_set_bio(&c->ssl, &c->net, mbedtls_net_send, NULL, hc_tls_recv);
    if (c->offering && mbedtls_ssl_set_session(&c->ssl, &c->offered) != 0)
        c->offering = false;
    while ((ret = mbedtls_ssl_handshake(&c->ssl)) != 0) {
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            char info[256] = "";
            uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
            mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
            info[strcspn(info, "\n")] = '\0';
            return hc_fail(c, HTTPC_ERR_VERIFY,
                           "certificate of %s did not verify against %s (%s): use --cacert FILE "
                           "or pin it with --fingerprint",
                           host, o->cacert ? o->cacert : "the system ca bundle", info);
        }
        c->tls_ret = ret;
        return hc_fail(c, HTTPC_ERR_TLS, "tls handshake with %s failed: %s", host,
                       hc_tls_err(ret, eb, sizeof(eb)));
    }
    /* a resumed session keeps the master secret of the one offered; a full handshake makes one */
    c->resumed = c->offering && memcmp(c->ssl.session->master, c->offered.master,
                                       sizeof(c->offered.master)) == 0;
    if (pin && (ret = hc_check_pin(c, pin)) != 0)
        return ret;
    c->handshake_ok = true; /* and checked: only such a session is kept */
    return 0;
}

static int hc_send(struct hc *c, const char *buf, size_t len)
{
    while (len > 0) {
        int n;
        if (c->tls) {
            n = mbedtls_ssl_write(&c->ssl, (const unsigned char *)buf, len);
            if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
                continue;
        } else {
            n = (int)send(c->net.fd, buf, len, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (n <= 0)
            return hc_fail(c, HTTPC_ERR_IO, "cannot send the request: connection lost");
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Refills the read buffer. Returns bytes read, 0 at end of stream, or an error. */
static int hc_fill(struct hc *c)
{
    int n;
    c->rpos = c->rlen = 0;
    for (;;) {
        if (c->tls) {
            n = mbedtls_ssl_read(&c->ssl, c->rbuf, sizeof(c->rbuf));
            if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_WANT_WRITE)
                continue;
            if (n == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || n == MBEDTLS_ERR_NET_CONN_RESET)
                return 0;
            if (n == MBEDTLS_ERR_SSL_TIMEOUT)
                return hc_fail(c, HTTPC_ERR_IO, "timed out waiting for the server");
        } else {
            struct pollfd pfd = {.fd = c->net.fd, .events = POLLIN};
            int r = poll(&pfd, 1, c->timeout_ms);
            if (r == 0)
                return hc_fail(c, HTTPC_ERR_IO, "timed out waiting for the server");
            hc_quickack(c->net.fd);
            n = r < 0 ? -1 : (int)recv(c->net.fd, c->rbuf, sizeof(c->rbuf), 0);
            if (n < 0 && errno == EINTR)
                continue;
        }
        if (n < 0)
            return hc_fail(c, HTTPC_ERR_IO, "cannot read the response: connection lost");
        c->rlen = (size_t)n;
        return n;
    }
}

/* Reads one CRLF/LF-terminated line (terminator stripped). Returns 0 or an error. */
static int hc_line(struct hc *c, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (c->rpos == c->rlen) {
            int r = hc_fill(c);
            if (r < 0)
                return r;
            if (r == 0)
                return hc_fail(c, HTTPC_ERR_IO, "the server closed the connection early");
        }
        char ch = (char)c->rbuf[c->rpos++];
        if (ch == '\n')
            break;
        if (n + 1 >= cap)
            return hc_fail(c, HTTPC_ERR_PROTO, "response line too long");
        line[n++] = ch;
    }
    if (n && line[n - 1] == '\r')
        n--;
    line[n] = '\0';
    return 0;
}

/* Passes exactly len body bytes (or, with len == SIZE_MAX, all until close) to fn. */
static int hc_body_bytes(struct hc *c, size_t len, httpc_body_fn fn, void *arg)
{
    while (len > 0) {
        if (c->rpos == c->rlen) {
            int r = hc_fill(c);
            if (r < 0)
                return r;
            if (r == 0) {
                if (len == SIZE_MAX)
                    return 0;
                return hc_fail(c, HTTPC_ERR_IO, "the server closed the connection mid-body");
            }
        }
        size_t take = c->rlen - c->rpos;
        if (take > len)
            take = len;
        if (fn && fn(arg, (const char *)c->rbuf + c->rpos, take) != 0)
            return hc_fail(c, HTTPC_ERR_CALLBACK, "stopped reading the response");
        c->rpos += take;
        if (len != SIZE_MAX)
            len -= take;
    }
    return 0;
}

static int hc_chunked(struct hc *c, httpc_body_fn fn, void *arg)
{
    char line[HC_LINE_MAX];
    int r;
    for (;;) {
        char *end;
        if ((r = hc_line(c, line, sizeof(line))) != 0)
            return r;
        errno = 0;
        unsigned long long n = strtoull(line, &end, 16);
        if (end == line || errno || (*end && *end != ';' && *end != ' ') || n > (1ull << 40))
            return hc_fail(c, HTTPC_ERR_PROTO, "malformed chunk size in the response");
        if (n == 0)
            break;
        if ((r = hc_body_bytes(c, (size_t)n, fn, arg)) != 0 || (r = hc_line(c, line, 4)) != 0)
            return r;
        if (line[0])
            return hc_fail(c, HTTPC_ERR_PROTO, "malformed chunk end in the response");
    }
    do { /* trailers */
        if ((r = hc_line(c, line, sizeof(line))) != 0)
            return r;
    } while (line[0]);
    return 0;
}

/* Status line and headers; then the body in whichever framing the server chose. */
static int hc_response(struct hc *c, const char *method, struct httpc_response *resp,
                       httpc_body_fn fn, void *arg)
{
    char line[HC_LINE_MAX];
    bool chunked = false;
    long long clen = -1;
    int r, nh = 0;
    if ((r = hc_line(c, line, sizeof(line))) != 0)
        return r;
    if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12 || !isdigit((unsigned char)line[9]))
        return hc_fail(c, HTTPC_ERR_PROTO, "the server did not answer with HTTP/1.x");
    resp->status = atoi(line + 9);
    resp->content_type[0] = '\0';
    for (;;) {
        if ((r = hc_line(c, line, sizeof(line))) != 0)
            return r;
        if (!line[0])
            break;
        if (++nh > 100)
            return hc_fail(c, HTTPC_ERR_PROTO, "too many response headers");
        char *colon = strchr(line, ':');
        if (!colon)
            return hc_fail(c, HTTPC_ERR_PROTO, "malformed response header");
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *end;
            clen = strtoll(v, &end, 10);
            if (end == v || clen < 0)
                return hc_fail(c, HTTPC_ERR_PROTO, "malformed content-length");
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            chunked = strcasestr(v, "chunked") != NULL;
        } else if (strcasecmp(line, "Content-Type") == 0) {
            snprintf(resp->content_type, sizeof(resp->content_type), "%s", v);
        }
    }
    if (strcmp(method, "HEAD") == 0 || resp->status == 204 || resp->status == 304)
        return 0;
    if (chunked)
        return hc_chunked(c, fn, arg);
    return hc_body_bytes(c, clen >= 0 ? (size_t)clen : SIZE_MAX, fn, arg);
}

/* Initialises the connection and TLS state of c (hc_conn_free releases it). */
static void hc_conn_init(struct hc *c)
{
    mbedtls_net_init(&c->net);
    mbedtls_ssl_init(&c->ssl);
    mbedtls_ssl_config_init(&c->conf);
    mbedtls_x509_crt_init(&c->ca);
    mbedtls_entropy_init(&c->entropy);
    mbedtls_ctr_drbg_init(&c->drbg);
    c->tls_ret = 0;
    c->resumed = c->handshake_ok = false;
}

/* Closes the socket and frees the TLS state of c. */
static void hc_conn_free(struct hc *c)
{
    mbedtls_ssl_free(&c->ssl);
    mbedtls_ssl_config_free(&c->conf);
    mbedtls_x509_crt_free(&c->ca);
    mbedtls_ctr_drbg_free(&c->drbg);
    mbedtls_entropy_free(&c->entropy);
    mbedtls_net_free(&c->net);
}

int httpc_request(const struct httpc_opts *o, const char *method, const char *target,
                  struct httpc_response *resp, httpc_body_fn fn, void *arg, char *err,
                  size_t errlen)
{
    struct hc *c = calloc(1, sizeof(*c));
    char host[256], port[16], pin[65];
    char *req = NULL;
    int rc, fd;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return HTTPC_ERR_IO;
    }
    c->err = err;
    c->errlen = errlen;
    resp->tls_resumed = false;
    c->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 30000;
    hc_conn_init(c);
    if (!o->server || hc_parse_url(o->server, &c->tls, host, sizeof(host), port,
                                   sizeof(port)) != 0) {
        rc = hc_fail(c, HTTPC_ERR_URL, "bad server url '%s' (expected https://HOST[:PORT])",
                     o->server ? o->server : "");
        goto out;
    }
    if (o->fingerprint && httpc_fingerprint_normalize(o->fingerprint, pin) != 0) {
        rc = hc_fail(c, HTTPC_ERR_ARG,
                     "bad --fingerprint: expected 64 hex digits (AB:CD:... as the hub logs it)");
        goto out;
    }
    mbedtls_ssl_session_init(&c->offered);
    if (c->tls && httpc_session_path(o, c->session_path, sizeof(c->session_path)) == 0)
        c->offering = httpc_session_load(c->session_path, &c->offered) == 0;
    else
        c->session_path[0] = '\0';
    for (int narrow = c->tls; narrow >= 0;) {
        if ((fd = hc_connect(c, host, port)) < 0) {
            rc = fd;
            goto out;
        }
        c->net.fd = fd;
        rc = c->tls ? hc_tls(c, o, host, o->fingerprint ? pin : NULL, narrow) : 0;
        if (rc == HTTPC_ERR_TLS && c->offering) {
            /* the cached session did not resume cleanly: drop it, then a full handshake */
            httpc_session_forget(c->session_path);
            c->offering = false;
        } else if (rc == HTTPC_ERR_TLS && narrow &&
                   (c->tls_ret == MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE ||
                    c->tls_ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)) {
            narrow--; /* the narrow group list did not fit this server: every group */
        } else {
            break;
        }
        hc_conn_free(c);
        hc_conn_init(c);
    }
    if (rc != 0)
        goto out;
    resp->tls_resumed = c->resumed;
    bool v6 = strchr(host, ':') != NULL;
    if (asprintf(&req,
                 "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: fl0wer/" FL0WER_VERSION
                 "\r\nAccept: application/json, application/x-ndjson, text/plain\r\n"
                 "%s%s%sContent-Length: 0\r\n\r\n",
                 method, target, v6 ? "[" : "", host, v6 ? "]" : "", port,
                 o->token ? "Authorization: Bearer " : "", o->token ? o->token : "",
                 o->token ? "\r\n" : "") < 0) {
        req = NULL;
        rc = hc_fail(c, HTTPC_ERR_IO, "out of memory");
        goto out;
    }
    if ((rc = hc_send(c, req, strlen(req))) != 0)
        goto out;
    rc = hc_response(c, method, resp, fn, arg);
out:
    if (req) {
        memset(req, 0, strlen(req));
        free(req);
    }
    if (c->tls && rc == 0)
        mbedtls_ssl_close_notify(&c->ssl);
    /* after the answer, not before the request: the write is off the query's path */
    if (c->handshake_ok && !c->resumed && c->session_path[0])
        (void)httpc_session_save(c->session_path, &c->ssl);
    mbedtls_ssl_session_free(&c->offered);
    hc_conn_free(c);
    free(c);
    return rc;
}
