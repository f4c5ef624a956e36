/*
 * spool.h - the edge's on-disk spool of signed batches awaiting the hub's ack.
 *
 * Layout of the spool directory:
 *     next-seq                     a sequence number not yet used (text), written with
 *                                  write + fsync + rename + directory fsync before any number
 *                                  at or above the previous value is handed out
 *     SSSSSSSSSSSSSSSSSSSS-R.flwb  one batch: SSS.. its sequence number, 20 digits zero-padded,
 *                                  R its record count (for the drop accounting)
 *     *.tmp                        a half-written batch (removed on open)
 * A batch file is written to a .tmp name, fsync'ed, renamed, and the directory fsync'ed, so after
 * a crash every .flwb file is complete. Batches are deleted after their ack.
 *
 * Bounded by max_bytes: when adding a batch would pass it, the oldest batches that are not being
 * sent are deleted first and their records counted as dropped.
 *
 * Thread-safe (one mutex): the batcher adds, the sender reads and deletes.
 */
#ifndef EDGE_SPOOL_H
#define EDGE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct edge_spool;

struct edge_spool_stats {
    uint64_t batches;         /* batches in the spool now */
    uint64_t bytes;           /* their total size */
    uint64_t dropped_batches; /* deleted unsent because of max_bytes, since open */
    uint64_t dropped_records; /* their records */
};

/*
 * Opens (creating it, mode 0700, when absent) the spool at dir: removes *.tmp leftovers, indexes
 * the *.flwb files, and reads next-seq (the next sequence is the larger of next-seq and the
 * highest spooled sequence + 1, at least 1). Returns 0, or -errno with a message in err (256).
 */
int edge_spool_open(struct edge_spool **out, const char *dir, uint64_t max_bytes, char *err);
void edge_spool_close(struct edge_spool *s);

/*
 * Reserves the next sequence number and returns it in *seq. Numbers are persisted in blocks:
 * when seq reaches the value on disk, next-seq = seq + EDGE_SPOOL_SEQ_BLOCK is written (fsync +
 * rename) first, so a number is never handed out twice, even after a crash; a restart skips the
 * rest of the block (the hub accepts gaps). Returns 0 or -errno.
 */
#define EDGE_SPOOL_SEQ_BLOCK 64
int edge_spool_next_seq(struct edge_spool *s, uint64_t *seq);

/*
 * Stores one batch durably (fsync'ed). First deletes the oldest unsent batches while the spool
 * would exceed max_bytes (counting them as dropped; *dropped_records, when not NULL, gets the
 * records dropped by this call). Returns 0 or -errno.
 */
int edge_spool_put(struct edge_spool *s, uint64_t seq, uint32_t records, const uint8_t *buf,
                   size_t len, uint64_t *dropped_records);

/* One batch of edge_spool_put_many(); rc is set per item (0 = stored). */
struct edge_spool_item {
    uint64_t seq;
    uint32_t records;
    const uint8_t *buf;
    size_t len;
    int rc;
};

/*
 * Stores n batches like edge_spool_put() but with one directory fsync for the group (each file
 * is still fsync'ed). Meant for one writer thread. Returns 0, or the first item's -errno.
 */
int edge_spool_put_many(struct edge_spool *s, struct edge_spool_item *items, size_t n,
                        uint64_t *dropped_records);

/*
 * Picks the lowest spooled sequence above `after` that is not marked in flight and whose retry
 * time (monotonic ms) has come, marks it in flight, and reads it: *buf (malloc'd, caller frees),
 * *len, *seq, *records. Returns 1 when a batch was taken, 0 when none is ready, -errno on I/O
 * failure (the entry is then forgotten, counted as dropped).
 */
int edge_spool_take(struct edge_spool *s, uint64_t now_mono_ms, uint8_t **buf, size_t *len,
                    uint64_t *seq, uint32_t *records);

/* Ends the in-flight mark of seq and makes it eligible again at retry_at (monotonic ms). */
void edge_spool_release(struct edge_spool *s, uint64_t seq, uint64_t retry_at_mono_ms);

/* Deletes batch seq (acked). Returns 0, or -ENOENT when it is not spooled. */
int edge_spool_delete(struct edge_spool *s, uint64_t seq);

/* Lowest spooled sequence (0 when empty) and the monotonic time it may next be sent. */
uint64_t edge_spool_first(struct edge_spool *s, uint64_t *retry_at_mono_ms);

void edge_spool_stats(struct edge_spool *s, struct edge_spool_stats *out);

#endif /* EDGE_SPOOL_H */
