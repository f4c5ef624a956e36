/*
 * bench_hub_load.c - the load side of the hub ingest benchmark (tests/bench/hub_ingest.sh).
 *
 * Pre-builds signed batches of realistic flows (fl0wer-gen's model: Zipf-distributed hosts and
 * service ports, 70 % TCP / 25 % UDP / 5 % ICMP, heavy-tailed packet counts, three exporters,
 * 10 % IPv6 on the v9/IPFIX ones), closed at --batch-bytes like fl0wer-edge closes its batches,
 * for E edges with deterministic keys; then sends them to a running fl0wer-hub over nng REQ with
 * K batches in flight per edge (one REQ socket and K contexts per edge) and waits until every
 * batch is acknowledged. Building happens before the clock starts, so the hub's CPU during the
 * run is the ingest of already-encoded batches.
 *
 * usage:
 *   fl0wer-bench-load authorized FILE EDGES       write the EDGES keys' authorized-edges lines
 *   fl0wer-bench-load send URL EDGES FLOWS [INFLIGHT [BATCH_BYTES [FIRST_EDGE]]]
 *                                                 prints "flows N batches B wall_s W" on stdout;
 *                                                 exit 1 unless every batch was STORED; the
 *                                                 edges are keys FIRST_EDGE.. (default 0), so a
 *                                                 warm-up can use other edges than the run
 *   fl0wer-bench-load local FLOWS [BATCH_BYTES]   build, then verify and parse every batch in
 *                                                 this process (for callgrind: --toggle-collect
 *                                                 on fl0wer_batch_* functions)
 * Run in a Release build (FL0WER_BENCH); docs/benchmarks.md has the commands.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>

#include "fl0wer/batch.h"
#include "fl0wer/keys.h"
#include "bench_workload.h"

#define LOAD_MAX_EDGES    64
#define LOAD_MAX_INFLIGHT 64
#define LOAD_TIMEOUT_MS   120000

/* One pre-built signed batch. */
struct load_batch {
    uint8_t *buf;
    size_t len;
    size_t flows;
};

/* One in-flight slot of an edge: an nng context and its aio. */
struct load_slot {
    struct load_edge *e;
    nng_ctx ctx;
    nng_aio *aio;
    int sending;   /* 1: a send is pending, 0: a receive */
    size_t cur;    /* index of the batch it carries */
};

/* One edge: its key, its batches (seq = index + 1), its socket and slots. */
struct load_edge {
    struct load_run *run;
    struct fl0wer_edge_key key;
    struct load_batch *b;
    size_t n, cap;
    atomic_size_t next; /* next batch to send */
    bool discard;       /* build only: free each batch once finished */
    nng_socket sock;
    struct load_slot slot[LOAD_MAX_INFLIGHT];
};

struct load_run {
    struct load_edge *edges;
    unsigned n_edges, inflight;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned slots_active;
    uint64_t acked, failures;
};

/* Deterministic key of edge i (the same in every run, so the authorized file matches). */
static void load_key(struct fl0wer_edge_key *k, unsigned i)
{
    uint8_t seed[crypto_sign_SEEDBYTES];
    memset(k, 0, sizeof(*k));
    memset(seed, 0, sizeof(seed));
    memcpy(seed, "fl0wer-bench-hub", 16);
    seed[31] = (uint8_t)i;
    crypto_sign_seed_keypair(k->pk, k->sk, seed);
    snprintf(k->name, sizeof(k->name), "bench-%u", i);
}

static int write_authorized(const char *path, unsigned n)
{
    FILE *f = fopen(path, "w");
    char line[256];
    if (!f)
        return 1;
    for (unsigned i = 0; i < n; i++) {
        struct fl0wer_edge_key k;
        load_key(&k, i);
        if (fl0wer_edge_key_authorized_line(&k, line, sizeof(line)) != 0) {
            fclose(f);
            return 1;
        }
        fprintf(f, "%s\n", line);
    }
    return fclose(f) != 0;
}

/* Appends the finished batch of builder bld to edge e, or frees it at once when e->discard
 * (timing the builder as an edge uses it: each batch freed after sending). Returns 0 or -1. */
