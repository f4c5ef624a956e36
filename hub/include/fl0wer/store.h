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
    uint64_t rollup_retention_ms; /* per-minute rollups; 0 = 90 days (hourly: 5x that); never
                                     less than retention_ms (raised to it) */
    uint64_t max_disk_bytes;    /* 0 = no cap; over it the oldest blocks go first */
    uint64_t block_cache_bytes; /* 0 = 64 MiB */
    bool sync_writes;           /* fsync the WAL before put_batch returns (default true in the
                                   hub; tests of throughput may turn it off) */
    uint32_t address_k_minute;  /* rows kept per srcip/dstip rollup array of a minute; 0 = no
                                   minute address arrays (the default: partial hours of an
                                   address top-N are read from raw flows) */
    uint32_t address_k_hour;    /* ... of an hour; 0 = 65536. A period with more distinct
                                   addresses keeps its top rows by bytes, marked truncated, and
                                   queries answer that period from finer data (docs/storage.md).
                                   Both are fixed when the store is created: an existing store
                                   keeps the bounds it was created with */
};

struct fl0wer_store;

/* Opens (creating) the store. Returns 0 and *out, or a FL0WER_STORE_ERR_* with errbuf (256). */
int fl0wer_store_open(struct fl0wer_store **out, const struct fl0wer_store_config *cfg,
                      char *errbuf);
/* Closes the store and frees s (NULL is a no-op). A store that opened flushes its memtables
 * first, so a clean stop leaves the flows in compressed SST files, not only in the WAL. */
void fl0wer_store_close(struct fl0wer_store *s);

/*
 * Stores a verified batch from the edge known as edge_name, atomically with the edge's set of
 * stored sequence numbers: flows, rollups, exporter counters, interface names and the edge report
 * in one RocksDB write batch. When seq was stored before (or is 0), nothing is written and
 * *duplicate is set true (the caller still acknowledges). A seq below the highest stored one that
 * was never stored is stored: batches of one edge may arrive out of order (hub/seqset/seqset.h).
 * Returns 0 once written; durable when the store syncs writes (sync_writes), else only after
 * a later fl0wer_store_sync.
 */
int fl0wer_store_put_batch(struct fl0wer_store *s, const char *edge_name,
                           const struct fl0wer_batch *b, bool *duplicate);

/*
 * Makes every write returned so far durable (one fsync of the write-ahead log). For a store
 * opened without sync_writes whose caller acknowledges a group of batches after one sync.
 * Returns 0 or FL0WER_STORE_ERR_IO.
 */
int fl0wer_store_sync(struct fl0wer_store *s);

/* Last stored batch sequence number of edge_name (0 if none). */
int fl0wer_store_edge_last_seq(struct fl0wer_store *s, const char *edge_name, uint64_t *seq);

/*
 * Removes data older than the retention limits (judged at now_ms) and, when over max_disk_bytes,
 * the oldest flow blocks; flushes the memtables once data waited 10 minutes in them (at low rates
 * they would otherwise hold days, with as many days of write-ahead log on disk) and compacts
 * the files of settled flows (ended before now_ms - 2 h) once to the last level's compression.
 * Reports what was done. Called by the hub periodically (every minute), never on ingest.
 */
struct fl0wer_store_gc_result {
    uint64_t flow_blocks_removed;
    uint64_t rollup_rows_removed; /* rollup arrays removed: one per level, dimension and
                                     period (each holds that period's rows, docs/storage.md) */
    uint64_t oldest_flow_ms; /* oldest flow time still stored, 0 when empty */
    uint64_t memtables_flushed;     /* 1 when this pass flushed the memtables, whose oldest
                                       data had waited 10 minutes (docs/storage.md) */
    uint64_t flow_files_recompacted; /* files of settled flows compacted to the last level */
    uint64_t flow_blocks_joined;     /* small flow blocks of those files joined into full ones
                                        (blocks before minus after) */
    uint64_t address_hours_sparse;   /* settled hours of few flows whose address arrays were
                                        replaced by markers (answered from raw blocks) */
    uint64_t address_hours_restored; /* sparse hours whose address arrays were computed again
                                        from their raw flows before retention or the disk cap
                                        removed those */
};
int fl0wer_store_gc(struct fl0wer_store *s, uint64_t now_ms, struct fl0wer_store_gc_result *out);

/*
 * Starts a flush of the rollups column family (without waiting for it) when batches were stored
 * since its last flush and either none came for FL0WER_STORE_SETTLE_IDLE_MS or the oldest of them
 * is FL0WER_STORE_SETTLE_MAX_AGE_MS old, judged at mono_ms (a monotonic clock in ms). Rollups
 * are RocksDB merge operands, one per batch, level, dimension and period: until a flush merges
 * them, every read of a period merges all of its operands again (docs/storage.md). Sets *flushed
 * when it started one. Called by the hub every tick. Returns 0 or a negative FL0WER_STORE_ERR_*.
 */
