/*
 * sender.c - delivers spooled batches to the hub over nng REQ/REP, at least once.
 *
 * One REQ socket with a non-blocking dialer (nng reconnects by itself) and --inflight contexts,
 * each with its own aio: send the batch, then receive the ack, each step bounded by
 * --ack-timeout-ms. STORED and DUPLICATE delete the batch from the spool; REJECTED logs, counts
 * the records as dropped and deletes; RETRY, a timeout or a send failure gives the batch back to
 * the spool with an exponential backoff (200 ms doubling to 10 s). Batches go out in sequence
 * order and a batch waiting for its retry holds back every later one, so with --inflight 1 the
 * hub always sees sequence numbers in increasing order.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "edge_int.h"
#include "fl0wer/batch.h"
#include "fl0wer/nng_close.h"

#define EDGE_CLOSE_WAIT_MS 2000u /* how long a stop waits for nng to close the socket */

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000
#define MAX_SLOTS      64

enum slot_phase { SLOT_IDLE, SLOT_SENDING, SLOT_RECEIVING, SLOT_DONE };

struct edge_sender;

struct slot {
    struct edge_sender *s;
    nng_ctx ctx;
    nng_aio *aio;
    enum slot_phase phase; /* under s->mu once SLOT_DONE is set */
    uint64_t seq;
    uint32_t records;
    int result;            /* 0 = ack received */
    bool cancelled;        /* aborted by us because an earlier batch failed */
    enum fl0wer_ack_status ack;
    uint64_t ack_seq;
};

struct edge_sender {
    struct edge_ctx *ctx;
    nng_socket sock;
    nng_dialer dialer;
    nng_tls_config *tls;
    struct slot slots[MAX_SLOTS];
    unsigned n_slots;
    uint64_t backoff_ms;
    bool hub_down_logged;
    bool rejected_logged;
};

void edge_sender_wake(struct edge_ctx *ctx)
{
    pthread_mutex_lock(&ctx->wake_mu);
    pthread_cond_broadcast(&ctx->wake_cv);
    pthread_mutex_unlock(&ctx->wake_mu);
}

static void slot_done(struct slot *sl, int result)
{
    struct edge_ctx *ctx = sl->s->ctx;
    pthread_mutex_lock(&ctx->wake_mu);
    sl->result = result;
    sl->phase = SLOT_DONE;
    pthread_cond_broadcast(&ctx->wake_cv);
    pthread_mutex_unlock(&ctx->wake_mu);
}

/* aio callback: after the send, start the receive; after the receive, decode the ack. */
static void slot_cb(void *arg)
{
    struct slot *sl = arg;
    int rv = nng_aio_result(sl->aio);
    struct edge_ctx *ctx = sl->s->ctx;
    pthread_mutex_lock(&ctx->wake_mu);
    enum slot_phase phase = sl->phase;
    if (phase == SLOT_SENDING && rv == 0)
        sl->phase = SLOT_RECEIVING;
    pthread_mutex_unlock(&ctx->wake_mu);
    if (phase == SLOT_SENDING) {
        if (rv != 0) {
            nng_msg_free(nng_aio_get_msg(sl->aio));
            nng_aio_set_msg(sl->aio, NULL);
            slot_done(sl, rv);
            return;
        }
        nng_ctx_recv(sl->ctx, sl->aio);
        return;
    }
    if (rv == 0) {
        nng_msg *m = nng_aio_get_msg(sl->aio);
        nng_aio_set_msg(sl->aio, NULL);
        /* REQ/REP already pairs the reply with this request. STORED and DUPLICATE (which delete
         * the batch) must also name its seq; REJECTED and RETRY may come before the hub has
         * read the seq (unknown key, bad signature, overload) and carry 0. */
        if (fl0wer_ack_decode(nng_msg_body(m), nng_msg_len(m), &sl->ack, &sl->ack_seq) != 0 ||
            (sl->ack_seq != sl->seq && sl->ack != FL0WER_ACK_REJECTED &&
             sl->ack != FL0WER_ACK_RETRY))
            rv = NNG_EPROTO;
        nng_msg_free(m);
    }
    slot_done(sl, rv);
}

