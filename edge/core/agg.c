/*
 * agg.c - per-bucket open-addressing tables that merge flows with the same key (see agg.h).
 */
#include "agg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AGG_MAX_BUCKETS 16
#define AGG_EMIT_CHUNK  256
#define AGG_INIT_CAP    1024

struct agg_entry {
    struct fl0wer_flow f; /* the merged record; its key fields are the entry's key */
    uint64_t hash;        /* 0 = empty slot */
};

struct agg_table {
    uint64_t bucket;     /* last_ms / bucket_ms */
    uint64_t opened_ms;  /* wall clock when the first record arrived */
    size_t cap;          /* power of two, 0 when unallocated */
    size_t count;
    struct agg_entry *slots;
    bool active;
};

struct edge_agg {
    struct edge_agg_config cfg;
    uint64_t bucket_ms;
    size_t max_cap; /* largest table capacity needed for max_flows entries */
    edge_agg_emit_fn emit;
    void *arg;
    struct agg_table tables[AGG_MAX_BUCKETS];
    size_t entries;
    uint64_t early_flushes;
    uint64_t records_in;
    uint64_t records_out;
    struct fl0wer_flow chunk[AGG_EMIT_CHUNK];
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

/* Copies the key fields of f (per mask) into a zeroed record k. */
static void project_key(const struct fl0wer_flow *f, uint32_t mask, struct fl0wer_flow *k)
{
    memset(k, 0, sizeof(*k));
    if (mask & EDGE_KEY_EXPORTER)
        memcpy(k->exporter, f->exporter, FL0WER_ADDR_LEN);
    if (mask & EDGE_KEY_SRC_ADDR)
        memcpy(k->src_addr, f->src_addr, FL0WER_ADDR_LEN);
    if (mask & EDGE_KEY_DST_ADDR)
        memcpy(k->dst_addr, f->dst_addr, FL0WER_ADDR_LEN);
    if (mask & EDGE_KEY_NEXT_HOP)
        memcpy(k->next_hop, f->next_hop, FL0WER_ADDR_LEN);
    if (mask & EDGE_KEY_DOMAIN)
        k->domain_id = f->domain_id;
    if (mask & EDGE_KEY_IN_IF)
        k->in_if = f->in_if;
    if (mask & EDGE_KEY_OUT_IF)
        k->out_if = f->out_if;
    if (mask & EDGE_KEY_SRC_AS)
        k->src_as = f->src_as;
    if (mask & EDGE_KEY_DST_AS)
        k->dst_as = f->dst_as;
    k->sampling = (mask & EDGE_KEY_SAMPLING) ? f->sampling : 1;
    if (mask & EDGE_KEY_SRC_PORT)
        k->src_port = f->src_port;
    if (mask & EDGE_KEY_DST_PORT)
        k->dst_port = f->dst_port;
    if (mask & EDGE_KEY_VLAN)
        k->vlan = f->vlan;
    if (mask & EDGE_KEY_PROTO)
        k->proto = f->proto;
    if (mask & EDGE_KEY_TOS)
        k->tos = f->tos;
    if (mask & EDGE_KEY_SRC_MASK)
        k->src_mask = f->src_mask;
    if (mask & EDGE_KEY_DST_MASK)
        k->dst_mask = f->dst_mask;
    if (mask & EDGE_KEY_DIRECTION)
        k->direction = f->direction;
    if (mask & EDGE_KEY_VERSION)
        k->version = f->version;
    if (mask & EDGE_KEY_FLAGS)
        k->flags = f->flags;
}

/* Hash of a projected key record (counters and times are zero in it). Never 0. */
static uint64_t hash_key(const struct fl0wer_flow *k)
{
    uint64_t words[sizeof(*k) / 8];
    memcpy(words, k, sizeof(words));
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < sizeof(words) / 8; i++) {
        h ^= words[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h ^= h >> 29;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 32;
    return h | 1u;
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
    a->bucket_ms = (uint64_t)a->cfg.bucket_s * 1000u;
    a->max_cap = AGG_INIT_CAP;
    while (a->max_cap / 4 * 3 < a->cfg.max_flows)
        a->max_cap *= 2;
    a->emit = emit;
    a->arg = arg;
    *out = a;
    return 0;
}

void edge_agg_destroy(struct edge_agg *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        free(a->tables[i].slots);
    free(a);
}

/* Emits the records of t in chunks and empties t (keeping its memory). */
static void flush_table(struct edge_agg *a, struct agg_table *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap && t->count; i++) {
        struct agg_entry *e = &t->slots[i];
        if (!e->hash)
            continue;
        a->chunk[n++] = e->f;
        e->hash = 0;
        t->count--;
        a->entries--;
        if (n == AGG_EMIT_CHUNK) {
            a->emit(a->arg, a->chunk, n);
            a->records_out += n;
            n = 0;
        }
    }
    if (n) {
        a->emit(a->arg, a->chunk, n);
        a->records_out += n;
    }
    t->active = false;
}

/* Returns the active table with the lowest bucket number (among non-empty ones when
 * non_empty), or NULL. */
static struct agg_table *oldest_table(struct edge_agg *a, bool non_empty)
{
    struct agg_table *best = NULL;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (non_empty && !t->count)
            continue;
        if (t->active && (!best || t->bucket < best->bucket))
            best = t;
    }
    return best;
}

