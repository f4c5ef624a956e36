/*
 * test_flowq.c - the worker -> batcher record queue (edge/core/flowq.h): records come out in
 * order across the ring's wrap, the ring in use doubles from its warm part when full (also while
 * wrapped, records kept in order, also when the doubling is clipped at the capacity) and shrinks
 * back when empty, an empty queue starts over at slot 0, try_push takes exactly the
 * free room, producers block while the queue is full and every record of two producers arrives
 * once in each producer's order, pages are faulted in only as a burst reaches them (mincore)
 * and those past the warm part are given back exactly when the queue is empty and has been
 * quiet for EDGE_FLOWQ_TRIM_MS, not before, while the warm part stays resident; a kept part
 * (edge_flowq_keep_resident) is resident before any record and never given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "flowq.h"

#define MIB ((size_t)1 << 20)

/* Record stamped with producer p and sequence s. */
static void stamp(struct fl0wer_flow *f, uint32_t p, uint64_t s)
{
    memset(f, 0, sizeof(*f));
    f->src_port = (uint16_t)p;
    f->bytes = s;
    f->packets = s * 3 + 1;
}

/* Pops up to max records (waiting at most 100 ms), checking they continue *next of producer 0.
 * Returns how many. */
static size_t pop_check(struct edge_flowq *q, size_t max, uint64_t *next)
{
    const struct fl0wer_flow *f;
    size_t n = edge_flowq_peek(q, &f, max, 100);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(f[i].bytes, *next);
        assert_int_equal(f[i].packets, *next * 3 + 1);
        (*next)++;
    }
    edge_flowq_consume(q, n);
    return n;
}

static void push_seq(struct edge_flowq *q, uint64_t from, size_t n)
{
    struct fl0wer_flow f;
    for (size_t i = 0; i < n; i++) {
        stamp(&f, 0, from + i);
        edge_flowq_push(q, &f, 1);
    }
}

static void test_wrap_and_order(void **state)
{
    (void)state;
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 100, 0), 0);
    assert_int_equal(q.cap, 100);
    assert_int_equal(q.warm, 16);
    assert_int_equal(q.size, 16);
    assert_int_equal(q.wake_at, 12); /* cap / 8 below EDGE_FLOWQ_WAKE */
    uint64_t next = 0;
    push_seq(&q, 0, 70);
    assert_int_equal(q.size, 100); /* 16 -> 32 -> 64 -> 100 (the capacity) */
    assert_int_equal(q.grows, 3);
    assert_int_equal(pop_check(&q, 60, &next), 60);
    push_seq(&q, 70, 50); /* 30 at the end, 20 wrapped to the front */
    assert_int_equal(q.count, 60);
    assert_int_equal(q.hiwater, 100);
    assert_int_equal(pop_check(&q, 1000, &next), 40); /* one contiguous run, up to the end */
    assert_int_equal(q.head, 0);
    assert_int_equal(pop_check(&q, 1000, &next), 20);
    assert_int_equal(next, 120);
    assert_int_equal(q.size, 16); /* empty: back to the warm part */
    assert_int_equal(q.pushed, 120);
    assert_int_equal(q.popped, 120);
    assert_int_equal(q.peak, 70);
    /* Empty in the middle of the ring: the next record goes to slot 0. */
    push_seq(&q, 120, 10);
    assert_int_equal(pop_check(&q, 3, &next), 3);
    assert_int_equal(q.head, 3);
    assert_int_equal(pop_check(&q, 100, &next), 7);
    assert_int_equal(q.head, 0);
    push_seq(&q, 130, 1);
    const struct fl0wer_flow *f;
    assert_int_equal(edge_flowq_peek(&q, &f, 10, 0), 1);
    assert_ptr_equal(f, q.ring);
    assert_int_equal(f->bytes, 130);
    edge_flowq_consume(&q, 1);
    /* Nothing queued: peek times out with 0. */
    assert_int_equal(edge_flowq_peek(&q, &f, 10, 1), 0);
    edge_flowq_release(&q);
}

