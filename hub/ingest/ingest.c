/*
 * ingest.c - the ingest's plumbing: the nng REP socket and its listeners (tcp://, tls+tcp://),
 * one asynchronous receive loop per nng context, the work queue that hands received batches to
 * worker threads, sending acks, orderly shutdown and the counters.
 *
 * A context's life: RECV (receive pending) -> callback queues it -> WORK (a worker verifies it
 * and parks it on its edge, order.c stores it) -> SEND (ack) -> callback re-arms RECV. No nng
 * callback ever blocks: verification, parsing and fsync happen on the workers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fl0wer/nng_close.h"
#include "ingest_int.h"

#include <nng/protocol/reqrep0/rep.h>

/* Receive limit: a little above the batch limit so an oversized batch is still received and
 * answered REJECTED; anything larger makes nng drop the connection. */
#define INGEST_RECV_MAX ((size_t)FL0WER_BATCH_MAX_LEN + 65536u)
#define INGEST_SEND_TIMEOUT_MS 5000
#define INGEST_GAP_POLL_MS 20
/* How long stopping waits for nng to close the socket before leaving it to the process exit
 * (proto/nngclose/nng_close.c); a normal close takes milliseconds. */
#define INGEST_CLOSE_WAIT_MS 2000u

/* Re-arms the receive of job unless the ingest is stopping. */
static void job_recv(struct fl0wer_ingest *ing, struct ingest_job *job)
{
    if (atomic_load(&ing->stopping)) {
        atomic_store(&job->state, JOB_DONE);
        pthread_mutex_lock(&ing->lock);
        ing->jobs_active--;
        pthread_cond_broadcast(&ing->idle_cond);
        pthread_mutex_unlock(&ing->lock);
        return;
    }
    atomic_store(&job->state, JOB_RECV);
    nng_aio_set_timeout(job->aio, NNG_DURATION_INFINITE);
    nng_ctx_recv(job->ctx, job->aio);
}

/* The aio callback of a context: a receive or a send completed. Never blocks. */
static void job_cb(void *arg)
{
    struct ingest_job *job = arg;
    struct fl0wer_ingest *ing = job->ing;
    int rv = nng_aio_result(job->aio);

    if (atomic_load(&job->state) == JOB_SEND) {
        if (rv != 0)
            nng_msg_free(nng_aio_get_msg(job->aio));
        job_recv(ing, job);
        return;
    }
    if (rv != 0) {
        if (rv != NNG_ECANCELED && rv != NNG_ECLOSED)
            ingest_logf(ing, 1, "batch receive failed: %s", nng_strerror(rv));
        job_recv(ing, job);
        return;
    }
    job->msg = nng_aio_get_msg(job->aio);
    job->next = NULL;
    atomic_store(&job->state, JOB_WORK);
    pthread_mutex_lock(&ing->lock);
    ing->st.in_flight++;
    if (ing->queue_tail)
        ing->queue_tail->next = job;
    else
        ing->queue_head = job;
    ing->queue_tail = job;
    pthread_cond_signal(&ing->work_cond);
    pthread_mutex_unlock(&ing->lock);
}

/* Sends the ack of every job on the done list (called without ing->lock). */
void ingest_send_acks(struct ingest_job *done)
{
    struct ingest_job *job;
    uint8_t ack[FL0WER_ACK_LEN];
    nng_msg *m;

    while ((job = done) != NULL) {
        done = job->next;
        job->next = NULL;
        fl0wer_ack_encode(ack, job->ack, job->ack_seq);
        m = job->msg;
        job->msg = NULL;
        if (!m && nng_msg_alloc(&m, 0) != 0) {
            job_recv(job->ing, job); /* no memory for an ack: the edge will resend */
            continue;
        }
        nng_msg_clear(m);
        if (nng_msg_append(m, ack, sizeof(ack)) != 0) {
            nng_msg_free(m);
            job_recv(job->ing, job);
            continue;
        }
        atomic_store(&job->state, JOB_SEND);
        nng_aio_set_msg(job->aio, m);
        nng_aio_set_timeout(job->aio, INGEST_SEND_TIMEOUT_MS);
        nng_ctx_send(job->ctx, job->aio);
    }
}

