/*
 * store_int.h - internals shared by the files of the hub store (fl0wer_store): the store struct,
 * column families, key layouts, the flow block codec and small byte helpers. Not installed.
 */
#ifndef FL0WER_STORE_INT_H
#define FL0WER_STORE_INT_H

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fl0wer/filter.h"
#include "fl0wer/store.h"

/* Column families, in the order they are opened (index into fl0wer_store.cf). */
enum store_cf { STORE_CF_DEFAULT = 0, STORE_CF_FLOWS, STORE_CF_ROLLUPS, STORE_CF_META,
                STORE_CF_ALERTS, STORE_CF__COUNT };

/* Flow block key: minute of last_ms (BE 8) | edge name hash (BE 8) | batch seq (BE 8) | block (BE 4) */
#define STORE_FLOW_KEY_LEN 28
/* Rollup key: level 'm'/'h' | dim (1) | minute or hour number (BE 8); value: a packed array. */
#define STORE_ROLLUP_KEY_LEN 10
#define STORE_MAX_BLOCK_FLOWS 1024u

/* Meta key prefixes. */
#define STORE_META_EDGE      'e' /* 'e' name -> edge record */
#define STORE_META_SEQSET    'q' /* 'q' name -> stored batch sequence numbers (seqset.h) */
#define STORE_META_EXPORTER  'x' /* 'x' name 0x00 addr(16) domain(BE 4) -> exporter stats */
#define STORE_META_INTERFACE 'i' /* 'i' addr(16) domain(BE 4) ifindex(BE 4) -> names */
#define STORE_META_COUNTERS  "c/counters" /* flows and batches stored since creation */
#define STORE_META_FORMAT    "v/format"   /* on-disk layout version (STORE_FORMAT_VERSION) */
#define STORE_META_RAW_CUT   "v/raw-cut"  /* BE64 ms: raw flows that ended before it may have been
                                               removed by gc (absent: none ever was) */
#define STORE_FORMAT_VERSION 5u /* 1: a rollup row per key (merge of 5 varints), no v/format;
                                   2: packed arrays without address dimensions;
                                   3: srcport/dstport rows keyed by the port alone (now
                                   protocol << 16 | port);
                                   4: rollup arrays of format 3 (addresses front-coded only,
                                   now IPv4-mapped ones as deltas), and minute arrays for
                                   source ports and AS numbers (now hour arrays only) */
/*
 * Default bounds of the address (srcip, dstip) rollup arrays: rows per minute (0: no minute
 * address arrays, docs/storage.md says why) and per hour. Fixed when a store is created (meta
 * STORE_META_ADDRESS_K).
 */
#define STORE_ADDRESS_K_MINUTE 0u
#define STORE_ADDRESS_K_HOUR   65536u
#define STORE_META_ADDRESS_K   "v/address-k" /* BE32 minute bound, BE32 hour bound */

struct store_scratch;
struct store_rollup_entry;

struct fl0wer_store {
    rocksdb_t *db;
    rocksdb_options_t *dbopts;
    rocksdb_options_t *cfopts[STORE_CF__COUNT];
    rocksdb_column_family_handle_t *cf[STORE_CF__COUNT];
    rocksdb_block_based_table_options_t *table[STORE_CF__COUNT];
    rocksdb_cache_t *cache;
    rocksdb_mergeoperator_t *merge; /* owned by the rollups options once set */
    rocksdb_writeoptions_t *wopts;
    rocksdb_readoptions_t *ropts;
    pthread_mutex_t lock; /* serialises writes: duplicate check + write, gc, rejects */
    char *path;
    uint64_t retention_ms;
    uint64_t rollup_retention_ms;
    uint64_t max_disk_bytes;
    uint32_t address_k[2];   /* rows kept per address array: [minute level, hour level];
                                the minute level has no address arrays when 0 */
    struct store_merge_state *merge_state; /* owned by the merge operator */
    uint64_t flows_stored;   /* under lock */
    uint64_t batches_stored; /* under lock */
    bool opened;             /* fl0wer_store_open succeeded: close flushes the memtables */
    uint64_t unsettled_first_ms; /* under lock: monotonic ms of the first batch stored since
                                    the rollups were last flushed (0: none), and of the last */
    uint64_t unsettled_last_ms;
    uint64_t raw_cut_ms;     /* STORE_META_RAW_CUT; written under lock before the deletions
                                it covers, read with store_raw_cut() */
    pthread_mutex_t pool_lock;     /* guards pool */
    struct store_scratch *pool;    /* put_batch work buffers kept for reuse */
    unsigned pool_n;
    /* recompact.c, used by fl0wer_store_gc only (under lock) */
    uint64_t dirty_since_ms; /* gc's now_ms when it first saw unflushed data (0: none) */
    uint8_t recompacted_key[STORE_FLOW_KEY_LEN]; /* STORE_META_RECOMPACTED (loaded by the
                                                    first gc; recompacted_len 0: none) */
    size_t recompacted_len;
    bool recompacted_loaded;
    /* sparse.c, used by fl0wer_store_gc only */
    uint64_t sparse_next_hour; /* STORE_META_SPARSE (loaded by the first gc, under lock) */
    bool sparse_loaded;
};