/* Growth while the records wrap: the wrapped front moves behind the old end, order kept. */
static void test_grow_wrapped(void **state)
{
    (void)state;
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 1000, 0), 0);
    uint64_t next = 0;
    push_seq(&q, 0, 16);
    assert_int_equal(pop_check(&q, 10, &next), 10);
    push_seq(&q, 16, 10); /* slots 0..9: full at 16, wrapped */
    assert_int_equal(q.size, 16);
    assert_int_equal(q.head, 10);
    push_seq(&q, 26, 5); /* doubles to 32: slots 0..9 move to 16..25, then 26..30 */
    assert_int_equal(q.size, 32);
    assert_int_equal(q.grows, 1);
    assert_int_equal(q.count, 21);
    assert_int_equal(pop_check(&q, 1000, &next), 21);
    assert_int_equal(next, 31);
    edge_flowq_release(&q);

    /* Doubling clipped by the capacity (20): 4 of the 12 wrapped records move behind the old
     * end, the other 8 down to slot 0. */
    assert_int_equal(edge_flowq_init(&q, 20, 0), 0);
    next = 0;
    push_seq(&q, 0, 16);
    assert_int_equal(pop_check(&q, 12, &next), 12);
    push_seq(&q, 16, 12);
    assert_int_equal(q.head, 12);
    push_seq(&q, 28, 4);
    assert_int_equal(q.size, 20);
    assert_int_equal(q.count, 20);
    assert_int_equal(pop_check(&q, 1000, &next), 8); /* slots 12..19 */
    assert_int_equal(pop_check(&q, 1000, &next), 12); /* wrapped: slots 0..11 */
    assert_int_equal(next, 32);
    assert_int_equal(q.pushed, 32);
    assert_int_equal(q.popped, 32);
    edge_flowq_release(&q);
}

static void test_try_push_room(void **state)
{
    (void)state;
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 32, 0), 0);
    struct fl0wer_flow fl[40];
    for (uint32_t i = 0; i < 40; i++)
        stamp(&fl[i], 0, i);
    assert_int_equal(q.size, 16);
    assert_int_equal(edge_flowq_try_push(&q, fl, 40), 32); /* grows to the capacity */
    assert_int_equal(q.size, 32);
    assert_int_equal(edge_flowq_try_push(&q, fl + 32, 8), 0);
    uint64_t next = 0;
    assert_int_equal(pop_check(&q, 5, &next), 5);
    assert_int_equal(edge_flowq_try_push(&q, fl + 32, 8), 5); /* wraps: slots 0..4 */
    assert_int_equal(q.count, 32);
    assert_int_equal(pop_check(&q, 100, &next), 27);
    assert_int_equal(pop_check(&q, 100, &next), 5);
    assert_int_equal(next, 37);
    assert_int_equal(q.pushed, 37);
    edge_flowq_release(&q);
}

