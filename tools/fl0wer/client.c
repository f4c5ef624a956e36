/*
 * client.c - requests from the query commands to the hub: target URLs with encoded parameters,
 * whole-JSON and streamed (NDJSON) GETs, and the one-line error reports (with a caret under the
 * offending part of a bad filter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void cli_target_init(struct cli_target *t, const char *path)
{
    memset(t, 0, sizeof(*t));
    t->len = (size_t)snprintf(t->buf, sizeof(t->buf), "%s", path);
}

static void target_put(struct cli_target *t, const char *s, size_t n)
{
    if (t->overflow || t->len + n + 1 > sizeof(t->buf)) {
        t->overflow = true;
        return;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

void cli_target_add(struct cli_target *t, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    target_put(t, t->has_query ? "&" : "?", 1);
    t->has_query = true;
    target_put(t, name, strlen(name));
    target_put(t, "=", 1);
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || *p == ':') {
            target_put(t, (const char *)p, 1);
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            target_put(t, e, 3);
        }
    }
}

static void iso_ms(char *buf, size_t len, uint64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char base[32];
    gmtime_r(&s, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

void cli_target_add_range(struct cli_target *t, const struct cli *c)
{
    char b[40];
    iso_ms(b, sizeof(b), c->from_ms);
    cli_target_add(t, "from", b);
    iso_ms(b, sizeof(b), c->to_ms);
    cli_target_add(t, "to", b);
    if (c->filter && *c->filter)
        cli_target_add(t, "filter", c->filter);
    if (c->unscaled)
        cli_target_add(t, "unscaled", "1");
}

/* Prints the filter with a caret line under [offset, offset+length). */
static void report_caret(const char *expr, size_t off, size_t len)
{
    size_t n = strlen(expr);
    if (off > n)
        off = n;
    if (len == 0)
        len = 1;
    fprintf(stderr, "  %s\n  ", expr);
    for (size_t i = 0; i < off; i++)
        fputc(expr[i] == '\t' ? '\t' : ' ', stderr);
    for (size_t i = 0; i < len && i < 200; i++)
        fputc('^', stderr);
    fputc('\n', stderr);
}

int cli_report_http_error(struct cli *c, int status, const char *body, size_t len)
{
    struct jval *j = NULL;
    const char *msg = NULL, *param = NULL;
    int rc;
    if (json_parse(body, len, &j) == 0) {
        msg = json_str(json_get(j, "error"));
        param = json_str(json_get(j, "param"));
    }
    if (status == 401) {
        fprintf(stderr, "fl0wer %s: the hub refused the token (401 unauthorized): check --token "
                        "or FL0WER_TOKEN\n", c->cmd);
        rc = CLI_EAUTH;
    } else if (status == 403) {
        fprintf(stderr, "fl0wer %s: forbidden (403): %s\n", c->cmd,
                msg ? msg : "this action needs an admin token");
        rc = CLI_EAUTH;
    } else if (status == 400 && param && strcmp(param, "filter") == 0 &&
               json_get(j, "offset")) {
        fprintf(stderr, "fl0wer %s: bad filter: %s\n", c->cmd, msg ? msg : "syntax error");
        report_caret(c->filter ? c->filter : "", (size_t)json_u64(json_get(j, "offset")),
                     (size_t)json_u64(json_get(j, "length")));
        rc = CLI_EBADREQ;
    } else if (status == 400) {
        fprintf(stderr, "fl0wer %s: bad request%s%s%s: %s\n", c->cmd, param ? " (parameter '" : "",
                param ? param : "", param ? "')" : "", msg ? msg : "rejected by the hub");
        rc = CLI_EBADREQ;
    } else {
        fprintf(stderr, "fl0wer %s: the hub answered %d: %s\n", c->cmd, status,
                msg ? msg : "unexpected response");
        rc = status >= 500 ? CLI_EHUB : CLI_EUSAGE;
    }
    json_free(j);
    return rc;
}

static int report_transport(struct cli *c, int rc, const char *err)
{
    if (rc == HTTPC_ERR_CONNECT || rc == HTTPC_ERR_IO)
        fprintf(stderr, "fl0wer %s: cannot reach the hub at %s: %s\n", c->cmd, c->http.server,
                err);
    else
        fprintf(stderr, "fl0wer %s: %s\n", c->cmd, err);
    return rc == HTTPC_ERR_ARG || rc == HTTPC_ERR_URL ? CLI_EUSAGE : CLI_ENET;
}

