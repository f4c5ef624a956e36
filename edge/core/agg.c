/*
 * agg.c - pre-aggregation in per-bucket compact hash indexes over one reusable entry pool
 * (see agg.h).
 *
 * Key handling: the key fields of a record are the bytes selected by a per-word mask over the
 * 18 64-bit words of struct fl0wer_flow (built once from the key mask), so projecting,
 * hashing and comparing a key are a few word operations, whatever fields the key holds.
 */
#include "agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define AGG_MAX_BUCKETS 16
#define CHUNK_SHIFT     10
#define CHUNK_LEN       (1u << CHUNK_SHIFT) /* pool entries per chunk */
#define INDEX_MIN       4096                /* slots of a new index */
#define FLOW_WORDS      (sizeof(struct fl0wer_flow) / 8)
#define HUGE_BYTES      ((size_t)2 << 20)

/* One index slot: low 32 bits of the key hash, entry number + 1 (0 = empty). */
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
    uint32_t *chunks;   /* pool chunk numbers in fill order */
    size_t n_chunks;
    struct agg_slot *index;
    size_t cap; /* index slots, a power of two; 0 before the first use */
};

struct edge_agg {
    struct edge_agg_config cfg;
    uint64_t bucket_ms;
    edge_agg_emit_fn emit;
    void *arg;
    uint64_t kmask[FLOW_WORDS]; /* key bytes of each word of a record */
    uint8_t kw[FLOW_WORDS];     /* words with key bytes */
    size_t n_kw;
    bool scale; /* sampling is not a key field: counters scaled, merged sampling = 1 */

    struct fl0wer_flow *pool; /* pool_chunks * CHUNK_LEN entries */
    size_t pool_bytes, pool_chunks;
    uint32_t *free_chunks; /* stack; the top is the lowest free chunk number at first */
    size_t n_free;
    uint32_t *chunk_lists; /* AGG_MAX_BUCKETS lists of pool_chunks */
    size_t max_cap;        /* index size that holds max_flows entries */

    struct agg_table tables[AGG_MAX_BUCKETS];
    size_t entries;
    uint64_t early_flushes;
    uint64_t records_in;
    uint64_t records_out;
};

static const struct {
    const char *name;
    uint32_t bit;
} key_names[] = {
    {"exporter", EDGE_KEY_EXPORTER}, {"domain_id", EDGE_KEY_DOMAIN},
    {"in_if", EDGE_KEY_IN_IF},       {"out_if", EDGE_KEY_OUT_IF},
    {"src_addr", EDGE_KEY_SRC_ADDR}, {"dst_addr", EDGE_KEY_DST_ADDR},
    {"src_port", EDGE_KEY_SRC_PORT}, {"dst_port", EDGE_KEY_DST_PORT},
    {"proto", EDGE_KEY_PROTO},       {"tos", EDGE_KEY_TOS},
    {"src_as", EDGE_KEY_SRC_AS},     {"dst_as", EDGE_KEY_DST_AS},
    {"next_hop", EDGE_KEY_NEXT_HOP}, {"sampling", EDGE_KEY_SAMPLING},
    {"version", EDGE_KEY_VERSION},   {"src_mask", EDGE_KEY_SRC_MASK},
    {"dst_mask", EDGE_KEY_DST_MASK}, {"vlan", EDGE_KEY_VLAN},
    {"direction", EDGE_KEY_DIRECTION}, {"flags", EDGE_KEY_FLAGS},
    {"domain", EDGE_KEY_DOMAIN},     {"all", EDGE_KEY_ALL},
};

int edge_agg_key_parse(const char *list, uint32_t *mask, char *err)
{
    uint32_t m = 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        bool found = false;
        for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
            if (strlen(key_names[i].name) == n && memcmp(key_names[i].name, p, n) == 0) {
                m |= key_names[i].bit;
                found = true;
                break;
            }
        }
        if (!found) {
            snprintf(err, 256, "unknown aggregate key field '%.*s'", (int)(n > 64 ? 64 : n), p);
            return -1;
        }
        p += n;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    if (m == 0) {
        snprintf(err, 256, "empty aggregate key");
        return -1;
    }
    *mask = m;
    return 0;
}

