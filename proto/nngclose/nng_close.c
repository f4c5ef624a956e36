/*
 * nng_close.c - closes an nng socket with a deadline (nng_close.h): the hub's batch socket and
 * the edge's socket to the hub.
 *
 * nng 1.5.2 (Debian 12's libnng) can hang in nng_close for ever when a peer is sending a
 * request while the socket closes: the TCP transport's read of that request has completed but
 * its callback has not run yet when the pipe closes; the callback then re-arms the read on the
 * closed connection, nng silently refuses to start it, and the REP protocol's receive on that
 * pipe never finishes. nng's reaper thread then waits for that receive in the pipe's stop, and
 * nng_close waits for the pipe. (Fixed in nng 1.8: nanomsg/nng#1813, #1824.) The hub saw it as
 * a SIGTERM that never finished while edges were streaming (tests/hub test_hub_ingest,
 * test_sigterm_trickling_peers, reproduces it within a few stops); an edge closing its socket
 * while an acknowledgement arrives meets the same code path.
 *
 * The hub cannot reach into nng to finish that receive, so the close runs on a helper thread
 * and the caller waits for it at most the time it gives. By then every connection and
 * listener is already closed (nng closes them before it waits for the pipes), so abandoning the
 * wait only leaves the socket's memory and the blocked helper to the process's exit.
 */
#include <stdlib.h>
#include <time.h>

#include <pthread.h>
#include <stdbool.h>

#include "fl0wer/nng_close.h"

/* The close handed to the helper thread. Freed by whichever of the two lets go last. */
struct nng_closer {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    nng_socket sock;
    bool done;
    int refs;
};

/* Drops one reference to c; the last one frees it. */
static void closer_release(struct nng_closer *c)
{
    bool last;

    pthread_mutex_lock(&c->lock);
    last = --c->refs == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last)
        return;
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The helper thread: closes the socket, says so, lets go of c. */
static void *closer_main(void *arg)
{
    struct nng_closer *c = arg;

    nng_close(c->sock);
    pthread_mutex_lock(&c->lock);
    c->done = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    closer_release(c);
    return NULL;
}

/* Absolute CLOCK_MONOTONIC time ms from now. */
static struct timespec deadline_after(unsigned ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000u);
    ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* The contract is in nng_close.h. */
int fl0wer_nng_close_within(nng_socket sock, unsigned wait_ms)
{
    struct nng_closer *c = calloc(1, sizeof(*c));
    pthread_condattr_t attr;
    struct timespec until;
    pthread_t th;
    bool done;
    int rc = 0;

    if (!c)
        goto out_direct;
    c->sock = sock;
    c->refs = 2; /* this function and the helper thread */
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&th, NULL, closer_main, c) != 0) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->lock);
        free(c);
        goto out_direct;
    }
    until = deadline_after(wait_ms);
    pthread_mutex_lock(&c->lock);
    while (!c->done && rc == 0)
        rc = pthread_cond_timedwait(&c->cond, &c->lock, &until);
    done = c->done;
    pthread_mutex_unlock(&c->lock);
    if (done)
        pthread_join(th, NULL);
    else
        pthread_detach(th);
    closer_release(c);
    return done ? 0 : -1;

out_direct:
    nng_close(sock);
    return 0;
}
