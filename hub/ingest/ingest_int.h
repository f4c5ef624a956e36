/*
 * ingest_int.h - internal state of the ingest pipeline, shared by ingest.c (nng contexts, work
 * queue, workers), verify.c (authorized set, verification, reject accounting) and order.c
 * (per-edge ordering and storage). Not public.
 */
#ifndef FL0WER_INGEST_INT_H
#define FL0WER_INGEST_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "fl0wer/batch.h"
#include "fl0wer/ingest.h"

/* Job states (ingest_job.state). */
enum {
    JOB_RECV = 0, /* a receive is pending on the context */
    JOB_WORK,     /* received; queued, being verified, parked or stored */
    JOB_SEND,     /* ack being sent */
    JOB_DONE,     /* stopped: no further operation */
};

/* Log slots per edge: one per reject reason plus one for store failures. */
#define INGEST_LOG_STORE  FL0WER_REJECT__COUNT
#define INGEST_LOG_SLOTS  (FL0WER_REJECT__COUNT + 1)
#define INGEST_LOG_PERIOD_MS 60000u
/* A store failure of seq N makes later batches of that edge RETRY for this long (or until N is
 * stored), so that N can never be overtaken and later mistaken for a duplicate. */
#define INGEST_POISON_MS 30000u

/* Parsed arrays of batches up to this many flows (about 1.8 MB) go back to the ingest's pool
 * after use; larger ones are freed. An edge's 256 KiB batch of schema 2 holds ~6,000 flows of
 * the benchmark's mix and ~8,500 compact NetFlow v5 ones. */
#define INGEST_KEEP_FLOWS 12288u
/* At most this many sets of arrays wait in the pool (one per context is the most ever in use). */
#define INGEST_POOL_MAX 64u

/* The arrays of one parsed batch, kept between batches (ingest_arrays_take/put). */
struct ingest_arrays {
    struct fl0wer_flow *flows;
    struct fl0wer_exporter_stats *exporters;
    struct fl0wer_interface_info *interfaces;
    size_t flow_cap, exporter_cap, interface_cap;
};

/* One nng context and the batch it is working on. Owned by the ingest; reused forever. */
struct ingest_job {
    struct fl0wer_ingest *ing;
    nng_ctx ctx;
    nng_aio *aio;
    atomic_int state;
    nng_msg *msg;
    struct fl0wer_batch batch; /* valid while parked/storing; its arrays come from the ingest's
                                  pool and go back to it when the batch is answered */
    uint64_t parked_ms;
    enum fl0wer_ack_status ack;
    uint64_t ack_seq;
    uint64_t write_gen; /* group commit: the store write this ack waits for (0: none) */
    struct ingest_job *next; /* link in the work queue, an edge's parked list or a done list */
};

/* What the ingest knows about one edge name ("unknown" included). Under ing->lock. */
struct ingest_edge {
    struct fl0wer_ingest_edge_stats st;
    bool loaded;          /* last_seq read from the store */
    uint64_t last_seq;    /* last durable sequence number */
    bool busy;            /* a worker is storing for this edge (lock released) */
    uint64_t poisoned_seq; /* 0, or a seq whose store failed */
    uint64_t poisoned_ms;
    struct ingest_job *parked; /* verified batches, ascending seq */
    uint64_t log_ms[INGEST_LOG_SLOTS];     /* last time each kind was logged */
    uint64_t suppressed[INGEST_LOG_SLOTS]; /* not logged since */
    struct ingest_edge *next;
};

/* Per-second ingest rate ring (60 s). */
#define INGEST_RATE_SLOTS 60
struct ingest_rate_slot {
    uint64_t sec;
    uint64_t batches;
    uint64_t records;
};

struct fl0wer_ingest {
    struct fl0wer_store *store;
    char *authorized_path;
    uint32_t order_wait_ms;
    void (*log_fn)(void *arg, int level, const char *msg);
    void *log_arg;
    void (*on_stored)(void *arg, const char *edge_name, const struct fl0wer_batch *b);
    void *on_stored_arg;

    pthread_rwlock_t auth_lock;
    struct fl0wer_authorized auth;

    nng_socket sock;
    bool sock_open;
    nng_listener *listeners;
    char **urls; /* as configured, one per listener */
    size_t n_listeners;
    nng_tls_config *tls;

    struct ingest_job *jobs;
    unsigned n_jobs;
    pthread_t *workers;
    unsigned n_workers;

    /* Group commit (commit.c): written_gen counts finished store writes; synced_gen is the
     * count covered by the last successful fl0wer_store_sync (written by the syncer only);
     * sync_pending holds the done lists handed to the running syncer (under sync_lock). */
    bool group_commit;
    atomic_uint_fast64_t written_gen;
    pthread_mutex_t sync_lock;
    uint64_t synced_gen;
    bool sync_running;
    struct ingest_job *sync_pending;
    atomic_uint_fast64_t syncs;

    /* Parsed-batch arrays not in use, the most recently returned on top, so the few sets the
     * workers use at a time stay warm in the caches (under pool_lock, taken after lock). */
    pthread_mutex_t pool_lock;
    struct ingest_arrays pool[INGEST_POOL_MAX];
    unsigned pool_n;

    pthread_mutex_t lock; /* everything below */
    pthread_cond_t work_cond;
    pthread_cond_t idle_cond;
    struct ingest_job *queue_head, *queue_tail;
    size_t parked_count;
    atomic_bool stopping;
    bool workers_exit;
    bool flush; /* stopping: store parked batches without waiting for gaps */
    unsigned jobs_active;
    struct ingest_edge *edges;
    struct fl0wer_ingest_stats st;
    struct ingest_rate_slot rate[INGEST_RATE_SLOTS];
};

/* verify.c */
void ingest_logf(struct fl0wer_ingest *ing, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ingest_auth_load(struct fl0wer_ingest *ing, char *errbuf, size_t errlen);
struct ingest_edge *ingest_edge_get(struct fl0wer_ingest *ing, const char *name);
bool ingest_verify_job(struct fl0wer_ingest *ing, struct ingest_job *job, char *edge_name);
void ingest_rate_add(struct fl0wer_ingest *ing, uint64_t now_ms, uint64_t records);

/* order.c */
void ingest_park(struct fl0wer_ingest *ing, struct ingest_job *job, const char *edge_name,
                 struct ingest_job **done);
void ingest_run_edge(struct fl0wer_ingest *ing, struct ingest_edge *e, struct ingest_job **done);
bool ingest_run_expired(struct fl0wer_ingest *ing, struct ingest_job **done);

/* ingest.c */
void ingest_send_acks(struct ingest_job *done);

/* commit.c: with group commit, the write generation a stored (or duplicate) batch must wait
 * for; ingest_commit_done sends the acks of a done list once it is durable, maybe later and
 * from another worker (lock not held; the list belongs to commit.c from then on). */
uint64_t ingest_commit_gen(struct fl0wer_ingest *ing);
void ingest_commit_done(struct fl0wer_ingest *ing, struct ingest_job *done);
void ingest_job_batch_done(struct ingest_job *job);
void ingest_arrays_take(struct fl0wer_ingest *ing, struct fl0wer_batch *b);

#endif /* FL0WER_INGEST_INT_H */
