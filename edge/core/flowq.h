/*
 * flowq.h - bounded multi-producer, single-consumer queue of flow records between the workers
 * (producers: aggregated or forwarded records) and the batcher (consumer). Producers block while
 * it is full, so nothing is dropped here: back-pressure reaches the sockets' receive buffers.
 *
 * Memory. The ring is one anonymous mapping of cap records (--queue-size, 128 MiB by default)
 * with transparent huge pages advised. Its first `kept` records are faulted in before traffic
 * and never given back (the warm part at least; the edge keeps --queue-resident, by default the
 * whole queue: edge_flowq_keep_resident()); a page past them is faulted in only when a burst
 * first reaches it, 2 MiB at a time. The ring in use is only the first `warm` records while they
 * hold what is queued, so steady traffic wraps within the same few hot pages; a producer that
 * finds it full doubles it (up to cap; wrapped records are moved behind the old end, in order),
 * and when the queue empties it shrinks back to the warm part. The pages a burst touched past
 * the kept part are given back to the kernel (MADV_DONTNEED) by edge_flowq_trim() once the queue
 * is empty and has stayed within the warm part for EDGE_FLOWQ_TRIM_MS.
 *
 * A consumer waiting in edge_flowq_peek() is woken only once wake_at records are queued (or a
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

#define EDGE_FLOWQ_WAKE    8192 /* records queued that wake a waiting consumer (at most cap/8) */
#define EDGE_FLOWQ_TRIM_MS 1000 /* quiet time before the pages of a burst are given back */

struct edge_flowq {
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    struct fl0wer_flow *ring; /* mapping of map_bytes */
    size_t map_bytes;
    size_t cap, head, count;
    size_t size;    /* ring in use: records wrap at size (warm .. cap) */
    size_t limit;   /* largest size allowed now: cap, or warm during a give-back */
    size_t warm;    /* records touched at init; the ring's size when empty */
    size_t kept;    /* records whose pages are never given back: warm, or more */
    size_t hiwater; /* ring slots [0, hiwater) may be resident (touched since the last trim) */
    size_t wake_at;
    bool consumer_waiting;
    uint64_t deep_ms; /* last trim call that saw records past the warm part */
    size_t hw_seen;   /* hiwater at that trim call */
    uint64_t pushed, popped;
    uint64_t peak;         /* most records queued at once */
    uint64_t grows;        /* ring size doublings */
    uint64_t trims;        /* give-backs done */
    uint64_t bytes_trimmed;
    unsigned producers_done; /* producers that called edge_flowq_producer_done() */
};

/*
 * Maps a ring of cap records (cap >= 16) and touches the pages of its first warm records
 * (rounded up to whole 2 MiB, clamped to 16..cap). Returns 0, or -1 (no memory; nothing to
 * release).
 */
int edge_flowq_init(struct edge_flowq *q, size_t cap, size_t warm);
void edge_flowq_release(struct edge_flowq *q);

/*
 * Before any producer starts: faults in the pages of the ring's first records (rounded up to
 * whole 2 MiB, at most cap) and never gives them back. A burst that grows the ring in use past
 * the warm part then writes into memory the kernel has already provided: a fresh page costs a
 * fault and zeroing (2.4 ms per MiB on the benchmark VM, more when the kernel has to compact
 * memory for a huge page), which producers would otherwise pay while holding mu, holding up the
 * other producers and the consumer. The ring in use still starts from, and shrinks back to, the
 * warm part, so steady traffic keeps wrapping within a few hot pages.
 */
void edge_flowq_keep_resident(struct edge_flowq *q, size_t records);

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

/*
 * Consumer only, called now and then with a monotonic clock: gives the pages past the kept part
 * back to the kernel when the queue is empty and nothing was queued past the warm part for
 * EDGE_FLOWQ_TRIM_MS (producers meanwhile queue at most warm records, so none writes into pages
 * being dropped). Returns the bytes given back (0 when nothing was due).
 */
size_t edge_flowq_trim(struct edge_flowq *q, uint64_t now_ms);

/* Marks one producer finished (used at shutdown to know when the queue is final). */
void edge_flowq_producer_done(struct edge_flowq *q);
unsigned edge_flowq_producers_done(struct edge_flowq *q);

#endif /* EDGE_FLOWQ_H */
