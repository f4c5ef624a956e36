/*
 * analyzer.c - the analyzer's lifecycle and its feeding path: every stored flow updates the
 * current minute's heavy-hitter tables and volume series; exporter counters and edge reports
 * update health state. Evaluation of a finished minute lives in detect.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_internal.h"

void fl0wer_analyzer_config_defaults(struct fl0wer_analyzer_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->window_ms = 60000;
    cfg->table_size = 2048;
    cfg->scan_ports = 100;
    cfg->scan_hosts = 100;
    cfg->scan_max_packets = 3;
    cfg->flood_sources = 500;
    cfg->flood_pps = 20000;
    cfg->flood_syn_share = 0.7;
    cfg->flood_baseline_factor = 10.0;
    cfg->volume_k = 4.0;
    cfg->volume_min_share = 0.5;
    cfg->volume_min_bytes = 1000000;
    cfg->volume_warmup_min = 15;
    cfg->ewma_alpha = 0.1;
    cfg->silent_after_min = 5;
    cfg->loss_gaps_per_min = 10;
    cfg->errors_per_min = 10;
    cfg->resolve_after_min = 3;
}

int fl0wer_analyzer_create(struct fl0wer_analyzer **out, const struct fl0wer_analyzer_config *cfg,
                           fl0wer_alert_cb cb, void *cb_arg)
{
    struct fl0wer_analyzer *a;
    size_t n;

    *out = NULL;
    if (cfg == NULL || cfg->table_size < 16 || cfg->table_size > (1u << 20) ||
        cfg->window_ms < 100 || cfg->window_ms > 3600000 ||
        cfg->ewma_alpha <= 0.0 || cfg->ewma_alpha > 1.0)
        return -EINVAL;
    a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    pthread_mutex_init(&a->lock, NULL);
    a->cfg = *cfg;
    a->cb = cb;
    a->cb_arg = cb_arg;
    n = cfg->table_size;
    a->alerts = calloc(1, sizeof(*a->alerts));
    if (a->alerts == NULL || anz_window_init(&a->win, n) != 0 ||
        anz_map_init(&a->series, sizeof(struct anz_series_key), sizeof(struct anz_series),
                     ANZ_SERIES_MAX) != 0 ||
        anz_map_init(&a->dst_base, FL0WER_ADDR_LEN, sizeof(struct anz_dst_baseline), n) != 0 ||
        anz_map_init(&a->exporters, sizeof(struct anz_exporter_key), sizeof(struct anz_exporter),
                     ANZ_EXPORTERS_MAX) != 0 ||
        anz_map_init(&a->edges, FL0WER_EDGE_NAME_MAX, sizeof(struct anz_edge), ANZ_EDGES_MAX) != 0)
        goto out_free;
    for (int k = 0; k < FL0WER_TALKERS__COUNT; k++) {
        a->last_top[k] = calloc(ANZ_TOP_KEEP, sizeof(struct fl0wer_talker));
        if (a->last_top[k] == NULL)
            goto out_free;
    }
    a->memory_bytes = sizeof(*a) + sizeof(*a->alerts) + a->win.arena_len +
                      ANZ_SERIES_MAX * (sizeof(struct anz_series_key) + sizeof(struct anz_series)) +
                      n * (FL0WER_ADDR_LEN + sizeof(struct anz_dst_baseline)) +
                      ANZ_EXPORTERS_MAX *
                          (sizeof(struct anz_exporter_key) + sizeof(struct anz_exporter)) +
                      ANZ_EDGES_MAX * (FL0WER_EDGE_NAME_MAX + sizeof(struct anz_edge));
    *out = a;
    return 0;

out_free:
    fl0wer_analyzer_destroy(a); /* frees what was allocated: the rest is zero */
    return -ENOMEM;
}