/*
 * put.c: work buffers of one put_batch, sized for cap flows, reused across batches (a small pool
 * in the store) so a put makes no per-flow allocation.
 */
struct store_slot {
    uint32_t gen, idx;
};
struct store_scratch {
    size_t cap;                         /* flows */
    uint32_t *order;                    /* flow indices sorted (stably) by minute of last_ms */
    uint64_t *minute;                   /* minute of each sorted flow */
    struct fl0wer_rollup_counters *cnt; /* counters of each sorted flow */
    struct store_rollup_entry *ent, *acc, *tmp; /* cap entries each */
    uint64_t *kbuf;                     /* 2 * cap words, for sorting */
    struct store_slot *slots;           /* hash table of group keys -> ent index */
    size_t slot_cap;                    /* power of two >= 2 * cap */
    uint32_t gen;                       /* slots with another gen are empty */
    const struct fl0wer_flow **blk;     /* one flow block's records */
    uint8_t *val;                       /* encode buffer */
    rocksdb_writebatch_t *wb;           /* cleared and reused by each put */
    struct store_scratch *next;
};
/* aggregate.c: adds the rollup merge operands of the batch (x->order etc. filled) to wb. */
int store_add_rollups(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                      const struct fl0wer_batch *b, struct store_scratch *x);
/*
 * aggregate.c: puts into wb the source and destination address hour arrays of the hours b's
 * flows touch (x->order etc. filled), computed from those flows alone and bounded as put_batch
 * bounds them, over whatever is stored (sparse.c restores a sparse hour's arrays with it).
 */
void store_put_address_hours(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                             const struct fl0wer_batch *b, struct store_scratch *x);
/* put.c: store_put_address_hours for flows[0..n) (a scratch taken from the pool and returned).
 * Returns 0 or ERR_NOMEM. */
int store_put_address_hours_of(struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                               const struct fl0wer_flow *flows, size_t n);
/* put.c: frees a scratch (and the pool on close). */
void store_scratch_free(struct store_scratch *x);

/* Big-endian and little-endian helpers. */
static inline void store_be64(uint8_t *p, uint64_t v)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v); /* one instruction instead of a byte loop */
    memcpy(p, &v, 8);
#else
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
#endif
}
static inline uint64_t store_get_be64(const uint8_t *p)
{
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
#else
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
#endif
}
static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline uint32_t store_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends v as a LEB128 varint at p; returns bytes written (at most 10). */
static inline size_t store_put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

/* Writes v as a varint at p; returns the end. One- and two-byte values without a loop. */
static inline uint8_t *store_put_varint_p(uint8_t *p, uint64_t v)
{
    if (v < 0x80) {
        *p = (uint8_t)v;
        return p + 1;
    }
    if (v < 0x4000) {
        p[0] = (uint8_t)(v | 0x80);
        p[1] = (uint8_t)(v >> 7);
        return p + 2;
    }
    return p + store_put_varint(p, v);
}

/* Bounds-checked reader over stored bytes. */
struct store_cursor {
    const uint8_t *p;
    const uint8_t *end;
    int bad; /* set once a read ran past end or a varint was too long */
};
static inline uint64_t store_get_varint(struct store_cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (c->p >= c->end) {
            c->bad = 1;
            return 0;
        }
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    c->bad = 1;
    return 0;
}
static inline const uint8_t *store_get_bytes(struct store_cursor *c, size_t n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    const uint8_t *r = c->p;
    c->p += n;
    return r;
}

