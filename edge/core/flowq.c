/* flowq.c - the bounded worker -> batcher record queue (flowq.h). */
#include "flowq.h"

#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define HUGE_BYTES ((size_t)2 << 20)

static size_t round_up(size_t v, size_t to)
{
    return (v + to - 1) / to * to;
}

/* Maps bytes (a multiple of HUGE_BYTES) at a 2 MiB-aligned address, so that transparent huge
 * pages can back all of it; advises them. Returns the mapping or NULL. */
static void *map_aligned(size_t bytes)
{
    size_t span = bytes + HUGE_BYTES;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *start = (uint8_t *)round_up((uintptr_t)p, HUGE_BYTES);
    if (start > p)
        munmap(p, (size_t)(start - p));
    if (p + span > start + bytes)
        munmap(start + bytes, (size_t)(p + span - (start + bytes)));
#ifdef MADV_HUGEPAGE
    madvise(start, bytes, MADV_HUGEPAGE);
#endif
    return start;
}

/* Faults in the pages of the ring's first records, rounded up to whole 2 MiB (huge pages where
 * the kernel has them) and clamped to the mapping, without changing them: MADV_POPULATE_WRITE, or
 * on kernels before 5.14 a write per page (so only before any record is queued). Returns how many
 * records (at most cap) those pages hold. */
static size_t fault_in(struct edge_flowq *q, size_t records)
{
    size_t bytes = round_up((records < q->cap ? records : q->cap) * sizeof(*q->ring), HUGE_BYTES);
    if (bytes > q->map_bytes)
        bytes = q->map_bytes;
    bool populated = false;
#ifdef MADV_POPULATE_WRITE
    populated = bytes && madvise(q->ring, bytes, MADV_POPULATE_WRITE) == 0;
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t off = 0; !populated && off < bytes; off += page)
        ((volatile uint8_t *)q->ring)[off] = 0;
    size_t held = bytes / sizeof(*q->ring);
    return held < q->cap ? held : q->cap;
}

void edge_flowq_keep_resident(struct edge_flowq *q, size_t records)
{
    size_t held = fault_in(q, records);
    if (held > q->kept)
        q->kept = held;
    if (q->kept > q->hiwater)
        q->hiwater = q->hw_seen = q->kept;
}

int edge_flowq_init(struct edge_flowq *q, size_t cap, size_t warm)
{
    memset(q, 0, sizeof(*q));
    if (cap < 16)
        cap = 16;
    q->map_bytes = round_up(cap * sizeof(*q->ring), HUGE_BYTES);
    q->ring = map_aligned(q->map_bytes);
    if (!q->ring)
        return -1;
    q->cap = q->limit = cap;
    q->warm = fault_in(q, warm); /* now, not in a burst */
    if (q->warm < 16)
        q->warm = 16 < cap ? 16 : cap;
    q->size = q->kept = q->warm;
    q->hiwater = q->hw_seen = q->warm;
    q->wake_at = cap / 8 < EDGE_FLOWQ_WAKE ? (cap / 8 ? cap / 8 : 1) : EDGE_FLOWQ_WAKE;
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
    if (!q->ring)
        return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    munmap(q->ring, q->map_bytes);
    q->ring = NULL;
}

/* Grows the ring in use (mu held, full at size records) towards limit, doubling: when the
 * records wrap, the first of them at the front move past the old end (and the rest down to
 * slot 0), so they stay in order behind head; the consumer only reads from head to the old end
 * meanwhile, which does not move. Returns false when it cannot grow. */
static bool grow(struct edge_flowq *q)
{
    if (q->size >= q->limit)
        return false;
    size_t nsize = q->size * 2 < q->limit ? q->size * 2 : q->limit;
    size_t m = q->head; /* records wrapped to the front */
    if (m > nsize - q->size)
        m = nsize - q->size;
    memcpy(q->ring + q->size, q->ring, m * sizeof(*q->ring));
    if (q->head > m)
        memmove(q->ring, q->ring + m, (q->head - m) * sizeof(*q->ring));
    if (q->size + m > q->hiwater)
        q->hiwater = q->size + m;
    q->size = nsize;
    q->grows++;
    return true;
}

/* Copies up to count records to the tail (mu held): what fits, growing the ring in use when
 * it is full, in one contiguous run. Returns how many (0: full at the limit). */
static size_t put_run(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count)
{
    if (q->count >= q->size && !grow(q))
        return 0;
    size_t tail = q->head + q->count;
    if (tail >= q->size)
        tail -= q->size;
    size_t n = q->size - q->count;
    if (n > count)
        n = count;
    if (n > q->size - tail)
        n = q->size - tail;
    memcpy(q->ring + tail, flows, n * sizeof(*flows));
    if (tail + n > q->hiwater)
        q->hiwater = tail + n;
    q->count += n;
    q->pushed += n;
    if (q->count > q->peak)
        q->peak = q->count;
    return n;
}

void edge_flowq_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count)
{
    pthread_mutex_lock(&q->mu);
    while (count) {
        size_t n;
        while ((n = put_run(q, flows, count)) == 0)
            pthread_cond_wait(&q->not_full, &q->mu);
        flows += n;
        count -= n;
        if (q->consumer_waiting && (q->count >= q->wake_at || q->count >= q->limit))
            pthread_cond_signal(&q->not_empty);
    }
    pthread_mutex_unlock(&q->mu);
}

size_t edge_flowq_try_push(struct edge_flowq *q, const struct fl0wer_flow *flows, size_t count)
{
    size_t done = 0, n;
    pthread_mutex_lock(&q->mu);
    while (done < count && (n = put_run(q, flows + done, count - done)) > 0)
        done += n;
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
    if (n > q->size - q->head)
        n = q->size - q->head; /* one contiguous run */
    *out = q->ring + q->head;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void edge_flowq_consume(struct edge_flowq *q, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&q->mu);
    q->head += n;
    if (q->head >= q->size)
        q->head -= q->size;
    q->count -= n;
    q->popped += n;
    if (q->count == 0) { /* empty: start over in the warm front of the ring */
        q->head = 0;
        q->size = q->warm;
    }
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
}

size_t edge_flowq_trim(struct edge_flowq *q, uint64_t now_ms)
{
    pthread_mutex_lock(&q->mu);
    if (q->size > q->warm || q->hiwater != q->hw_seen) {
        q->deep_ms = now_ms; /* in use past the warm part, or was since the last look */
        q->hw_seen = q->hiwater;
    }
    if (q->count || q->hiwater <= q->kept || now_ms - q->deep_ms < EDGE_FLOWQ_TRIM_MS) {
        pthread_mutex_unlock(&q->mu);
        return 0;
    }
    /* Empty, so head is 0 and the ring in use is the warm part: while limit is warm too, it
     * cannot grow, so producers write only there. */
    size_t from = q->kept * sizeof(*q->ring);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t start = round_up(from, page);
    size_t end = round_up(q->hiwater * sizeof(*q->ring), page);
    if (end > q->map_bytes)
        end = q->map_bytes;
    q->limit = q->warm;
    pthread_mutex_unlock(&q->mu);
    size_t given = 0;
    if (end > start && madvise((uint8_t *)q->ring + start, end - start, MADV_DONTNEED) == 0)
        given = end - start;
    pthread_mutex_lock(&q->mu);
    q->limit = q->cap;
    q->hiwater = q->hw_seen = q->kept;
    if (given) {
        q->trims++;
        q->bytes_trimmed += given;
    }
    pthread_cond_broadcast(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return given;
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
