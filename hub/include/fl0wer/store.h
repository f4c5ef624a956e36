/*
 * store.h - the hub's RocksDB storage: flows in time-ordered blocks, rollups, metadata, alerts,
 * edge sequence numbers, retention. docs/storage.md explains the layout and why.
 *
 * Thread safety: one fl0wer_store is shared by the hub's ingest and query threads; every
 * function here may be called concurrently (RocksDB is thread-safe; the store serialises its own
 * writes).
 */
#ifndef FL0WER_STORE_H
#define FL0WER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/batch.h"
#include "fl0wer/flow.h"

#define FL0WER_STORE_ERR_IO      (-40) /* RocksDB returned an error (message logged) */
#define FL0WER_STORE_ERR_NOMEM   (-41)
#define FL0WER_STORE_ERR_INVAL   (-42)
#define FL0WER_STORE_ERR_CORRUPT (-43) /* a stored value did not decode */

struct fl0wer_store_config {
    const char *path;           /* data directory, created if missing */
    uint64_t retention_ms;      /* raw flows kept this long; 0 = 30 days */
    uint64_t rollup_retention_ms; /* per-minute rollups; 0 = 90 days (hourly: 5x that) */
    uint64_t max_disk_bytes;    /* 0 = no cap; over it the oldest blocks go first */
    uint64_t block_cache_bytes; /* 0 = 64 MiB */
    bool sync_writes;           /* fsync the WAL before put_batch returns (default true in the
                                   hub; tests of throughput may turn it off) */
};

struct fl0wer_store;

/* Opens (creating) the store. Returns 0 and *out, or a FL0WER_STORE_ERR_* with errbuf (256). */
int fl0wer_store_open(struct fl0wer_store **out, const struct fl0wer_store_config *cfg,
                      char *errbuf);
void fl0wer_store_close(struct fl0wer_store *s);

/*
 * Stores a verified batch from the edge known as edge_name, atomically with the edge's new last
 * sequence number: flows, rollups, exporter counters, interface names and the edge report in one
 * RocksDB write batch. When seq is not above the edge's last stored sequence, nothing is written
 * and *duplicate is set true (the caller still acknowledges). Returns 0 once durable.
 */
int fl0wer_store_put_batch(struct fl0wer_store *s, const char *edge_name,
                           const struct fl0wer_batch *b, bool *duplicate);

/* Last stored batch sequence number of edge_name (0 if none). */
int fl0wer_store_edge_last_seq(struct fl0wer_store *s, const char *edge_name, uint64_t *seq);

/*
 * Removes data older than the retention limits (judged at now_ms) and, when over max_disk_bytes,
 * the oldest flow blocks. Reports what was removed. Called by the hub periodically.
 */
struct fl0wer_store_gc_result {
    uint64_t flow_blocks_removed;
    uint64_t rollup_rows_removed;
    uint64_t oldest_flow_ms; /* oldest flow time still stored, 0 when empty */
};
int fl0wer_store_gc(struct fl0wer_store *s, uint64_t now_ms, struct fl0wer_store_gc_result *out);

/* Storage status for /api/v1/status. */
struct fl0wer_store_status {
    uint64_t disk_bytes;      /* live SST + WAL size */
    uint64_t flows_stored;    /* since creation */
    uint64_t batches_stored;
    uint64_t oldest_flow_ms;
    uint64_t newest_flow_ms;
    uint64_t retention_ms;
    uint64_t max_disk_bytes;
};
int fl0wer_store_status(struct fl0wer_store *s, struct fl0wer_store_status *out);

/* Stored metadata, for /api/v1/exporters and /api/v1/edges. Callbacks' pointers valid per call. */
struct fl0wer_edge_status {
    char name[FL0WER_EDGE_NAME_MAX];
    uint64_t last_seen_ms;
    uint64_t last_seq;
    uint64_t batches;
    uint64_t records;
    uint64_t rejects; /* counted by the ingest layer via fl0wer_store_edge_reject */
    struct fl0wer_edge_report report;
};
int fl0wer_store_foreach_edge(struct fl0wer_store *s,
                              void (*fn)(void *arg, const struct fl0wer_edge_status *e), void *arg);
int fl0wer_store_foreach_exporter(struct fl0wer_store *s,
                                  void (*fn)(void *arg, const char *edge_name,
                                             const struct fl0wer_exporter_stats *x),
                                  void *arg);
int fl0wer_store_foreach_interface(struct fl0wer_store *s,
                                   void (*fn)(void *arg, const struct fl0wer_interface_info *i),
                                   void *arg);
/* Counts one rejected batch for edge_name (unknown edges: the name "unknown"). */
int fl0wer_store_edge_reject(struct fl0wer_store *s, const char *edge_name, const char *reason);

/*
 * Raw access for the query engine: calls fn, in batches, for every stored flow whose last_ms
 * (flow end: flows are placed in time by when they ended) falls in [from_ms, to_ms). fn returns
 * non-zero to stop early; that value is returned.
 */
int fl0wer_store_scan_flows(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                            int (*fn)(void *arg, const struct fl0wer_flow *flows, size_t n),
                            void *arg);

#endif /* FL0WER_STORE_H */
