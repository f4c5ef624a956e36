/*
 * test_hub_ingest.c - end-to-end tests of fl0wer-hub's ingest: a real hub process on
 * 127.0.0.1, real RocksDB in a temp dir, batches built and signed with fl0wer_batch_builder and
 * sent over nng REQ; what was stored is read back with fl0wer_store after the hub stopped.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "hub_harness.h"

/* Flows end one hour ago: well inside the default retention. */
static uint64_t base_ms(void)
{
    return ((uint64_t)time(NULL) - 3600u) * 1000u;
}

/* Expected sums for batches first..last (inclusive) of n flows each. */
static void expect(uint64_t first, uint64_t last, size_t n, struct th_totals *t)
{
    memset(t, 0, sizeof(*t));
    for (uint64_t s = first; s <= last; s++)
        for (size_t i = 0; i < n; i++) {
            t->flows++;
            t->bytes += th_bytes(s, i);
            t->packets += th_packets(s, i);
        }
}

static void assert_totals(const char *db, const struct th_totals *want, uint64_t batches)
{
    struct th_totals got;

    th_store_totals(db, &got);
    assert_int_equal(got.flows, want->flows);
    assert_int_equal(got.bytes, want->bytes);
    assert_int_equal(got.packets, want->packets);
    assert_int_equal(got.flows_stored, want->flows);
    assert_int_equal(got.batches_stored, batches);
}

static void keygen(struct fl0wer_edge_key *k, const char *name)
{
    assert_int_equal(fl0wer_edge_key_generate(k, name), 0);
}

/* Rewrites a frame as frame version 1 was: version byte 1, Ed25519 over header[0, 40) followed
 * by the whole payload, signed with k. */
static void make_v1(uint8_t *buf, size_t len, const struct fl0wer_edge_key *k)
{
    size_t plen = len - FL0WER_BATCH_HEADER_LEN;
    uint8_t *m = malloc(40 + plen);

    assert_non_null(m);
    buf[4] = 1;
    memcpy(m, buf, 40);
    memcpy(m + 40, buf + FL0WER_BATCH_HEADER_LEN, plen);
    crypto_sign_detached(buf + 40, NULL, m, 40 + plen, k->sk);
    free(m);
}

/* Known edge accepted; unknown key, tampered, truncated, oversized, frame version 1 and garbage
 * rejected and counted; nothing of them stored; the authorized name is trusted over the batch's
 * own. */
