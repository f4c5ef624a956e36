/*
 * ingest.h - the hub's ingest pipeline: nng REP listeners that receive signed batches from
 * edges, verify them against the authorized edges file, store them and acknowledge them
 * (docs/hub.md, protocol in batch.h).
 *
 * Pipeline: N nng contexts on one REP socket each run an asynchronous receive loop and hand
 * every received batch to a pool of worker threads. A worker checks the size, looks up the key
 * (fl0wer_batch_peek_key -> fl0wer_authorized_find), verifies the signature (a SHA-256 digest of
 * the payload, BLAKE2b for frame version 2, hashed in place), parses into arrays the context
 * keeps, and then
 * stores the batch with fl0wer_store_put_batch. Batches of one edge are stored one at a time in
 * sequence order (see "ordering" in docs/hub.md); batches of different edges are stored
 * concurrently. The ack goes back only after the store call returned:
 *     stored                        -> STORED
 *     seq stored before (the store's
 *     set of the edge's numbers)    -> DUPLICATE, nothing written (exactly-once; a replayed
 *                                      validly signed batch is therefore harmless)
 *     unknown key, bad signature,
 *     malformed or oversized        -> REJECTED, counted per edge and reason, logged once per
 *                                      (edge, reason) per minute, never stored
 *     store failure                 -> RETRY
 * The edge name used for storage is the authorized-edges name, never the name in the batch.
 *
 * Lifecycle: fl0wer_ingest_start() listens and serves until fl0wer_ingest_stop(). The store is
 * borrowed and must outlive the ingest object. Every other function may be called from any
 * thread while the ingest runs.
 */
#ifndef FL0WER_INGEST_H
#define FL0WER_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/keys.h"
#include "fl0wer/store.h"

#define FL0WER_INGEST_ERR_INVAL      (-120) /* bad configuration (errbuf says which) */
#define FL0WER_INGEST_ERR_AUTHORIZED (-121) /* authorized edges file unreadable or malformed */
#define FL0WER_INGEST_ERR_TLS        (-122) /* TLS certificate/key unusable */
#define FL0WER_INGEST_ERR_LISTEN     (-123) /* could not listen on a URL */
#define FL0WER_INGEST_ERR_NOMEM      (-124)

#define FL0WER_INGEST_DEFAULT_LISTEN "tcp://0.0.0.0:4800"
#define FL0WER_INGEST_ERRBUF_LEN     256

/* Why a batch was rejected. */
enum fl0wer_reject_reason {
    FL0WER_REJECT_UNKNOWN_KEY = 0, /* key not in the authorized edges file */
    FL0WER_REJECT_BAD_SIGNATURE,   /* signature does not verify */
    FL0WER_REJECT_MALFORMED,       /* too short, wrong magic/version, payload not the schema */
    FL0WER_REJECT_TOO_LARGE,       /* over FL0WER_BATCH_MAX_LEN bytes or MAX_RECORDS records */
    FL0WER_REJECT__COUNT
};

/* "unknown_key", "bad_signature", "malformed", "too_large" (the label used in logs, metrics and
 * fl0wer_store_edge_reject). */
const char *fl0wer_reject_reason_name(enum fl0wer_reject_reason r);

struct fl0wer_ingest_config {
    const char *const *listen;   /* nng URLs (tcp://, tls+tcp://, ipc://); NULL/0 = default */
    size_t listen_count;
    const char *tls_cert;        /* PEM certificate (chain); required for tls+tcp:// URLs */
    const char *tls_key;         /* PEM private key (unencrypted) */
    const char *authorized_path; /* authorized edges file (keys.h); required */
    unsigned contexts;           /* nng contexts = batches received concurrently; 0 = 32 */
    unsigned workers;            /* verify/parse/store threads; 0 = 4 */
    uint32_t order_wait_ms;      /* how long a batch waits for a missing lower sequence number
                                    of the same edge before it is stored anyway; 0 = 1000 */
    /*
     * Group commit, for a store opened without sync_writes: a worker stores every batch it can
     * (fl0wer_store_put_batch, unsynced), then makes them durable with one fl0wer_store_sync
     * shared with the other workers waiting at that moment, and only then acknowledges them.
     * Acknowledged still means durable; the hub pays one fsync per group, not per batch.
     * false: the store must sync each write itself (sync_writes).
     */
    bool group_commit;
    /* Log sink (level: 0 error, 1 warning, 2 info). NULL: fl0wer_hub_log() to stderr. */
    void (*log)(void *arg, int level, const char *msg);
    void *log_arg;
    /*
     * Called by a worker thread after each batch is durably stored (not for duplicates), with
     * the authorized name of its edge; the batch is valid during the call only. The analyzer's
     * feed. May be NULL.
     */
    void (*on_stored)(void *arg, const char *edge_name, const struct fl0wer_batch *b);
    void *on_stored_arg;
};

