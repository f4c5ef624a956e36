/*
 * agg.c - pre-aggregation in per-bucket compact hash indexes over one reusable entry pool
 * (see agg.h).
 *
 * Entries come in two layouts. A record whose key addresses (those of exporter, src_addr,
 * dst_addr, next_hop that are key fields) are all IPv4 or all-zero is held as a 96-byte
 * struct agg_e4 (addresses as 4 bytes plus an "all-zero" bit); any other record as a full
 * 144-byte struct fl0wer_flow. Which layout a record takes depends only on its key, so equal
 * keys always meet in the same layout. Merged IPv4 records are expanded back to struct
 * fl0wer_flow when emitted. This cuts the memory a bucket of IPv4 flows touches by a third.
 *
 * Key handling: the key fields of a record are the bytes selected by a per-word mask over the
 * 64-bit words of its layout (built once from the key mask), so projecting, hashing and
 * comparing a key are a few word operations, whatever fields the key holds. Records are added
 * in groups: keys are hashed and their index slots prefetched first, then probed, so the
 * cache misses of a group overlap instead of being paid one after another. The layouts, the key
 * masks and the inline key helpers are in agg_key.h and agg_key.c.
 *
 * Adaptive mode (agg.h): the merged share is counted per window; while sampled, records whose
 * key hash is outside the subset skip the tables and are projected into a run buffer that goes
 * to the sink when full or at the next pump / tick / flush_all.
 */
#include "agg.h"
#include "agg_key.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define AGG_MAX_BUCKETS 16
#define CHUNK_BYTES     ((size_t)1024 * sizeof(struct fl0wer_flow)) /* pool bytes per chunk */
#define REF_SHIFT       11          /* index ref = (chunk << REF_SHIFT | entry in chunk) + 1 */
#define INDEX_MIN       4096        /* slots of a new index */
#define HUGE_BYTES      ((size_t)2 << 20)
#define GROUP           32          /* records hashed and prefetched together */
#define STAGE_LEN       1024        /* IPv4 entries expanded per emit call */
#define NO_CHUNK        UINT32_MAX
#define BYPASS_LEN      512         /* bypassed records handed to the sink per call */
#define WINDOW_DEFAULT  65536

static_assert(CHUNK_BYTES % sizeof(struct agg_e4) == 0, "chunks hold whole compact entries");
static_assert(CHUNK_BYTES / sizeof(struct agg_e4) < (1u << REF_SHIFT), "ref offset bits");

/* One index slot: low 32 bits of the key hash, ref (0 = empty). */
struct agg_slot {
    uint32_t tag;
    uint32_t ref;
};

enum table_state { T_FREE, T_OPEN, T_CLOSING };

struct agg_table {
    enum table_state state;
    uint64_t bucket;    /* last_ms / bucket_ms */
    uint64_t opened_ms; /* wall clock when the first record arrived */
    size_t count;       /* entries */
    size_t emitted;     /* entries already taken by the sink (T_CLOSING) */
    uint32_t *chunks;   /* pool chunk numbers in fill order (both layouts mixed) */
    size_t n_chunks;
    uint32_t cur[2];            /* chunk being filled per layout, or NO_CHUNK */
    size_t emit_ci, emit_off;   /* emit cursor: chunks[emit_ci], entry emit_off in it */
    struct agg_slot *index;
    size_t cap; /* index slots, a power of two; 0 before the first use */
};

struct edge_agg {
    struct edge_agg_config cfg;
    uint64_t bucket_ms;
    edge_agg_emit_fn emit;
    void *arg;
    struct agg_layout lay; /* where the key fields are in both entry layouts */

    uint8_t *pool; /* pool_chunks chunks of CHUNK_BYTES */
    size_t pool_bytes, pool_chunks;
    uint16_t *chunk_fill; /* entries in each chunk */
    uint8_t *chunk_kind;  /* layout of each chunk */
    uint32_t *free_chunks; /* stack; the top is the lowest free chunk number at first */
    size_t n_free;
    uint32_t *chunk_lists; /* AGG_MAX_BUCKETS lists of pool_chunks */
    struct fl0wer_flow *stage; /* STAGE_LEN expanded IPv4 entries being emitted */