static void test_verified_ingest(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a, a_renamed, stranger;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *good, *bad, *big;
    size_t good_len, bad_len;
    uint64_t seq, last, rejects;
    struct th_totals want;
    uint8_t garbage[50] = {0};

    keygen(&a, "site-a");
    keygen(&stranger, "stranger");
    /* Same key pair, but the batch will call itself "evil-name": stored as site-a anyway. */
    a_renamed = a;
    snprintf(a_renamed.name, sizeof(a_renamed.name), "evil-name");
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    th_hub_start(&h);

    th_build(&a_renamed, 1, 10, base_ms(), &good, &good_len);
    assert_int_equal(th_send(h.url, good, good_len, &seq), FL0WER_ACK_STORED);
    assert_int_equal(seq, 1);

    /* Unknown key: a correctly signed batch of a key that is not authorized. */
    th_build(&stranger, 2, 10, base_ms(), &bad, &bad_len);
    assert_int_equal(th_send(h.url, bad, bad_len, NULL), FL0WER_ACK_REJECTED);
    free(bad);

    /* Tampered payload byte (seq 2 from site-a). */
    th_build(&a, 2, 10, base_ms(), &bad, &bad_len);
    bad[FL0WER_BATCH_HEADER_LEN + 20] ^= 0x01;
    assert_int_equal(th_send(h.url, bad, bad_len, NULL), FL0WER_ACK_REJECTED);
    /* Truncated: the signature no longer covers what arrives. */
    bad[FL0WER_BATCH_HEADER_LEN + 20] ^= 0x01;
    assert_int_equal(th_send(h.url, bad, bad_len - 7, NULL), FL0WER_ACK_REJECTED);

    /* Oversized: a valid site-a header in front of FL0WER_BATCH_MAX_LEN + 1 bytes. */
    big = calloc(1, FL0WER_BATCH_MAX_LEN + 1);
    assert_non_null(big);
    memcpy(big, bad, bad_len);
    assert_int_equal(th_send(h.url, big, FL0WER_BATCH_MAX_LEN + 1, NULL), FL0WER_ACK_REJECTED);
    free(big);
    free(bad);

    /* Garbage shorter than a header. */
    assert_int_equal(th_send(h.url, garbage, sizeof(garbage), NULL), FL0WER_ACK_REJECTED);

    /* A validly signed frame version 1 batch of site-a: not a version 2 header, so its key is
     * not even read (counted as malformed under "unknown"). */
    th_build(&a, 3, 10, base_ms(), &bad, &bad_len);
    make_v1(bad, bad_len, &a);
    assert_int_equal(th_send(h.url, bad, bad_len, NULL), FL0WER_ACK_REJECTED);
    free(bad);

    assert_int_equal(th_hub_stop(&h), 0);

    /* Logged once per (edge, reason) per minute: two bad_signature rejects, one line. */
    assert_int_equal(th_log_count(&h, "edge site-a: bad_signature"), 1);
    assert_int_equal(th_log_count(&h, "edge site-a: too_large"), 1);
    assert_int_equal(th_log_count(&h, "edge unknown: unknown_key"), 1);
    assert_int_equal(th_log_count(&h, "edge unknown: malformed"), 1);

    expect(1, 1, 10, &want);
    assert_totals(h.db, &want, 1);
    th_store_edge(h.db, "site-a", &last, &rejects);
    assert_int_equal(last, 1);
    assert_int_equal(rejects, 3); /* tampered, truncated, oversized */
    th_store_edge(h.db, "unknown", &last, &rejects);
    assert_int_equal(rejects, 3); /* stranger's key, garbage, frame version 1 */
    th_store_edge(h.db, "evil-name", &last, &rejects);
    assert_int_equal(last, 0);
    th_store_edge(h.db, "stranger", &last, &rejects);
    assert_int_equal(last, 0);
    free(good);
    th_hub_cleanup(&h);
}

/* The same batch twice -> STORED then DUPLICATE; after a restart still DUPLICATE; stored once. */
static void test_exactly_once(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *b1, *b2;
    size_t l1, l2;
    uint64_t seq;
    struct th_totals want;
    uint64_t base = base_ms();

    keygen(&a, "site-a");
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    th_build(&a, 1, 25, base, &b1, &l1);
    th_build(&a, 2, 5, base, &b2, &l2);

    th_hub_start(&h);
    assert_int_equal(th_send(h.url, b1, l1, &seq), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, b1, l1, &seq), FL0WER_ACK_DUPLICATE);
    assert_int_equal(seq, 1);
    assert_int_equal(th_hub_stop(&h), 0);

    th_hub_start(&h);
    assert_int_equal(th_send(h.url, b1, l1, &seq), FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_send(h.url, b2, l2, &seq), FL0WER_ACK_STORED);
    assert_int_equal(seq, 2);
    assert_int_equal(th_send(h.url, b1, l1, &seq), FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_hub_stop(&h), 0);

    expect(1, 1, 25, &want);
    {
        struct th_totals w2;
        expect(2, 2, 5, &w2);
        want.flows += w2.flows;
        want.bytes += w2.bytes;
        want.packets += w2.packets;
    }
    assert_totals(h.db, &want, 2);
    free(b1);
    free(b2);
    th_hub_cleanup(&h);
}

/* Crash test: several batches in flight on one REQ socket (one context per thread). */
#define CRASH_THREADS  6
#define CRASH_MAX_SEQ  400
#define CRASH_FLOWS    30
#define CRASH_KILL_AT  60 /* acks before the SIGKILL */

struct crash {
    const char *url;
    const struct fl0wer_edge_key *key;
    uint64_t base;
    nng_socket sock;
    atomic_uint next_seq;
    atomic_uint acked_count;
    atomic_bool stop;
    atomic_uchar acked[CRASH_MAX_SEQ + 1]; /* 1 = STORED/DUPLICATE ack received */
    atomic_uchar sent[CRASH_MAX_SEQ + 1];
};