/*
 * Gives b (whose arrays are empty) the most recently returned arrays of the pool, if any, for
 * fl0wer_batch_parse_reuse to fill. Lock not needed beyond pool_lock.
 */
void ingest_arrays_take(struct fl0wer_ingest *ing, struct fl0wer_batch *b)
{
    if (b->flow_cap || b->exporter_cap || b->interface_cap)
        return;
    pthread_mutex_lock(&ing->pool_lock);
    if (ing->pool_n > 0) {
        struct ingest_arrays *a = &ing->pool[--ing->pool_n];
        b->flows = a->flows;
        b->flow_cap = a->flow_cap;
        b->exporters = a->exporters;
        b->exporter_cap = a->exporter_cap;
        b->interfaces = a->interfaces;
        b->interface_cap = a->interface_cap;
    }
    pthread_mutex_unlock(&ing->pool_lock);
}

/*
 * Empties job's parsed batch once it has been answered and returns its arrays to the pool on
 * top (freed instead when larger than INGEST_KEEP_FLOWS flows or the pool is full).
 */
void ingest_job_batch_done(struct ingest_job *job)
{
    struct fl0wer_ingest *ing = job->ing;
    struct fl0wer_batch *b = &job->batch;
    bool kept = false;

    b->flow_count = b->exporter_count = b->interface_count = 0;
    b->seq = 0;
    if (!b->flow_cap && !b->exporter_cap && !b->interface_cap)
        return;
    if (b->flow_cap <= INGEST_KEEP_FLOWS && b->exporter_cap <= INGEST_KEEP_FLOWS &&
        b->interface_cap <= INGEST_KEEP_FLOWS) {
        pthread_mutex_lock(&ing->pool_lock);
        if (ing->pool_n < INGEST_POOL_MAX) {
            ing->pool[ing->pool_n++] = (struct ingest_arrays){
                b->flows, b->exporters, b->interfaces, b->flow_cap, b->exporter_cap,
                b->interface_cap};
            kept = true;
        }
        pthread_mutex_unlock(&ing->pool_lock);
    }
    if (!kept)
        fl0wer_batch_release(b);
    b->flows = NULL;
    b->exporters = NULL;
    b->interfaces = NULL;
    b->flow_cap = b->exporter_cap = b->interface_cap = 0;
}

/* Verifies one received job (lock not held) and parks it or queues its reject ack. */
static void work_one(struct fl0wer_ingest *ing, struct ingest_job *job, struct ingest_job **done)
{
    char edge_name[FL0WER_EDGE_NAME_MAX];
    size_t len = nng_msg_len(job->msg);
    bool ok;
    nng_msg *small;

    job->write_gen = 0;
    ok = ingest_verify_job(ing, job, edge_name);
    /* The batch body is no longer needed: swap it for a small message that carries the ack. */
    if (nng_msg_alloc(&small, 0) == 0) {
        nng_msg_free(job->msg);
        job->msg = small;
    }
    pthread_mutex_lock(&ing->lock);
    ing->st.batches_received++;
    ing->st.bytes_received += len;
    if (ok) {
        ingest_park(ing, job, edge_name, done);
    } else {
        ingest_job_batch_done(job); /* a failed parse may have grown the arrays */
        job->next = *done;
        *done = job;
    }
}

/* Counts answered jobs out of in_flight. Under ing->lock. */
static void count_answered(struct fl0wer_ingest *ing, struct ingest_job *done)
{
    for (; done; done = done->next)
        ing->st.in_flight--;
}

/* Worker thread: takes received jobs off the queue, verifies and stores them, and revisits
 * edges whose batches wait for a gap. Exits when told to and the queue is empty. */