static int add_batch(struct load_edge *e, struct fl0wer_batch_builder *bld, uint64_t now_ms)
{
    struct load_batch *lb;
    if (e->discard) {
        struct load_batch tmp;
        if (fl0wer_batch_finish(bld, e->n + 1, now_ms, NULL, &tmp.buf, &tmp.len) != 0)
            return -1;
        free(tmp.buf);
        fl0wer_batch_builder_reset(bld);
        return 0;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? 2 * e->cap : 256;
        void *p = realloc(e->b, cap * sizeof(*e->b));
        if (!p)
            return -1;
        e->b = p;
        e->cap = cap;
    }
    lb = &e->b[e->n];
    lb->flows = fl0wer_batch_flow_count(bld);
    if (fl0wer_batch_finish(bld, e->n + 1, now_ms, NULL, &lb->buf, &lb->len) != 0)
        return -1;
    e->n++;
    fl0wer_batch_builder_reset(bld);
    return 0;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define LOAD_CHUNK 1024 /* flows generated at a time, then added (only adding is timed) */

/*
 * Builds the batches: flow i of the model goes to edge (i / 64) % E (runs of 64 flows, as an
 * edge's exporters would interleave), each edge closing a batch once its encoded size reaches
 * batch_bytes. *build_s gets the CPU time of adding and finishing (not of the model). Returns 0
 * or -1.
 */
static int build_all(struct load_run *run, uint64_t flows, size_t batch_bytes, double *build_s)
{
    struct gen_config cfg;
    struct gen_ctx g;
    struct fl0wer_batch_builder *bld = calloc(run->n_edges, sizeof(*bld));
    struct fl0wer_flow *chunk = calloc(LOAD_CHUNK, sizeof(*chunk));
    struct timespec now;
    char msg[128];
    int rc = -1;
    unsigned i;
    double t0;

    clock_gettime(CLOCK_REALTIME, &now);
    /* flows ended in the last 2 min */
    bench_workload_config(&cfg, flows, (uint64_t)now.tv_sec * 1000u - 120000u);
    *build_s = 0;
    if (!bld || !chunk || gen_init(&g, &cfg, msg, sizeof(msg)) != 0) {
        free(bld);
        free(chunk);
        return -1;
    }
    for (i = 0; i < run->n_edges; i++)
        if (fl0wer_batch_builder_init(&bld[i], &run->edges[i].key) != 0)
            goto out;
    for (uint64_t k0 = 0; k0 < flows; k0 += LOAD_CHUNK) {
        uint64_t n = flows - k0 < LOAD_CHUNK ? flows - k0 : LOAD_CHUNK;
        for (uint64_t k = 0; k < n; k++)
            gen_model_flow(&g, k0 + k, &chunk[k]);
        t0 = cpu_s();
        for (uint64_t k = 0; k < n; k++) {
            unsigned ei = (unsigned)(((k0 + k) / 64) % run->n_edges);
            if (fl0wer_batch_add_flow(&bld[ei], &chunk[k]) != 0)
                goto out;
            if (fl0wer_batch_encoded_size(&bld[ei]) >= batch_bytes &&
                add_batch(&run->edges[ei], &bld[ei], cfg.start_ms + 120000u) != 0)
                goto out;
        }
        *build_s += cpu_s() - t0;
    }
    for (i = 0; i < run->n_edges; i++)
        if (fl0wer_batch_flow_count(&bld[i]) > 0 &&
            add_batch(&run->edges[i], &bld[i], cfg.start_ms + 120000u) != 0)
            goto out;
    rc = 0;
out:
    for (i = 0; i < run->n_edges; i++)
        if (bld[i].priv)
            fl0wer_batch_builder_release(&bld[i]);
    free(bld);
    free(chunk);
    gen_release(&g);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Marks slot s finished (no batch left or a failure). */
static void slot_done(struct load_slot *s, bool failed)
{
    struct load_run *run = s->e->run;
    pthread_mutex_lock(&run->lock);
    if (failed)
        run->failures++;
    run->slots_active--;
    pthread_cond_broadcast(&run->cond);
    pthread_mutex_unlock(&run->lock);
}

/* Sends the next batch of s's edge, or finishes s when none is left. */
static void slot_send_next(struct load_slot *s)
{
    struct load_edge *e = s->e;
    size_t i = atomic_fetch_add(&e->next, 1);
    nng_msg *m;
    if (i >= e->n) {
        slot_done(s, false);
        return;
    }
    s->cur = i;
    if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, e->b[i].buf, e->b[i].len) != 0) {
        slot_done(s, true);
        return;
    }
    s->sending = 1;
    nng_aio_set_msg(s->aio, m);
    nng_ctx_send(s->ctx, s->aio);
}