static void *crash_sender(void *arg)
{
    struct crash *c = arg;
    nng_ctx ctx;
    nng_aio *aio;

    assert_int_equal(nng_ctx_open(&ctx, c->sock), 0);
    assert_int_equal(nng_aio_alloc(&aio, NULL, NULL), 0);
    nng_aio_set_timeout(aio, 3000);
    while (!atomic_load(&c->stop)) {
        unsigned seq = atomic_fetch_add(&c->next_seq, 1);
        uint8_t *buf;
        size_t len;
        nng_msg *m;
        enum fl0wer_ack_status st;
        uint64_t aseq;

        if (seq > CRASH_MAX_SEQ)
            break;
        th_build(c->key, seq, CRASH_FLOWS, c->base, &buf, &len);
        assert_int_equal(nng_msg_alloc(&m, 0), 0);
        assert_int_equal(nng_msg_append(m, buf, len), 0);
        free(buf);
        atomic_store(&c->sent[seq], 1);
        nng_aio_set_msg(aio, m);
        nng_ctx_send(ctx, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) != 0) {
            nng_msg_free(nng_aio_get_msg(aio));
            break;
        }
        nng_ctx_recv(ctx, aio);
        nng_aio_wait(aio);
        if (nng_aio_result(aio) != 0)
            break;
        m = nng_aio_get_msg(aio);
        if (fl0wer_ack_decode(nng_msg_body(m), nng_msg_len(m), &st, &aseq) == 0 &&
            (st == FL0WER_ACK_STORED || st == FL0WER_ACK_DUPLICATE) && aseq == seq) {
            atomic_store(&c->acked[seq], 1);
            atomic_fetch_add(&c->acked_count, 1);
        }
        nng_msg_free(m);
    }
    nng_aio_free(aio);
    nng_ctx_close(ctx);
    return NULL;
}

/*
 * Reads the last "ingest stopped: ..." line of the hub's log: batches stored and duplicates,
 * and store syncs (the daemon runs with group commit). Fails the test when there is none.
 */
static void stopped_counts(const struct th_hub *h, unsigned long long *batches,
                           unsigned long long *syncs)
{
    FILE *f = fopen(h->log, "r");
    char line[1024];
    bool found = false;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        const char *p = strstr(line, "ingest stopped: ");
        unsigned long long stored, records, dup, rej, retry;
        if (p && sscanf(p, "ingest stopped: %llu batches stored (%llu records), %llu duplicates, "
                           "%llu rejected, %llu retry, %llu store syncs",
                        &stored, &records, &dup, &rej, &retry, syncs) == 6) {
            *batches = stored + dup;
            found = true;
        }
    }
    fclose(f);
    assert_true(found);
}

/* Streams batches with several in flight, interrupts the hub (SIGKILL, or SIGTERM which must
 * exit 0 after finishing what is in flight), restarts it and resends the unacknowledged ones. */