static void *worker_main(void *arg)
{
    struct fl0wer_ingest *ing = arg;
    struct ingest_job *job;
    struct ingest_job *done;
    struct timespec ts;

    pthread_mutex_lock(&ing->lock);
    for (;;) {
        done = NULL;
        if ((job = ing->queue_head) != NULL) {
            ing->queue_head = job->next;
            if (!ing->queue_head)
                ing->queue_tail = NULL;
            pthread_mutex_unlock(&ing->lock);
            work_one(ing, job, &done); /* returns with the lock held */
        } else if (ing->parked_count > 0 && ingest_run_expired(ing, &done)) {
            /* answered something below */
        } else if (ing->workers_exit && ing->parked_count == 0) {
            break;
        } else if (ing->parked_count > 0) {
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += INGEST_GAP_POLL_MS * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&ing->work_cond, &ing->lock, &ts);
            continue;
        } else {
            pthread_cond_wait(&ing->work_cond, &ing->lock);
            continue;
        }
        if (done) {
            count_answered(ing, done);
            pthread_mutex_unlock(&ing->lock);
            ingest_commit_done(ing, done); /* sends the acks */
            pthread_mutex_lock(&ing->lock);
        }
    }
    pthread_mutex_unlock(&ing->lock);
    return NULL;
}

/* Reads a whole small file into a NUL-terminated malloc'd string. Returns NULL on failure. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1L << 20) ||
        fseek(f, 0, SEEK_SET) != 0)
        goto out_close;
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
out_close:
    fclose(f);
    return buf;
}

/* Builds the server TLS configuration from cfg's certificate and key files. */
static int tls_setup(struct fl0wer_ingest *ing, const struct fl0wer_ingest_config *cfg,
                     char *errbuf)
{
    char *cert = NULL;
    char *key = NULL;
    int rv;

    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN,
                 "tls+tcp:// listeners need both a certificate and a key file");
        return FL0WER_INGEST_ERR_INVAL;
    }
    cert = read_text(cfg->tls_cert);
    key = read_text(cfg->tls_key);
    if (!cert || !key) {
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "cannot read tls %s %s",
                 cert ? "key" : "certificate", cert ? cfg->tls_key : cfg->tls_cert);
        rv = FL0WER_INGEST_ERR_TLS;
        goto out_free;
    }
    rv = nng_tls_config_alloc(&ing->tls, NNG_TLS_MODE_SERVER);
    if (rv == 0)
        rv = nng_tls_config_own_cert(ing->tls, cert, key, NULL);
    if (rv != 0) {
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "tls certificate %s / key %s unusable: %s",
                 cfg->tls_cert, cfg->tls_key, nng_strerror(rv));
        rv = FL0WER_INGEST_ERR_TLS;
        goto out_free;
    }
out_free:
    if (key)
        sodium_memzero(key, strlen(key));
    free(cert);
    free(key);
    return rv;
}

/* Creates and starts one listener for url. */
static int listen_one(struct fl0wer_ingest *ing, const char *url, char *errbuf)
{
    nng_listener l;
    int rv;

    rv = nng_listener_create(&l, ing->sock, url);
    if (rv != 0)
        goto out_err;
    ing->listeners[ing->n_listeners] = l;
    ing->urls[ing->n_listeners] = strdup(url);
    ing->n_listeners++;
    rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, INGEST_RECV_MAX);
    if (rv == 0 && strncmp(url, "tls+", 4) == 0)
        rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, ing->tls);
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    if (rv == 0)
        return 0;
out_err:
    snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "cannot listen on %s: %s", url, nng_strerror(rv));
    return FL0WER_INGEST_ERR_LISTEN;
}

/* Opens the socket, the TLS configuration when needed, and every listener. */
static int listen_all(struct fl0wer_ingest *ing, const struct fl0wer_ingest_config *cfg,
                      char *errbuf)
{
    static const char *const def[] = {FL0WER_INGEST_DEFAULT_LISTEN};
    const char *const *urls = cfg->listen_count ? cfg->listen : def;
    size_t n = cfg->listen_count ? cfg->listen_count : 1;
    bool tls = false;
    size_t i;
    int rv;

    for (i = 0; i < n; i++)
        if (strncmp(urls[i], "tls+", 4) == 0)
            tls = true;
    if (tls && (rv = tls_setup(ing, cfg, errbuf)) != 0)
        return rv;
    ing->listeners = calloc(n, sizeof(*ing->listeners));
    ing->urls = calloc(n, sizeof(*ing->urls));
    if (!ing->listeners || !ing->urls)
        return FL0WER_INGEST_ERR_NOMEM;
    rv = nng_rep0_open(&ing->sock);
    if (rv != 0) {
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "cannot open rep socket: %s", nng_strerror(rv));
        return FL0WER_INGEST_ERR_LISTEN;
    }
    ing->sock_open = true;
    nng_socket_set_size(ing->sock, NNG_OPT_RECVMAXSZ, INGEST_RECV_MAX);
    for (i = 0; i < n; i++)
        if ((rv = listen_one(ing, urls[i], errbuf)) != 0)
            return rv;
    return 0;
}

