/*
 * flowq.h - bounded multi-producer, single-consumer queue of flow records between the workers
 * (producers: aggregated records) and the batcher (consumer). Producers block while it is full,
 * so nothing is dropped here: back-pressure reaches the sockets' receive buffers instead.
 *
 * A consumer waiting in edge_flowq_peek() is woken only once cap/8 records are queued (or a
 * producer finishes): a trickle of small pushes would otherwise wake it for every push (on the
 * benchmark VM about 40 us of CPU a wake-up). Below that it takes what is queued when its
 * timeout ends, which bounds the extra delay.
 */
#ifndef EDGE_FLOWQ_H
#define EDGE_FLOWQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

struct edge_flowq {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct fl0wer_flow *ring;
    size_t cap, head, count;
    size_t wake_at;       /* records queued that wake a waiting consumer (cap / 8, >= 1) */
    bool consumer_waiting;
    uint64_t pushed, popped;
    unsigned producers_done; /* producers that called edge_flowq_producer_done() */
};

int edge_flowq_init(struct edge_flowq *q, size_t cap);
void edge_flowq_release(struct edge_flowq *q);

/* Appends count records, waiting for room as needed. */
void edge_flowq_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count);

/* Appends as many of the count records as fit now, without waiting. Returns how many. */
size_t edge_flowq_try_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count);

/*
 * Zero-copy take for the single consumer: waits at most timeout_ms for a record, then points
 * *out at up to max records at the head of the ring (one contiguous run) and returns how many
 * (0 on timeout). They stay valid, and producers do not overwrite them, until
 * edge_flowq_consume(q, n) releases the first n of them.
 */
size_t edge_flowq_peek(struct edge_flowq *q, const struct fl0wer_flow **out, size_t max,
                       unsigned timeout_ms);
void edge_flowq_consume(struct edge_flowq *q, size_t n);

/* Marks one producer finished (used at shutdown to know when the queue is final). */
void edge_flowq_producer_done(struct edge_flowq *q);
unsigned edge_flowq_producers_done(struct edge_flowq *q);

#endif /* EDGE_FLOWQ_H */
