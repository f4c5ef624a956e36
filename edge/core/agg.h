/*
 * agg.h - pre-aggregation of decoded flows inside time buckets (one table set per worker).
 *
 * Records with the same key (the fields selected by a key mask) whose last_ms falls in the same
 * bucket are merged: bytes, packets and flows summed, tcp_flags ORed, the earliest first_ms and
 * latest last_ms kept. Fields outside the key are zeroed in the merged record, except that when
 * `sampling` is not in the key the counters are scaled by each record's sampling interval and
 * the merged record says sampling 1, so scaled totals stay exact.
 *
 * Storage is sized once and reused, so a long run allocates nothing per flow or per bucket:
 * merged records live in one entry pool of max_flows records (plus one partial chunk per
 * table), handed to buckets in chunks of 1024 consecutive entries; each bucket has a compact
 * index (8-byte slots: 32 hash bits and an entry number; linear probing, load <= 3/4) that
 * doubles when needed and keeps its size for later buckets. Pool and large indexes are
 * anonymous mappings with transparent huge pages advised, touched only as they fill.
 *
 * A bucket is emitted when it closes (bucket end + grace, judged on the wall clock; a bucket
 * that was opened late, e.g. by old timestamps, is held for the grace only; and no bucket is
 * held longer than its length + grace), or early when the total entry count reaches max_flows
 * (oldest bucket first). Nothing is ever dropped. Emission on close does not block: the sink
 * may take part of a chunk (a full queue) and the rest waits in the closed bucket, emitted by
 * later edge_agg_pump() / edge_agg_tick() calls; early flushes, flush_all and unaggregated
 * records ask the sink to wait instead.
 *
 * Adaptive mode (min_reduction_pct > 0). Exporters already aggregate in their flow caches, so
 * often almost no key repeats within a bucket and merging costs more than it saves. The
 * aggregator counts, over a window of `window` records, how many merged into an existing entry.
 * When that share is below min_reduction_pct it switches to "sampled" mode: only the keys of a
 * fixed subset (1/16 of keys, chosen by bits of the key hash, so a key is always in or always
 * out) are still aggregated, and every other record is emitted unmerged but projected exactly as
 * a merge of that one record would be (same shape as merged output: non-key fields zero,
 * counters scaled as above). The merged share of the subset, over windows of window/16 subset
 * records, estimates the whole: at min_reduction_pct or more, full aggregation resumes. The
 * window restarts at each switch. Nothing is dropped and per-key sums are unchanged; a key seen
 * twice in a sampled stretch simply arrives as two records. Bypassed records are gathered and
 * handed to the sink in runs of 512 without waiting, at the latest by the next edge_agg_pump(),
 * edge_agg_tick() or edge_agg_flush_all() (which waits). While the sink refuses part of a run
 * (a full queue), records that would be bypassed are aggregated instead, so the tables still
 * absorb bursts the output cannot take, until a pump gets the run out.
 *
 * Not thread-safe: one edge_agg per worker thread.
 */
#ifndef EDGE_AGG_H
#define EDGE_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

/* Key fields (bits of edge_agg_config.key_mask). */
enum edge_key_field {
    EDGE_KEY_EXPORTER = 1u << 0,
    EDGE_KEY_DOMAIN = 1u << 1,
    EDGE_KEY_IN_IF = 1u << 2,
    EDGE_KEY_OUT_IF = 1u << 3,
    EDGE_KEY_SRC_ADDR = 1u << 4,
    EDGE_KEY_DST_ADDR = 1u << 5,
    EDGE_KEY_SRC_PORT = 1u << 6,
    EDGE_KEY_DST_PORT = 1u << 7,
    EDGE_KEY_PROTO = 1u << 8,
    EDGE_KEY_TOS = 1u << 9,
    EDGE_KEY_SRC_AS = 1u << 10,
    EDGE_KEY_DST_AS = 1u << 11,
    EDGE_KEY_NEXT_HOP = 1u << 12,
    EDGE_KEY_SAMPLING = 1u << 13,
    EDGE_KEY_VERSION = 1u << 14,
    EDGE_KEY_SRC_MASK = 1u << 15,
    EDGE_KEY_DST_MASK = 1u << 16,
    EDGE_KEY_VLAN = 1u << 17,
    EDGE_KEY_DIRECTION = 1u << 18,
    EDGE_KEY_FLAGS = 1u << 19,
};
#define EDGE_KEY_ALL 0xFFFFFu