/* Opens the contexts and their aios (not yet receiving). */
static int jobs_open(struct fl0wer_ingest *ing, unsigned n, char *errbuf)
{
    unsigned i;
    int rv;

    ing->jobs = calloc(n, sizeof(*ing->jobs));
    if (!ing->jobs)
        return FL0WER_INGEST_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        struct ingest_job *job = &ing->jobs[i];

        job->ing = ing;
        atomic_init(&job->state, JOB_DONE);
        rv = nng_aio_alloc(&job->aio, job_cb, job);
        if (rv == 0) {
            rv = nng_ctx_open(&job->ctx, ing->sock);
            if (rv != 0) {
                nng_aio_free(job->aio);
                job->aio = NULL;
            }
        }
        if (rv != 0) {
            snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "cannot open nng context: %s",
                     nng_strerror(rv));
            return FL0WER_INGEST_ERR_NOMEM;
        }
        ing->n_jobs++;
    }
    return 0;
}

/* Frees everything start may have created. The workers must not be running. */
static void ingest_free(struct fl0wer_ingest *ing)
{
    struct ingest_edge *e;
    unsigned i;

    for (i = 0; i < ing->n_jobs; i++)
        nng_aio_stop(ing->jobs[i].aio);
    /* Closes listeners, pipes and contexts. Bounded: nng 1.5.2 can hang here (nng_close.h). */
    if (ing->sock_open && fl0wer_nng_close_within(ing->sock, INGEST_CLOSE_WAIT_MS) != 0)
        ingest_logf(ing, 0,
                    "closing the batch socket did not finish within %u ms (an nng 1.5 bug when "
                    "a request arrives during the close); its connections are closed, the rest "
                    "is left to the process exit",
                    INGEST_CLOSE_WAIT_MS);
    for (i = 0; i < ing->n_jobs; i++) {
        nng_aio_free(ing->jobs[i].aio);
        if (ing->jobs[i].msg)
            nng_msg_free(ing->jobs[i].msg);
        fl0wer_batch_release(&ing->jobs[i].batch);
    }
    while (ing->pool_n > 0) {
        struct ingest_arrays *a = &ing->pool[--ing->pool_n];
        free(a->flows);
        free(a->exporters);
        free(a->interfaces);
    }
    pthread_mutex_destroy(&ing->pool_lock);
    if (ing->tls)
        nng_tls_config_free(ing->tls);
    while ((e = ing->edges) != NULL) {
        ing->edges = e->next;
        free(e);
    }
    fl0wer_authorized_release(&ing->auth);
    pthread_rwlock_destroy(&ing->auth_lock);
    pthread_mutex_destroy(&ing->lock);
    pthread_mutex_destroy(&ing->sync_lock);
    pthread_cond_destroy(&ing->work_cond);
    pthread_cond_destroy(&ing->idle_cond);
    for (i = 0; ing->urls && i < ing->n_listeners; i++)
        free(ing->urls[i]);
    free(ing->urls);
    free(ing->listeners);
    free(ing->jobs);
    free(ing->workers);
    free(ing->authorized_path);
    free(ing);
}

/* Tells the workers to finish and joins them. */
static void workers_join(struct fl0wer_ingest *ing)
{
    unsigned i;

    pthread_mutex_lock(&ing->lock);
    ing->workers_exit = true;
    ing->flush = true;
    pthread_cond_broadcast(&ing->work_cond);
    pthread_mutex_unlock(&ing->lock);
    for (i = 0; i < ing->n_workers; i++)
        pthread_join(ing->workers[i], NULL);
    ing->n_workers = 0;
}

int fl0wer_ingest_start(struct fl0wer_ingest **out, const struct fl0wer_ingest_config *cfg,
                        struct fl0wer_store *store, char *errbuf)
{
    struct fl0wer_ingest *ing;
    unsigned n_workers = cfg->workers ? cfg->workers : 4;
    unsigned n_jobs = cfg->contexts ? cfg->contexts : 32;
    unsigned i;
    int rv;

