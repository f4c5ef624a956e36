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
 *     recycle-K.tmp                the file of an acked batch, kept to be overwritten by a later
 *                                  one (EDGE_SPOOL_RECYCLE*; reusing its page cache pages
 *                                  and blocks is cheaper than a new file; removed on open)
 * A batch file is written to a .tmp name and renamed, so after a crash or a kill every .flwb file
 * is complete. It is fsync'ed (and the directory after the rename) either before it enters the
 * index, or, with EDGE_SPOOL_NOSYNC, only if it is still spooled (not acked) when
 * edge_spool_sync() runs for its age: a process kill loses nothing either way (the page cache
 * survives it), only a power loss or kernel crash can lose batches not yet synced. Batches
 * acknowledged soon after they were written are never fsync'ed (the costly part on most disks).
 * Batches are deleted after their ack.
 *
 * In memory: with EDGE_SPOOL_KEEP, the spool keeps the batch buffer it was given (up to a memory
 * budget, edge_spool_set_mem_max()) and edge_spool_take() hands that buffer over instead of
 * reading the file back; batches spooled by an earlier run, past the budget, or being resent
 * after a failure are read from disk.
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
    uint64_t mem_bytes;       /* kept batch buffers, bytes */
    uint64_t disk_reads;      /* batches read back from disk by edge_spool_take(), since open */
    uint64_t syncs;           /* batch files fdatasync'ed (at once or by group commit) */
    uint64_t recycled_writes; /* batches written over the file of an acked one */
};

/*
 * Opens (creating it, mode 0700, when absent) the spool at dir: removes *.tmp leftovers, indexes
 * the *.flwb files, and reads next-seq (the next sequence is the larger of next-seq and the
 * highest spooled sequence + 1, at least 1). Returns 0, or -errno with a message in err (256).
 */
int edge_spool_open(struct edge_spool **out, const char *dir, uint64_t max_bytes, char *err);
void edge_spool_close(struct edge_spool *s);

/*
 * Reserves the next sequence number and returns it in *seq. Numbers are persisted in blocks: a
 * number is handed out only below the next-seq value on disk (written with fsync + rename), so
 * it is never handed out twice, even after a crash; a restart skips the rest of the block (the
 * hub accepts gaps). The block is normally extended ahead by edge_spool_reserve_ahead() on the
 * spool writer's thread; only when the numbers on disk are used up does this call write
 * next-seq itself (or wait for the writer doing it). Returns 0 or -errno.
 */
#define EDGE_SPOOL_SEQ_BLOCK 256
int edge_spool_next_seq(struct edge_spool *s, uint64_t *seq);

/*
 * Extends the numbers on disk by a block once fewer than half a block of them are left, so that
 * edge_spool_next_seq() (the batcher) does not wait for the fsyncs. For the spool writer's
 * thread, after each group of batches. Returns 0 (also when nothing was due) or -errno.
 */
int edge_spool_reserve_ahead(struct edge_spool *s);

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
    uint8_t *buf; /* malloc'd; set to NULL when the spool kept it (EDGE_SPOOL_KEEP) */
    size_t len;
    int rc;
};

/* Acked batch files kept for reuse (recycle-K.tmp): at most this many, of at most this many
 * bytes together. Enough to absorb the acks of a burst: each file not kept is deleted, and on
 * ext4 every file created soon after many deletions costs a scan of the recently freed inodes. */
#define EDGE_SPOOL_RECYCLE       64
#define EDGE_SPOOL_RECYCLE_BYTES (8u << 20)

/* Flags of edge_spool_put_many(). */
#define EDGE_SPOOL_KEEP   1u /* keep buffers (ownership taken) within the memory budget */
#define EDGE_SPOOL_NOSYNC 2u /* no fsync now: edge_spool_sync() later (group commit) */

/*
 * Stores n batches like edge_spool_put() but with one directory fsync for the group (each file
 * is still fsync'ed), or, with EDGE_SPOOL_NOSYNC, written and renamed only and marked for the
 * next edge_spool_sync(). With EDGE_SPOOL_KEEP, each stored item's buffer is kept while the kept
 * buffers total at most the memory budget (items[k].buf is then set to NULL; the caller frees
 * the others). Meant for one writer thread. Returns 0, or the first item's -errno.
 */
int edge_spool_put_many(struct edge_spool *s, struct edge_spool_item *items, size_t n,
                        unsigned flags, uint64_t now_mono_ms, uint64_t *dropped_records);

/*
 * Group commit: fdatasyncs every batch file written with EDGE_SPOOL_NOSYNC at or before
 * cutoff_mono_ms that is still spooled (acked ones are gone and need nothing), then the
 * directory. *synced (when not NULL) gets the number of files synced, *next (when not NULL) the
 * write time of the oldest batch still waiting for a sync (0 when none). Returns 0 or the first
 * -errno (the files stay spooled either way).
 */
int edge_spool_sync(struct edge_spool *s, uint64_t cutoff_mono_ms, size_t *synced,
                    uint64_t *next);

/* Memory budget for kept batch buffers (default EDGE_SPOOL_MEM_MAX bytes). Small on purpose:
 * with a hub that keeps up only the batches about to be sent need it, and a backlog read back
 * from the page cache costs less than the fresh memory a larger budget would make the heap grow
 * into. */
#define EDGE_SPOOL_MEM_MAX (4u << 20)
void edge_spool_set_mem_max(struct edge_spool *s, uint64_t bytes);

/*
 * Picks the lowest spooled sequence that is not marked in flight and whose retry time
 * (monotonic ms) has come, marks it in flight, and gives its bytes: *buf (malloc'd, caller
 * frees; the kept buffer when there is one, else read from the file), *len, *seq, *records. Returns 1 when a batch was taken, 0 when none is ready, -errno on I/O
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