    struct agg_table tables[AGG_MAX_BUCKETS];
    struct agg_table *last; /* the table the previous record went to */
    size_t entries;
    uint64_t early_flushes;
    uint64_t records_in;
    uint64_t records_out;

    /* Adaptive mode: current mode, window counts (records, merged ones), bypass run. */
    bool sampled;
    size_t w_n, w_m;
    unsigned last_share_pm;
    uint64_t mode_switches, bypassed;
    struct fl0wer_flow *bypass; /* BYPASS_LEN records, when min_reduction_pct > 0 */
    size_t n_bypass;
    bool bypass_blocked; /* the sink refused part of the run: aggregate until it is out */
};

/* Anonymous zeroed mapping (huge pages advised when large), or NULL. */
static void *map_zeroed(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= HUGE_BYTES)
        madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void unmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}

static inline size_t entry_size(int kind)
{
    return kind == KIND4 ? sizeof(struct agg_e4) : sizeof(struct fl0wer_flow);
}

/* The entry an index ref names, and its layout in *kind. */
static inline uint8_t *entry_at(const struct edge_agg *a, uint32_t ref, int *kind)
{
    uint32_t r = ref - 1, c = r >> REF_SHIFT;
    *kind = a->chunk_kind[c];
    return a->pool + (size_t)c * CHUNK_BYTES + (size_t)(r & ((1u << REF_SHIFT) - 1)) *
                                                   entry_size(*kind);
}

int edge_agg_create(struct edge_agg **out, const struct edge_agg_config *cfg,
                    edge_agg_emit_fn emit, void *arg)
{
    struct edge_agg *a = calloc(1, sizeof(*a));
    if (!a)
        return -1;
    a->cfg = *cfg;
    if (!a->cfg.key_mask)
        a->cfg.key_mask = EDGE_KEY_ALL;
    if (!a->cfg.bucket_s)
        a->cfg.bucket_s = 60;
    if (!a->cfg.max_flows)
        a->cfg.max_flows = 1000000;
    if (a->cfg.max_flows > ((size_t)1 << 30)) /* chunk numbers must fit a 32-bit ref */
        a->cfg.max_flows = (size_t)1 << 30;
    if (a->cfg.min_reduction_pct > 100)
        a->cfg.min_reduction_pct = 100;
    if (!a->cfg.window)
        a->cfg.window = WINDOW_DEFAULT;
    if (a->cfg.window < EDGE_AGG_SUBSET)
        a->cfg.window = EDGE_AGG_SUBSET;
    a->bucket_ms = (uint64_t)a->cfg.bucket_s * 1000u;
    a->emit = emit;
    a->arg = arg;
    agg_layout_init(&a->lay, a->cfg.key_mask);
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        a->tables[i].cur[KIND4] = a->tables[i].cur[KIND6] = NO_CHUNK;
    if (a->cfg.disabled) {
        *out = a;
        return 0;
    }
    /* Full chunks hold >= 1024 entries, and every table holds at most one partly filled chunk
     * per layout, so this many never run out. */
    a->pool_chunks = (a->cfg.max_flows + 1023) / 1024 + 2 * AGG_MAX_BUCKETS;
    a->pool_bytes = a->pool_chunks * CHUNK_BYTES;
    a->pool = map_zeroed(a->pool_bytes);
    a->chunk_fill = calloc(a->pool_chunks, sizeof(*a->chunk_fill));
    a->chunk_kind = calloc(a->pool_chunks, sizeof(*a->chunk_kind));
    a->free_chunks = malloc(a->pool_chunks * sizeof(uint32_t));
    a->chunk_lists = malloc(AGG_MAX_BUCKETS * a->pool_chunks * sizeof(uint32_t));
    a->stage = malloc(STAGE_LEN * sizeof(*a->stage));
    if (a->cfg.min_reduction_pct)
        a->bypass = malloc(BYPASS_LEN * sizeof(*a->bypass));
    if (!a->pool || !a->chunk_fill || !a->chunk_kind || !a->free_chunks || !a->chunk_lists ||
        !a->stage || (a->cfg.min_reduction_pct && !a->bypass)) {
        edge_agg_destroy(a);
        return -1;
    }
    for (size_t i = 0; i < a->pool_chunks; i++)
        a->free_chunks[i] = (uint32_t)(a->pool_chunks - 1 - i);
    a->n_free = a->pool_chunks;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        a->tables[i].chunks = a->chunk_lists + i * a->pool_chunks;
    *out = a;
    return 0;
}