    errbuf[0] = '\0';
    if (!cfg->authorized_path || !store) {
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "ingest needs an authorized edges file");
        return FL0WER_INGEST_ERR_INVAL;
    }
    ing = calloc(1, sizeof(*ing));
    if (!ing)
        return FL0WER_INGEST_ERR_NOMEM;
    ing->store = store;
    ing->order_wait_ms = cfg->order_wait_ms ? cfg->order_wait_ms : 1000;
    ing->group_commit = cfg->group_commit;
    atomic_init(&ing->written_gen, 0);
    atomic_init(&ing->syncs, 0);
    pthread_mutex_init(&ing->sync_lock, NULL);
    pthread_mutex_init(&ing->pool_lock, NULL);
    ing->log_fn = cfg->log;
    ing->log_arg = cfg->log_arg;
    ing->on_stored = cfg->on_stored;
    ing->on_stored_arg = cfg->on_stored_arg;
    ing->st.started_ms = fl0wer_hub_now_ms();
    atomic_init(&ing->stopping, false);
    pthread_rwlock_init(&ing->auth_lock, NULL);
    pthread_mutex_init(&ing->lock, NULL);
    pthread_cond_init(&ing->work_cond, NULL);
    pthread_cond_init(&ing->idle_cond, NULL);
    ing->authorized_path = strdup(cfg->authorized_path);
    ing->workers = calloc(n_workers, sizeof(*ing->workers));
    if (!ing->authorized_path || !ing->workers) {
        rv = FL0WER_INGEST_ERR_NOMEM;
        goto out_free;
    }
    rv = ingest_auth_load(ing, errbuf, FL0WER_INGEST_ERRBUF_LEN);
    if (rv != 0)
        goto out_free;
    rv = listen_all(ing, cfg, errbuf);
    if (rv == 0)
        rv = jobs_open(ing, n_jobs, errbuf);
    if (rv != 0)
        goto out_free;
    for (i = 0; i < n_workers; i++) {
        if (pthread_create(&ing->workers[i], NULL, worker_main, ing) != 0) {
            snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "cannot start ingest worker thread");
            rv = FL0WER_INGEST_ERR_NOMEM;
            goto out_join;
        }
        ing->n_workers++;
    }
    pthread_mutex_lock(&ing->lock);
    ing->jobs_active = ing->n_jobs;
    pthread_mutex_unlock(&ing->lock);
    for (i = 0; i < ing->n_jobs; i++)
        job_recv(ing, &ing->jobs[i]);
    ingest_logf(ing, 2, "ingest started: %zu authorized edges, %u contexts, %u workers",
                ing->auth.count, ing->n_jobs, ing->n_workers);
    *out = ing;
    return 0;

out_join:
    workers_join(ing);
out_free:
    if (rv == FL0WER_INGEST_ERR_NOMEM && errbuf[0] == '\0')
        snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "out of memory starting the ingest");
    ingest_free(ing);
    return rv;
}

/* Cancels pending receives until every context has stopped; workers keep storing and acking
 * what was already received meanwhile. */
static void drain(struct fl0wer_ingest *ing)
{
    struct timespec ts;
    unsigned i;

    atomic_store(&ing->stopping, true);
    pthread_mutex_lock(&ing->lock);
    while (ing->jobs_active > 0) {
        pthread_mutex_unlock(&ing->lock);
        for (i = 0; i < ing->n_jobs; i++)
            if (atomic_load(&ing->jobs[i].state) == JOB_RECV)
                nng_aio_cancel(ing->jobs[i].aio);
        pthread_mutex_lock(&ing->lock);
        ing->flush = true; /* parked batches: store them now, do not wait for gaps */
        pthread_cond_broadcast(&ing->work_cond);
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ing->idle_cond, &ing->lock, &ts);
    }
    pthread_mutex_unlock(&ing->lock);
}

