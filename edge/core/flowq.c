/* flowq.c - the bounded worker -> batcher record queue (flowq.h). */
#include "flowq.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int edge_flowq_init(struct edge_flowq *q, size_t cap)
{
    q->ring = calloc(cap, sizeof(*q->ring));
    if (!q->ring)
        return -1;
    q->cap = cap;
    q->wake_at = cap / 8 ? cap / 8 : 1;
    q->consumer_waiting = false;
    q->head = q->count = 0;
    q->pushed = q->popped = 0;
    q->producers_done = 0;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->not_empty, &ca);
    pthread_cond_init(&q->not_full, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

void edge_flowq_release(struct edge_flowq *q)
{
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    free(q->ring);
    q->ring = NULL;
}

void edge_flowq_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count)
{
    pthread_mutex_lock(&q->mu);
    while (count) {
        while (q->count == q->cap)
            pthread_cond_wait(&q->not_full, &q->mu);
        size_t tail = (q->head + q->count) % q->cap;
        size_t room = q->cap - q->count;
        size_t run = q->cap - tail;
        size_t n = count < room ? count : room;
        if (n > run)
            n = run;
        memcpy(q->ring + tail, flows, n * sizeof(*flows));
        q->count += n;
        q->pushed += n;
        flows += n;
        count -= n;
        if (q->consumer_waiting && (q->count >= q->wake_at || q->count == q->cap))
            pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
}

size_t edge_flowq_try_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count)
{
    size_t done = 0;
    pthread_mutex_lock(&q->mu);
    while (done < count && q->count < q->cap) {
        size_t tail = (q->head + q->count) % q->cap;
        size_t n = count - done;
        if (n > q->cap - q->count)
            n = q->cap - q->count;
        if (n > q->cap - tail)
            n = q->cap - tail;
        memcpy(q->ring + tail, flows + done, n * sizeof(*flows));
        q->count += n;
        q->pushed += n;
        done += n;
    }
    if (done && q->consumer_waiting && q->count >= q->wake_at)
        pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return done;
}

size_t edge_flowq_peek(struct edge_flowq *q, const struct fl0wer_flow **out, size_t max,
                       unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->mu);
    while (q->count == 0) {
        q->consumer_waiting = true;
        int rc = pthread_cond_timedwait(&q->not_empty, &q->mu, &deadline);
        q->consumer_waiting = false;
        if (rc != 0)
            break;
    }
    size_t n = q->count < max ? q->count : max;
    if (n > q->cap - q->head)
        n = q->cap - q->head; /* one contiguous run */
    *out = q->ring + q->head;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void edge_flowq_consume(struct edge_flowq *q, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&q->mu);
    q->head = (q->head + n) % q->cap;
    q->count -= n;
    q->popped += n;
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

void edge_flowq_producer_done(struct edge_flowq *q)
{
    pthread_mutex_lock(&q->mu);
    q->producers_done++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

unsigned edge_flowq_producers_done(struct edge_flowq *q)
{
    pthread_mutex_lock(&q->mu);
    unsigned n = q->producers_done;
    pthread_mutex_unlock(&q->mu);
    return n;
}