/* aio callback: a send completed (receive the ack next) or an ack arrived (check it). */
static void slot_cb(void *arg)
{
    struct load_slot *s = arg;
    struct load_run *run = s->e->run;
    enum fl0wer_ack_status st;
    uint64_t seq;
    nng_msg *m;
    int rv = nng_aio_result(s->aio);

    if (rv != 0) {
        if (s->sending)
            nng_msg_free(nng_aio_get_msg(s->aio));
        fprintf(stderr, "fl0wer-bench-load: %s: %s\n", s->sending ? "send" : "receive",
                nng_strerror(rv));
        slot_done(s, true);
        return;
    }
    if (s->sending) {
        s->sending = 0;
        nng_ctx_recv(s->ctx, s->aio);
        return;
    }
    m = nng_aio_get_msg(s->aio);
    rv = fl0wer_ack_decode(nng_msg_body(m), nng_msg_len(m), &st, &seq);
    nng_msg_free(m);
    if (rv != 0 || st != FL0WER_ACK_STORED || seq != s->cur + 1) {
        fprintf(stderr, "fl0wer-bench-load: batch %zu of %s: ack %d status %d seq %" PRIu64
                "\n", s->cur + 1, s->e->key.name, rv, (int)st, seq);
        slot_done(s, true);
        return;
    }
    pthread_mutex_lock(&run->lock);
    run->acked++;
    pthread_mutex_unlock(&run->lock);
    slot_send_next(s);
}

/* Opens every edge's socket and slots and dials url. Returns 0 or -1. */
static int open_edges(struct load_run *run, const char *url)
{
    for (unsigned i = 0; i < run->n_edges; i++) {
        struct load_edge *e = &run->edges[i];
        if (nng_req0_open(&e->sock) != 0 ||
            nng_socket_set_ms(e->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE) != 0 ||
            nng_dial(e->sock, url, NULL, 0) != 0) {
            fprintf(stderr, "fl0wer-bench-load: cannot connect to %s\n", url);
            return -1;
        }
        for (unsigned k = 0; k < run->inflight; k++) {
            struct load_slot *s = &e->slot[k];
            s->e = e;
            if (nng_aio_alloc(&s->aio, slot_cb, s) != 0 || nng_ctx_open(&s->ctx, e->sock) != 0)
                return -1;
            nng_aio_set_timeout(s->aio, LOAD_TIMEOUT_MS);
        }
    }
    return 0;
}

/* Sends everything and waits for every slot to finish. Returns 0 when all were STORED. */
static int send_all(struct load_run *run, const char *url, double *wall)
{
    uint64_t batches = 0;
    double t0;
    if (open_edges(run, url) != 0)
        return -1;
    for (unsigned i = 0; i < run->n_edges; i++)
        batches += run->edges[i].n;
    run->slots_active = run->n_edges * run->inflight;
    t0 = now_s();
    for (unsigned i = 0; i < run->n_edges; i++)
        for (unsigned k = 0; k < run->inflight; k++)
            slot_send_next(&run->edges[i].slot[k]);
    pthread_mutex_lock(&run->lock);
    while (run->slots_active > 0)
        pthread_cond_wait(&run->cond, &run->lock);
    pthread_mutex_unlock(&run->lock);
    *wall = now_s() - t0;
    for (unsigned i = 0; i < run->n_edges; i++) {
        for (unsigned k = 0; k < run->inflight; k++) {
            nng_aio_free(run->edges[i].slot[k].aio);
            nng_ctx_close(run->edges[i].slot[k].ctx);
        }
        nng_close(run->edges[i].sock);
    }
    return run->failures == 0 && run->acked == batches ? 0 : -1;
}

/* In-process verify, then parse, of every batch (the hub's CPU work before the store), each
 * timed in CPU ns per flow; build_s is the time the batches took to build when each was freed
 * after finishing, as the edge does. */
