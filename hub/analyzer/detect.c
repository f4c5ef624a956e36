/*
 * detect.c - evaluating a finished minute: scans, floods, blocklisted traffic and volume
 * anomalies from the minute's tables; exporter and edge health from their counters; then the
 * minute's top talkers are kept and the tables cleared.
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer_internal.h"

static void raise_alert(struct fl0wer_analyzer *a, struct fl0wer_alert *c, uint64_t now_ms)
{
    anz_alerts_raise(a->alerts, c, now_ms);
}

static void init_cond(struct fl0wer_alert *c, enum fl0wer_alert_kind kind,
                      enum fl0wer_alert_severity sev, double value, double threshold)
{
    memset(c, 0, sizeof(*c));
    c->kind = (uint8_t)kind;
    c->severity = (uint8_t)sev;
    c->value = value;
    c->threshold = threshold;
}

static void detect_scans(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    const struct anz_window *w = &a->win;
    struct fl0wer_alert c;

    for (size_t i = 0; i < w->scan_pair.count; i++) {
        const struct anz_topk_entry *e = &w->scan_pair.entries[i];
        if (e->weight < a->cfg.scan_ports)
            continue; /* fewer flows than ports asked for: cannot be a scan */
        double ports = anz_topk_hll_count(&w->scan_pair, e);
        if (ports < a->cfg.scan_ports)
            continue;
        init_cond(&c, FL0WER_ALERT_PORT_SCAN, FL0WER_SEV_WARNING, ports, a->cfg.scan_ports);
        memcpy(c.src, e->key, FL0WER_ADDR_LEN);
        memcpy(c.dst, e->key + FL0WER_ADDR_LEN, FL0WER_ADDR_LEN);
        raise_alert(a, &c, now_ms);
    }
    for (size_t i = 0; i < w->scan_port.count; i++) {
        const struct anz_topk_entry *e = &w->scan_port.entries[i];
        if (e->weight < a->cfg.scan_hosts)
            continue;
        double hosts = anz_topk_hll_count(&w->scan_port, e);
        if (hosts < a->cfg.scan_hosts)
            continue;
        init_cond(&c, FL0WER_ALERT_HOST_SCAN, FL0WER_SEV_WARNING, hosts, a->cfg.scan_hosts);
        memcpy(c.src, e->key, FL0WER_ADDR_LEN);
        c.proto = e->key[FL0WER_ADDR_LEN];
        c.port = (uint16_t)(e->key[FL0WER_ADDR_LEN + 1] << 8 | e->key[FL0WER_ADDR_LEN + 2]);
        raise_alert(a, &c, now_ms);
    }
}

/*
 * A destination is flooded when, within the minute, its packet rate or its number of distinct
 * sources is over the threshold (or its rate is far above its own baseline), AND the traffic is
 * mostly SYN-only TCP packets or mostly UDP: a busy web server with many clients completing
 * handshakes is not a flood.
 */
static void detect_floods(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    const struct anz_window *w = &a->win;
    const struct fl0wer_analyzer_config *cfg = &a->cfg;
    struct fl0wer_alert c;

    for (size_t i = 0; i < w->victim.count; i++) {
        const struct anz_topk_entry *e = &w->victim.entries[i];
        double pps = (double)e->packets * 1000.0 / (double)a->cfg.window_ms;
        struct anz_dst_baseline *base = anz_map_find(&a->dst_base, e->key);
        double base_pps = base ? base->pps.mean : 0.0;
        const struct anz_topk_ext *x = anz_topk_ext_of(&w->victim, e);
        double tcp = (double)x->aux3, syn = (double)x->aux, udp = (double)x->aux2;
        enum fl0wer_alert_kind kind = FL0WER_ALERT__COUNT;

        /* Only SYN-only or UDP-dominated traffic can be a flood; check that first (cheap). */
        if (e->packets > 0 && tcp > 0 && syn / tcp >= cfg->flood_syn_share &&
            tcp >= 0.5 * (double)e->packets)
            kind = FL0WER_ALERT_SYN_FLOOD;
        else if (e->packets > 0 && udp >= cfg->flood_syn_share * (double)e->packets)
            kind = FL0WER_ALERT_UDP_FLOOD;
        if (kind != FL0WER_ALERT__COUNT) {
            int above_base = base && base->pps.samples >= cfg->volume_warmup_min &&
                             pps > cfg->flood_baseline_factor * base_pps &&
                             pps >= (double)cfg->flood_pps / 10.0;
            /* Each source sent at least one packet: count sources only where they could
             * matter. */
            int heavy = pps >= (double)cfg->flood_pps || above_base ||
                        (e->packets >= cfg->flood_sources &&
                         anz_topk_hll_count(&w->victim, e) >= cfg->flood_sources);
            if (heavy) {
                init_cond(&c, kind, FL0WER_SEV_CRITICAL, pps, (double)cfg->flood_pps);
                memcpy(c.dst, e->key, FL0WER_ADDR_LEN);
                c.proto = kind == FL0WER_ALERT_SYN_FLOOD ? 6 : 17;
                c.baseline = base_pps;
                raise_alert(a, &c, now_ms);
                continue; /* keep the flood out of the destination's baseline */
            }
        }
        if (base == NULL && a->dst_base.count < a->dst_base.cap) /* full: no room to add */
            base = anz_map_get(&a->dst_base, e->key);
        if (base != NULL) {
            anz_baseline_update(&base->pps, pps, cfg->ewma_alpha);
            base->last_minute = w->minute;
        }
    }
}