int edge_sender_open(struct edge_ctx *ctx)
{
    struct edge_sender *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->ctx = ctx;
    ctx->sender = s;
    const struct edge_config *cfg = ctx->cfg;
    int rv = nng_req0_open(&s->sock);
    if (rv != 0)
        goto out_err;
    nng_socket_set_ms(s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    rv = nng_dialer_create(&s->dialer, s->sock, cfg->hub);
    if (rv != 0)
        goto out_err;
    nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMINT, 100);
    nng_dialer_set_ms(s->dialer, NNG_OPT_RECONNMAXT, 2000);
    if (!strncmp(cfg->hub, "tls+tcp://", 10)) {
        char host[256];
        const char *h = cfg->hub + 10, *colon = strrchr(h, ':');
        size_t hl = (size_t)(colon - h);
        if (hl >= sizeof(host))
            hl = sizeof(host) - 1;
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') {
            memmove(host, host + 1, hl - 2);
            host[hl - 2] = '\0';
        }
        if ((rv = nng_tls_config_alloc(&s->tls, NNG_TLS_MODE_CLIENT)) != 0 ||
            (rv = nng_tls_config_ca_file(s->tls, cfg->hub_ca)) != 0 ||
            (rv = nng_tls_config_server_name(s->tls, host)) != 0 ||
            (rv = nng_tls_config_auth_mode(s->tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
            (rv = nng_dialer_set_ptr(s->dialer, NNG_OPT_TLS_CONFIG, s->tls)) != 0) {
            edge_err(&ctx->log, "hub TLS setup (CA %s): %s", cfg->hub_ca, nng_strerror(rv));
            return -1;
        }
    }
    rv = nng_dialer_start(s->dialer, NNG_FLAG_NONBLOCK);
    if (rv != 0)
        goto out_err;
    s->n_slots = cfg->inflight > MAX_SLOTS ? MAX_SLOTS : cfg->inflight;
    for (unsigned i = 0; i < s->n_slots; i++) {
        struct slot *sl = &s->slots[i];
        sl->s = s;
        if ((rv = nng_ctx_open(&sl->ctx, s->sock)) != 0 ||
            (rv = nng_aio_alloc(&sl->aio, slot_cb, sl)) != 0)
            goto out_err;
        nng_aio_set_timeout(sl->aio, (nng_duration)cfg->ack_timeout_ms);
    }
    return 0;
out_err:
    edge_err(&ctx->log, "hub connection %s: %s", cfg->hub, nng_strerror(rv));
    return -1;
}

void edge_sender_close(struct edge_ctx *ctx, struct edge_sender *s)
{
    if (!s)
        return;
    for (unsigned i = 0; i < s->n_slots; i++) {
        if (s->slots[i].aio) {
            nng_aio_stop(s->slots[i].aio);
            nng_msg_free(nng_aio_get_msg(s->slots[i].aio));
            nng_aio_free(s->slots[i].aio);
        }
        nng_ctx_close(s->slots[i].ctx);
    }
    /* bounded: nng 1.5.2 can hang here when an acknowledgement arrives (nng_close.h) */
    if (fl0wer_nng_close_within(s->sock, EDGE_CLOSE_WAIT_MS) != 0) {
        edge_err(&ctx->log, "closing the hub connection did not finish within %u ms (an nng 1.5 "
                            "bug when a message arrives during the close); left to the exit",
                 EDGE_CLOSE_WAIT_MS);
        s->tls = NULL; /* nng may still hold it */
    }
    if (s->tls)
        nng_tls_config_free(s->tls);
    free(s);
}

/*
 * A batch failed (timeout, send error, RETRY): abort every later batch still in flight, so that
 * none of them (e.g. queued in nng while the hub was down) reaches the hub before the failed one
 * is resent; the hub stores one edge's batches in seq order and would otherwise answer the late
 * one DUPLICATE. An abort that loses the race with its ack is just an ack.
 */
static void cancel_later(struct edge_sender *s, uint64_t seq)
{
    for (unsigned i = 0; i < s->n_slots; i++) {
        struct slot *o = &s->slots[i];
        pthread_mutex_lock(&s->ctx->wake_mu);
        bool live = (o->phase == SLOT_SENDING || o->phase == SLOT_RECEIVING) && o->seq > seq;
        if (live)
            o->cancelled = true;
        pthread_mutex_unlock(&s->ctx->wake_mu);
        if (live)
            nng_aio_cancel(o->aio);
    }
}

/* Acts on a finished slot (called with wake_mu NOT held). */
static void handle_done(struct edge_sender *s, struct slot *sl)
{
    struct edge_ctx *ctx = s->ctx;
    uint64_t now = edge_mono_ms();
    if (sl->result == 0 && (sl->ack == FL0WER_ACK_STORED || sl->ack == FL0WER_ACK_DUPLICATE)) {
        edge_spool_delete(ctx->spool, sl->seq);
        atomic_fetch_add(&ctx->batches_acked, 1);
        s->backoff_ms = 0;
        if (s->hub_down_logged)
            edge_info(&ctx->log, "hub %s reachable again; draining the spool", ctx->cfg->hub);
        s->hub_down_logged = false;
        edge_debug(&ctx->log, "batch %" PRIu64 " %s", sl->seq,
                   sl->ack == FL0WER_ACK_STORED ? "stored" : "duplicate");
    } else if (sl->result == 0 && sl->ack == FL0WER_ACK_REJECTED) {
        edge_spool_delete(ctx->spool, sl->seq);
        atomic_fetch_add(&ctx->batches_rejected, 1);
        atomic_fetch_add(&ctx->records_dropped, sl->records);
        if (!s->rejected_logged)
            edge_err(&ctx->log, "hub rejected batch %" PRIu64 " (%" PRIu32 " records dropped): "
                     "is this edge's key in the hub's authorized edges file? (further "
                     "rejections are only counted)", sl->seq, sl->records);
        s->rejected_logged = true;
    } else if (sl->cancelled) {
        /* Aborted behind a failed earlier batch: back in the spool, it goes after that one. */
        edge_spool_release(ctx->spool, sl->seq, 0);
    } else {
        cancel_later(s, sl->seq);
        s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
        if (s->backoff_ms > BACKOFF_MAX_MS)
            s->backoff_ms = BACKOFF_MAX_MS;
        atomic_fetch_add(&ctx->send_failures, 1);
        if (!s->hub_down_logged)
            edge_warn(&ctx->log, "batch %" PRIu64 " not acknowledged (%s); keeping it spooled "
                      "and retrying with backoff", sl->seq,
                      sl->result ? nng_strerror(sl->result) : "hub asked to retry");
        s->hub_down_logged = true;
        edge_spool_release(ctx->spool, sl->seq, now + s->backoff_ms);
    }
    pthread_mutex_lock(&ctx->wake_mu);
    sl->phase = SLOT_IDLE;
    sl->cancelled = false;
    pthread_mutex_unlock(&ctx->wake_mu);
}

/* Starts sending the next ready spooled batch on an idle slot. Returns true if one started. */
static bool start_one(struct edge_sender *s, struct slot *sl)
{
    struct edge_ctx *ctx = s->ctx;
    uint8_t *buf;
    size_t len;
    uint64_t seq;
    uint32_t records;
    int rc = edge_spool_take(ctx->spool, edge_mono_ms(), &buf, &len, &seq, &records);
    if (rc < 0) {
        edge_err(&ctx->log, "cannot read a spooled batch: %s; its records are dropped",
                 strerror(-rc));
        return false;
    }
    if (rc == 0)
        return false;
    nng_msg *m;
    if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, len) != 0) {
        free(buf);
        edge_spool_release(ctx->spool, seq, edge_mono_ms() + BACKOFF_MIN_MS);
        return false;
    }
    free(buf);
    sl->seq = seq;
    sl->records = records;
    sl->result = 0;
    pthread_mutex_lock(&ctx->wake_mu);
    sl->phase = SLOT_SENDING;
    pthread_mutex_unlock(&ctx->wake_mu);
    nng_aio_set_msg(sl->aio, m);
    nng_ctx_send(sl->ctx, sl->aio);
    return true;
}

