/*
 * flows.c - GET /api/v1/flows: streams matching flows as NDJSON (one canonical flow JSON object
 * per line, fl0wer_flow_to_json) without buffering the whole answer. The connection is taken
 * over from nng's HTTP server (nng_http_hijack) so the body can go out in HTTP/1.1 chunks while
 * the query runs; the connection is closed at the end. A query that fails part-way ends the
 * stream with one line {"error":"..."} so clients can tell a cut-short listing from a full one.
 */
#include <stdio.h>
#include <string.h>

#include "api_int.h"

#define FLOWS_CHUNK 65536
#define FLOWS_WRITE_TIMEOUT_MS 30000
#define FLOWS_LINGER_MS 5000

struct fstream {
    struct fl0wer_api *api;
    nng_http_conn *conn;
    nng_aio *aio;
    struct api_buf buf;
    uint64_t n;
    bool failed; /* the client went away or a write timed out */
};

/* Writes every iov to the connection, waiting. Returns 0 or an nng error. */
static int fs_write(struct fstream *s, nng_iov *iov, unsigned n_iov)
{
    nng_aio_set_iov(s->aio, n_iov, iov);
    nng_aio_set_timeout(s->aio, FLOWS_WRITE_TIMEOUT_MS);
    nng_http_conn_write_all(s->conn, s->aio);
    nng_aio_wait(s->aio);
    return nng_aio_result(s->aio);
}

/* Sends the buffered lines as one chunk. Returns 0 or -1 (failed set). */
static int fs_flush(struct fstream *s)
{
    char head[24];
    nng_iov iov[3];
    if (s->failed)
        return -1;
    if (s->buf.len == 0)
        return 0;
    int hl = snprintf(head, sizeof(head), "%zx\r\n", s->buf.len);
    iov[0].iov_buf = head;
    iov[0].iov_len = (size_t)hl;
    iov[1].iov_buf = s->buf.data;
    iov[1].iov_len = s->buf.len;
    iov[2].iov_buf = "\r\n";
    iov[2].iov_len = 2;
    if (fs_write(s, iov, 3) != 0) {
        s->failed = true;
        return -1;
    }
    s->buf.len = 0;
    return 0;
}

/*
 * Waits (bounded) for the client to close after the last chunk. nng's TLS stream may drop
 * ciphertext still queued when it is closed, so closing right after the final write could cut
 * the end of the listing; the client closes once it has the terminating chunk.
 */
static void fs_linger(struct fstream *s)
{
    char sink[256];
    nng_iov iov = {.iov_buf = sink, .iov_len = sizeof(sink)};
    for (int i = 0; i < 4; i++) {
        nng_aio_set_iov(s->aio, 1, &iov);
        nng_aio_set_timeout(s->aio, FLOWS_LINGER_MS);
        nng_http_conn_read(s->conn, s->aio);
        nng_aio_wait(s->aio);
        if (nng_aio_result(s->aio) != 0)
            return;
    }
}

static int fs_flow(void *arg, const struct fl0wer_flow *f)
{
    struct fstream *s = arg;
    char line[FL0WER_FLOW_JSON_MAX + 1];
    int n = fl0wer_flow_to_json(f, line, sizeof(line) - 1);
    if (atomic_load(&s->api->halting) || s->buf.failed)
        return 1;
    if (n < 0)
        return 0; /* cannot happen with FL0WER_FLOW_JSON_MAX; skip rather than corrupt */
    line[n++] = '\n';
    api_buf_append(&s->buf, line, (size_t)n);
    s->n++;
    if (s->buf.len >= FLOWS_CHUNK && fs_flush(s) != 0)
        return 1;
    return 0;
}

int api_ep_flows_stream(struct api_job *job, const struct api_params *p)
{
    static const char head[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/x-ndjson\r\n"
                               "Transfer-Encoding: chunked\r\n"
                               "Cache-Control: no-store\r\n"
                               "Connection: close\r\n\r\n";
    struct fl0wer_api *a = job->api;
    struct fstream s;
    struct fl0wer_query q;
    nng_iov iov;
    int rc;

    memset(&s, 0, sizeof(s));
    s.api = a;
    s.conn = job->conn;
    api_buf_init(&s.buf);
    /* From here the connection is ours; the server only drops its bookkeeping. */
    nng_http_hijack(job->conn);
    nng_aio_finish(job->aio, 0);
    job->aio = NULL;
    if (nng_aio_alloc(&s.aio, NULL, NULL) != 0)
        goto out_close;
    iov.iov_buf = (void *)head;
    iov.iov_len = sizeof(head) - 1;
    if (fs_write(&s, &iov, 1) != 0)
        goto out_close;

    memset(&q, 0, sizeof(q));
    q.from_ms = p->from_ms;
    q.to_ms = p->to_ms;
    q.filter = p->filter;
    q.deadline_ms = a->deadline_ms;
    q.threads = a->query_threads;
    rc = fl0wer_query_flows(a->store, &q, p->limit, fs_flow, &s);
    if (rc < 0 && !s.failed) {
        struct api_buf err;
        api_buf_init(&err);
        api_query_error(a, rc, &err);
        api_buf_append(&s.buf, err.data ? err.data : "{}", err.data ? err.len : 2);
        api_buf_append(&s.buf, "\n", 1);
        api_buf_release(&err);
    }
    if (s.buf.failed) {
        s.buf.failed = false;
        s.buf.len = 0;
        api_buf_puts(&s.buf, "{\"error\":\"out of memory\"}\n");
    }
    if (fs_flush(&s) == 0) {
        iov.iov_buf = "0\r\n\r\n";
        iov.iov_len = 5;
        if (fs_write(&s, &iov, 1) == 0)
            fs_linger(&s);
    }
    atomic_fetch_add(&a->flows_streamed, s.n);
out_close:
    if (s.aio)
        nng_aio_free(s.aio);
    api_buf_release(&s.buf);
    nng_http_conn_close(job->conn);
    job->conn = NULL;
    /* Hijacking handed the request over too (the server forgets it). */
    nng_http_req_free(job->req);
    job->req = NULL;
    return 200;
}