void edge_agg_destroy(struct edge_agg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        unmap(a->tables[i].index, a->tables[i].cap * sizeof(struct agg_slot));
    unmap(a->pool, a->pool_bytes);
    free(a->chunk_fill);
    free(a->chunk_kind);
    free(a->free_chunks);
    free(a->chunk_lists);
    free(a->stage);
    free(a->bypass);
    free(a);
}

/* Returns the emptied table t to the free set: its chunks back to the pool (in order, so they
 * are handed out again in the same order and stay warm), its index cleared but kept. */
static void release_table(struct edge_agg *a, struct agg_table *t)
{
    for (size_t i = t->n_chunks; i-- > 0;)
        a->free_chunks[a->n_free++] = t->chunks[i];
    if (t->count)
        memset(t->index, 0, t->cap * sizeof(struct agg_slot));
    a->entries -= t->count;
    t->n_chunks = 0;
    t->count = t->emitted = 0;
    t->emit_ci = t->emit_off = 0;
    t->cur[KIND4] = t->cur[KIND6] = NO_CHUNK;
    t->state = T_FREE;
}

/* Emits the closing table t's records from where it stopped (compact entries expanded
 * STAGE_LEN at a time); with wait, all of them. Returns true when t is out (and released),
 * false when the sink refused some. */
static bool emit_table(struct edge_agg *a, struct agg_table *t, bool wait)
{
    while (t->emit_ci < t->n_chunks) {
        uint32_t c = t->chunks[t->emit_ci];
        size_t fill = a->chunk_fill[c];
        if (t->emit_off >= fill) {
            t->emit_ci++;
            t->emit_off = 0;
            continue;
        }
        size_t n = fill - t->emit_off;
        const uint8_t *base = a->pool + (size_t)c * CHUNK_BYTES;
        const struct fl0wer_flow *src;
        if (a->chunk_kind[c] == KIND6) {
            src = (const struct fl0wer_flow *)base + t->emit_off;
        } else {
            const struct agg_e4 *e = (const struct agg_e4 *)base + t->emit_off;
            if (n > STAGE_LEN)
                n = STAGE_LEN;
            for (size_t i = 0; i < n; i++)
                expand_e4(&a->lay, &e[i], &a->stage[i]);
            src = a->stage;
        }
        size_t got = a->emit(a->arg, src, n, wait);
        if (got > n)
            got = n;
        t->emit_off += got;
        t->emitted += got;
        a->records_out += got;
        if (got < n && !wait)
            return false;
    }
    release_table(a, t);
    return true;
}

/* Closes t and emits it; with wait, completely (early flushes). */
static void close_table(struct edge_agg *a, struct agg_table *t, bool wait)
{
    t->state = T_CLOSING;
    emit_table(a, t, wait);
}

/* Returns the used table (open or closing; closing ones first within a bucket) with the lowest
 * bucket number, among non-empty ones when non_empty; or NULL. */
static struct agg_table *oldest_table(struct edge_agg *a, bool non_empty)
{
    struct agg_table *best = NULL;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->state == T_FREE || (non_empty && t->count == t->emitted))
            continue;
        if (!best || t->bucket < best->bucket ||
            (t->bucket == best->bucket && t->state == T_CLOSING && best->state == T_OPEN))
            best = t;
    }
    return best;
}