/* Finds or opens the table of bucket b. Returns NULL only when out of memory. */
static struct agg_table *table_for(struct edge_agg *a, uint64_t b, uint64_t now_ms)
{
    struct agg_table *free_t = NULL;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (t->active && t->bucket == b)
            return t;
        if (!t->active && (!free_t || (t->cap > free_t->cap)))
            free_t = t;
    }
    if (!free_t) {
        free_t = oldest_table(a, false);
        a->early_flushes++;
        flush_table(a, free_t);
    }
    if (!free_t->slots) {
        free_t->slots = calloc(AGG_INIT_CAP, sizeof(struct agg_entry));
        if (!free_t->slots)
            return NULL;
        free_t->cap = AGG_INIT_CAP;
    }
    free_t->bucket = b;
    free_t->opened_ms = now_ms;
    free_t->count = 0;
    free_t->active = true;
    return free_t;
}

/* Doubles t's capacity, rehashing its entries. Returns 0 or -1 (t unchanged). */
static int grow_table(struct agg_table *t)
{
    size_t ncap = t->cap * 2;
    struct agg_entry *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].hash)
            continue;
        size_t j = t->slots[i].hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

/* Folds the counters of f (scaled when sampling is not a key field) into the entry e. */
static void merge_into(struct edge_agg *a, struct fl0wer_flow *e, const struct fl0wer_flow *f,
                       bool fresh)
{
    uint64_t scale = (a->cfg.key_mask & EDGE_KEY_SAMPLING) ? 1 : (f->sampling ? f->sampling : 1);
    if (fresh) {
        e->first_ms = f->first_ms;
        e->last_ms = f->last_ms;
    } else {
        if (f->first_ms < e->first_ms)
            e->first_ms = f->first_ms;
        if (f->last_ms > e->last_ms)
            e->last_ms = f->last_ms;
    }
    e->bytes += f->bytes * scale;
    e->packets += f->packets * scale;
    e->flows += f->flows;
    e->tcp_flags |= f->tcp_flags;
    if (!(a->cfg.key_mask & EDGE_KEY_FLAGS))
        e->flags |= f->flags;
}