struct producer {
    struct edge_flowq *q;
    uint32_t id;
    size_t n;
    _Atomic int done;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct fl0wer_flow run[7];
    for (size_t i = 0; i < p->n;) {
        size_t k = p->n - i < 7 ? p->n - i : 7;
        for (size_t j = 0; j < k; j++)
            stamp(&run[j], p->id, i + j);
        edge_flowq_push(p->q, run, k);
        i += k;
    }
    edge_flowq_producer_done(p->q);
    p->done = 1;
    return NULL;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t pushed_now(struct edge_flowq *q)
{
    pthread_mutex_lock(&q->mu);
    uint64_t n = q->pushed;
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void test_producers_block_when_full(void **state)
{
    (void)state;
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 64, 0), 0);
    struct producer p[2] = {{.q = &q, .id = 1, .n = 1000}, {.q = &q, .id = 2, .n = 1500}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    for (int i = 0; i < 200 && pushed_now(&q) < 64; i++)
        sleep_ms(10);
    sleep_ms(50);
    assert_int_equal(pushed_now(&q), 64); /* full: both wait, nothing dropped */
    assert_int_equal(p[0].done + p[1].done, 0);
    uint64_t next[3] = {0, 0, 0};
    size_t total = 0;
    for (int guard = 0; guard < 100000 && total < 2500; guard++) {
        const struct fl0wer_flow *f;
        size_t n = edge_flowq_peek(&q, &f, 9, 100);
        for (size_t i = 0; i < n; i++) {
            uint32_t id = f[i].src_port;
            assert_true(id == 1 || id == 2);
            assert_int_equal(f[i].bytes, next[id]); /* each producer's order kept */
            next[id]++;
        }
        edge_flowq_consume(&q, n);
        total += n;
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(total, 2500);
    assert_int_equal(next[1], 1000);
    assert_int_equal(next[2], 1500);
    assert_int_equal(q.pushed, 2500);
    assert_int_equal(q.popped, 2500);
    assert_int_equal(q.peak, 64);
    assert_int_equal(edge_flowq_producers_done(&q), 2);
    edge_flowq_release(&q);
}

/* Resident bytes of [from, to) of the ring (page granular). */
static size_t resident(const struct edge_flowq *q, size_t from, size_t to)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (to - from) / page, r = 0;
    unsigned char *v = malloc(n ? n : 1);
    assert_non_null(v);
    assert_int_equal(mincore((uint8_t *)q->ring + from, to - from, v), 0);
    for (size_t i = 0; i < n; i++)
        r += (v[i] & 1) ? page : 0;
    free(v);
    return r;
}

static void test_growth_and_give_back(void **state)
{
    (void)state;
    const size_t rec = sizeof(struct fl0wer_flow);
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 64 * MIB / rec, 4 * MIB / rec), 0);
    assert_int_equal(q.map_bytes, 64 * MIB);
    assert_int_equal(q.warm, 4 * MIB / rec);
    assert_int_equal(q.wake_at, EDGE_FLOWQ_WAKE);
    assert_int_equal((uintptr_t)q.ring % (2 * MIB), 0);
    assert_int_equal(resident(&q, 0, 4 * MIB), 4 * MIB);      /* warm part touched at init */
    assert_int_equal(resident(&q, 4 * MIB, 64 * MIB), 0);     /* the rest not yet */

    /* A burst of 20 MiB of records that the consumer does not follow. */
    size_t burst = 20 * MIB / rec;
    push_seq(&q, 0, burst);
    assert_int_equal(q.hiwater, burst);
    assert_int_equal(q.size, q.warm * 8); /* doubled three times */
    size_t used_end = (burst * rec + 2 * MIB - 1) / (2 * MIB) * (2 * MIB);
    assert_true(resident(&q, 4 * MIB, used_end) >= burst * rec - 4 * MIB - 4096);
    assert_int_equal(resident(&q, used_end, 64 * MIB), 0); /* faulted only where used */

    /* Not empty: nothing given back however long it waits. */
    assert_int_equal(edge_flowq_trim(&q, 10000), 0);
    assert_int_equal(edge_flowq_trim(&q, 20000), 0);
    uint64_t next = 0;
    while (q.count > 1)
        pop_check(&q, q.count - 1, &next);
    assert_int_equal(edge_flowq_trim(&q, 40000), 0);
    pop_check(&q, 1, &next);
    assert_int_equal(next, burst);
    assert_int_equal(q.head, 0);
    assert_int_equal(q.size, q.warm);
    /* Empty, but the last look saw it deep at 40000: due at 41000. */
    assert_int_equal(edge_flowq_trim(&q, 40999), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t want = (burst * rec + page - 1) / page * page - 4 * MIB;
    assert_int_equal(edge_flowq_trim(&q, 41000), want);
    assert_int_equal(q.trims, 1);
    assert_int_equal(q.bytes_trimmed, want);
    assert_int_equal(q.limit, q.cap);
    assert_int_equal(q.hiwater, q.warm);
    assert_int_equal(resident(&q, 4 * MIB, 64 * MIB), 0);
    assert_int_equal(resident(&q, 0, 4 * MIB), 4 * MIB);
    assert_int_equal(edge_flowq_trim(&q, 50000), 0); /* nothing more to give */

    /* Traffic within the warm part never triggers a give-back; the queue still works. */
    for (int round = 0; round < 3; round++) {
        push_seq(&q, next, 1000);
        while (q.count)
            pop_check(&q, 1024, &next);
        assert_int_equal(edge_flowq_trim(&q, 60000 + 5000u * (unsigned)round), 0);
    }
    /* A second burst past the warm part faults pages in again, records intact. */
    push_seq(&q, next, burst / 2);
    while (q.count)
        pop_check(&q, 1024, &next);
    assert_int_equal(next, burst + 3000 + burst / 2);
    assert_int_equal(edge_flowq_trim(&q, 90000), 0); /* first look after it: deep now */
    assert_true(edge_flowq_trim(&q, 91000) > 0);
    assert_int_equal(q.trims, 2);
    assert_int_equal(q.pushed, q.popped);
    edge_flowq_release(&q);
}