/* The open table of bucket b, or NULL. */
static inline struct agg_table *find_open(struct edge_agg *a, uint64_t b)
{
    if (a->last && a->last->state == T_OPEN && a->last->bucket == b)
        return a->last;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->state == T_OPEN && t->bucket == b)
            return a->last = t;
    }
    return NULL;
}

/* Finds or opens the table of bucket b (the largest free index first). Never fails. */
static struct agg_table *table_for(struct edge_agg *a, uint64_t b, uint64_t now_ms)
{
    struct agg_table *free_t = find_open(a, b);
    if (free_t)
        return free_t;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->state == T_FREE && (!free_t || t->cap > free_t->cap))
            free_t = t;
    }
    while (!free_t) {
        struct agg_table *old = oldest_table(a, false);
        if (old->state == T_OPEN)
            a->early_flushes++;
        close_table(a, old, true);
        free_t = old;
    }
    free_t->state = T_OPEN;
    free_t->bucket = b;
    free_t->opened_ms = now_ms;
    return a->last = free_t;
}

/* Doubles t's index (or makes its first one), re-placing its slots. Returns 0 or -1. */
static int grow_index(struct agg_table *t)
{
    size_t ncap = t->cap ? t->cap * 2 : INDEX_MIN;
    struct agg_slot *ns = map_zeroed(ncap * sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        struct agg_slot s = t->index[i];
        if (!s.ref)
            continue;
        size_t j = s.tag & (ncap - 1);
        while (ns[j].ref)
            j = (j + 1) & (ncap - 1);
        ns[j] = s;
    }
    unmap(t->index, t->cap * sizeof(*ns));
    t->index = ns;
    t->cap = ncap;
    return 0;
}

/* Appends a new entry for f (prepared key k) to t at index slot j. */
static void insert_entry(struct edge_agg *a, struct agg_table *t, size_t j,
                         const struct fl0wer_flow *f, const struct agg_key *k)
{
    uint32_t c = t->cur[k->kind];
    size_t per = CHUNK_BYTES / entry_size(k->kind);
    if (c == NO_CHUNK || a->chunk_fill[c] == per) {
        c = a->free_chunks[--a->n_free];
        a->chunk_fill[c] = 0;
        a->chunk_kind[c] = (uint8_t)k->kind;
        t->chunks[t->n_chunks++] = c;
        t->cur[k->kind] = c;
    }
    size_t off = a->chunk_fill[c]++;
    uint8_t *e = a->pool + (size_t)c * CHUNK_BYTES + off * entry_size(k->kind);
    if (k->kind == KIND4)
        init_e4(&a->lay, (struct agg_e4 *)e, f, k);
    else
        init_e6(&a->lay, (struct fl0wer_flow *)e, f);
    t->index[j].tag = k->tag;
    t->index[j].ref = (uint32_t)(((size_t)c << REF_SHIFT | off) + 1);
    t->count++;
    a->entries++;
}

/* Merges one record (its key prepared in k) into its bucket's table. Returns 1 when it merged
 * into an existing entry, 0 when it made a new one, -1 (no memory). */
static int add_one(struct edge_agg *a, const struct fl0wer_flow *f, const struct agg_key *k,
                   uint64_t now_ms)
{
    uint64_t b = f->last_ms / a->bucket_ms;
    struct agg_table *t = table_for(a, b, now_ms);
    for (;;) {
        if (t->cap) {
            size_t mask = t->cap - 1, j = k->tag & mask;
            for (; t->index[j].ref; j = (j + 1) & mask) {
                if (t->index[j].tag != k->tag)
                    continue;
                int kind;
                uint8_t *e = entry_at(a, t->index[j].ref, &kind);
                if (kind == k->kind && key_equal(&a->lay, e, k)) {
                    merge_entry(&a->lay, e, kind, f);
                    return 1;
                }
            }
            /* A new entry: make room first (may flush this very table), then insert. */
            if (a->entries < a->cfg.max_flows && (t->count + 1) * 4 <= t->cap * 3) {
                insert_entry(a, t, j, f, k);
                return 0;
            }
        }
        if (a->entries >= a->cfg.max_flows) {
            struct agg_table *old = oldest_table(a, true);
            if (old->state == T_OPEN)
                a->early_flushes++;
            close_table(a, old, true);
            t = table_for(a, b, now_ms);
        } else if (grow_index(t) != 0) {
            return -1;
        }
    }
}

