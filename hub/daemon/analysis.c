/*
 * analysis.c - the analyzer inside fl0wer-hub: feeding, ticking, alert storage and delivery,
 * blocklist reloads and alert listings for the API.
 *
 * Stored alerts: key = 8-byte big-endian alert id (ids grow with time), value = one version byte
 * (1) followed by struct fl0wer_alert as laid out by this build. An update of an ongoing alert
 * overwrites its value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis.h"
#include "fl0wer/ingest.h"

#define ALERT_VALUE_VERSION 1

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Analyzer callback: store the alert, then log/post it. */
static void on_alert(void *arg, const struct fl0wer_alert *a)
{
    struct hub_analysis *h = arg;
    uint8_t key[8], val[1 + sizeof(*a)];
    char json[FL0WER_ALERT_JSON_MAX];

    put_be64(key, a->id);
    val[0] = ALERT_VALUE_VERSION;
    memcpy(val + 1, a, sizeof(*a));
    if (fl0wer_store_alert_put(h->store, key, sizeof(key), val, sizeof(val)) != 0) {
        h->store_failures++;
        fl0wer_hub_log(0, "cannot store alert %llu", (unsigned long long)a->id);
    }
    if (fl0wer_alert_to_json(a, json, sizeof(json)) > 0)
        fl0wer_hub_log(a->severity >= FL0WER_SEV_CRITICAL ? 0 : 1, "alert %s", json);
    if (h->notifier)
        fl0wer_notifier_send(h->notifier, a);
}

/* Splits the comma-separated list into h->blocklists. Returns 0 or -1 (err). */
static int split_blocklists(struct hub_analysis *h, const char *list, char *err)
{
    const char *p = list;

    while (p && *p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len > 0) {
            if (h->n_blocklists == HUB_MAX_BLOCKLISTS) {
                snprintf(err, HUB_ERRLEN, "--blocklist: at most %d files", HUB_MAX_BLOCKLISTS);
                return -1;
            }
            h->blocklists[h->n_blocklists] = strndup(p, len);
            if (!h->blocklists[h->n_blocklists])
                return -1;
            h->n_blocklists++;
        }
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* Loads every blocklist now. Returns the prefixes loaded, or -errno (old lists kept). */
static int load_blocklists(struct hub_analysis *h)
{
    struct stat st;
    size_t skipped = 0;
    int rc;

    for (size_t i = 0; i < h->n_blocklists; i++)
        if (stat(h->blocklists[i], &st) == 0)
            h->blocklist_mtime[i] = st.st_mtim;
    rc = fl0wer_analyzer_load_blocklists(h->an, (const char *const *)h->blocklists,
                                         h->n_blocklists, &skipped);
    if (rc < 0)
        fl0wer_hub_log(0, "cannot read the blocklists: %s (the previous ones stay)",
                       strerror(-rc));
    else
        fl0wer_hub_log(skipped ? 1 : 2,
                       "blocklists: %d prefixes from %zu files, %zu lines that are not a prefix "
                       "skipped",
                       rc, h->n_blocklists, skipped);
    return rc;
}

int hub_analysis_start(struct hub_analysis *h, const struct hub_config *cfg,
                       struct fl0wer_store *store, char *err)
{
    struct fl0wer_analyzer_config ac;
    struct fl0wer_notifier_config nc = {0};
    char nerr[256] = "";
    int rc;

    memset(h, 0, sizeof(*h));
    h->store = store;
    h->retention_ms = cfg->retention_ms;
    if (cfg->no_analyzer)
        return 0;
    fl0wer_analyzer_config_defaults(&ac);
    ac.window_ms = (uint32_t)cfg->analyzer_window_ms;
    ac.scan_ports = (uint32_t)cfg->scan_ports;
    ac.scan_hosts = (uint32_t)cfg->scan_hosts;
    ac.scan_max_packets = cfg->scan_max_packets > UINT32_MAX ? UINT32_MAX
                                                             : (uint32_t)cfg->scan_max_packets;
    ac.flood_pps = cfg->flood_pps;
    ac.flood_sources = (uint32_t)cfg->flood_sources;
    ac.silent_after_min = (uint32_t)((cfg->silent_after_ms + cfg->analyzer_window_ms - 1) /
                                     cfg->analyzer_window_ms);
    if ((rc = fl0wer_analyzer_create(&h->an, &ac, on_alert, h)) != 0) {
        snprintf(err, HUB_ERRLEN, "cannot create the analyzer: %s", strerror(-rc));
        return -1;
    }
    if (cfg->blocklist) {
        if (split_blocklists(h, cfg->blocklist, err) != 0)
            goto out_stop;
        if (load_blocklists(h) < 0) {
            snprintf(err, HUB_ERRLEN, "--blocklist: cannot read %s", cfg->blocklist);
            goto out_stop;
        }
    }
    nc.syslog = cfg->alert_syslog;
    nc.webhook_url = cfg->webhook;
    nc.webhook_ca = cfg->webhook_ca;
    if (nc.syslog || nc.webhook_url) {
        if (fl0wer_notifier_create(&h->notifier, &nc, nerr) != 0) {
            snprintf(err, HUB_ERRLEN, "--webhook: %s", nerr);
            goto out_stop;
        }
    }
    return 0;
out_stop:
    hub_analysis_stop(h);
    return -1;
}

void hub_analysis_stop(struct hub_analysis *h)
{
    fl0wer_analyzer_destroy(h->an);
    h->an = NULL;
    fl0wer_notifier_destroy(h->notifier);
    h->notifier = NULL;
    for (size_t i = 0; i < h->n_blocklists; i++)
        free(h->blocklists[i]);
    h->n_blocklists = 0;
}

void hub_analysis_on_stored(void *arg, const char *edge_name, const struct fl0wer_batch *b)
{
    struct hub_analysis *h = arg;

    if (h->an)
        fl0wer_analyzer_observe(h->an, edge_name, b, fl0wer_hub_now_ms());
}

void hub_analysis_tick(struct hub_analysis *h, uint64_t now_ms)
{
    struct stat st;
    bool changed = false;

    if (!h->an)
        return;
    for (size_t i = 0; i < h->n_blocklists; i++)
        if (stat(h->blocklists[i], &st) == 0 &&
            (st.st_mtim.tv_sec != h->blocklist_mtime[i].tv_sec ||
             st.st_mtim.tv_nsec != h->blocklist_mtime[i].tv_nsec))
            changed = true;
    if (changed)
        load_blocklists(h);
    fl0wer_analyzer_tick(h->an, now_ms);
}

void hub_analysis_reload(struct hub_analysis *h)
{
    if (h->an && h->n_blocklists > 0)
        load_blocklists(h);
}

struct gc_ctx {
    uint64_t cutoff;
    uint8_t (*keys)[8];
    size_t n, cap;
};

static int gc_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct gc_ctx *g = arg;
    struct fl0wer_alert a;

    if (klen != 8 || vlen != 1 + sizeof(a) || ((const uint8_t *)val)[0] != ALERT_VALUE_VERSION)
        return 0; /* another version's alert: kept */
    memcpy(&a, (const uint8_t *)val + 1, sizeof(a));
    if (a.last_ms >= g->cutoff)
        return 0;
    if (g->n == g->cap) {
        size_t ncap = g->cap ? 2 * g->cap : 64;
        void *nk = realloc(g->keys, ncap * sizeof(*g->keys));
        if (!nk)
            return 1;
        g->keys = nk;
        g->cap = ncap;
    }
    memcpy(g->keys[g->n++], key, 8);
    return 0;
}