struct body_buf {
    char *data;
    size_t len, cap;
    bool too_big;
};

static int body_collect(void *arg, const char *data, size_t len)
{
    struct body_buf *b = arg;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (cap > (512u << 20)) {
            b->too_big = true;
            return 1;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            b->too_big = true;
            return 1;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

/* --verbose: one line on stderr about the connection a request used. */
static void report_connection(const struct cli *c, const struct httpc_response *resp)
{
    if (!c->verbose)
        return;
    if (strncmp(c->http.server, "https://", 8) != 0)
        fprintf(stderr, "fl0wer %s: %s: plain http\n", c->cmd, c->http.server);
    else
        fprintf(stderr, "fl0wer %s: %s: tls session %s\n", c->cmd, c->http.server,
                resp->tls_resumed ? "resumed" : "new (full handshake)");
}

int cli_get_json(struct cli *c, const char *target, struct jval **out, char **body_out)
{
    struct body_buf b = {NULL, 0, 0, false};
    struct httpc_response resp;
    char err[512];
    int rc = httpc_request(&c->http, "GET", target, &resp, body_collect, &b, err, sizeof(err));
    if (rc == 0)
        report_connection(c, &resp);
    *out = NULL;
    if (body_out)
        *body_out = NULL;
    if (rc != 0) {
        if (b.too_big)
            fprintf(stderr, "fl0wer %s: the hub's answer is too large\n", c->cmd);
        rc = b.too_big ? CLI_EUSAGE : report_transport(c, rc, err);
        goto out;
    }
    if (resp.status != 200) {
        rc = cli_report_http_error(c, resp.status, b.data ? b.data : "", b.len);
        goto out;
    }
    if (json_parse(b.data ? b.data : "", b.len, out) != 0) {
        fprintf(stderr, "fl0wer %s: the hub sent malformed JSON\n", c->cmd);
        rc = CLI_EHUB;
        goto out;
    }
    if (body_out) {
        *body_out = b.data;
        b.data = NULL;
    }
    rc = CLI_OK;
out:
    free(b.data);
    return rc;
}

/* Line splitter for streamed bodies; error statuses collect the body instead. */
struct stream_ctx {
    struct httpc_response *resp;
    int (*line)(void *arg, char *text);
    void *arg;
    struct body_buf pending; /* partial line, or the whole error body */
};

static int stream_body(void *arg, const char *data, size_t len)
{
    struct stream_ctx *s = arg;
    if (s->resp->status != 200)
        return body_collect(&s->pending, data, len);
    while (len > 0) {
        const char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (body_collect(&s->pending, data, take) != 0)
            return 1;
        if (!nl)
            break;
        if (s->pending.len > 0 && s->line(s->arg, s->pending.data) != 0)
            return 1;
        s->pending.len = 0;
        data = nl + 1;
        len -= take + 1;
    }
    return 0;
}

int cli_get_stream(struct cli *c, const char *target, int (*line)(void *arg, char *text),
                   void *arg)
{
    struct httpc_response resp = {0, "", false};
    struct stream_ctx s = {&resp, line, arg, {NULL, 0, 0, false}};
    char err[512];
    int rc = httpc_request(&c->http, "GET", target, &resp, stream_body, &s, err, sizeof(err));
    if (rc == 0)
        report_connection(c, &resp);
    if (rc == HTTPC_ERR_CALLBACK) {
        rc = s.pending.too_big ? CLI_EUSAGE : CLI_EHUB; /* the line handler reported it */
        if (s.pending.too_big)
            fprintf(stderr, "fl0wer %s: a line of the hub's answer is too large\n", c->cmd);
        goto out;
    }
    if (rc != 0) {
        rc = report_transport(c, rc, err);
        goto out;
    }
    if (resp.status != 200) {
        rc = cli_report_http_error(c, resp.status, s.pending.data ? s.pending.data : "",
                                   s.pending.len);
        goto out;
    }
    if (s.pending.len > 0 && line(arg, s.pending.data) != 0) {
        rc = CLI_EHUB;
        goto out;
    }
    rc = CLI_OK;
out:
    free(s.pending.data);
    return rc;
}