/* Also the cleanup of a partly created analyzer: every release here accepts zeroed members. */
void fl0wer_analyzer_destroy(struct fl0wer_analyzer *a)
{
    if (a == NULL)
        return;
    for (int k = 0; k < FL0WER_TALKERS__COUNT; k++)
        free(a->last_top[k]);
    anz_window_release(&a->win);
    anz_map_release(&a->series);
    anz_map_release(&a->dst_base);
    anz_map_release(&a->exporters);
    anz_map_release(&a->edges);
    anz_blocklist_release(&a->blocklist);
    free(a->alerts);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Reads a whole file into a NUL-terminated malloc'd buffer. Returns 0 or -errno. */
static int read_text(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    int rc = 0;

    if (f == NULL)
        return -errno;
    do {
        if (cap - len < 4096) {
            char *nb = realloc(buf, cap + 65536);
            if (nb == NULL) {
                rc = -ENOMEM;
                goto out_close;
            }
            buf = nb;
            cap += 65536;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    if (ferror(f))
        rc = -EIO;
    /* A NUL byte would end the text early: make its line unparseable (skipped, counted)
     * instead, so the lines after it still count. */
    for (size_t i = 0; i < len; i++)
        if (buf[i] == '\0')
            buf[i] = '?';
    buf[len] = '\0';
out_close:
    fclose(f);
    if (rc != 0)
        free(buf);
    else
        *out = buf;
    return rc;
}

int fl0wer_analyzer_load_blocklists(struct fl0wer_analyzer *a, const char *const *paths,
                                    size_t n_paths, size_t *skipped)
{
    struct anz_range *ranges = NULL;
    size_t count = 0, cap = 0, bad = 0;
    struct anz_blocklist fresh, old;

    for (size_t i = 0; i < n_paths; i++) {
        char *text = NULL;
        int rc = read_text(paths[i], &text);
        if (rc != 0) {
            free(ranges);
            return rc;
        }
        rc = anz_blocklist_parse(text, (uint32_t)i, &ranges, &count, &cap);
        free(text);
        if (rc < 0) {
            free(ranges);
            return -ENOMEM;
        }
        bad += (size_t)rc;
    }
    if (skipped)
        *skipped = bad;
    anz_blocklist_build(&fresh, ranges, count);
    pthread_mutex_lock(&a->lock);
    old = a->blocklist;
    a->blocklist = fresh;
    pthread_mutex_unlock(&a->lock);
    anz_blocklist_release(&old);
    return (int)fresh.count;
}

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

/* A flow's key hashes and whether it is a scan probe, worked out ahead of its turn. */
struct anz_flow_hash {
    uint64_t src, dst, pair; /* addresses, (src, dst) */
    uint64_t port, sport;    /* (proto, dst port), (src, proto, dst port) */
    bool probe;              /* counts toward scans, see is_probe() */
};

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

/* Works out fh for flow f. */
static inline void flow_hash(const struct fl0wer_analyzer *a, const struct fl0wer_flow *f,
                             struct anz_flow_hash *fh)
{
    fh->src = anz_hash_addr(f->src_addr);
    fh->dst = anz_hash_addr(f->dst_addr);
    fh->pair = anz_hash_pair(fh->src, fh->dst);
    fh->port = anz_hash_small((uint64_t)f->proto << 16 | f->dst_port);
    fh->sport = anz_hash_pair(fh->src, fh->port);
    fh->probe = is_probe(&a->cfg, f);
}

/* Updates the current minute with one flow whose address hashes are fh. Caller holds the lock. */
static void observe_flow(struct fl0wer_analyzer *a, const struct fl0wer_flow *f,
                         const struct anz_flow_hash *fh)
{
    struct anz_window *w = &a->win;
    uint64_t bytes = scaled(f->bytes, f->sampling), packets = scaled(f->packets, f->sampling);
    uint8_t pair[2 * FL0WER_ADDR_LEN], sport[FL0WER_ADDR_LEN + 3], port[3];
    struct anz_topk_entry *e;
    struct anz_topk_ext *x;
    struct anz_series *s;

    memcpy(pair, f->src_addr, FL0WER_ADDR_LEN);
    memcpy(pair + FL0WER_ADDR_LEN, f->dst_addr, FL0WER_ADDR_LEN);
    port[0] = f->proto;
    port[1] = (uint8_t)(f->dst_port >> 8);
    port[2] = (uint8_t)f->dst_port;

    /* Each part is hashed once; composite keys combine their parts' hashes. */
    uint64_t h_src = fh->src, h_dst = fh->dst, h_pair = fh->pair, h_port = fh->port;

    /* Tables ranked by bytes: an entry's bytes are its weight - error (anz_topk_bytes_of). */
#define TALK(table, key, len, hash)                                                                \
    do {                                                                                           \
        e = anz_topk_add(&w->table, key, len, hash, bytes);                                        \
        e->packets += packets;                                                                     \
        e->flows += f->flows;                                                                      \
    } while (0)
    TALK(src, f->src_addr, FL0WER_ADDR_LEN, h_src);
    TALK(conv, pair, 2 * FL0WER_ADDR_LEN, h_pair);
    TALK(port, port, 3, h_port);
#undef TALK

    if (fh->probe) {
        memcpy(sport, f->src_addr, FL0WER_ADDR_LEN);
        memcpy(sport + FL0WER_ADDR_LEN, port, 3);
        e = anz_topk_add(&w->scan_pair, pair, 2 * FL0WER_ADDR_LEN, h_pair, f->flows);
        anz_topk_hll_add(&w->scan_pair, e, anz_hash_u64(f->dst_port));
        e = anz_topk_add(&w->scan_port, sport, FL0WER_ADDR_LEN + 3, fh->sport, f->flows);
        anz_topk_hll_add(&w->scan_port, e, h_dst);
    }

    /* Destinations: talkers and flood victims in one table. */
    e = anz_topk_add(&w->victim, f->dst_addr, FL0WER_ADDR_LEN, h_dst, bytes);
    e->packets += packets;
    e->flows += f->flows;
    anz_topk_hll_add(&w->victim, e, h_src);
    x = anz_topk_ext_of(&w->victim, e);
    if (f->proto == 6) {
        x->aux3 += packets;
        /* SYN set, ACK not set: connection attempts that never completed in this record. */
        if ((f->tcp_flags & 0x12) == 0x02)
            x->aux += packets;
    } else if (f->proto == 17) {
        x->aux2 += packets;
    }

    if (a->blocklist.count > 0 && (anz_blocklist_find(&a->blocklist, f->src_addr) ||
                                   anz_blocklist_find(&a->blocklist, f->dst_addr))) {
        e = anz_topk_add(&w->listed, pair, 2 * FL0WER_ADDR_LEN, h_pair, bytes);
        e->packets += packets;
        e->flows += f->flows;
        x = anz_topk_ext_of(&w->listed, e);
        x->aux = f->proto;
        x->aux2 = f->dst_port;
    }

    /* One series per flow: its interface's (or the exporter's no-interface one); the exporter's
     * total is their sum, made when the minute closes (detect.c). */
    uint64_t sw[3];
    memcpy(sw, f->exporter, FL0WER_ADDR_LEN);
    sw[2] = (uint64_t)f->domain_id | (uint64_t)(f->in_if != 0 ? f->in_if : ANZ_SERIES_NO_IF) << 32;
    if ((s = series_of(a, sw)) != NULL)
        s->cur_bytes += bytes;
    a->flows_observed++;
}

/* Index slot of hash h in t: prefetched so that the lookup a few flows later finds it cached. */
static inline void prefetch_slot(const struct anz_topk *t, uint64_t h)
{
    __builtin_prefetch(&t->slots[(uint32_t)h & (t->n_slots - 1)]);
}

/*
 * The entry the home slot of h points to, when it is h's (the slot was prefetched earlier): its
 * line, and its ext line (counters, sparse HyperLogLog) in tables that have them.
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
 * Feeds n flows. The big tables do not fit in the CPU's near caches, so each flow's key hashes
 * are worked out 2 * ANZ_AHEAD flows ahead and its index slots prefetched, its entries (and
 * HyperLogLogs) ANZ_AHEAD flows ahead, so the lookups find them cached. The port table and the
 * volume series are small and stay cached. Caller holds the lock.
 */
static void observe_run(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows, size_t n)
{
    struct anz_flow_hash ring[ANZ_RING];
    const struct anz_window *w = &a->win;

    for (size_t i = 0; i < n + 2 * ANZ_AHEAD; i++) {
        if (i < n) {
            struct anz_flow_hash *fh = &ring[i % ANZ_RING];
            flow_hash(a, &flows[i], fh);
            prefetch_slot(&w->src, fh->src);
            prefetch_slot(&w->victim, fh->dst);
            prefetch_slot(&w->conv, fh->pair);
            if (fh->probe) {
                prefetch_slot(&w->scan_pair, fh->pair);
                prefetch_slot(&w->scan_port, fh->sport);
            }
        }
        if (i >= ANZ_AHEAD && i - ANZ_AHEAD < n) {
            const struct anz_flow_hash *fh = &ring[(i - ANZ_AHEAD) % ANZ_RING];
            prefetch_entry(&w->src, fh->src);
            prefetch_entry(&w->victim, fh->dst);
            prefetch_entry(&w->conv, fh->pair);
            if (fh->probe) {
                prefetch_entry(&w->scan_pair, fh->pair);
                prefetch_entry(&w->scan_port, fh->sport);
            }
        }
        if (i >= 2 * ANZ_AHEAD)
            observe_flow(a, &flows[i - 2 * ANZ_AHEAD], &ring[(i - 2 * ANZ_AHEAD) % ANZ_RING]);
    }
}

/* Hands queued alerts to the callback outside the lock. Caller holds the lock; releases it. */
static void unlock_and_emit(struct fl0wer_analyzer *a)
{
    size_t n = a->alerts->n_pending;
    struct fl0wer_alert *copy = NULL;

    if (n > 0 && a->cb != NULL) {
        copy = malloc(n * sizeof(*copy));
        if (copy != NULL)
            memcpy(copy, a->alerts->pending, n * sizeof(*copy));
    }
    a->alerts->n_pending = 0;
    pthread_mutex_unlock(&a->lock);
    if (copy != NULL) {
        for (size_t i = 0; i < n; i++)
            a->cb(a->cb_arg, &copy[i]);
        free(copy);
    }
}

/* Closes every minute that ended at or before now_ms. Caller holds the lock. */
static void advance(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    uint64_t minute = now_ms - now_ms % a->cfg.window_ms;

    if (a->win.minute == 0) {
        a->win.minute = minute;
        return;
    }
    if (minute > a->win.minute)
        anz_close_minute(a, now_ms);
    if (minute > a->win.minute)
        a->win.minute = minute;
}

void fl0wer_analyzer_observe_flows(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows,
                                   size_t n, uint64_t now_ms)
{
    pthread_mutex_lock(&a->lock);
    advance(a, now_ms);
    observe_run(a, flows, n);
    unlock_and_emit(a);
}

/* Folds a cumulative counter in: returns the increase since last (a decrease = a restart). */
static uint64_t increase(uint64_t *last, uint64_t now)
{
    uint64_t d = now >= *last ? now - *last : now;

    *last = now;
    return d;
}

void fl0wer_analyzer_observe(struct fl0wer_analyzer *a, const char *edge_name,
                             const struct fl0wer_batch *b, uint64_t now_ms)
{
    char name[FL0WER_EDGE_NAME_MAX] = {0};
    struct anz_edge *edge;

    snprintf(name, sizeof(name), "%s", edge_name ? edge_name : "");
    pthread_mutex_lock(&a->lock);
    advance(a, now_ms);
    observe_run(a, b->flows, b->flow_count);
    for (size_t i = 0; i < b->exporter_count; i++) {
        const struct fl0wer_exporter_stats *s = &b->exporters[i];
        struct anz_exporter_key k;
        struct anz_exporter *x;
        uint64_t errors = s->unknown_template;

        for (int e = 0; e < FL0WER_DERR__COUNT; e++)
            errors += s->errors[e];
        memset(&k, 0, sizeof(k));
        memcpy(k.exporter, s->addr, FL0WER_ADDR_LEN);
        k.domain_id = s->domain_id;
        memcpy(k.edge, name, sizeof(k.edge));
        x = anz_map_get(&a->exporters, &k);
        if (x == NULL)
            continue;
        if (x->last_seen_ms == 0) {
            x->gaps = s->sequence_gaps; /* first report: a baseline, not an increase */
            x->errors = errors;
        } else {
            x->gaps_min += increase(&x->gaps, s->sequence_gaps);
            x->errors_min += increase(&x->errors, errors);
        }
        if (s->last_seen_ms > x->last_seen_ms || x->last_seen_ms == 0)
            x->last_seen_ms = now_ms;
    }
    edge = anz_map_get(&a->edges, name);
    if (edge != NULL) {
        if (edge->last_seen_ms == 0) {
            edge->dropped = b->report.records_dropped;
            edge->kernel_drops = b->report.kernel_drops;
        } else {
            edge->dropped_min += increase(&edge->dropped, b->report.records_dropped);
            edge->dropped_min += increase(&edge->kernel_drops, b->report.kernel_drops);
        }
        edge->last_seen_ms = now_ms;
    }
    unlock_and_emit(a);
}

void fl0wer_analyzer_tick(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    pthread_mutex_lock(&a->lock);
    advance(a, now_ms); /* health checks run with each closed minute */
    unlock_and_emit(a);
}

size_t fl0wer_analyzer_top_talkers(struct fl0wer_analyzer *a, enum fl0wer_talker_kind kind,
                                   struct fl0wer_talker *out, size_t max, uint64_t *minute_ms)
{
    size_t n = 0;

    if ((unsigned)kind >= FL0WER_TALKERS__COUNT)
        return 0;
    pthread_mutex_lock(&a->lock);
    n = a->last_top_n[kind] < max ? a->last_top_n[kind] : max;
    memcpy(out, a->last_top[kind], n * sizeof(*out));
    if (minute_ms)
        *minute_ms = a->last_minute;
    pthread_mutex_unlock(&a->lock);
    return n;
}

static int alert_newest_first(const void *x, const void *y)
{
    const struct fl0wer_alert *p = x, *q = y;

    if (p->last_ms != q->last_ms)
        return p->last_ms < q->last_ms ? 1 : -1;
    return p->id < q->id ? 1 : (p->id > q->id ? -1 : 0);
}

size_t fl0wer_analyzer_alerts(struct fl0wer_analyzer *a, struct fl0wer_alert *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&a->lock);
    n = a->alerts->count;
    struct fl0wer_alert *all = malloc((n + 1) * sizeof(*all));
    if (all == NULL) {
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    memcpy(all, a->alerts->items, n * sizeof(*all));
    pthread_mutex_unlock(&a->lock);
    qsort(all, n, sizeof(*all), alert_newest_first);
    if (n > max)
        n = max;
    memcpy(out, all, n * sizeof(*out));
    free(all);
    return n;
}

void fl0wer_analyzer_stats(struct fl0wer_analyzer *a, struct fl0wer_analyzer_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&a->lock);
    out->flows_observed = a->flows_observed;
    out->minutes_closed = a->minutes_closed;
    memcpy(out->alerts_raised, a->alerts->raised, sizeof(out->alerts_raised));
    out->alerts_open = anz_alerts_open(a->alerts);
    out->sketch_evictions = a->evictions;
    out->memory_bytes = a->memory_bytes;
    pthread_mutex_unlock(&a->lock);
}