/* add_one(), forwarding f unmerged (waiting for the sink) when there is no memory for a new
 * entry. Returns add_one()'s value. */
static int add_or_forward(struct edge_agg *a, const struct fl0wer_flow *f, const struct agg_key *k,
                          uint64_t now_ms)
{
    int r = add_one(a, f, k, now_ms);
    if (r < 0) {
        a->emit(a->arg, f, 1, true);
        a->records_out++;
    }
    return r;
}

/* Hands the bypassed records held to the sink; with wait all of them, else what it takes now
 * (the rest moves to the front of the run, and bypass_blocked says so until it is out). */
static void flush_bypass(struct edge_agg *a, bool wait)
{
    size_t n = a->n_bypass, got = 0;
    if (n)
        got = a->emit(a->arg, a->bypass, n, wait);
    if (got > n || wait)
        got = n;
    a->records_out += got;
    a->bypassed += got;
    if (got < n)
        memmove(a->bypass, a->bypass + got, (n - got) * sizeof(*a->bypass));
    a->n_bypass = n - got;
    a->bypass_blocked = a->n_bypass != 0;
}

/* Counts one aggregated record (merged or not) in the window; at the window's end compares the
 * merged share with the threshold and sets the mode. While sampled, only subset records count,
 * and the window is 1/EDGE_AGG_SUBSET as long, so both modes judge about the same stretch. */
static void note_window(struct edge_agg *a, bool merged)
{
    a->w_n++;
    a->w_m += merged;
    if (a->w_n < (a->sampled ? a->cfg.window / EDGE_AGG_SUBSET : a->cfg.window))
        return;
    a->last_share_pm = (unsigned)(a->w_m * 1000 / a->w_n);
    bool low = (uint64_t)a->w_m * 100 < (uint64_t)a->cfg.min_reduction_pct * a->w_n;
    if (low != a->sampled) {
        a->sampled = low;
        a->mode_switches++;
    }
    a->w_n = a->w_m = 0;
}

#define SUBSET_LIMIT ((uint32_t)((UINT64_C(1) << 32) / EDGE_AGG_SUBSET))

/* Full aggregation of n records, in groups whose index slots are prefetched before they are
 * probed. Stops early when the window turns the aggregator to sampled mode; *done says how
 * many records were taken. Returns 0 or -1 (no memory for some; forwarded unmerged). */
static int add_full(struct edge_agg *a, const struct fl0wer_flow *flows, size_t count,
                    uint64_t now_ms, size_t *done)
{
    int rc = 0;
    struct agg_key keys[GROUP];
    for (size_t i = 0; i < count; i += GROUP) {
        size_t n = count - i < GROUP ? count - i : GROUP;
        for (size_t g = 0; g < n; g++) { /* hash the group, prefetch its index slots */
            prepare_key(&a->lay, &flows[i + g], &keys[g]);
            struct agg_table *t = find_open(a, flows[i + g].last_ms / a->bucket_ms);
            if (t && t->cap)
                __builtin_prefetch(&t->index[keys[g].tag & (t->cap - 1)]);
        }
        for (size_t g = 0; g < n; g++) {
            int r = add_or_forward(a, &flows[i + g], &keys[g], now_ms);
            if (r < 0) {
                rc = -1;
            } else if (a->cfg.min_reduction_pct) {
                note_window(a, r == 1);
                if (a->sampled) {
                    *done = i + g + 1;
                    return rc;
                }
            }
        }
    }
    *done = count;
    return rc;
}

