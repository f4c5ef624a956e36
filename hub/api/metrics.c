/*
 * metrics.c - GET /metrics in the Prometheus text exposition format (version 0.0.4): storage,
 * ingest (via the daemon's hook), per-edge and per-exporter counters from the store, and the
 * API's own request counters. Samples of one family are written together, after its HELP/TYPE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static const char *const ep_names[API_EP__COUNT] = {
    "summary", "top", "flows", "series", "exporters", "edges", "alerts", "status", "reload",
    "metrics", "other",
};
static const int code_values[API_CODE__COUNT] = {200, 400, 401, 403, 404, 405, 500, 503};

/* Appends a label value escaped per the exposition format (\\, \", \n). */
static void m_label(struct api_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            api_buf_puts(b, "\\\\");
        else if (*v == '"')
            api_buf_puts(b, "\\\"");
        else if (*v == '\n')
            api_buf_puts(b, "\\n");
        else
            api_buf_append(b, v, 1);
    }
}

static void m_head(struct api_buf *b, const char *name, const char *type, const char *help)
{
    api_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void m_plain(struct api_buf *b, const char *name, const char *type, const char *help,
                    uint64_t v)
{
    m_head(b, name, type, help);
    api_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* Collected edges and exporters, so each family can be written in one run. */
struct m_data {
    struct fl0wer_edge_status *edges;
    size_t n_edges, cap_edges;
    struct { char edge[FL0WER_EDGE_NAME_MAX]; struct fl0wer_exporter_stats x; } *exps;
    size_t n_exps, cap_exps;
    bool failed;
};

static void m_edge(void *arg, const struct fl0wer_edge_status *e)
{
    struct m_data *d = arg;
    if (d->failed)
        return;
    if (d->n_edges == d->cap_edges) {
        size_t cap = d->cap_edges ? d->cap_edges * 2 : 8;
        void *v = realloc(d->edges, cap * sizeof(*d->edges));
        if (!v) {
            d->failed = true;
            return;
        }
        d->edges = v;
        d->cap_edges = cap;
    }
    d->edges[d->n_edges] = *e;
    d->edges[d->n_edges].name[FL0WER_EDGE_NAME_MAX - 1] = '\0';
    d->n_edges++;
}

static void m_exporter(void *arg, const char *edge, const struct fl0wer_exporter_stats *x)
{
    struct m_data *d = arg;
    if (d->failed)
        return;
    if (d->n_exps == d->cap_exps) {
        size_t cap = d->cap_exps ? d->cap_exps * 2 : 8;
        void *v = realloc(d->exps, cap * sizeof(*d->exps));
        if (!v) {
            d->failed = true;
            return;
        }
        d->exps = v;
        d->cap_exps = cap;
    }
    snprintf(d->exps[d->n_exps].edge, FL0WER_EDGE_NAME_MAX, "%s", edge ? edge : "");
    d->exps[d->n_exps].x = *x;
    d->n_exps++;
}

/* Per-edge families: which counter, by offset into a small accessor. */
enum m_edge_field { ME_LAST_SEEN, ME_BATCHES, ME_RECORDS, ME_REJECTS, ME_SPOOL, ME_DROPPED,
                    ME_KDROPS, ME__COUNT };
static const struct { const char *name, *type, *help; } m_edge_fams[ME__COUNT] = {
    {"fl0wer_edge_last_seen_seconds", "gauge", "unix time of the edge's last stored batch"},
    {"fl0wer_edge_batches_total", "counter", "batches stored from the edge"},
    {"fl0wer_edge_records_total", "counter", "flow records stored from the edge"},
    {"fl0wer_edge_rejects_total", "counter", "batches from the edge that were rejected"},
    {"fl0wer_edge_spool_batches", "gauge", "batches waiting in the edge's spool (edge report)"},
    {"fl0wer_edge_records_dropped_total", "counter", "records the edge dropped (spool full)"},
    {"fl0wer_edge_kernel_drops_total", "counter", "datagrams the edge's kernel dropped"},
};

static uint64_t m_edge_value(const struct fl0wer_edge_status *e, int f)
{
    switch (f) {
    case ME_LAST_SEEN: return e->last_seen_ms / 1000;
    case ME_BATCHES: return e->batches;
    case ME_RECORDS: return e->records;
    case ME_REJECTS: return e->rejects;
    case ME_SPOOL: return e->report.spool_batches;
    case ME_DROPPED: return e->report.records_dropped;
    default: return e->report.kernel_drops;
    }
}

enum m_exp_field { MX_RECORDS, MX_MESSAGES, MX_GAPS, MX_ERRORS, MX__COUNT };
static const struct { const char *name, *help; } m_exp_fams[MX__COUNT] = {
    {"fl0wer_exporter_records_total", "flow records decoded from the exporter"},
    {"fl0wer_exporter_messages_total", "export packets/messages from the exporter"},
    {"fl0wer_exporter_sequence_gaps_total", "missing packets or records by sequence number"},
    {"fl0wer_exporter_errors_total", "decode errors for the exporter"},
};

static uint64_t m_exp_value(const struct fl0wer_exporter_stats *x, int f)
{
    uint64_t e = 0;
    switch (f) {
    case MX_RECORDS: return x->records;
    case MX_MESSAGES: return x->messages;
    case MX_GAPS: return x->sequence_gaps;
    default:
        for (int k = 0; k < FL0WER_DERR__COUNT; k++)
            e += x->errors[k];
        return e;
    }
}

static void m_write_edges_exporters(struct api_buf *b, const struct m_data *d)
{
    char addr[FL0WER_ADDR_STRLEN];
    for (int f = 0; f < ME__COUNT; f++) {
        m_head(b, m_edge_fams[f].name, m_edge_fams[f].type, m_edge_fams[f].help);
        for (size_t i = 0; i < d->n_edges; i++) {
            api_buf_printf(b, "%s{edge=\"", m_edge_fams[f].name);
            m_label(b, d->edges[i].name);
            api_buf_printf(b, "\"} %llu\n",
                           (unsigned long long)m_edge_value(&d->edges[i], f));
        }
    }
    for (int f = 0; f < MX__COUNT; f++) {
        m_head(b, m_exp_fams[f].name, "counter", m_exp_fams[f].help);
        for (size_t i = 0; i < d->n_exps; i++) {
            api_buf_printf(b, "%s{edge=\"", m_exp_fams[f].name);
            m_label(b, d->exps[i].edge);
            api_buf_printf(b, "\",exporter=\"%s\",domain=\"%u\"} %llu\n",
                           fl0wer_addr_format(d->exps[i].x.addr, addr, sizeof(addr)),
                           (unsigned)d->exps[i].x.domain_id,
                           (unsigned long long)m_exp_value(&d->exps[i].x, f));
        }
    }
}

static void m_write_ingest(struct fl0wer_api *a, struct api_buf *b)
{
    struct fl0wer_api_ingest_stats in;
    memset(&in, 0, sizeof(in));
    if (a->hooks.ingest_stats)
        a->hooks.ingest_stats(a->hooks.arg, &in);
    m_head(b, "fl0wer_ingest_batches_total", "counter", "batches received by result");
    api_buf_printf(b, "fl0wer_ingest_batches_total{result=\"stored\"} %llu\n",
                   (unsigned long long)in.batches_stored);
    api_buf_printf(b, "fl0wer_ingest_batches_total{result=\"duplicate\"} %llu\n",
                   (unsigned long long)in.batches_duplicate);
    api_buf_printf(b, "fl0wer_ingest_batches_total{result=\"rejected\"} %llu\n",
                   (unsigned long long)in.batches_rejected);
    api_buf_printf(b, "fl0wer_ingest_batches_total{result=\"retry\"} %llu\n",
                   (unsigned long long)in.batches_retry);
    m_plain(b, "fl0wer_ingest_batches_received_total", "counter", "batches received",
            in.batches_received);
    m_plain(b, "fl0wer_ingest_records_stored_total", "counter", "flow records stored",
            in.records_stored);
    m_plain(b, "fl0wer_ingest_bytes_received_total", "counter", "batch bytes received",
            in.bytes_received);
    m_plain(b, "fl0wer_ingest_store_syncs_total", "counter",
            "store syncs (one per group of acknowledged batches)", in.store_syncs);
}

static void m_write_analyzer(struct fl0wer_api *a, struct api_buf *b)
{
    struct fl0wer_analyzer_stats st;

    if (!a->hooks.analyzer_stats)
        return;
    a->hooks.analyzer_stats(a->hooks.arg, &st);
    m_head(b, "fl0wer_alerts_raised_total", "counter", "alerts opened by kind");
    for (unsigned k = 0; k < FL0WER_ALERT__COUNT; k++)
        api_buf_printf(b, "fl0wer_alerts_raised_total{kind=\"%s\"} %llu\n",
                       fl0wer_alert_kind_name((enum fl0wer_alert_kind)k),
                       (unsigned long long)st.alerts_raised[k]);
    m_plain(b, "fl0wer_alerts_open", "gauge", "alerts open now", st.alerts_open);
    m_plain(b, "fl0wer_analyzer_flows_observed_total", "counter", "flows seen by the analyzer",
            st.flows_observed);
    m_plain(b, "fl0wer_analyzer_windows_closed_total", "counter", "analyzer windows evaluated",
            st.minutes_closed);
    m_plain(b, "fl0wer_analyzer_sketch_evictions_total", "counter",
            "heavy-hitter entries evicted by lighter-weight newcomers", st.sketch_evictions);
    m_plain(b, "fl0wer_analyzer_memory_bytes", "gauge", "analyzer memory (fixed at start)",
            st.memory_bytes);
}

static void m_write_http(struct fl0wer_api *a, struct api_buf *b)
{
    m_head(b, "fl0wer_http_requests_total", "counter", "API requests by endpoint and status");
    for (int e = 0; e < API_EP__COUNT; e++)
        for (int c = 0; c < API_CODE__COUNT; c++) {
            uint64_t v = atomic_load(&a->requests[e][c]);
            if (v || c == API_CODE_200)
                api_buf_printf(b,
                               "fl0wer_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
                               ep_names[e], code_values[c], (unsigned long long)v);
        }
    m_plain(b, "fl0wer_http_flows_streamed_total", "counter", "flow records sent by /flows",
            atomic_load(&a->flows_streamed));
}

int api_ep_metrics(struct fl0wer_api *a, struct api_buf *b)
{
    struct fl0wer_store_status st;
    struct m_data d;
    int status = 200;
    memset(&st, 0, sizeof(st));
    memset(&d, 0, sizeof(d));
    if (fl0wer_store_status(a->store, &st) != 0 ||
        fl0wer_store_foreach_edge(a->store, m_edge, &d) < 0 ||
        fl0wer_store_foreach_exporter(a->store, m_exporter, &d) < 0 || d.failed) {
        api_buf_puts(b, "# error: cannot read the store\n");
        status = 500;
        goto out;
    }
    m_head(b, "fl0wer_build_info", "gauge", "version of the running hub");
    api_buf_printf(b, "fl0wer_build_info{version=\"%s\"} 1\n", FL0WER_VERSION);
    m_plain(b, "fl0wer_uptime_seconds", "gauge", "seconds since the API started",
            (api_now_ms() - a->started_ms) / 1000);
    m_plain(b, "fl0wer_storage_disk_bytes", "gauge", "live RocksDB SST and WAL bytes",
            st.disk_bytes);
    m_plain(b, "fl0wer_storage_flows_stored_total", "counter", "flows stored since creation",
            st.flows_stored);
    m_plain(b, "fl0wer_storage_batches_stored_total", "counter",
            "batches stored since creation", st.batches_stored);
    m_plain(b, "fl0wer_storage_oldest_flow_seconds", "gauge", "unix time of the oldest flow",
            st.oldest_flow_ms / 1000);
    m_plain(b, "fl0wer_storage_newest_flow_seconds", "gauge", "unix time of the newest flow",
            st.newest_flow_ms / 1000);
    m_plain(b, "fl0wer_storage_retention_seconds", "gauge", "raw flow retention",
            st.retention_ms / 1000);
    m_write_ingest(a, b);
    m_write_analyzer(a, b);
    m_write_edges_exporters(b, &d);
    m_write_http(a, b);
out:
    free(d.edges);
    free(d.exps);
    return status;
}
