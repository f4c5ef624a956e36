/*
 * feed.c - the analyzer's per-flow path. A stored batch's flows are staged (anz_stage: sampling
 * scaled, probe rule applied, volume series updated, 64 bytes each) and folded into the current
 * minute's heavy-hitter tables in long runs (anz_fold: when the stage is full, before a minute
 * closes, before the blocklists change). The tables do not fit in the CPU's near caches and the
 * hub's own work between two batches pushes them out; a run of several batches in a row finds
 * them warm. Folding the same flows in the same order gives the same tables as feeding them one
 * batch at a time.
 */
#include <string.h>

#include "analyzer_internal.h"

static uint64_t scaled(uint64_t v, uint32_t sampling)
{
    return sampling > 1 ? v * sampling : v;
}

/*
 * Fills way 0 of a series cache set from the map (the set missed); the previous way 0 moves to way
 * 1. Returns NULL when the map is full.
 */
static struct anz_series *series_miss(struct fl0wer_analyzer *a, struct anz_series_slot *set,
                                      const uint64_t w[3])
{
    struct anz_series_key k;

    memset(&k, 0, sizeof(k));
    memcpy(k.exporter, w, FL0WER_ADDR_LEN);
    k.domain_id = (uint32_t)w[2];
    k.ifindex = (uint32_t)(w[2] >> 32);
    set[1] = set[0];
    set[0].s = anz_map_get(&a->series, &k);
    memcpy(set[0].w, w, sizeof(set[0].w));
    return set[0].s;
}

/*
 * The volume series of key w = exporter (two words), domain_id | ifindex << 32: a two-way cache
 * of series pointers (the map never moves or deletes a value) in front of the map, so the
 * per-flow path compares three words instead of hashing a 24-byte key.
 */
static inline struct anz_series *series_of(struct fl0wer_analyzer *a, const uint64_t w[3])
{
    uint64_t x = (w[0] ^ w[1] ^ w[2] * 0x9e3779b97f4a7c15ULL) * 0xff51afd7ed558ccdULL;
    struct anz_series_slot *set = &a->series_cache[(x >> (64 - ANZ_SERIES_CACHE_BITS)) * 2];

    for (int way = 0; way < 2; way++)
        if (set[way].w[0] == w[0] && set[way].w[1] == w[1] && set[way].w[2] == w[2] &&
            set[way].s != NULL)
            return set[way].s;
    return series_miss(a, set, w);
}

/*
 * Scans count probes only: TCP/UDP flows of at most scan_max_packets raw packets per merged flow
 * and, for TCP, without PSH (no data pushed); scan_max_packets 0 counts every TCP/UDP flow.
 */
static inline bool is_probe(const struct fl0wer_analyzer_config *cfg, const struct fl0wer_flow *f)
{
    if (f->proto != 6 && f->proto != 17)
        return false;
    if (cfg->scan_max_packets == 0)
        return true;
    return (f->proto == 17 || !(f->tcp_flags & 0x08)) &&
           f->packets <= (uint64_t)cfg->scan_max_packets * (f->flows > 0 ? f->flows : 1);
}

void anz_stage(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct fl0wer_flow *f = &flows[i];
        struct anz_staged *r;
        struct anz_series *s;
        uint64_t sw[3];

        if (a->n_staged == ANZ_STAGE_MAX)
            anz_fold(a);
        r = &a->stage[a->n_staged++];
        memcpy(r->src, f->src_addr, FL0WER_ADDR_LEN);
        memcpy(r->dst, f->dst_addr, FL0WER_ADDR_LEN);
        r->bytes = scaled(f->bytes, f->sampling);
        r->packets = scaled(f->packets, f->sampling);
        r->flows = f->flows;
        r->dst_port = f->dst_port;
        r->proto = f->proto;
        r->tcp_flags = f->tcp_flags;
        r->probe = is_probe(&a->cfg, f);

        /* One series per flow: its interface's (or the exporter's no-interface one); the
         * exporter's total is their sum, made when the minute closes (detect.c). */
        memcpy(sw, f->exporter, FL0WER_ADDR_LEN);
        sw[2] = (uint64_t)f->domain_id |
                (uint64_t)(f->in_if != 0 ? f->in_if : ANZ_SERIES_NO_IF) << 32;
        if ((s = series_of(a, sw)) != NULL)
            s->cur_bytes += r->bytes;
        a->flows_observed++;
    }
}

/* A staged flow's key hashes, worked out ahead of its turn. */
struct anz_flow_hash {
    uint64_t src, dst, pair; /* addresses, (src, dst) */
    uint64_t port, sport;    /* (proto, dst port), (src, proto, dst port) */
};

/* Works out fh for staged flow f. */
static inline void flow_hash(const struct anz_staged *f, struct anz_flow_hash *fh)
{
    fh->src = anz_hash_addr(f->src);
    fh->dst = anz_hash_addr(f->dst);
    fh->pair = anz_hash_pair(fh->src, fh->dst);
    fh->port = anz_hash_small((uint64_t)f->proto << 16 | f->dst_port);
    fh->sport = anz_hash_pair(fh->src, fh->port);
}