/*
 * Parses a comma list of field names (the flow-record names: exporter, domain_id (or domain),
 * in_if, out_if, src_addr, dst_addr, src_port, dst_port, proto, tos, src_as, dst_as, next_hop,
 * sampling, version, src_mask, dst_mask, vlan, direction, flags; "all" for every field) into
 * *mask. Returns 0, or -1 with a message in err (256 bytes).
 */
int edge_agg_key_parse(const char *list, uint32_t *mask, char *err);

/* Writes the names of the fields in mask as a comma list into buf. */
void edge_agg_key_format(uint32_t mask, char *buf, size_t len);

/*
 * Receives merged (or, without aggregation, decoded) records, valid only during the call.
 * Returns how many of the first records it took: all of them when wait is true (it may block
 * until it can), possibly fewer (0..count) when wait is false.
 */
typedef size_t (*edge_agg_emit_fn)(void *arg, const struct fl0wer_flow *flows, size_t count,
                                   bool wait);

struct edge_agg_config {
    uint32_t key_mask;  /* EDGE_KEY_* bits; 0 means EDGE_KEY_ALL */
    uint32_t bucket_s;  /* bucket length; 0 means 60 */
    uint32_t grace_s;   /* extra wait after a bucket ends for late records */
    size_t max_flows;   /* cap on entries over all buckets; 0 means 1000000 */
    bool disabled;      /* forward every record as given */
    uint32_t min_reduction_pct; /* adaptive mode threshold (0..100); 0 = always aggregate */
    uint32_t window;    /* records per measuring window; 0 means 65536 (a multiple of 16) */
};

/* Keys in the aggregated subset while sampled: 1 in EDGE_AGG_SUBSET. */
#define EDGE_AGG_SUBSET 16

struct edge_agg;

/* Creates an aggregator that emits through emit(arg, ...). Returns 0 or -1 (no memory). */
int edge_agg_create(struct edge_agg **out, const struct edge_agg_config *cfg,
                    edge_agg_emit_fn emit, void *arg);
/* Frees the aggregator WITHOUT emitting; call edge_agg_flush_all() first to keep the records. */
void edge_agg_destroy(struct edge_agg *a);

/* Adds count records, received at wall-clock now_ms. Returns 0 or -1 (no memory; the records
 * were emitted unmerged instead, so none is lost). */
int edge_agg_add(struct edge_agg *a, const struct fl0wer_flow *flows, size_t count,
                 uint64_t now_ms);

/* Closes every bucket that is closed at now_ms and emits what the sink takes (edge_agg_pump).
 * Returns the number of buckets closed. */
size_t edge_agg_tick(struct edge_agg *a, uint64_t now_ms);

/* Emits the bypassed records held, then records of closed buckets, until the sink refuses
 * some. Returns the records still waiting (0 when every closed bucket is out and no bypassed
 * record was refused). */
size_t edge_agg_pump(struct edge_agg *a);

/* Emits every bucket and the bypassed records held (shutdown). */
void edge_agg_flush_all(struct edge_agg *a);

/* Counters: entries held now (incl. closed buckets not yet out), buckets open or closing now,
 * records of closed buckets waiting for the sink, buckets flushed early because of max_flows;
 * records in and out (incl. bypassed ones), records emitted unmerged by sampled mode (counted
 * when handed to the sink), mode changes, the current mode and the merged share (per mille) of
 * the last complete window. */
struct edge_agg_stats {
    size_t entries;
    size_t buckets;
    size_t pending;
    uint64_t early_flushes;
    uint64_t records_in;
    uint64_t records_out;
    uint64_t bypassed;
    uint64_t mode_switches;
    bool sampled;
    unsigned last_share_pm;
};
void edge_agg_stats(const struct edge_agg *a, struct edge_agg_stats *out);

#endif /* EDGE_AGG_H */