static int local_all(struct load_run *run, double build_s)
{
    struct load_edge *e = &run->edges[0];
    struct fl0wer_batch b;
    uint64_t flows = 0;
    double t0, verify_s, parse_s;
    memset(&b, 0, sizeof(b));
    t0 = cpu_s();
    for (size_t j = 0; j < e->n; j++)
        if (fl0wer_batch_verify(e->b[j].buf, e->b[j].len, e->key.pk) != 0) {
            fprintf(stderr, "fl0wer-bench-load: batch %zu does not verify\n", j);
            return -1;
        }
    verify_s = cpu_s() - t0;
    t0 = cpu_s();
    for (size_t j = 0; j < e->n; j++) {
#if FL0WER_BATCH_FRAME_VER >= 2 /* the hub keeps its arrays from batch to batch */
        if (fl0wer_batch_parse_reuse(e->b[j].buf, e->b[j].len, &b) != 0) {
#else
        fl0wer_batch_release(&b);
        if (fl0wer_batch_parse(e->b[j].buf, e->b[j].len, &b) != 0) {
#endif
            fprintf(stderr, "fl0wer-bench-load: batch %zu does not parse\n", j);
            return -1;
        }
        flows += b.flow_count;
    }
    parse_s = cpu_s() - t0;
    fl0wer_batch_release(&b);
    printf("flows %" PRIu64 " batches %zu: build (add + finish) %.0f ns/flow, verify %.0f ns/flow, "
           "parse %.0f ns/flow (CPU)\n", flows, e->n, build_s * 1e9 / (double)flows,
           verify_s * 1e9 / (double)flows, parse_s * 1e9 / (double)flows);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: fl0wer-bench-load authorized FILE EDGES\n"
                    "       fl0wer-bench-load send URL EDGES FLOWS [INFLIGHT [BATCH_BYTES "
                    "[FIRST_EDGE]]]\n"
                    "       fl0wer-bench-load local FLOWS [BATCH_BYTES]\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct load_run run;
    const char *url = NULL;
    uint64_t flows, batches = 0, sent_flows = 0;
    size_t batch_bytes = 65536;
    unsigned first_edge = 0;
    double wall = 0, build_s = 0;
    int rc;

    if (sodium_init() < 0 || argc < 3)
        return usage();
    memset(&run, 0, sizeof(run));
    run.inflight = 4;
    if (strcmp(argv[1], "authorized") == 0 && argc == 4)
        return write_authorized(argv[2], (unsigned)strtoul(argv[3], NULL, 10));
    if (strcmp(argv[1], "send") == 0 && argc >= 5) {
        url = argv[2];
        run.n_edges = (unsigned)strtoul(argv[3], NULL, 10);
        flows = strtoull(argv[4], NULL, 10);
        if (argc > 5)
            run.inflight = (unsigned)strtoul(argv[5], NULL, 10);
        if (argc > 6)
            batch_bytes = strtoul(argv[6], NULL, 10);
        if (argc > 7)
            first_edge = (unsigned)strtoul(argv[7], NULL, 10);
    } else if (strcmp(argv[1], "local") == 0) {
        run.n_edges = 1;
        flows = strtoull(argv[2], NULL, 10);
        if (argc > 3)
            batch_bytes = strtoul(argv[3], NULL, 10);
    } else {
        return usage();
    }
    if (run.n_edges < 1 || run.n_edges > LOAD_MAX_EDGES || run.inflight < 1 ||
        run.inflight > LOAD_MAX_INFLIGHT || flows < 1 || batch_bytes < 1024 ||
        first_edge > 1000000)
        return usage();
    run.edges = calloc(run.n_edges, sizeof(*run.edges));
    if (!run.edges)
        return 1;
    pthread_mutex_init(&run.lock, NULL);
    pthread_cond_init(&run.cond, NULL);
    for (unsigned i = 0; i < run.n_edges; i++) {
        run.edges[i].run = &run;
        load_key(&run.edges[i].key, first_edge + i);
    }
    if (!url) { /* local: time the builder with each batch freed, then build them to keep */
        run.edges[0].discard = true;
        if (build_all(&run, flows, batch_bytes, &build_s) != 0)
            return 1;
        run.edges[0].discard = false;
    }
    if (build_all(&run, flows, batch_bytes, url ? &build_s : &(double){0}) != 0) {
        fprintf(stderr, "fl0wer-bench-load: building the batches failed\n");
        return 1;
    }
    for (unsigned i = 0; i < run.n_edges; i++)
        for (size_t j = 0; j < run.edges[i].n; j++) {
            batches++;
            sent_flows += run.edges[i].b[j].flows;
        }
    if (url) {
        rc = send_all(&run, url, &wall);
        printf("flows %" PRIu64 " batches %" PRIu64 " wall_s %.3f acked %" PRIu64 "\n",
               sent_flows, batches, wall, run.acked);
    } else {
        rc = local_all(&run, build_s);
    }
    for (unsigned i = 0; i < run.n_edges; i++) {
        for (size_t j = 0; j < run.edges[i].n; j++)
            free(run.edges[i].b[j].buf);
        free(run.edges[i].b);
    }
    free(run.edges);
    pthread_mutex_destroy(&run.lock);
    pthread_cond_destroy(&run.cond);
    return rc == 0 ? 0 : 1;
}