/* Updates the current minute's tables with one staged flow whose key hashes are fh. */
static void observe_flow(struct fl0wer_analyzer *a, const struct anz_staged *f,
                         const struct anz_flow_hash *fh)
{
    struct anz_window *w = &a->win;
    uint64_t bytes = f->bytes, packets = f->packets;
    uint8_t pair[2 * FL0WER_ADDR_LEN], sport[FL0WER_ADDR_LEN + 3], port[3];
    struct anz_topk_entry *e;
    struct anz_topk_ext *x;

    memcpy(pair, f->src, FL0WER_ADDR_LEN);
    memcpy(pair + FL0WER_ADDR_LEN, f->dst, FL0WER_ADDR_LEN);
    port[0] = f->proto;
    port[1] = (uint8_t)(f->dst_port >> 8);
    port[2] = (uint8_t)f->dst_port;

    /* Each part is hashed once; composite keys combine their parts' hashes. Tables ranked by
     * bytes: an entry's bytes are its weight - error (anz_topk_bytes_of). */
#define TALK(table, key, len, hash)                                                                \
    do {                                                                                           \
        e = anz_topk_add(&w->table, key, len, hash, bytes);                                        \
        e->packets += packets;                                                                     \
        e->flows += f->flows;                                                                      \
    } while (0)
    TALK(src, f->src, FL0WER_ADDR_LEN, fh->src);
    TALK(conv, pair, 2 * FL0WER_ADDR_LEN, fh->pair);
    TALK(port, port, 3, fh->port);
#undef TALK

    if (f->probe) {
        memcpy(sport, f->src, FL0WER_ADDR_LEN);
        memcpy(sport + FL0WER_ADDR_LEN, port, 3);
        e = anz_topk_add(&w->scan_pair, pair, 2 * FL0WER_ADDR_LEN, fh->pair, f->flows);
        anz_topk_hll_add(&w->scan_pair, e, anz_hash_u64(f->dst_port));
        e = anz_topk_add(&w->scan_port, sport, FL0WER_ADDR_LEN + 3, fh->sport, f->flows);
        anz_topk_hll_add(&w->scan_port, e, fh->dst);
    }

    /* Destinations: talkers and flood victims in one table. */
    e = anz_topk_add(&w->victim, f->dst, FL0WER_ADDR_LEN, fh->dst, bytes);
    e->packets += packets;
    e->flows += f->flows;
    anz_topk_hll_add(&w->victim, e, fh->src);
    x = anz_topk_ext_of(&w->victim, e);
    if (f->proto == 6) {
        x->aux3 += packets;
        /* SYN set, ACK not set: connection attempts that never completed in this record. */
        if ((f->tcp_flags & 0x12) == 0x02)
            x->aux += packets;
    } else if (f->proto == 17) {
        x->aux2 += packets;
    }

    if (a->blocklist.count > 0 && (anz_blocklist_find(&a->blocklist, f->src) ||
                                   anz_blocklist_find(&a->blocklist, f->dst))) {
        e = anz_topk_add(&w->listed, pair, 2 * FL0WER_ADDR_LEN, fh->pair, bytes);
        e->packets += packets;
        e->flows += f->flows;
        x = anz_topk_ext_of(&w->listed, e);
        x->aux = f->proto;
        x->aux2 = f->dst_port;
    }
}

/* Index slot of hash h in t: prefetched so that the lookup a few flows later finds it cached. */
static inline void prefetch_slot(const struct anz_topk *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(uint32_t)h & (t->n_slots - 1)]);
}

/*
 * The entry the home slot of h points to, when it is h's (the slot was prefetched earlier): its
 * line, and its detector counters in tables that have them.
 */
static inline void prefetch_entry(const struct anz_topk *t, uint64_t h)
{
    uint64_t s = t->slots[(uint32_t)h & (t->n_slots - 1)];

    if ((uint32_t)s >> 24 == t->epoch && s >> 32 == (uint32_t)h) {
        __builtin_prefetch(&t->entries[ANZ_TOPK_SLOT_ENTRY(s)]);
        if (t->ext)
            __builtin_prefetch(&t->ext[ANZ_TOPK_SLOT_ENTRY(s)]);
    }
}

#define ANZ_AHEAD 8 /* flows between prefetching a flow's index slots and its entries, and
                       between its entries and its turn */
#define ANZ_RING 32 /* > 2 * ANZ_AHEAD, a power of two */

/*
 * Folds the staged flows into the current minute, in order. Each flow's key hashes are worked
 * out 2 * ANZ_AHEAD flows ahead and its index slots prefetched, its entries ANZ_AHEAD flows
 * ahead, so the lookups find them cached. The port table is small and stays cached. Caller holds
 * the lock.
 */
void anz_fold(struct fl0wer_analyzer *a)
{
    struct anz_flow_hash ring[ANZ_RING];
    const struct anz_window *w = &a->win;
    const struct anz_staged *flows = a->stage;
    size_t n = a->n_staged;

    for (size_t i = 0; i < n + 2 * ANZ_AHEAD; i++) {
        if (i < n) {
            struct anz_flow_hash *fh = &ring[i % ANZ_RING];
            flow_hash(&flows[i], fh);
            prefetch_slot(&w->src, fh->src);
            prefetch_slot(&w->victim, fh->dst);
            prefetch_slot(&w->conv, fh->pair);
            if (flows[i].probe) {
                prefetch_slot(&w->scan_pair, fh->pair);
                prefetch_slot(&w->scan_port, fh->sport);
            }
        }
        if (i >= ANZ_AHEAD && i - ANZ_AHEAD < n) {
            const struct anz_flow_hash *fh = &ring[(i - ANZ_AHEAD) % ANZ_RING];
            prefetch_entry(&w->src, fh->src);
            prefetch_entry(&w->victim, fh->dst);
            prefetch_entry(&w->conv, fh->pair);
            if (flows[i - ANZ_AHEAD].probe) {
                prefetch_entry(&w->scan_pair, fh->pair);
                prefetch_entry(&w->scan_port, fh->sport);
            }
        }
        if (i >= 2 * ANZ_AHEAD)
            observe_flow(a, &flows[i - 2 * ANZ_AHEAD], &ring[(i - 2 * ANZ_AHEAD) % ANZ_RING]);
    }
    a->n_staged = 0;
}