/* edge_flowq_keep_resident: the kept part is resident before any record, the ring in use still
 * starts from the warm part, a burst within the kept part faults nothing new and leaves nothing
 * to give back, and one past it gives back exactly what lies past the kept part. */
static void test_kept_resident(void **state)
{
    (void)state;
    const size_t rec = sizeof(struct fl0wer_flow);
    struct edge_flowq q;
    assert_int_equal(edge_flowq_init(&q, 64 * MIB / rec, 4 * MIB / rec), 0);
    edge_flowq_keep_resident(&q, 16 * MIB / rec); /* rounded up to whole 2 MiB */
    assert_int_equal(q.kept, 16 * MIB / rec);
    assert_int_equal(q.size, q.warm);
    assert_int_equal(resident(&q, 0, 16 * MIB), 16 * MIB);
    assert_int_equal(resident(&q, 16 * MIB, 64 * MIB), 0);

    /* A 12 MiB burst: the ring grows to 16 MiB, all of it already resident. */
    size_t burst = 12 * MIB / rec;
    push_seq(&q, 0, burst);
    assert_int_equal(q.size, q.warm * 4);
    assert_int_equal(resident(&q, 16 * MIB, 64 * MIB), 0);
    uint64_t next = 0;
    while (q.count)
        pop_check(&q, 4096, &next);
    assert_int_equal(next, burst);
    assert_int_equal(edge_flowq_trim(&q, 10000), 0);
    assert_int_equal(edge_flowq_trim(&q, 20000), 0); /* within the kept part: nothing given */
    assert_int_equal(resident(&q, 0, 16 * MIB), 16 * MIB);

    /* A 24 MiB burst: the pages past 16 MiB are faulted in, and given back once it drained. */
    burst = 24 * MIB / rec;
    push_seq(&q, next, burst);
    while (q.count)
        pop_check(&q, 4096, &next);
    assert_int_equal(edge_flowq_trim(&q, 30000), 0); /* first look after it: deep now */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t want = (burst * rec + page - 1) / page * page - 16 * MIB;
    assert_int_equal(edge_flowq_trim(&q, 31000), want);
    assert_int_equal(q.hiwater, q.kept);
    assert_int_equal(resident(&q, 0, 16 * MIB), 16 * MIB);
    assert_int_equal(resident(&q, 16 * MIB, 64 * MIB), 0);
    assert_int_equal(q.pushed, q.popped);

    /* Asking for more than the queue keeps the whole of it. */
    edge_flowq_keep_resident(&q, 1000 * MIB / rec);
    assert_int_equal(q.kept, q.cap);
    assert_int_equal(resident(&q, 0, 64 * MIB), 64 * MIB);
    edge_flowq_release(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrap_and_order),
        cmocka_unit_test(test_grow_wrapped),
        cmocka_unit_test(test_try_push_room),
        cmocka_unit_test(test_producers_block_when_full),
        cmocka_unit_test(test_growth_and_give_back),
        cmocka_unit_test(test_kept_resident),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