void hub_analysis_gc(struct hub_analysis *h, uint64_t now_ms)
{
    struct gc_ctx g = {0};

    if (now_ms <= h->retention_ms)
        return;
    g.cutoff = now_ms - h->retention_ms;
    fl0wer_store_alert_foreach(h->store, NULL, 0, gc_collect, &g);
    for (size_t i = 0; i < g.n; i++)
        fl0wer_store_alert_delete(h->store, g.keys[i], 8);
    if (g.n > 0)
        fl0wer_hub_log(2, "gc removed %zu alerts", g.n);
    free(g.keys);
}

struct list_ctx {
    const struct fl0wer_api_alert_query *q;
    struct fl0wer_alert *hits;
    size_t n, cap;
    bool failed;
};

/* True when an alert's subject matches the filter as a flow with its addresses would. */
static bool alert_matches_filter(const struct fl0wer_alert *a, const struct fl0wer_filter *f)
{
    struct fl0wer_flow flow;

    fl0wer_flow_init(&flow);
    memcpy(flow.src_addr, a->src, FL0WER_ADDR_LEN);
    memcpy(flow.dst_addr, a->dst, FL0WER_ADDR_LEN);
    memcpy(flow.exporter, a->exporter, FL0WER_ADDR_LEN);
    flow.domain_id = a->domain_id;
    flow.dst_port = a->port;
    flow.proto = a->proto;
    flow.in_if = a->ifindex;
    return fl0wer_filter_match(f, &flow);
}

static int list_collect(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    struct list_ctx *c = arg;
    const struct fl0wer_api_alert_query *q = c->q;
    struct fl0wer_alert a;

    if (klen != 8 || vlen != 1 + sizeof(a) || ((const uint8_t *)val)[0] != ALERT_VALUE_VERSION)
        return 0;
    memcpy(&a, (const uint8_t *)val + 1, sizeof(a));
    if (a.last_ms < q->from_ms || a.first_ms >= q->to_ms)
        return 0;
    if ((q->kind >= 0 && a.kind != q->kind) || (q->state >= 0 && a.state != q->state))
        return 0;
    if (q->filter && !alert_matches_filter(&a, q->filter))
        return 0;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? 2 * c->cap : 64;
        void *nh = realloc(c->hits, ncap * sizeof(*c->hits));
        if (!nh) {
            c->failed = true;
            return 1;
        }
        c->hits = nh;
        c->cap = ncap;
    }
    c->hits[c->n++] = a;
    return 0;
}

static int newest_first(const void *x, const void *y)
{
    const struct fl0wer_alert *p = x, *q = y;

    if (p->last_ms != q->last_ms)
        return p->last_ms < q->last_ms ? 1 : -1;
    return p->id < q->id ? 1 : (p->id > q->id ? -1 : 0);
}

int hub_analysis_alerts(void *arg, const struct fl0wer_api_alert_query *q,
                        void (*emit)(void *emit_arg, const char *json_object), void *emit_arg)
{
    struct hub_analysis *h = arg;
    struct list_ctx c = {q, NULL, 0, 0, false};
    char json[FL0WER_ALERT_JSON_MAX];
    int rc;

    rc = fl0wer_store_alert_foreach(h->store, NULL, 0, list_collect, &c);
    if (rc < 0 || c.failed) {
        free(c.hits);
        return -1;
    }
    if (c.n > 1)
        qsort(c.hits, c.n, sizeof(*c.hits), newest_first);
    for (size_t i = 0; i < c.n && i < q->limit; i++)
        if (fl0wer_alert_to_json(&c.hits[i], json, sizeof(json)) > 0)
            emit(emit_arg, json);
    free(c.hits);
    return 0;
}

void hub_analysis_stats(void *arg, struct fl0wer_analyzer_stats *out)
{
    struct hub_analysis *h = arg;

    if (h->an)
        fl0wer_analyzer_stats(h->an, out);
    else
        memset(out, 0, sizeof(*out));
}