static void run_interrupted(bool sigkill)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    static struct crash c;
    pthread_t th[CRASH_THREADS];
    unsigned max_sent = 0, acked_before = 0, resent = 0;
    struct th_totals want;
    uint64_t last, rejects;

    keygen(&a, "site-a");
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    th_hub_start(&h);

    memset(&c, 0, sizeof(c));
    c.url = h.url;
    c.key = &a;
    c.base = base_ms();
    atomic_store(&c.next_seq, 1);
    assert_int_equal(nng_req0_open(&c.sock), 0);
    assert_int_equal(nng_dial(c.sock, h.url, NULL, 0), 0);
    for (int i = 0; i < CRASH_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, crash_sender, &c), 0);
    for (int waited = 0; atomic_load(&c.acked_count) < CRASH_KILL_AT; waited++) {
        struct timespec ts = {0, 2000000L};
        assert_true(waited < 10000);
        nanosleep(&ts, NULL);
    }
    if (sigkill)
        th_hub_kill(&h); /* SIGKILL with batches in flight */
    else
        assert_int_equal(th_hub_stop(&h), 0); /* SIGTERM with batches in flight */
    atomic_store(&c.stop, true);
    nng_close(c.sock); /* aborts the requests still waiting for an ack */
    for (int i = 0; i < CRASH_THREADS; i++)
        pthread_join(th[i], NULL);

    for (unsigned s = 1; s <= CRASH_MAX_SEQ; s++) {
        if (atomic_load(&c.sent[s]))
            max_sent = s;
        acked_before += atomic_load(&c.acked[s]);
    }
    assert_true(acked_before >= CRASH_KILL_AT);
    /* Some were in flight when the hub died. */
    assert_true(sigkill ? max_sent > acked_before : max_sent >= acked_before);

    /* Every acknowledged batch survived the crash. */
    th_store_edge(h.db, "site-a", &last, &rejects);
    for (unsigned s = 1; s <= max_sent; s++)
        if (atomic_load(&c.acked[s]))
            assert_true(s <= last);

    /* Restart and resend what was not acknowledged, in order: each is stored or a duplicate
     * (stored before the crash, ack lost), never rejected or lost. */
    th_hub_start(&h);
    for (unsigned s = 1; s <= max_sent; s++) {
        uint8_t *buf;
        size_t len;
        int st;

        if (atomic_load(&c.acked[s]))
            continue;
        th_build(&a, s, CRASH_FLOWS, c.base, &buf, &len);
        st = th_send(h.url, buf, len, NULL);
        free(buf);
        assert_true(st == FL0WER_ACK_STORED || st == FL0WER_ACK_DUPLICATE);
        resent++;
    }
    assert_true(!sigkill || resent > 0);
    assert_int_equal(th_hub_stop(&h), 0);
    {
        /* Group commit: every acknowledged batch (the resends, one at a time here) waited for a
         * store sync, and no sync happened without a batch to cover. */
        unsigned long long batches = 0, syncs = 0;
        stopped_counts(&h, &batches, &syncs);
        assert_int_equal(batches, resent);
        assert_int_equal(syncs, resent);
    }

    expect(1, max_sent, CRASH_FLOWS, &want);
    assert_totals(h.db, &want, max_sent);
    th_store_edge(h.db, "site-a", &last, &rejects);
    assert_int_equal(last, max_sent);
    th_hub_cleanup(&h);
}

static void test_crash_recovery(void **state)
{
    run_interrupted(true);
}

static void test_sigterm_in_flight(void **state)
{
    run_interrupted(false);
}

/*
 * Peers that trickle a large request over raw TCP (the SP/TCP framing nng speaks: an 8-byte
 * handshake, then an 8-byte big-endian length and the body) keep every hub pipe in the middle of
 * a receive: each few bytes complete the transport's read and re-arm it. Closing the socket
 * then races with those completions, which in nng 1.5.2 can leave a pipe's receive unfinished
 * forever and nng_close waiting for it (ingest.c, close_socket).
 */
#define TRICKLE_PEERS  64
#define TRICKLE_CHUNK  32
#define TRICKLE_ROUNDS 3

struct trickle {
    int fd[TRICKLE_PEERS];
    atomic_bool stop;
};

