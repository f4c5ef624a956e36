/*
 * analyzer.c - the analyzer's lifecycle and entry points: stored flows are staged and folded
 * into the current minute (feed.c); exporter counters and edge reports update health state.
 * Evaluation of a finished minute lives in detect.c.
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
    a->stage = aligned_alloc(64, ANZ_STAGE_MAX * sizeof(*a->stage));
    if (a->alerts == NULL || a->stage == NULL || anz_window_init(&a->win, n) != 0 ||
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
                      ANZ_STAGE_MAX * sizeof(*a->stage) +
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
    free(a->stage);
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
    anz_fold(a); /* the flows staged so far meet the blocklists they arrived under */
    old = a->blocklist;
    a->blocklist = fresh;
    pthread_mutex_unlock(&a->lock);
    anz_blocklist_release(&old);
    return (int)fresh.count;
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
    if (minute > a->win.minute) {
        anz_fold(a);
        anz_close_minute(a, now_ms);
    }
    if (minute > a->win.minute)
        a->win.minute = minute;
}

void fl0wer_analyzer_observe_flows(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows,
                                   size_t n, uint64_t now_ms)
{
    pthread_mutex_lock(&a->lock);
    advance(a, now_ms);
    anz_stage(a, flows, n);
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
    anz_stage(a, b->flows, b->flow_count);
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