void *edge_sender_main(void *arg)
{
    struct edge_ctx *ctx = arg;
    struct edge_sender *s = ctx->sender;
    pthread_setname_np(pthread_self(), "edge-sender");
    edge_output_thread_nice(ctx, "edge-sender");
    uint64_t stop_deadline = 0;
    for (;;) {
        bool busy = false;
        bool may_start = !(stop_deadline && edge_mono_ms() >= stop_deadline);
        for (unsigned i = 0; i < s->n_slots; i++) {
            struct slot *sl = &s->slots[i];
            pthread_mutex_lock(&ctx->wake_mu);
            enum slot_phase ph = sl->phase;
            pthread_mutex_unlock(&ctx->wake_mu);
            if (ph == SLOT_DONE) {
                handle_done(s, sl);
                ph = SLOT_IDLE;
            }
            if (ph == SLOT_IDLE && may_start)
                ph = start_one(s, sl) ? SLOT_SENDING : SLOT_IDLE;
            busy |= ph != SLOT_IDLE;
        }
        uint64_t now = edge_mono_ms();
        if (atomic_load(&ctx->stop_sender)) {
            if (!stop_deadline)
                stop_deadline = now + ctx->cfg->shutdown_wait_ms;
            if (!busy && (edge_spool_first(ctx->spool, NULL) == 0 || now >= stop_deadline))
                break;
            if (now >= stop_deadline + ctx->cfg->ack_timeout_ms)
                break; /* a send still pending past its own timeout: give up, it is spooled */
        }
        pthread_mutex_lock(&ctx->wake_mu);
        bool any_done = false;
        for (unsigned i = 0; i < s->n_slots; i++)
            any_done |= s->slots[i].phase == SLOT_DONE;
        if (!any_done) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&ctx->wake_cv, &ctx->wake_mu, &ts);
        }
        pthread_mutex_unlock(&ctx->wake_mu);
    }
    return NULL;
}