void edge_agg_key_format(uint32_t mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 20; i++) {
        if (!(mask & key_names[i].bit))
            continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? "," : "", key_names[i].name);
        if (k < 0 || (size_t)k >= len - used)
            return;
        used += (size_t)k;
    }
}


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

static inline uint64_t word_at(const struct fl0wer_flow *f, size_t w)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)f + w * 8, 8);
    return v;
}

/* Builds the per-word key masks of the configured key fields. */
static void build_masks(struct edge_agg *a)
{
    static const struct {
        uint32_t bit;
        size_t off, size;
    } spans[] = {
        {EDGE_KEY_EXPORTER, offsetof(struct fl0wer_flow, exporter), FL0WER_ADDR_LEN},
        {EDGE_KEY_SRC_ADDR, offsetof(struct fl0wer_flow, src_addr), FL0WER_ADDR_LEN},
        {EDGE_KEY_DST_ADDR, offsetof(struct fl0wer_flow, dst_addr), FL0WER_ADDR_LEN},
        {EDGE_KEY_NEXT_HOP, offsetof(struct fl0wer_flow, next_hop), FL0WER_ADDR_LEN},
        {EDGE_KEY_DOMAIN, offsetof(struct fl0wer_flow, domain_id), 4},
        {EDGE_KEY_IN_IF, offsetof(struct fl0wer_flow, in_if), 4},
        {EDGE_KEY_OUT_IF, offsetof(struct fl0wer_flow, out_if), 4},
        {EDGE_KEY_SRC_AS, offsetof(struct fl0wer_flow, src_as), 4},
        {EDGE_KEY_DST_AS, offsetof(struct fl0wer_flow, dst_as), 4},
        {EDGE_KEY_SAMPLING, offsetof(struct fl0wer_flow, sampling), 4},
        {EDGE_KEY_SRC_PORT, offsetof(struct fl0wer_flow, src_port), 2},
        {EDGE_KEY_DST_PORT, offsetof(struct fl0wer_flow, dst_port), 2},
        {EDGE_KEY_VLAN, offsetof(struct fl0wer_flow, vlan), 2},
        {EDGE_KEY_PROTO, offsetof(struct fl0wer_flow, proto), 1},
        {EDGE_KEY_TOS, offsetof(struct fl0wer_flow, tos), 1},
        {EDGE_KEY_SRC_MASK, offsetof(struct fl0wer_flow, src_mask), 1},
        {EDGE_KEY_DST_MASK, offsetof(struct fl0wer_flow, dst_mask), 1},
        {EDGE_KEY_DIRECTION, offsetof(struct fl0wer_flow, direction), 1},
        {EDGE_KEY_VERSION, offsetof(struct fl0wer_flow, version), 1},
        {EDGE_KEY_FLAGS, offsetof(struct fl0wer_flow, flags), 1},
    };
    uint8_t bytes[sizeof(struct fl0wer_flow)] = {0};
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
        if (a->cfg.key_mask & spans[i].bit)
            memset(bytes + spans[i].off, 0xff, spans[i].size);
    memcpy(a->kmask, bytes, sizeof(bytes));
    a->n_kw = 0;
    for (size_t w = 0; w < FLOW_WORDS; w++)
        if (a->kmask[w])
            a->kw[a->n_kw++] = (uint8_t)w;
    a->scale = !(a->cfg.key_mask & EDGE_KEY_SAMPLING);
}