/* Cumulative counters since start (all batches, all edges). */
struct fl0wer_ingest_stats {
    uint64_t started_ms;
    uint64_t batches_received;
    uint64_t bytes_received;
    uint64_t batches_stored;
    uint64_t records_stored;
    uint64_t batches_duplicate;
    uint64_t batches_retry;          /* store failed, answered RETRY */
    uint64_t batches_rejected;       /* sum of rejects[] */
    uint64_t rejects[FL0WER_REJECT__COUNT];
    uint64_t in_flight;              /* received and not yet answered, now */
    uint64_t authorized_edges;       /* entries in the authorized set now */
    uint64_t reloads;                /* successful reloads of the authorized edges file */
    uint64_t reload_failures;
    uint64_t store_syncs;            /* group commit: store syncs done (one per group of acks) */
    double records_per_s;            /* stored over the last 60 s (shorter since start) */
    double batches_per_s;
};

/* Per-edge counters (in memory, since start). Rejected batches whose key is not authorized
 * are counted under the name "unknown". */
struct fl0wer_ingest_edge_stats {
    char name[FL0WER_EDGE_NAME_MAX];
    uint64_t batches_stored;
    uint64_t records_stored;
    uint64_t batches_duplicate;
    uint64_t batches_retry;
    uint64_t rejects[FL0WER_REJECT__COUNT];
    uint64_t last_seq;               /* last stored sequence number seen by this process */
};

struct fl0wer_ingest;

/*
 * Loads the authorized edges file, opens the REP socket, listens on every URL and starts the
 * receive loops and workers. On success *out owns the ingest (stop with fl0wer_ingest_stop).
 * On failure returns a FL0WER_INGEST_ERR_* with a lowercase message in errbuf
 * (FL0WER_INGEST_ERRBUF_LEN bytes) and nothing to release.
 */
int fl0wer_ingest_start(struct fl0wer_ingest **out, const struct fl0wer_ingest_config *cfg,
                        struct fl0wer_store *store, char *errbuf);

/*
 * Stops receiving, lets every batch already received finish (stored and acknowledged), closes
 * the socket and frees ing. NULL is ignored. The store is left open. Waits at most 2 s for nng
 * to close the socket (nng 1.5.2 can hang there; proto/nngclose/nng_close.c): past that an error is
 * logged and the socket, its connections already closed, is left to the process exit.
 */
void fl0wer_ingest_stop(struct fl0wer_ingest *ing);

/*
 * Re-reads the authorized edges file and swaps it in atomically. On failure the old set stays
 * in force, the bad line is logged and FL0WER_INGEST_ERR_AUTHORIZED is returned (errbuf, when
 * not NULL, gets the message).
 */
int fl0wer_ingest_reload(struct fl0wer_ingest *ing, char *errbuf);

/*
 * Writes the index-th listen URL into buf as actually bound: a tcp URL given with port 0 gets
 * the port the system chose ("tcp://127.0.0.1:0" -> "tcp://127.0.0.1:41234"). Returns 0, or -1
 * when index is out of range or buf too small.
 */
int fl0wer_ingest_bound_url(struct fl0wer_ingest *ing, size_t index, char *buf, size_t len);

/* Copies the current counters into *out. */
void fl0wer_ingest_get_stats(struct fl0wer_ingest *ing, struct fl0wer_ingest_stats *out);

/* Calls fn for every edge seen since start (stats valid during the call). */
void fl0wer_ingest_foreach_edge(struct fl0wer_ingest *ing,
                                void (*fn)(void *arg, const struct fl0wer_ingest_edge_stats *e),
                                void *arg);

/*
 * Writes one log line "2024-01-02T03:04:05.678Z fl0wer-hub LEVEL: msg\n" to stderr with a single
 * write (level 0 error, 1 warning, 2 info). Shared by the daemon and the ingest.
 */
void fl0wer_hub_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Wall-clock time in ms since the Unix epoch. */
uint64_t fl0wer_hub_now_ms(void);

#endif /* FL0WER_INGEST_H */