/* Sampled mode: each record is projected into the bypass run; those whose key hash is in the
 * subset (or that find the run full and refused) are aggregated instead. Stops early when the
 * subset's window turns full aggregation back on; *done, return value as add_full. */
static int add_sampled(struct edge_agg *a, const struct fl0wer_flow *flows, size_t count,
                       uint64_t now_ms, size_t *done)
{
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        const struct fl0wer_flow *f = &flows[i];
        struct fl0wer_flow spare;
        if (a->n_bypass == BYPASS_LEN && !a->bypass_blocked)
            flush_bypass(a, false);
        bool room = a->n_bypass < BYPASS_LEN;
        bool sub = project_hashed(&a->lay, f, room ? &a->bypass[a->n_bypass] : &spare) <
                   SUBSET_LIMIT;
        if (!sub && room) {
            a->n_bypass++;
            continue;
        }
        struct agg_key k; /* subset key, or the sink is full: the tables hold it meanwhile */
        prepare_key(&a->lay, f, &k);
        int r = add_or_forward(a, f, &k, now_ms);
        if (r < 0) {
            rc = -1;
        } else if (sub) {
            note_window(a, r == 1);
            if (!a->sampled) {
                *done = i + 1;
                return rc;
            }
        }
    }
    *done = count;
    return rc;
}

int edge_agg_add(struct edge_agg *a, const struct fl0wer_flow *flows, size_t count,
                 uint64_t now_ms)
{
    a->records_in += count;
    if (a->cfg.disabled) {
        a->emit(a->arg, flows, count, true);
        a->records_out += count;
        return 0;
    }
    int rc = 0;
    for (size_t i = 0, done = 0; i < count; i += done) {
        int r = a->sampled ? add_sampled(a, flows + i, count - i, now_ms, &done)
                           : add_full(a, flows + i, count - i, now_ms, &done);
        if (r != 0)
            rc = r;
    }
    return rc;
}

size_t edge_agg_pump(struct edge_agg *a)
{
    size_t pending = 0;
    bool blocked = false;
    struct agg_table *t;
    flush_bypass(a, false);
    /* Oldest first; stop at the first refusal. */
    while (!blocked) {
        t = NULL;
        for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
            struct agg_table *c = &a->tables[i];
            if (c->state == T_CLOSING && (!t || c->bucket < t->bucket))
                t = c;
        }
        if (!t)
            break;
        blocked = !emit_table(a, t, false);
    }
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        if (a->tables[i].state == T_CLOSING)
            pending += a->tables[i].count - a->tables[i].emitted;
    return pending + a->n_bypass * a->bypass_blocked;
}

size_t edge_agg_tick(struct edge_agg *a, uint64_t now_ms)
{
    size_t n = 0;
    uint64_t grace = (uint64_t)a->cfg.grace_s * 1000u;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->state != T_OPEN)
            continue;
        uint64_t end = (t->bucket + 1) * a->bucket_ms + grace;
        uint64_t late = t->opened_ms + grace;
        uint64_t close_at = end > late ? end : late;
        uint64_t cap = t->opened_ms + a->bucket_ms + grace;
        if (close_at > cap)
            close_at = cap;
        if (now_ms >= close_at) {
            t->state = T_CLOSING;
            n++;
        }
    }
    edge_agg_pump(a);
    return n;
}

void edge_agg_flush_all(struct edge_agg *a)
{
    struct agg_table *t;
    flush_bypass(a, true);
    while ((t = oldest_table(a, false)) != NULL)
        close_table(a, t, true);
}

void edge_agg_stats(const struct edge_agg *a, struct edge_agg_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->entries = a->entries;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        const struct agg_table *t = &a->tables[i];
        out->buckets += t->state != T_FREE;
        if (t->state == T_CLOSING)
            out->pending += t->count - t->emitted;
    }
    out->early_flushes = a->early_flushes;
    out->records_in = a->records_in;
    out->records_out = a->records_out;
    out->bypassed = a->bypassed;
    out->mode_switches = a->mode_switches;
    out->sampled = a->sampled;
    out->last_share_pm = a->last_share_pm;
}