static void *trickle_main(void *arg)
{
    struct trickle *t = arg;
    uint8_t zeros[TRICKLE_CHUNK] = {0};
    struct timespec ts = {0, 1000000L};

    while (!atomic_load(&t->stop)) {
        for (int i = 0; i < TRICKLE_PEERS; i++)
            (void)send(t->fd[i], zeros, sizeof(zeros), MSG_DONTWAIT | MSG_NOSIGNAL);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Connects to the hub's tcp://127.0.0.1:PORT as an SP REQ peer and starts a 1 MiB request. */
static int trickle_connect(const char *url)
{
    static const uint8_t hello[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0}; /* REQ0 = 0x30 */
    static const uint8_t start[12] = {0, 0, 0, 0, 0, 0x10, 0, 0,   /* length 1 MiB */
                                      0x80, 0, 0, 1};              /* request id */
    struct sockaddr_in sa = {0};
    const char *colon = strrchr(url, ':');
    int fd;

    assert_non_null(colon);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(send(fd, hello, sizeof(hello), MSG_NOSIGNAL), (ssize_t)sizeof(hello));
    assert_int_equal(send(fd, start, sizeof(start), MSG_NOSIGNAL), (ssize_t)sizeof(start));
    return fd;
}

/* SIGTERM while many peers are in the middle of sending a request: the hub exits 0 and says
 * "stopped", every time (nng 1.5.2 could leave nng_close waiting forever). */
static void test_sigterm_trickling_peers(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    struct timespec settle = {0, 300000000L};

    keygen(&a, "site-a");
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    for (int round = 0; round < TRICKLE_ROUNDS; round++) {
        struct trickle t;
        pthread_t th;

        th_hub_start(&h);
        atomic_init(&t.stop, false);
        for (int i = 0; i < TRICKLE_PEERS; i++)
            t.fd[i] = trickle_connect(h.url);
        assert_int_equal(pthread_create(&th, NULL, trickle_main, &t), 0);
        nanosleep(&settle, NULL);
        assert_int_equal(th_hub_stop(&h), 0);
        atomic_store(&t.stop, true);
        pthread_join(th, NULL);
        for (int i = 0; i < TRICKLE_PEERS; i++)
            close(t.fd[i]);
        assert_int_equal(th_log_count(&h, "fl0wer-hub info: stopped"), round + 1);
    }
    th_hub_cleanup(&h);
}

/* SIGHUP reloads the authorized edges: added keys accepted, removed keys rejected, and a
 * malformed file keeps the previous set. */
static void test_sighup_reload(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a, b;
    const struct fl0wer_edge_key *only_a[1] = {&a};
    const struct fl0wer_edge_key *both[2] = {&a, &b};
    const struct fl0wer_edge_key *only_b[1] = {&b};
    uint8_t *a1, *b1, *b2, *a2;
    size_t la1, lb1, lb2, la2;
    uint64_t base = base_ms();
    FILE *f;
    struct th_totals want, w;

    keygen(&a, "site-a");
    keygen(&b, "site-b");
    th_build(&a, 1, 3, base, &a1, &la1);
    th_build(&a, 2, 3, base, &a2, &la2);
    th_build(&b, 1, 4, base, &b1, &lb1);
    th_build(&b, 2, 4, base, &b2, &lb2);
    th_hub_init(&h);
    th_write_authorized(&h, only_a, 1);
    th_hub_start(&h);

    assert_int_equal(th_send(h.url, a1, la1, NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, b1, lb1, NULL), FL0WER_ACK_REJECTED);

    th_write_authorized(&h, both, 2);
    th_hub_signal(&h, SIGHUP);
    assert_true(th_log_wait(&h, "2 authorized edges", 1, 5000));
    assert_int_equal(th_send(h.url, b1, lb1, NULL), FL0WER_ACK_STORED);

    th_write_authorized(&h, only_b, 1);
    th_hub_signal(&h, SIGHUP);
    assert_true(th_log_wait(&h, "reloaded", 2, 5000));
    assert_int_equal(th_send(h.url, a2, la2, NULL), FL0WER_ACK_REJECTED);

    /* A malformed file on reload: logged with its line, previous set (only b) kept. */
    f = fopen(h.auth, "a");
    assert_non_null(f);
    fprintf(f, "ed25519 not-base64!! broken\n");
    fclose(f);
    th_hub_signal(&h, SIGHUP);
    assert_true(th_log_wait(&h, "line 3 is malformed", 1, 5000));
    assert_int_equal(th_send(h.url, b2, lb2, NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, a2, la2, NULL), FL0WER_ACK_REJECTED);
    assert_int_equal(th_hub_stop(&h), 0);

    expect(1, 1, 3, &want);
    expect(1, 2, 4, &w);
    want.flows += w.flows;
    want.bytes += w.bytes;
    want.packets += w.packets;
    assert_totals(h.db, &want, 3);
    free(a1);
    free(a2);
    free(b1);
    free(b2);
    th_hub_cleanup(&h);
}

/* Sends buf on a new REQ socket without waiting for the ack; th_async_ack() collects it. */
struct th_async {
    nng_socket s;
    nng_aio *aio;
};

static void th_async_send(struct th_async *a, const char *url, const uint8_t *buf, size_t len)
{
    nng_msg *m;

    assert_int_equal(nng_req0_open(&a->s), 0);
    assert_int_equal(nng_dial(a->s, url, NULL, 0), 0);
    assert_int_equal(nng_aio_alloc(&a->aio, NULL, NULL), 0);
    nng_aio_set_timeout(a->aio, 15000);
    assert_int_equal(nng_msg_alloc(&m, 0), 0);
    assert_int_equal(nng_msg_append(m, buf, len), 0);
    nng_aio_set_msg(a->aio, m);
    nng_send_aio(a->s, a->aio);
    nng_aio_wait(a->aio);
    assert_int_equal(nng_aio_result(a->aio), 0);
    nng_recv_aio(a->s, a->aio);
}

static int th_async_ack(struct th_async *a)
{
    enum fl0wer_ack_status st;
    uint64_t seq;
    nng_msg *m;
    int rc = -1;

    nng_aio_wait(a->aio);
    if (nng_aio_result(a->aio) == 0) {
        m = nng_aio_get_msg(a->aio);
        if (fl0wer_ack_decode(nng_msg_body(m), nng_msg_len(m), &st, &seq) == 0)
            rc = (int)st;
        nng_msg_free(m);
    }
    nng_aio_free(a->aio);
    nng_close(a->s);
    return rc;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Batches of one edge arriving out of order are stored in order: seq 2 arriving before seq 1
 * waits for it. A gap (seq 3 missing) holds seq 4 back for --order-wait, then seq 4 is stored;
 * seq 3 arriving later still is stored too (the store keeps the set of stored numbers), and a
 * resend of it is a duplicate. */
static void test_out_of_order(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *b[5];
    size_t l[5];
    struct th_async early;
    struct th_totals want;
    uint64_t base = base_ms(), t0, last, rejects;

    keygen(&a, "site-a");
    for (int i = 1; i <= 4; i++)
        th_build(&a, (uint64_t)i, 6, base, &b[i], &l[i]);
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--order-wait=5s");
    th_hub_start(&h);

    th_async_send(&early, h.url, b[2], l[2]); /* seq 2 first, on its own connection */
    {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(th_send(h.url, b[1], l[1], NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_async_ack(&early), FL0WER_ACK_STORED);
    assert_int_equal(th_hub_stop(&h), 0);

    /* A gap: seq 3 never comes; seq 4 is stored after the order wait (here 300 ms). */
    h.n_extra = 0;
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--order-wait=300ms");
    th_hub_start(&h);
    t0 = mono_ms();
    assert_int_equal(th_send(h.url, b[4], l[4], NULL), FL0WER_ACK_STORED);
    assert_true(mono_ms() - t0 >= 300);
    /* seq 3 arriving late, below the highest stored: stored, then a duplicate when resent. */
    assert_int_equal(th_send(h.url, b[3], l[3], NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, b[3], l[3], NULL), FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_hub_stop(&h), 0);

    expect(1, 4, 6, &want);
    assert_totals(h.db, &want, 4);
    th_store_edge(h.db, "site-a", &last, &rejects);
    assert_int_equal(last, 4);
    for (int i = 1; i <= 4; i++)
        free(b[i]);
    th_hub_cleanup(&h);
}

/* Group commit with batches in flight together: 4 edges send 4 batches each at once (16
 * connections). Every ack is STORED, every batch is stored once with its flows, each sync covers
 * at least one batch (syncs between 1 and 16), and a resend of each is a duplicate. */
#define GC_EDGES 4
#define GC_SEQS 4
static void test_group_commit_together(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key k[GC_EDGES];
    const struct fl0wer_edge_key *auth[GC_EDGES];
    uint8_t *b[GC_EDGES][GC_SEQS];
    size_t l[GC_EDGES][GC_SEQS];
    struct th_async as[GC_EDGES][GC_SEQS];
    struct th_totals want, one;
    unsigned long long batches = 0, syncs = 0;
    uint64_t base = base_ms();
    char name[32];

    for (int e = 0; e < GC_EDGES; e++) {
        snprintf(name, sizeof(name), "site-%d", e);
        keygen(&k[e], name);
        auth[e] = &k[e];
        for (int q = 0; q < GC_SEQS; q++)
            th_build(&k[e], (uint64_t)q + 1, 50, base, &b[e][q], &l[e][q]);
    }
    th_hub_init(&h);
    th_write_authorized(&h, auth, GC_EDGES);
    th_hub_start(&h);
    for (int q = 0; q < GC_SEQS; q++)
        for (int e = 0; e < GC_EDGES; e++)
            th_async_send(&as[e][q], h.url, b[e][q], l[e][q]);
    for (int q = 0; q < GC_SEQS; q++)
        for (int e = 0; e < GC_EDGES; e++)
            assert_int_equal(th_async_ack(&as[e][q]), FL0WER_ACK_STORED);
    for (int e = 0; e < GC_EDGES; e++)
        assert_int_equal(th_send(h.url, b[e][GC_SEQS - 1], l[e][GC_SEQS - 1], NULL),
                         FL0WER_ACK_DUPLICATE);
    assert_int_equal(th_hub_stop(&h), 0);
    stopped_counts(&h, &batches, &syncs);
    assert_int_equal(batches, GC_EDGES * GC_SEQS + GC_EDGES); /* stored + duplicates */
    assert_true(syncs >= 1 && syncs <= GC_EDGES * GC_SEQS + GC_EDGES);

    expect(1, GC_SEQS, 50, &one);
    want = one;
    want.flows *= GC_EDGES;
    want.bytes *= GC_EDGES;
    want.packets *= GC_EDGES;
    assert_totals(h.db, &want, GC_EDGES * GC_SEQS);
    for (int e = 0; e < GC_EDGES; e++) {
        uint64_t last, rejects;
        snprintf(name, sizeof(name), "site-%d", e);
        th_store_edge(h.db, name, &last, &rejects);
        assert_int_equal(last, GC_SEQS);
        for (int q = 0; q < GC_SEQS; q++)
            free(b[e][q]);
    }
    th_hub_cleanup(&h);
    (void)state;
}

/* The daemon's periodic GC enforces --retention: flows that ended an hour ago are removed
 * within a few --gc-interval periods when retention is 10 minutes. */
static void test_gc_retention(void **state)
{
    struct th_hub h;
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *b1, *b2;
    size_t l1, l2;
    struct th_totals want, got;

    keygen(&a, "site-a");
    th_build(&a, 1, 8, base_ms(), &b1, &l1);                  /* one hour old */
    th_build(&a, 2, 5, (uint64_t)time(NULL) * 1000u, &b2, &l2); /* now */
    th_hub_init(&h);
    th_write_authorized(&h, auth, 1);
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--retention=10m");
    snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--gc-interval=1s");
    th_hub_start(&h);
    assert_int_equal(th_send(h.url, b1, l1, NULL), FL0WER_ACK_STORED);
    assert_int_equal(th_send(h.url, b2, l2, NULL), FL0WER_ACK_STORED);
    assert_true(th_log_wait(&h, "gc removed", 1, 10000));
    assert_int_equal(th_hub_stop(&h), 0);

    expect(2, 2, 5, &want);
    th_store_totals(h.db, &got);
    assert_int_equal(got.flows, want.flows);
    assert_int_equal(got.bytes, want.bytes);
    free(b1);
    free(b2);
    th_hub_cleanup(&h);
}

/*
 * --rollup-address-k-minute reaches the store: with it the hub keeps minute rollups of source
 * addresses, without it only hour ones (the store's default).
 */
static void test_address_rollup_flags(void **state)
{
    struct fl0wer_edge_key a;
    const struct fl0wer_edge_key *auth[1] = {&a};
    uint8_t *buf;
    size_t len;

    (void)state;
    keygen(&a, "site-a");
    th_build(&a, 1, 8, base_ms(), &buf, &len);
    for (int with = 0; with < 2; with++) {
        struct th_hub h;
        th_hub_init(&h);
        th_write_authorized(&h, auth, 1);
        if (with)
            snprintf(h.extra[h.n_extra++], sizeof(h.extra[0]), "--rollup-address-k-minute=100");
        th_hub_start(&h);
        assert_int_equal(th_send(h.url, buf, len, NULL), FL0WER_ACK_STORED);
        assert_int_equal(th_hub_stop(&h), 0);
        size_t minute_rows = th_store_rollup_rows(h.db, FL0WER_ROLLUP_MINUTE, 0);
        size_t hour_rows = th_store_rollup_rows(h.db, FL0WER_ROLLUP_HOUR, 0);
        assert_true(hour_rows >= 1 && hour_rows <= 8);
        if (with)
            assert_int_equal(minute_rows, hour_rows); /* one batch inside one minute */
        else
            assert_int_equal(minute_rows, 0);
        th_hub_cleanup(&h);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verified_ingest),
        cmocka_unit_test(test_exactly_once),
        cmocka_unit_test(test_crash_recovery),
        cmocka_unit_test(test_sigterm_in_flight),
        cmocka_unit_test(test_sigterm_trickling_peers),
        cmocka_unit_test(test_sighup_reload),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_group_commit_together),
        cmocka_unit_test(test_gc_retention),
        cmocka_unit_test(test_address_rollup_flags),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