static void detect_blocklist(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    const struct anz_window *w = &a->win;
    struct fl0wer_alert c;

    for (size_t i = 0; i < w->listed.count; i++) {
        const struct anz_topk_entry *e = &w->listed.entries[i];
        const struct anz_topk_ext *x = anz_topk_ext_of(&w->listed, e);
        init_cond(&c, FL0WER_ALERT_BLOCKLIST, FL0WER_SEV_WARNING, (double)anz_topk_bytes_of(e),
                  0);
        memcpy(c.src, e->key, FL0WER_ADDR_LEN);
        memcpy(c.dst, e->key + FL0WER_ADDR_LEN, FL0WER_ADDR_LEN);
        c.proto = (uint8_t)x->aux;
        c.port = (uint16_t)x->aux2;
        raise_alert(a, &c, now_ms);
    }
}

/*
 * Adds each interface's (and the no-interface) bytes of the minute to its exporter's total series
 * (ifindex 0), creating that series the first time. The per-flow path feeds one series a flow.
 */
static void sum_exporter_series(struct fl0wer_analyzer *a)
{
    size_t n = a->series.count; /* totals created here have ifindex 0: not summed again */

    for (size_t i = 0; i < n; i++) {
        const struct anz_series_key *k = anz_map_key(&a->series, i);
        const struct anz_series *s = anz_map_val(&a->series, i);
        struct anz_series_key tk;
        struct anz_series *total;

        if (k->ifindex == 0)
            continue;
        tk = *k;
        tk.ifindex = 0;
        total = anz_map_get(&a->series, &tk);
        if (total != NULL)
            total->cur_bytes += s->cur_bytes;
    }
}

static void detect_volume(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    const struct fl0wer_analyzer_config *cfg = &a->cfg;
    struct fl0wer_alert c;

    sum_exporter_series(a);
    for (size_t i = 0; i < a->series.count; i++) {
        const struct anz_series_key *k = anz_map_key(&a->series, i);
        struct anz_series *s = anz_map_val(&a->series, i);
        double v = (double)s->cur_bytes;

        if (k->ifindex == ANZ_SERIES_NO_IF) { /* part of the exporter's total only */
            s->cur_bytes = 0;
            continue;
        }
        double mean = s->bytes.mean;
        double min_band = cfg->volume_min_share * mean;
        int dir = anz_baseline_check(&s->bytes, v, cfg->volume_k, min_band,
                                     cfg->volume_warmup_min);

        if (dir != 0 && (mean >= (double)cfg->volume_min_bytes ||
                         v >= (double)cfg->volume_min_bytes)) {
            init_cond(&c, dir > 0 ? FL0WER_ALERT_VOLUME_HIGH : FL0WER_ALERT_VOLUME_LOW,
                      FL0WER_SEV_WARNING, v,
                      dir > 0 ? mean + cfg->volume_k * anz_baseline_stddev(&s->bytes)
                              : mean - cfg->volume_k * anz_baseline_stddev(&s->bytes));
            memcpy(c.exporter, k->exporter, FL0WER_ADDR_LEN);
            c.domain_id = k->domain_id;
            c.ifindex = k->ifindex;
            c.baseline = mean;
            raise_alert(a, &c, now_ms);
        } else {
            /* Anomalous minutes stay out of the baseline so a spike doesn't teach it. */
            anz_baseline_update(&s->bytes, v, cfg->ewma_alpha);
        }
        s->cur_bytes = 0;
    }
}

/* Per-minute increases of exporter and edge counters. */
static void detect_counters(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    const struct fl0wer_analyzer_config *cfg = &a->cfg;
    struct fl0wer_alert c;

    for (size_t i = 0; i < a->exporters.count; i++) {
        const struct anz_exporter_key *k = anz_map_key(&a->exporters, i);
        struct anz_exporter *x = anz_map_val(&a->exporters, i);
        if (x->gaps_min >= cfg->loss_gaps_per_min) {
            init_cond(&c, FL0WER_ALERT_EXPORTER_LOSS, FL0WER_SEV_WARNING, (double)x->gaps_min,
                      (double)cfg->loss_gaps_per_min);
            memcpy(c.exporter, k->exporter, FL0WER_ADDR_LEN);
            c.domain_id = k->domain_id;
            memcpy(c.edge, k->edge, sizeof(c.edge));
            raise_alert(a, &c, now_ms);
        }
        if (x->errors_min >= cfg->errors_per_min) {
            init_cond(&c, FL0WER_ALERT_EXPORTER_ERRORS, FL0WER_SEV_WARNING, (double)x->errors_min,
                      (double)cfg->errors_per_min);
            memcpy(c.exporter, k->exporter, FL0WER_ADDR_LEN);
            c.domain_id = k->domain_id;
            memcpy(c.edge, k->edge, sizeof(c.edge));
            raise_alert(a, &c, now_ms);
        }
        x->gaps_min = 0;
        x->errors_min = 0;
    }
    for (size_t i = 0; i < a->edges.count; i++) {
        const char *name = anz_map_key(&a->edges, i);
        struct anz_edge *e = anz_map_val(&a->edges, i);
        if (e->dropped_min > 0) {
            init_cond(&c, FL0WER_ALERT_EDGE_DROPS, FL0WER_SEV_CRITICAL, (double)e->dropped_min, 0);
            memcpy(c.edge, name, sizeof(c.edge));
            raise_alert(a, &c, now_ms);
        }
        e->dropped_min = 0;
    }
}