/* Merges one record into its bucket's table. Returns 0 or -1 (no memory). */
static int add_one(struct edge_agg *a, const struct fl0wer_flow *f, uint64_t now_ms)
{
    struct fl0wer_flow key;
    project_key(f, a->cfg.key_mask, &key);
    uint64_t h = hash_key(&key);
    uint64_t b = f->last_ms / a->bucket_ms;
    struct agg_table *t = table_for(a, b, now_ms);
    if (!t)
        return -1;
    for (;;) {
        size_t j = h & (t->cap - 1);
        while (t->slots[j].hash) {
            struct agg_entry *e = &t->slots[j];
            if (e->hash == h && memcmp(&e->f, &key, offsetof(struct fl0wer_flow, first_ms)) == 0 &&
                memcmp((const uint8_t *)&e->f + offsetof(struct fl0wer_flow, domain_id),
                       (const uint8_t *)&key + offsetof(struct fl0wer_flow, domain_id),
                       offsetof(struct fl0wer_flow, tcp_flags) -
                           offsetof(struct fl0wer_flow, domain_id)) == 0 &&
                memcmp(&e->f.tos, &key.tos, offsetof(struct fl0wer_flow, flags) -
                                                offsetof(struct fl0wer_flow, tos)) == 0 &&
                (!(a->cfg.key_mask & EDGE_KEY_FLAGS) || e->f.flags == key.flags)) {
                merge_into(a, &e->f, f, false);
                return 0;
            }
            j = (j + 1) & (t->cap - 1);
        }
        /* A new entry: make room first (may flush this very table), then insert. */
        if (a->entries >= a->cfg.max_flows) {
            a->early_flushes++;
            flush_table(a, oldest_table(a, true));
            t = table_for(a, b, now_ms);
            if (!t)
                return -1;
            continue;
        }
        if ((t->count + 1) * 4 > t->cap * 3 && t->cap < a->max_cap) {
            if (grow_table(t) != 0)
                return -1;
            continue;
        }
        if ((t->count + 1) * 4 > t->cap * 3) { /* at max size (max_flows spread over buckets) */
            a->early_flushes++;
            flush_table(a, t);
            t = table_for(a, b, now_ms);
            if (!t)
                return -1;
            continue;
        }
        struct agg_entry *e = &t->slots[j];
        e->f = key;
        merge_into(a, &e->f, f, true);
        e->hash = h;
        t->count++;
        a->entries++;
        return 0;
    }
}

int edge_agg_add(struct edge_agg *a, const struct fl0wer_flow *flows, size_t count,
                 uint64_t now_ms)
{
    a->records_in += count;
    if (a->cfg.disabled) {
        a->emit(a->arg, flows, count);
        a->records_out += count;
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (add_one(a, &flows[i], now_ms) != 0) {
            a->emit(a->arg, &flows[i], 1); /* out of memory: forward it unmerged */
            a->records_out++;
            rc = -1;
        }
    }
    return rc;
}

size_t edge_agg_tick(struct edge_agg *a, uint64_t now_ms)
{
    size_t n = 0;
    uint64_t grace = (uint64_t)a->cfg.grace_s * 1000u;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++) {
        struct agg_table *t = &a->tables[i];
        if (!t->active)
            continue;
        uint64_t end = (t->bucket + 1) * a->bucket_ms + grace;
        uint64_t late = t->opened_ms + grace;
        uint64_t close_at = end > late ? end : late;
        uint64_t cap = t->opened_ms + a->bucket_ms + grace;
        if (close_at > cap)
            close_at = cap;
        if (now_ms >= close_at) {
            flush_table(a, t);
            n++;
        }
    }
    return n;
}

void edge_agg_flush_all(struct edge_agg *a)
{
    struct agg_table *t;
    while ((t = oldest_table(a, false)) != NULL)
        flush_table(a, t);
}

void edge_agg_stats(const struct edge_agg *a, struct edge_agg_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->entries = a->entries;
    for (size_t i = 0; i < AGG_MAX_BUCKETS; i++)
        out->buckets += a->tables[i].active;
    out->early_flushes = a->early_flushes;
    out->records_in = a->records_in;
    out->records_out = a->records_out;
}
