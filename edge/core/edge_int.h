/*
 * edge_int.h - the running edge's shared context: threads (workers, batcher, sender), counters
 * and the parts they share. Internal to fl0wer_edge_core.
 */
#ifndef EDGE_INT_H
#define EDGE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "agg.h"
#include "config.h"
#include "flowq.h"
#include "fl0wer/batch.h"
#include "fl0wer/decode.h"
#include "fl0wer/keys.h"
#include "log.h"
#include "spool.h"

#define EDGE_ERRSLOTS 64

/* Pending decode-error summary for one exporter (address, port). */
struct edge_errslot {
    uint8_t addr[FL0WER_ADDR_LEN];
    uint16_t port;
    bool used;
    uint64_t pending; /* errors not yet logged */
    int last_rc;
    uint64_t last_log_ms;
};

struct edge_ctx;

struct edge_worker {
    struct edge_ctx *ctx;
    unsigned idx;
    int fds[EDGE_MAX_LISTEN];
    unsigned nfds;
    uint32_t ovfl[EDGE_MAX_LISTEN]; /* last SO_RXQ_OVFL counter seen per socket */
    unsigned long inodes[EDGE_MAX_LISTEN]; /* socket inodes, for /proc/net/udp{,6} drops */
    struct fl0wer_decoder *dec;
    struct edge_agg *agg;
    pthread_t thread;
    bool started;
    uint64_t now_ms; /* receive time of the packet being decoded */
    uint64_t mode_logged, mode_log_ms; /* aggregation mode changes logged, when (log_mode) */
    struct edge_errslot errs[EDGE_ERRSLOTS];

    /* Published for the batcher and the stats line (under snap_mu). */
    pthread_mutex_t snap_mu;
    struct fl0wer_exporter_stats *exp;
    size_t n_exp, cap_exp;
    struct fl0wer_interface_info *ifs;
    size_t n_ifs, cap_ifs;
    bool snap_changed;
    struct edge_agg_stats agg_stats;
    _Atomic uint64_t kernel_drops;
};

struct edge_ctx {
    const struct edge_config *cfg;
    struct edge_log log;
    struct fl0wer_edge_key key;
    struct edge_spool *spool;
    struct edge_flowq q;
    struct edge_worker *workers;
    unsigned n_workers;
    uint64_t started_ms;
    /* Bound address of each --listen (port 0 resolved by the first worker's bind, so every
     * worker's SO_REUSEPORT socket shares it); text form for logs and the ready file. */
    struct sockaddr_storage bound[EDGE_MAX_LISTEN];
    socklen_t bound_len[EDGE_MAX_LISTEN];
    char bound_text[EDGE_MAX_LISTEN][64];

    atomic_bool stop_rx;      /* workers: stop receiving, flush, exit */
    atomic_bool stop_sender;  /* sender: drain for shutdown_wait_ms, then exit */

    /* batcher -> sender wake-up */
    pthread_mutex_t wake_mu;
    pthread_cond_t wake_cv;

    _Atomic uint64_t packets_received;
    _Atomic uint64_t bytes_received;
    _Atomic uint64_t records_decoded;
    _Atomic uint64_t decode_errors;
    _Atomic uint64_t records_sent;    /* put into batches */
    _Atomic uint64_t records_dropped; /* spool full, rejected, spool write failure */
    _Atomic uint64_t batches_made;
    _Atomic uint64_t batches_acked;
    _Atomic uint64_t batches_rejected;
    _Atomic uint64_t send_failures;

    pthread_t batcher_thread, sender_thread;
    struct edge_sender *sender;

    pthread_mutex_t drops_mu; /* /proc/net/udp drops, refreshed at most every 500 ms */
    uint64_t proc_drops, proc_drops_at;
};

/*
 * Nice increment of the output threads (batcher, spool writer, sender) over the receive threads.
 * Under CPU contention the scheduler then runs a receive thread first (weight 1024 against 335),
 * so the sockets are drained while a burst waits in the queue (--queue-size) for the batcher;
 * with idle cores it changes nothing. Linux's nice is per thread: edge_output_thread_nice()
 * lowers only the calling thread's priority.
 */
#define EDGE_OUTPUT_NICE 5
void edge_output_thread_nice(struct edge_ctx *ctx, const char *name);

/* worker.c */
int edge_workers_open(struct edge_ctx *ctx, char *err, size_t errlen);
int edge_workers_start(struct edge_ctx *ctx);
void edge_workers_join(struct edge_ctx *ctx);
void edge_workers_close(struct edge_ctx *ctx);
uint64_t edge_kernel_drops(struct edge_ctx *ctx);

/* batcher.c: consumes ctx->q until every worker is done, then returns. */
void *edge_batcher_main(void *arg);
/* Group commit of the batch files written at or before cutoff (monotonic ms) that are still
 * spooled (--spool-sync); returns when the next one is due (0 = none waiting). */
uint64_t edge_spool_commit(struct edge_ctx *ctx, uint64_t cutoff);
void edge_report_fill(struct edge_ctx *ctx, struct fl0wer_edge_report *r);

/* sender.c: edge_sender_open() sets up the nng socket, dialer (TLS) and contexts in
 * ctx->sender (returns 0 or -1, logged); edge_sender_main() delivers spooled batches until
 * stop_sender and the spool is empty or the shutdown wait is over; edge_sender_close() frees
 * (waiting at most 2 s for nng to close the socket: nng_close.h). */
struct edge_sender;
int edge_sender_open(struct edge_ctx *ctx);
void *edge_sender_main(void *arg);
void edge_sender_close(struct edge_ctx *ctx, struct edge_sender *s);
void edge_sender_wake(struct edge_ctx *ctx);

#endif /* EDGE_INT_H */