void fl0wer_ingest_stop(struct fl0wer_ingest *ing)
{
    struct fl0wer_ingest_stats st;

    if (!ing)
        return;
    drain(ing);
    workers_join(ing);
    fl0wer_ingest_get_stats(ing, &st);
    ingest_logf(ing, 2,
                "ingest stopped: %llu batches stored (%llu records), %llu duplicates, %llu "
                "rejected, %llu retry, %llu store syncs",
                (unsigned long long)st.batches_stored, (unsigned long long)st.records_stored,
                (unsigned long long)st.batches_duplicate,
                (unsigned long long)st.batches_rejected, (unsigned long long)st.batches_retry,
                (unsigned long long)st.store_syncs);
    ingest_free(ing);
}

int fl0wer_ingest_reload(struct fl0wer_ingest *ing, char *errbuf)
{
    char msg[FL0WER_INGEST_ERRBUF_LEN];
    int rc = ingest_auth_load(ing, msg, sizeof(msg));

    pthread_mutex_lock(&ing->lock);
    if (rc == 0)
        ing->st.reloads++;
    else
        ing->st.reload_failures++;
    pthread_mutex_unlock(&ing->lock);
    if (rc != 0) {
        ingest_logf(ing, 0, "%s; keeping the previous authorized edges", msg);
        if (errbuf)
            snprintf(errbuf, FL0WER_INGEST_ERRBUF_LEN, "%s", msg);
        return rc;
    }
    pthread_rwlock_rdlock(&ing->auth_lock);
    ingest_logf(ing, 2, "reloaded %s: %zu authorized edges", ing->authorized_path,
                ing->auth.count);
    pthread_rwlock_unlock(&ing->auth_lock);
    return 0;
}

void fl0wer_ingest_get_stats(struct fl0wer_ingest *ing, struct fl0wer_ingest_stats *out)
{
    uint64_t now = fl0wer_hub_now_ms();
    uint64_t sec = now / 1000u;
    uint64_t batches = 0, records = 0;
    double span;
    unsigned i;

    pthread_mutex_lock(&ing->lock);
    *out = ing->st;
    out->store_syncs = atomic_load(&ing->syncs);
    /* Full seconds of the last minute (the current second is still filling). */
    for (i = 0; i < INGEST_RATE_SLOTS; i++) {
        const struct ingest_rate_slot *s = &ing->rate[i];

        if (s->sec < sec && s->sec + INGEST_RATE_SLOTS >= sec) {
            batches += s->batches;
            records += s->records;
        }
    }
    pthread_mutex_unlock(&ing->lock);
    span = (double)(sec - out->started_ms / 1000u);
    if (span > INGEST_RATE_SLOTS)
        span = INGEST_RATE_SLOTS;
    if (span < 1)
        span = 1;
    out->batches_per_s = (double)batches / span;
    out->records_per_s = (double)records / span;
}

void fl0wer_ingest_foreach_edge(struct fl0wer_ingest *ing,
                                void (*fn)(void *arg, const struct fl0wer_ingest_edge_stats *e),
                                void *arg)
{
    struct fl0wer_ingest_edge_stats *copy = NULL;
    struct ingest_edge *e;
    size_t n = 0, i = 0;

    pthread_mutex_lock(&ing->lock);
    for (e = ing->edges; e; e = e->next)
        n++;
    copy = n ? calloc(n, sizeof(*copy)) : NULL;
    for (e = ing->edges; copy && e; e = e->next)
        copy[i++] = e->st;
    pthread_mutex_unlock(&ing->lock);
    for (i = 0; copy && i < n; i++)
        fn(arg, &copy[i]);
    free(copy);
}

int fl0wer_ingest_bound_url(struct fl0wer_ingest *ing, size_t index, char *buf, size_t len)
{
    const char *url;
    const char *colon;
    int port = 0;
    int n;

    if (index >= ing->n_listeners || !ing->urls[index])
        return -1;
    url = ing->urls[index];
    colon = strrchr(url, ':');
    if (strstr(url, "tcp") && colon && strcmp(colon, ":0") == 0 &&
        nng_listener_get_int(ing->listeners[index], NNG_OPT_TCP_BOUND_PORT, &port) == 0)
        n = snprintf(buf, len, "%.*s:%d", (int)(colon - url), url, port);
    else
        n = snprintf(buf, len, "%s", url);
    return (n < 0 || (size_t)n >= len) ? -1 : 0;
}