void anz_check_health(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    uint64_t limit = (uint64_t)a->cfg.silent_after_min * a->cfg.window_ms;
    struct fl0wer_alert c;

    for (size_t i = 0; i < a->exporters.count; i++) {
        const struct anz_exporter_key *k = anz_map_key(&a->exporters, i);
        const struct anz_exporter *x = anz_map_val(&a->exporters, i);
        if (x->last_seen_ms == 0 || now_ms < x->last_seen_ms + limit)
            continue;
        init_cond(&c, FL0WER_ALERT_EXPORTER_SILENT, FL0WER_SEV_WARNING,
                  (double)(now_ms - x->last_seen_ms) / 1000.0, (double)limit / 1000.0);
        memcpy(c.exporter, k->exporter, FL0WER_ADDR_LEN);
        c.domain_id = k->domain_id;
        memcpy(c.edge, k->edge, sizeof(c.edge));
        raise_alert(a, &c, now_ms);
    }
    for (size_t i = 0; i < a->edges.count; i++) {
        const char *name = anz_map_key(&a->edges, i);
        const struct anz_edge *e = anz_map_val(&a->edges, i);
        if (e->last_seen_ms == 0 || now_ms < e->last_seen_ms + limit)
            continue;
        init_cond(&c, FL0WER_ALERT_EDGE_SILENT, FL0WER_SEV_CRITICAL,
                  (double)(now_ms - e->last_seen_ms) / 1000.0, (double)limit / 1000.0);
        memcpy(c.edge, name, sizeof(c.edge));
        raise_alert(a, &c, now_ms);
    }
    anz_alerts_expire(a->alerts, now_ms, (uint64_t)a->cfg.resolve_after_min * a->cfg.window_ms);
}

/* Keeps the heaviest entries of a talker table as fl0wer_talker rows. */
static void keep_talkers(struct fl0wer_analyzer *a, enum fl0wer_talker_kind kind,
                         const struct anz_topk *t)
{
    struct anz_topk_entry e[ANZ_TOP_KEEP];
    size_t n = anz_topk_sorted(t, e, ANZ_TOP_KEEP);
    struct fl0wer_talker *out = a->last_top[kind];

    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        switch (kind) {
        case FL0WER_TALKERS_SRC:
            memcpy(out[i].src, e[i].key, FL0WER_ADDR_LEN);
            break;
        case FL0WER_TALKERS_DST:
            memcpy(out[i].dst, e[i].key, FL0WER_ADDR_LEN);
            break;
        case FL0WER_TALKERS_CONV:
            memcpy(out[i].src, e[i].key, FL0WER_ADDR_LEN);
            memcpy(out[i].dst, e[i].key + FL0WER_ADDR_LEN, FL0WER_ADDR_LEN);
            break;
        default:
            out[i].proto = e[i].key[0];
            out[i].port = (uint16_t)(e[i].key[1] << 8 | e[i].key[2]);
            break;
        }
        out[i].bytes = anz_topk_bytes_of(&e[i]); /* talker tables are ranked by bytes */
        out[i].packets = e[i].packets;
        out[i].flows = e[i].flows;
        out[i].error = e[i].error;
    }
    a->last_top_n[kind] = n;
}

static void clear_window(struct fl0wer_analyzer *a)
{
    struct anz_topk *tables[ANZ_WINDOW_TABLES] = {
        &a->win.src,       &a->win.conv,   &a->win.port,  &a->win.victim,
        &a->win.scan_pair, &a->win.scan_port, &a->win.listed};

    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        a->evictions += tables[i]->evictions;
        anz_topk_clear(tables[i]);
    }
}

void anz_close_minute(struct fl0wer_analyzer *a, uint64_t now_ms)
{
    detect_scans(a, now_ms);
    detect_floods(a, now_ms);
    detect_blocklist(a, now_ms);
    detect_volume(a, now_ms);
    detect_counters(a, now_ms);
    keep_talkers(a, FL0WER_TALKERS_SRC, &a->win.src);
    keep_talkers(a, FL0WER_TALKERS_DST, &a->win.victim);
    keep_talkers(a, FL0WER_TALKERS_CONV, &a->win.conv);
    keep_talkers(a, FL0WER_TALKERS_PORT, &a->win.port);
    a->last_minute = a->win.minute;
    a->minutes_closed++;
    clear_window(a);
    anz_check_health(a, now_ms);
}