#define FL0WER_STORE_SETTLE_IDLE_MS    2000u
#define FL0WER_STORE_SETTLE_MAX_AGE_MS 60000u
int fl0wer_store_settle_rollups(struct fl0wer_store *s, uint64_t mono_ms, bool *flushed);

/* Storage status for /api/v1/status. */
struct fl0wer_store_status {
    uint64_t disk_bytes;      /* live SST + WAL size */
    uint64_t flows_stored;    /* since creation */
    uint64_t batches_stored;
    uint64_t oldest_flow_ms;
    uint64_t newest_flow_ms;
    uint64_t retention_ms;
    uint64_t rollup_retention_ms; /* in effect (at least retention_ms) */
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

/*
 * Rollups (docs/storage.md). put_batch adds every flow, in the same write batch, to per-minute
 * and per-hour rows: one totals row (FL0WER_ROLLUP_TOTAL) and one row per value of each rolled-up
 * dimension. (Stored as one packed, key-sorted array per level, dimension and period.)
 * Dimensions use the numbers of enum fl0wer_dimension (query.h). Source and destination
 * addresses (0 and 1) are bounded: a period with more distinct addresses than the configured K
 * keeps only K rows (its top by bytes, but not exact totals) and is marked truncated; the query
 * engine then answers that period from finer data. Addresses have minute rows only in a store
 * created with address_k_minute > 0. fl0wer_store_scan_rollups reports the rows of a truncated
 * period like any other: use it for addresses only where K suffices. gc replaces the address
 * arrays of sparse settled hours by empty truncated ones (no rows; docs/storage.md, "Sparse
 * hours").
 */
#define FL0WER_ROLLUP_TOTAL 0xffu
#define FL0WER_DIMKEY_MAX   16

/* A rollup row: flow count (never scaled), sampling-scaled and raw byte and packet counts. */
struct fl0wer_rollup_counters {
    uint64_t flows;
    uint64_t bytes;   /* sum of bytes * sampling */
    uint64_t packets; /* sum of packets * sampling */
    uint64_t raw_bytes;
    uint64_t raw_packets;
};

/* Adds one flow's counters to c (sampling 0 counts as 1). */
void fl0wer_rollup_add_flow(struct fl0wer_rollup_counters *c, const struct fl0wer_flow *f);

/*
 * Writes the binary group-by key of flow f for dimension dim (enum fl0wer_dimension numbers, or
 * FL0WER_ROLLUP_TOTAL for the empty key) into key; returns its length (0..FL0WER_DIMKEY_MAX).
 * Numbers are big-endian so byte order is numeric order: ports 4 bytes (0, protocol, port:
 * TCP 53 and UDP 53 are different rows), protocol 1, AS and interfaces 4, addresses (src, dst,
 * exporter) 16.
 */
size_t fl0wer_store_dim_key(const struct fl0wer_flow *f, unsigned dim,
                            uint8_t key[FL0WER_DIMKEY_MAX]);
/* True for the dimensions that have rollup rows (all of 0..9, addresses bounded by K). */
bool fl0wer_store_dim_rolled_up(unsigned dim);

enum fl0wer_rollup_level { FL0WER_ROLLUP_MINUTE = 0, FL0WER_ROLLUP_HOUR = 1 };
#define FL0WER_MINUTE_MS 60000ull
#define FL0WER_HOUR_MS   3600000ull

/*
 * Calls fn for every rollup row of dim at level whose period starts in [from_ms, to_ms) (both
 * multiples of the level's period), in time order, with the period start, the binary dimension
 * key and the counters. fn returns non-zero to stop; that value is returned. Returns 0,
 * FL0WER_STORE_ERR_INVAL (unaligned range, dim not rolled up) or another FL0WER_STORE_ERR_*.
 */
int fl0wer_store_scan_rollups(struct fl0wer_store *s, enum fl0wer_rollup_level level,
                              unsigned dim, uint64_t from_ms, uint64_t to_ms,
                              int (*fn)(void *arg, uint64_t t_ms, const uint8_t *key,
                                        size_t klen, const struct fl0wer_rollup_counters *c),
                              void *arg);

/*
 * Alerts column family, for the analyzer: opaque keys and values. Put overwrites; foreach visits
 * every alert whose key begins with prefix (plen 0 = all) in key order, fn returns non-zero to
 * stop (that value is returned). Pointers are valid during the call only.
 */
int fl0wer_store_alert_put(struct fl0wer_store *s, const void *key, size_t klen,
                           const void *val, size_t vlen);
int fl0wer_store_alert_delete(struct fl0wer_store *s, const void *key, size_t klen);
int fl0wer_store_alert_foreach(struct fl0wer_store *s, const void *prefix, size_t plen,
                               int (*fn)(void *arg, const void *key, size_t klen,
                                         const void *val, size_t vlen),
                               void *arg);

#endif /* FL0WER_STORE_H */