/* Hash of the masked key words of f (kv receives them, n_kw words). */
static inline uint64_t key_of(const struct edge_agg *a, const struct fl0wer_flow *f, uint64_t *kv)
{
    uint64_t h1 = 0x9e3779b97f4a7c15ull, h2 = 0x94d049bb133111ebull;
    size_t i = 0;
    for (; i + 1 < a->n_kw; i += 2) { /* two independent lanes */
        kv[i] = word_at(f, a->kw[i]) & a->kmask[a->kw[i]];
        kv[i + 1] = word_at(f, a->kw[i + 1]) & a->kmask[a->kw[i + 1]];
        h1 = (h1 ^ kv[i]) * 0xff51afd7ed558ccdull;
        h2 = (h2 ^ kv[i + 1]) * 0xc4ceb9fe1a85ec53ull;
        h1 ^= h1 >> 32;
        h2 ^= h2 >> 29;
    }
    if (i < a->n_kw) {
        kv[i] = word_at(f, a->kw[i]) & a->kmask[a->kw[i]];
        h1 = (h1 ^ kv[i]) * 0xff51afd7ed558ccdull;
        h1 ^= h1 >> 32;
    }
    uint64_t h = h1 ^ (h2 * 0x9e3779b97f4a7c15ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

static inline bool key_equal(const struct edge_agg *a, const struct fl0wer_flow *e,
                             const uint64_t *kv)
{
    for (size_t i = 0; i < a->n_kw; i++)
        if ((word_at(e, a->kw[i]) & a->kmask[a->kw[i]]) != kv[i])
            return false;
    return true;
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
    if (a->cfg.max_flows > ((size_t)1 << 31)) /* entry numbers are 32-bit */
        a->cfg.max_flows = (size_t)1 << 31;
    a->bucket_ms = (uint64_t)a->cfg.bucket_s * 1000u;
    a->emit = emit;
    a->arg = arg;
    build_masks(a);
    a->max_cap = INDEX_MIN;
    while (a->max_cap / 4 * 3 < a->cfg.max_flows)
        a->max_cap *= 2;
    if (a->cfg.disabled) {
        *out = a;
        return 0;
    }
    /* Every table holds at most one partly filled chunk, so this many never run out. */
    a->pool_chunks = (a->cfg.max_flows + CHUNK_LEN - 1) / CHUNK_LEN + AGG_MAX_BUCKETS;
    a->pool_bytes = a->pool_chunks * CHUNK_LEN * sizeof(struct fl0wer_flow);
    a->pool = map_zeroed(a->pool_bytes);
    a->free_chunks = malloc(a->pool_chunks * sizeof(uint32_t));
    a->chunk_lists = malloc(AGG_MAX_BUCKETS * a->pool_chunks * sizeof(uint32_t));
    if (!a->pool || !a->free_chunks || !a->chunk_lists) {
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
    free(a->free_chunks);
    free(a->chunk_lists);
    free(a);
}

/* Returns the emptied table t to the free set: its chunks back to the pool (in order, so they
 * are handed out again in the same order), its index cleared but kept. */
static void release_table(struct edge_agg *a, struct agg_table *t)
{
    for (size_t i = t->n_chunks; i-- > 0;)
        a->free_chunks[a->n_free++] = t->chunks[i];
    if (t->count)
        memset(t->index, 0, t->cap * sizeof(struct agg_slot));
    a->entries -= t->count;
    t->n_chunks = 0;
    t->count = t->emitted = 0;
    t->state = T_FREE;
}

/* Emits the closing table t's records from where it stopped; with wait, all of them. Returns
 * true when t is out (and released), false when the sink refused some. */
static bool emit_table(struct edge_agg *a, struct agg_table *t, bool wait)
{
    while (t->emitted < t->count) {
        size_t off = t->emitted & (CHUNK_LEN - 1);
        size_t n = CHUNK_LEN - off;
        if (n > t->count - t->emitted)
            n = t->count - t->emitted;
        const struct fl0wer_flow *src =
            a->pool + (size_t)t->chunks[t->emitted >> CHUNK_SHIFT] * CHUNK_LEN + off;
        size_t got = a->emit(a->arg, src, n, wait);
        if (got > n)
            got = n;
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

/* Finds or opens the table of bucket b (the largest free index first). Never fails. */
static struct agg_table *table_for(struct edge_agg *a, uint64_t b, uint64_t now_ms)
{
    struct agg_table *free_t = NULL;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->state == T_OPEN && t->bucket == b)
            return t;
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
    return free_t;
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

/* Folds the counters of f (scaled when sampling is not a key field) into the entry e. */
static inline void merge_into(const struct edge_agg *a, struct fl0wer_flow *e,
                              const struct fl0wer_flow *f)
{
    uint64_t scale = a->scale ? (f->sampling ? f->sampling : 1) : 1;
    if (f->first_ms < e->first_ms)
        e->first_ms = f->first_ms;
    if (f->last_ms > e->last_ms)
        e->last_ms = f->last_ms;
    e->bytes += f->bytes * scale;
    e->packets += f->packets * scale;
    e->flows += f->flows;
    e->tcp_flags |= f->tcp_flags;
    if (!(a->cfg.key_mask & EDGE_KEY_FLAGS))
        e->flags |= f->flags;
}

/* Appends a new entry for f (key words kv) to t at index slot j. */
static void insert_entry(struct edge_agg *a, struct agg_table *t, size_t j, uint32_t tag,
                         const struct fl0wer_flow *f)
{
    size_t off = t->count & (CHUNK_LEN - 1);
    if (off == 0)
        t->chunks[t->n_chunks++] = a->free_chunks[--a->n_free];
    size_t id = (size_t)t->chunks[t->n_chunks - 1] * CHUNK_LEN + off;
    struct fl0wer_flow *e = a->pool + id;
    uint64_t w[FLOW_WORDS];
    for (size_t k = 0; k < FLOW_WORDS; k++)
        w[k] = word_at(f, k) & a->kmask[k];
    memcpy(e, w, sizeof(w));
    if (a->scale)
        e->sampling = 1;
    e->first_ms = f->first_ms;
    e->last_ms = f->last_ms;
    merge_into(a, e, f);
    t->index[j].tag = tag;
    t->index[j].ref = (uint32_t)(id + 1);
    t->count++;
    a->entries++;
}

/* Merges one record into its bucket's table. Returns 0 or -1 (no memory). */
static int add_one(struct edge_agg *a, const struct fl0wer_flow *f, uint64_t now_ms)
{
    uint64_t kv[FLOW_WORDS];
    uint32_t tag = (uint32_t)key_of(a, f, kv);
    uint64_t b = f->last_ms / a->bucket_ms;
    struct agg_table *t = table_for(a, b, now_ms);
    for (;;) {
        if (t->cap) {
            size_t mask = t->cap - 1, j = tag & mask;
            for (; t->index[j].ref; j = (j + 1) & mask) {
                if (t->index[j].tag != tag)
                    continue;
                struct fl0wer_flow *e = a->pool + (t->index[j].ref - 1);
                if (key_equal(a, e, kv)) {
                    merge_into(a, e, f);
                    return 0;
                }
            }
            /* A new entry: make room first (may flush this very table), then insert. */
            if (a->entries < a->cfg.max_flows && (t->count + 1) * 4 <= t->cap * 3) {
                insert_entry(a, t, j, tag, f);
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
    for (size_t i = 0; i < count; i++) {
        if (add_one(a, &flows[i], now_ms) != 0) {
            a->emit(a->arg, &flows[i], 1, true); /* out of memory: forward it unmerged */
            a->records_out++;
            rc = -1;
        }
    }
    return rc;
}

size_t edge_agg_pump(struct edge_agg *a)
{
    size_t pending = 0;
    bool blocked = false;
    struct agg_table *t;
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
    return pending;
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
}