/* 64-bit FNV-1a of n bytes. */
static inline uint64_t store_hash(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* block.c: the columnar flow block codec (docs/storage.md). */
/* Upper bound of the encoded size of n flows. */
size_t store_block_bound(size_t n);
/* Encodes n flows (pointers) into out (store_block_bound(n) bytes); returns the length. */
size_t store_block_encode(const struct fl0wer_flow *const *flows, size_t n, uint8_t *out);
/* Reads the header: count and the min/max last_ms. Returns 0 or FL0WER_STORE_ERR_CORRUPT. */
int store_block_header(const uint8_t *buf, size_t len, size_t *n, uint64_t *min_last,
                       uint64_t *max_last);
/* Decodes a block into out (room for the header's count). Returns 0 or ERR_CORRUPT. */
int store_block_decode(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                       size_t *n);
/* Columns of a block, for a partial decode (bit 1 << column number). */
#define STORE_COL_LAST      (1u << 0)
#define STORE_COL_FIRST     (1u << 1) /* implies STORE_COL_LAST */
#define STORE_COL_BYTES     (1u << 2)
#define STORE_COL_PACKETS   (1u << 3)
#define STORE_COL_FLOWS     (1u << 4)
#define STORE_COL_DOMAIN    (1u << 5)
#define STORE_COL_IN_IF     (1u << 6)
#define STORE_COL_OUT_IF    (1u << 7)
#define STORE_COL_SRC_AS    (1u << 8)
#define STORE_COL_DST_AS    (1u << 9)
#define STORE_COL_SAMPLING  (1u << 10)
#define STORE_COL_SRC_PORT  (1u << 11)
#define STORE_COL_DST_PORT  (1u << 12)
#define STORE_COL_VLAN      (1u << 13)
#define STORE_COL_EXPORTER  (1u << 14)
#define STORE_COL_SRC_ADDR  (1u << 15)
#define STORE_COL_DST_ADDR  (1u << 16)
#define STORE_COL_NEXT_HOP  (1u << 17)
#define STORE_COL_PROTO      (1u << 18)
#define STORE_COL_TCP_FLAGS  (1u << 19)
#define STORE_COL_TOS        (1u << 20)
#define STORE_COL_FLOW_FLAGS (1u << 21)
#define STORE_COL_BYTE_REST  (1u << 22) /* masks, direction, version, reserved */
#define STORE_COL_BYTECOLS                                                                     \
    (STORE_COL_PROTO | STORE_COL_TCP_FLAGS | STORE_COL_TOS | STORE_COL_FLOW_FLAGS |            \
     STORE_COL_BYTE_REST)
#define STORE_COL_ALL        ((1u << 23) - 1)
/*
 * Decodes only the columns in mask (the other fields of out are left as they were). Every
 * decoded column is checked; the header and column table always are. Returns 0 or ERR_CORRUPT.
 */
int store_block_decode_cols(const uint8_t *buf, size_t len, struct fl0wer_flow *out,
                            size_t cap, size_t *n, uint32_t mask);
/* The columns a struct store_flow_soa holds (not domain, next hop nor the rarely read bytes). */
#define STORE_SOA_COLS                                                                         \
    (STORE_COL_ALL & ~(STORE_COL_DOMAIN | STORE_COL_NEXT_HOP | STORE_COL_BYTE_REST))
/*
 * One block's columns side by side (a struct of arrays), for scans that filter and sum column by
 * column: view (fl0wer_filter_match_cols' input) points at the decoded columns and holds NULL for
 * the others; mask says which were decoded (sampling is read from its array directly). About
 * 120 KiB: allocate it, never on a stack.
 */
struct store_flow_soa {
    struct fl0wer_flow_cols view;
    uint32_t mask;
    const uint8_t *block; /* the block decoded (borrowed), for store_block_decode_soa_more */
    size_t block_len;
    uint64_t first_ms[STORE_MAX_BLOCK_FLOWS], last_ms[STORE_MAX_BLOCK_FLOWS];
    uint64_t bytes[STORE_MAX_BLOCK_FLOWS], packets[STORE_MAX_BLOCK_FLOWS];
    uint64_t flows[STORE_MAX_BLOCK_FLOWS];
    uint32_t in_if[STORE_MAX_BLOCK_FLOWS], out_if[STORE_MAX_BLOCK_FLOWS];
    uint32_t src_as[STORE_MAX_BLOCK_FLOWS], dst_as[STORE_MAX_BLOCK_FLOWS];
    uint32_t sampling[STORE_MAX_BLOCK_FLOWS];
    uint16_t src_port[STORE_MAX_BLOCK_FLOWS], dst_port[STORE_MAX_BLOCK_FLOWS];
    uint16_t vlan[STORE_MAX_BLOCK_FLOWS];
    uint8_t proto[STORE_MAX_BLOCK_FLOWS], tcp_flags[STORE_MAX_BLOCK_FLOWS];
    uint8_t tos[STORE_MAX_BLOCK_FLOWS], flags[STORE_MAX_BLOCK_FLOWS];
    uint8_t exporter[STORE_MAX_BLOCK_FLOWS][FL0WER_ADDR_LEN];
    uint8_t src_addr[STORE_MAX_BLOCK_FLOWS][FL0WER_ADDR_LEN];
    uint8_t dst_addr[STORE_MAX_BLOCK_FLOWS][FL0WER_ADDR_LEN];
};
/*
 * block_decode.c: decodes the columns in mask (within STORE_SOA_COLS, else ERR_INVAL) of a
 * block into out, with the checks of store_block_decode_cols. Returns 0 or ERR_CORRUPT.
 */
int store_block_decode_soa(const uint8_t *buf, size_t len, uint32_t mask,
                           struct store_flow_soa *out);
/*
 * Decodes the columns of more not yet in s->mask from the same block (s->block, which must
 * still be valid: inside a scan's callback it is), so a scan can decide its filter on a few
 * columns and decode the others only for blocks with rows left. Returns 0 or ERR_CORRUPT.
 */
int store_block_decode_soa_more(struct store_flow_soa *s, uint32_t more);
/*
 * scan.c: like fl0wer_store_scan_flows, decoding only the columns in mask (STORE_COL_LAST is
 * always added); fields outside mask are zero or stale. For the query engine's no-filter paths.
 */
int store_scan_flow_cols(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms, uint32_t mask,
                         int (*fn)(void *arg, const struct fl0wer_flow *flows, size_t n),
                         void *arg);
/*
 * scan.c: the blocks over [from_ms, to_ms) as columns (mask within STORE_SOA_COLS): fn gets each
 * block's columns and sel, a bitmap of (view.n + 63) / 64 words marking the rows that ended
 * inside the range (bit i % 64 of word i / 64), which fn may change (it is the scan's scratch).
 * last_ms is decoded when mask asks for it, and for a block reaching past the range; a block
 * wholly inside skips it. fn may decode more columns (store_block_decode_soa_more). A non-zero
 * return from fn stops the scan and is returned.
 */
int store_scan_flow_soa(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms, uint32_t mask,
                        int (*fn)(void *arg, struct store_flow_soa *cols, uint64_t *sel),
                        void *arg);
/* A range of flow keys [lo, hi): byte strings of up to STORE_FLOW_KEY_LEN bytes compared as
 * RocksDB's default comparator does (store_key_cmp); a length of 0 leaves that side open. */
struct store_key_range {
    uint8_t lo[STORE_FLOW_KEY_LEN], hi[STORE_FLOW_KEY_LEN];
    size_t lo_len, hi_len;
};
/* scan.c: store_scan_flow_soa over the blocks whose keys also lie in keys (NULL: all); so a
 * range can be cut into key ranges scanned apart (the query's threads). */
int store_scan_flow_soa_keys(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                             const struct store_key_range *keys, uint32_t mask,
                             int (*fn)(void *arg, struct store_flow_soa *cols, uint64_t *sel),
                             void *arg);
/* Minute-and-edge groups store_flow_key_chunks walks at most (beyond: cut in key space). */
#define STORE_SPLIT_MAX_GROUPS 64
/*
 * chunks.c: cuts the flow keys of [from_ms, to_ms) into about n key ranges (out: the caller's,
 * room for n + STORE_SPLIT_MAX_GROUPS; the first's lo and the last's hi left open), so threads
 * can scan them apart (store_scan_flow_soa_keys). Keys begin with the minute, then the edge and
 * the batch sequence. A range whose keys span 16 minutes or more is cut about evenly in time:
 * between its first and last keys, by the 8 bytes from the first one in which they differ,
 * read as a number. A shorter one is walked minute and edge by minute and edge (two seeks each,
 * up to STORE_SPLIT_MAX_GROUPS of them), and each gets a share of the n chunks by the batches
 * it spans, cut between its own first and last keys: a dense minute from a few edges is shared
 * out evenly. *count: the ranges made, 1 (the whole range) when the blocks belong to fewer than
 * 16 batches of one edge in one minute, 0 when there is none. Returns 0 or a store error.
 */
int store_flow_key_chunks(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                          struct store_key_range *out, size_t n, size_t *count);
/* chunks.c: byte-wise order of two keys, a shorter prefix first (RocksDB's default comparator):
 * <0, 0, >0. */
int store_key_cmp(const void *a, size_t al, const void *b, size_t bl);
/* reblock.c: makes *p (elements of elem bytes, *cap of them) hold at least need, doubling from
 * 64; *p is unchanged on failure. Returns 0 or ERR_NOMEM. */
int store_grow(void **p, size_t *cap, size_t need, size_t elem);
/* scan.c: an iterator over column family cf limited to keys below upper (NULL: none; upper must
 * outlive it) with its read options in *ro; NULL when out of memory (*ro may still be set). */
rocksdb_iterator_t *store_bounded_iter(struct fl0wer_store *s, int cf, rocksdb_readoptions_t **ro,
                                       const uint8_t *upper, size_t ulen);
/* scan.c: destroys it (if any) and ro; returns rc, or ERR_IO when the iterator met an error. */
int store_finish_iter(rocksdb_iterator_t *it, rocksdb_readoptions_t *ro, int rc);

/*
 * rollup.c: packed rollup arrays (docs/storage.md). A value holds one period's rows of one
 * dimension, sorted by key. In memory a key is a 128-bit number (khi, klo): keys of width <= 4
 * bytes are klo (khi 0), 16-byte keys are their big-endian halves, so numeric order is byte order.
 */
#define STORE_ROLLUP_FORMAT 4 /* 3: 16-byte keys front-coded only */
struct store_rollup_entry {
    uint64_t khi, klo;
    struct fl0wer_rollup_counters c;
};
/* a += b, counter by counter (modulo 2^64: a negated query's sums wrap, and come back). */
static inline void store_counters_add(struct fl0wer_rollup_counters *a,
                                      const struct fl0wer_rollup_counters *b)
{
    a->flows += b->flows;
    a->bytes += b->bytes;
    a->packets += b->packets;
    a->raw_bytes += b->raw_bytes;
    a->raw_packets += b->raw_packets;
}
struct store_rollup_reader {
    unsigned width;
    bool raw;
    bool truncated; /* an address array that kept only K of its period's keys: not totals */
    size_t n, i;
    uint64_t prev, prev_hi;
    uint8_t key[32]; /* previous 16-byte key (front coding; 16 bytes of room for copies) */
    struct store_cursor col[6];
};
/* Upper bound of the encoded size of n entries. */
size_t store_rollup_bound(size_t n);
/* Encodes n entries (sorted, distinct keys) of key width bytes; returns the length. */
size_t store_rollup_encode(unsigned width, const struct store_rollup_entry *e, size_t n,
                           bool truncated, uint8_t *out);
/* Opens a reader over an encoded array (borrowed). Returns 0 or ERR_CORRUPT. */
int store_rollup_open(struct store_rollup_reader *r, const uint8_t *buf, size_t len);
/* Reads the next entry: 1 with *e, 0 at the (checked) end, or ERR_CORRUPT. */
int store_rollup_next(struct store_rollup_reader *r, struct store_rollup_entry *e);
/*
 * Reads every entry of a freshly opened reader into out (room for r->n), column by column, with
 * the same checks as store_rollup_next and the columns' ends. Returns 0 or ERR_CORRUPT.
 */
int store_rollup_read_all(struct store_rollup_reader *r, struct store_rollup_entry *out);
/* Writes e's key as width big-endian bytes. */
void store_rollup_key_bytes(const struct store_rollup_entry *e, unsigned width, uint8_t *out);
int store_rollup_key_cmp(const struct store_rollup_entry *a, const struct store_rollup_entry *b);
/*
 * rollmerge.c: sorts n entries by key: a radix sort over the varying key bytes (tmp: room for n
 * entries; kbuf: room for 2n words, or NULL, speeds up keys that vary only in their low 4
 * bytes: IPv4 addresses, ports, AS numbers, interfaces). Returns the buffer holding the sorted
 * entries, e or tmp; e holds the same entries afterwards, in some order.
 */
struct store_rollup_entry *store_rollup_sort(struct store_rollup_entry *e, size_t n,
                                             struct store_rollup_entry *tmp, uint64_t *kbuf);
/*
 * Keeps the k entries of e[0..n) with the most scaled bytes (ties: lower key), sorted by key,
 * in e[0..k); returns min(n, k). tmp: room for n.
 */
size_t store_rollup_keep_top(struct store_rollup_entry *e, size_t n, size_t k,
                             struct store_rollup_entry *tmp, uint64_t *kbuf);
/*
 * Merges k encoded arrays into one malloc'd array (*out, free()), truncated to its kmax rows
 * with the most bytes when longer (kmax 0: no bound) or when an operand was truncated.
 * Returns 0 or ERR_*.
 */
int store_rollup_merge(const uint8_t *const *vals, const size_t *lens, size_t k, size_t kmax,
                       uint8_t **out, size_t *out_len);
/* Merges two sorted entry arrays into out (room for na + nb); returns the merged count. */
size_t store_rollup_merge_entries(const struct store_rollup_entry *a, size_t na,
                                  const struct store_rollup_entry *b, size_t nb,
                                  struct store_rollup_entry *out);
/* Key width of a dimension (0 for FL0WER_ROLLUP_TOTAL). */
unsigned store_dim_width(unsigned dim);
/*
 * The group key of f for dim (0..9, else the empty key 0) as a 128-bit number. The port
 * dimensions' key is protocol << 16 | port (TCP 53 and UDP 53 are different rows, so a filter
 * over protocol and port is decided per row); a top-N by port sums a port's rows over protocols
 * (store_dim_rank_key).
 */
static inline void store_dim_value(const struct fl0wer_flow *f, unsigned dim, uint64_t *hi,
                                   uint64_t *lo)
{
    const uint8_t *a = NULL;
    *hi = 0;
    *lo = 0;
    switch (dim) {
    case 0: a = f->src_addr; break;
    case 1: a = f->dst_addr; break;
    case 2: *lo = (uint64_t)f->proto << 16 | f->src_port; break;
    case 3: *lo = (uint64_t)f->proto << 16 | f->dst_port; break;
    case 4: *lo = f->proto; break;
    case 5: a = f->exporter; break;
    case 6: *lo = f->src_as; break;
    case 7: *lo = f->dst_as; break;
    case 8: *lo = f->in_if; break;
    case 9: *lo = f->out_if; break;
    default: break;
    }
    if (a) {
        *hi = store_get_be64(a);
        *lo = store_get_be64(a + 8);
    }
}

/* store_dim_value for row i of a block decoded as columns (the dimension's columns decoded). */
static inline void store_soa_dim_value(const struct store_flow_soa *s, size_t i, unsigned dim,
                                       uint64_t *hi, uint64_t *lo)
{
    const uint8_t *a = NULL;
    *hi = 0;
    *lo = 0;
    switch (dim) {
    case 0: a = s->src_addr[i]; break;
    case 1: a = s->dst_addr[i]; break;
    case 2: *lo = (uint64_t)s->proto[i] << 16 | s->src_port[i]; break;
    case 3: *lo = (uint64_t)s->proto[i] << 16 | s->dst_port[i]; break;
    case 4: *lo = s->proto[i]; break;
    case 5: a = s->exporter[i]; break;
    case 6: *lo = s->src_as[i]; break;
    case 7: *lo = s->dst_as[i]; break;
    case 8: *lo = s->in_if[i]; break;
    case 9: *lo = s->out_if[i]; break;
    default: break;
    }
    if (a) {
        *hi = store_get_be64(a);
        *lo = store_get_be64(a + 8);
    }
}

/* The inverse of store_dim_value: writes key (hi, lo) of dim into the fields of f it came from. */
static inline void store_dim_set(struct fl0wer_flow *f, unsigned dim, uint64_t hi, uint64_t lo)
{
    uint8_t *a = NULL;
    switch (dim) {
    case 0: a = f->src_addr; break;
    case 1: a = f->dst_addr; break;
    case 2:
        f->proto = (uint8_t)(lo >> 16);
        f->src_port = (uint16_t)lo;
        break;
    case 3:
        f->proto = (uint8_t)(lo >> 16);
        f->dst_port = (uint16_t)lo;
        break;
    case 4: f->proto = (uint8_t)lo; break;
    case 5: a = f->exporter; break;
    case 6: f->src_as = (uint32_t)lo; break;
    case 7: f->dst_as = (uint32_t)lo; break;
    case 8: f->in_if = (uint32_t)lo; break;
    case 9: f->out_if = (uint32_t)lo; break;
    default: break;
    }
    if (a) {
        store_be64(a, hi);
        store_be64(a + 8, lo);
    }
}

/*
 * The low half of dim's key that a top-N by dim ranks: the port of a port dimension's
 * (protocol, port) key, the key itself for every other dimension.
 */
static inline uint64_t store_dim_rank_key(unsigned dim, uint64_t lo)
{
    return dim == 2 || dim == 3 ? lo & 0xffff : lo;
}

/*
 * scan.c: like fl0wer_store_scan_rollups, but fn gets each period's array as an open reader
 * (entries read with store_rollup_next) instead of one call per row.
 */
int store_scan_rollup_arrays(struct fl0wer_store *s, enum fl0wer_rollup_level level,
                             unsigned dim, uint64_t from_ms, uint64_t to_ms,
                             int (*fn)(void *arg, uint64_t t_ms, struct store_rollup_reader *r),
                             void *arg);

/*
 * merge.c: the rollup merge operator (merges packed arrays, summing equal keys; address arrays
 * bounded to address_k[level] rows). Copies the bounds into its state (*state, owned by the
 * operator), which store_merge_set_bounds updates once the stored bounds are read.
 */
struct store_merge_state;
rocksdb_mergeoperator_t *store_merge_operator_create(const uint32_t address_k[2],
                                                     struct store_merge_state **state);
void store_merge_set_bounds(struct store_merge_state *state, const uint32_t address_k[2]);
/*
 * True when dim has arrays at the minute level. Source ports (2) and source and destination AS
 * numbers (6, 7) have hour arrays only: at low rates their minute arrays held about one row per
 * flow, the largest part of the store (docs/storage.md); addresses (0, 1) have minute arrays only
 * in a store created with a minute bound. Queries answer partial hours of these from the hour
 * arrays and the raw blocks (hub/query/partial.c).
 */
static inline bool store_minute_arrays(const struct fl0wer_store *s, unsigned dim)
{
    switch (dim) {
    case 0:
    case 1:
        return s->address_k[0] != 0;
    case 2:
    case 6:
    case 7:
        return false;
    default:
        return true;
    }
}
/* Bound of the arrays of dim at level ('m' or 'h'): address_k[...] for srcip/dstip, else 0. */
static inline size_t store_rollup_kmax(const uint32_t address_k[2], uint8_t level, unsigned dim)
{
    if (dim > 1)
        return 0;
    return address_k[level == 'h' ? 1 : 0];
}

/*
 * store.c: reads the meta value of key into out (len bytes, the caller's) when it holds exactly
 * len bytes; *found false when it is absent. Returns 0, ERR_IO or ERR_CORRUPT (a value of another
 * length, logged); what names the value in an error ("reading the ... mark").
 */
int store_meta_read(struct fl0wer_store *s, const char *key, uint8_t *out, size_t len, bool *found,
                    const char *what);
/* Logs a RocksDB error (and frees it); returns FL0WER_STORE_ERR_IO. */
int store_io_error(const char *what, char *err);

/* scan.c: oldest and newest last_ms stored (0, 0 when empty), from block headers. */
int store_flow_time_range(struct fl0wer_store *s, uint64_t *oldest, uint64_t *newest);
/*
 * gc.c: raw flows that ended before store_raw_cut(s) ms may have been removed (retention, disk
 * cap); every flow that ended at or after it is still stored as written (0: nothing was ever
 * removed; read from meta when the store opens, raised by gc).
 */
uint64_t store_raw_cut(const struct fl0wer_store *s);
/* gc.c: flushes every column family's memtable to SST files and waits for it. */
int store_flush_all(struct fl0wer_store *s);
/* gc.c: flushes the memtables of the column families in cfs (bit 1 << STORE_CF_*), waiting for
 * them when wait; what names them in an error. Returns 0 or ERR_IO. */
int store_flush_cfs(struct fl0wer_store *s, unsigned cfs, bool wait, const char *what);
/* store.c: the numeric RocksDB property name of column family cf (0 when unknown). */
uint64_t store_cf_property(struct fl0wer_store *s, int cf, const char *name);

/* meta.c: codecs of the meta records. Encoders return the length written. */
#define STORE_EDGE_VAL_MAX 160
size_t store_edge_encode(const struct fl0wer_edge_status *e, uint8_t out[STORE_EDGE_VAL_MAX]);
int store_edge_decode(const uint8_t *buf, size_t len, struct fl0wer_edge_status *e);
/* Meta key of an edge: 'e' followed by the name. Returns its length. */
size_t store_edge_key(const char *name, uint8_t out[FL0WER_EDGE_NAME_MAX + 1]);
/* Reads the record of edge name (zeroed with the name set when absent). Call under s->lock. */
int store_edge_load(struct fl0wer_store *s, const char *name, struct fl0wer_edge_status *e);
#define STORE_EXPORTER_VAL_MAX 256
size_t store_exporter_encode(const struct fl0wer_exporter_stats *x,
                             uint8_t out[STORE_EXPORTER_VAL_MAX]);
/* Key of an exporter record; returns its length. out must hold FL0WER_EDGE_NAME_MAX + 22. */
size_t store_exporter_key(const char *edge, const struct fl0wer_exporter_stats *x, uint8_t *out);
#define STORE_INTERFACE_VAL_MAX 200
#define STORE_INTERFACE_KEY_LEN 25
size_t store_interface_encode(const struct fl0wer_interface_info *i,
                              uint8_t out[STORE_INTERFACE_VAL_MAX]);
void store_interface_key(const struct fl0wer_interface_info *i,
                         uint8_t out[STORE_INTERFACE_KEY_LEN]);
/* Value of the counters record; returns its length. */
size_t store_counters_record(uint64_t flows, uint64_t batches, uint8_t out[20]);

/* Bytes of the WAL files (*.log) in the data directory path; 0 when it cannot be read. */
uint64_t store_wal_bytes(const char *path);
/* Disk bytes: live SST files of every column family plus the WAL files. */
uint64_t store_disk_bytes(struct fl0wer_store *s);

/*
 * recompact.c: what a long-running hub does to its data once it has settled (docs/storage.md,
 * "Settled data"). Memtables that hold data STORE_FLUSH_AGE_MS old (judged at gc's now_ms) are
 * flushed, so a low-rate hub keeps minutes, not weeks, of write-ahead log; the flows CF's files
 * whose flows all ended before now_ms - STORE_RECOMPACT_LAG_MS are compacted to the last level
 * once (flushed files are otherwise only moved down, never recompressed), their small blocks
 * joined first. STORE_META_RECOMPACTED holds the largest key compacted so far: files wholly
 * after it are the next ones, and no file is compacted twice.
 */
#define STORE_FLUSH_AGE_MS      600000ull
#define STORE_FLUSH_AGE_BUSY    (4ull << 20) /* a flows memtable this large is left to fill */
#define STORE_RECOMPACT_LAG_MS  (2 * 3600000ull)
#define STORE_RECOMPACT_MIN_BYTES (256ull << 10) /* files compacted together, at least, */
#define STORE_RECOMPACT_MIN_MS  (6 * 3600000ull)  /* unless the oldest has been settled this
                                                     long */
#define STORE_RECOMPACT_MAX_BYTES (256ull << 20) /* files compacted by one gc pass, at most
                                                     (at least one file) */
#define STORE_RECOMPACT_HIGH_BYTES (4ull << 20) /* flows files per hour above which they are
                                                   not recompacted (high rates: full blocks;
                                                   they keep the flush's LZ4, ~20 % larger
                                                   than ZSTD 6 but faster to scan) */
#define STORE_META_RECOMPACTED  "v/recompacted" /* the largest flow key (28 bytes) compacted */
/* Flushes the memtables (but the rollups', flushed every minute, and a busy flows one) when
   unflushed data has waited STORE_FLUSH_AGE_MS; *flushed 0/1. */
int store_flush_aged(struct fl0wer_store *s, uint64_t now_ms, uint64_t *flushed);
/*
 * Picks the flows files wholly after the mark and settled; once they hold
 * STORE_RECOMPACT_MIN_BYTES or the oldest was settled STORE_RECOMPACT_MIN_MS ago, unless they
 * hold more than STORE_RECOMPACT_HIGH_BYTES an hour, joins the small blocks of the minutes
 * wholly inside them (reblock.c) and compacts them to the last level; then moves the mark to
 * their largest key.
 * *files: files compacted; *joined: blocks removed by joining.
 */
int store_recompact_settled(struct fl0wer_store *s, uint64_t now_ms, uint64_t *files,
                            uint64_t *joined);
/*
 * sparse.c: rate-adaptive address rollups (docs/storage.md, "Sparse hours"). Each settled hour
 * (as for the recompaction: ended before the last whole hour before now - STORE_RECOMPACT_LAG_MS)
 * is looked at once; one with fewer than STORE_SPARSE_HOUR_FLOWS flows (its hour totals) whose
 * raw flows are all still stored (it starts at or after the raw cut) gets its srcip and dstip
 * arrays (hour, and minute ones if the store has them) replaced by an empty truncated array, a
 * marker the query engine answers from raw blocks. STORE_META_SPARSE: the next hour to look at.
 */
#define STORE_SPARSE_HOUR_FLOWS 16384u /* flows an hour below which it is sparse */
#define STORE_SPARSE_MAX_HOURS  4096u  /* hours looked at by one gc pass, at most */
#define STORE_META_SPARSE       "v/sparse" /* BE64 hour number: hours before it were looked at */
/* *hours: hours whose address arrays were replaced by markers. Returns 0 or ERR_*. */
int store_sparse_settled(struct fl0wer_store *s, uint64_t now_ms, uint64_t *hours);
/*
 * sparse.c: called by gc (under s->lock) before it raises the raw cut to cut_ms and removes the
 * raw flows below it: every hour the sparse pass marked that is still whole but starts before
 * cut_ms gets its source and destination address hour arrays back, computed from its raw flows
 * and put into wb (written with the deletions); *hours counts them. Minute address arrays (a
 * store configured with them) stay markers. Returns 0 or a store error.
 */
int store_sparse_restore(struct fl0wer_store *s, rocksdb_writebatch_t *wb, uint64_t cut_ms,
                         uint64_t *hours);
/*
 * reblock.c: rewrites the flow blocks of each minute and edge of [from_ms, to_ms) as full blocks
 * (same flows, same order, keys edge | seq of the first block | 0, 1, ...) where that takes
 * fewer; minutes of more than 65,536 flows per edge are left as they are. Counts the blocks
 * rewritten (*before) and written (*after). Returns 0 or ERR_*.
 */
int store_reblock_flows(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                        uint64_t *before, uint64_t *after);

#endif /* FL0WER_STORE_INT_H */
