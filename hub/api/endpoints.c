/*
 * endpoints.c - the JSON endpoints of /api/v1 (summary, top, series, exporters, edges, alerts,
 * status). Each validates nothing itself (params.c did), runs the query engine or walks the
 * store's metadata, and writes the stable JSON shapes documented in docs/api.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static void api_query_init(struct fl0wer_api *a, const struct api_params *p,
                           struct fl0wer_query *q)
{
    memset(q, 0, sizeof(*q));
    q->from_ms = p->from_ms;
    q->to_ms = p->to_ms;
    q->filter = p->filter;
    q->unscaled = p->unscaled;
    q->deadline_ms = a->deadline_ms;
    q->threads = a->query_threads;
}

int api_query_error(struct fl0wer_api *a, int rc, struct api_buf *body)
{
    char msg[128];
    switch (rc) {
    case FL0WER_QUERY_ERR_INVAL:
        api_error_body(body, "the query engine rejected the request (range, step or limit)",
                       NULL);
        return 400;
    case FL0WER_QUERY_ERR_TIMEOUT:
        snprintf(msg, sizeof(msg), "query exceeded its deadline of %u ms: narrow the range or "
                 "the filter", (unsigned)a->deadline_ms);
        api_error_body(body, msg, NULL);
        return 503;
    case FL0WER_QUERY_ERR_NOMEM:
        api_error_body(body, "query ran out of memory", NULL);
        return 503;
    default:
        api_log(a, 0, "query failed with error %d", rc);
        api_error_body(body, "query failed in the store", NULL);
        return 500;
    }
}

static void jw_totals(struct jw *w, const struct fl0wer_totals *t)
{
    jw_ku64(w, "flows", t->flows);
    jw_ku64(w, "bytes", t->bytes);
    jw_ku64(w, "packets", t->packets);
}

int api_ep_summary(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body)
{
    struct fl0wer_query q;
    struct fl0wer_totals t;
    struct jw w;
    api_query_init(a, p, &q);
    memset(&t, 0, sizeof(t));
    int rc = fl0wer_query_summary(a->store, &q, &t);
    if (rc != 0)
        return api_query_error(a, rc, body);
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_ku64(&w, "from", p->from_ms);
    jw_ku64(&w, "to", p->to_ms);
    jw_totals(&w, &t);
    jw_obj_end(&w);
    return 200;
}

int api_ep_top(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body)
{
    struct fl0wer_query q;
    struct fl0wer_top_row *rows = NULL;
    size_t n = 0;
    struct jw w;
    api_query_init(a, p, &q);
    int rc = fl0wer_query_top(a->store, &q, p->by, p->order, p->limit, &rows, &n);
    if (rc != 0) {
        free(rows);
        return api_query_error(a, rc, body);
    }
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_kstr(&w, "by", fl0wer_dimension_name(p->by));
    jw_kstr(&w, "order", fl0wer_order_name(p->order));
    jw_key(&w, "rows");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        rows[i].key[sizeof(rows[i].key) - 1] = '\0';
        jw_obj_begin(&w);
        jw_kstr(&w, "key", rows[i].key);
        jw_totals(&w, &rows[i].totals);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    free(rows);
    return 200;
}

int api_ep_series(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body)
{
    struct fl0wer_query q;
    struct fl0wer_series_point *pts = NULL;
    size_t n = 0;
    struct jw w;
    api_query_init(a, p, &q);
    int rc = fl0wer_query_series(a->store, &q, p->step_ms, &pts, &n);
    if (rc != 0) {
        free(pts);
        return api_query_error(a, rc, body);
    }
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_ku64(&w, "step", p->step_ms);
    jw_key(&w, "points");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_ku64(&w, "t", pts[i].t_ms);
        jw_totals(&w, &pts[i].totals);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    free(pts);
    return 200;
}

/* ---- exporters: collected first, then joined with interface names ---- */
struct exp_item {
    char edge[FL0WER_EDGE_NAME_MAX];
    struct fl0wer_exporter_stats x;
};

struct exp_list {
    struct exp_item *v;
    size_t n, cap;
    struct fl0wer_interface_info *ifs;
    size_t n_ifs, cap_ifs;
    bool failed;
};

/*
 * Makes room for one more element in the growing array *v (n used of *cap, elem bytes each,
 * first size `first`). Returns false, with the array untouched, when memory runs out.
 */
static bool grow(void **v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : first;
    void *nv = realloc(*v, ncap * elem);
    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

static void exp_collect(void *arg, const char *edge_name, const struct fl0wer_exporter_stats *x)
{
    struct exp_list *l = arg;
    if (l->failed)
        return;
    if (!grow((void **)&l->v, l->n, &l->cap, sizeof(*l->v), 16)) {
        l->failed = true;
        return;
    }
    snprintf(l->v[l->n].edge, sizeof(l->v[l->n].edge), "%s", edge_name ? edge_name : "");
    l->v[l->n].x = *x;
    l->n++;
}

static void if_collect(void *arg, const struct fl0wer_interface_info *i)
{
    struct exp_list *l = arg;
    if (l->failed)
        return;
    if (!grow((void **)&l->ifs, l->n_ifs, &l->cap_ifs, sizeof(*l->ifs), 32)) {
        l->failed = true;
        return;
    }
    l->ifs[l->n_ifs] = *i;
    l->ifs[l->n_ifs].name[sizeof(i->name) - 1] = '\0';
    l->ifs[l->n_ifs].description[sizeof(i->description) - 1] = '\0';
    l->n_ifs++;
}

static void exp_write(struct jw *w, const struct exp_list *l, const struct exp_item *it)
{
    char addr[FL0WER_ADDR_STRLEN];
    uint64_t errors = 0;
    for (int k = 0; k < FL0WER_DERR__COUNT; k++)
        errors += it->x.errors[k];
    jw_obj_begin(w);
    jw_kstr(w, "address", fl0wer_addr_format(it->x.addr, addr, sizeof(addr)));
    jw_ku64(w, "port", it->x.port);
    jw_ku64(w, "domain", it->x.domain_id);
    jw_kstr(w, "edge", it->edge);
    jw_ku64(w, "version", it->x.version);
    jw_ku64(w, "records", it->x.records);
    jw_ku64(w, "messages", it->x.messages);
    jw_ku64(w, "bytes", it->x.bytes);
    jw_ku64(w, "sequence_gaps", it->x.sequence_gaps);
    jw_ku64(w, "unknown_template", it->x.unknown_template);
    jw_ku64(w, "templates", it->x.templates);
    jw_ku64(w, "errors", errors);
    jw_ku64(w, "sampling", it->x.sampling);
    jw_ku64(w, "last_seen", it->x.last_seen_ms);
    jw_key(w, "interfaces");
    jw_arr_begin(w);
    for (size_t i = 0; i < l->n_ifs; i++) {
        const struct fl0wer_interface_info *f = &l->ifs[i];
        if (memcmp(f->exporter, it->x.addr, FL0WER_ADDR_LEN) != 0 ||
            f->domain_id != it->x.domain_id)
            continue;
        jw_obj_begin(w);
        jw_ku64(w, "index", f->ifindex);
        jw_kstr(w, "name", f->name);
        jw_kstr(w, "description", f->description);
        jw_obj_end(w);
    }
    jw_arr_end(w);
    jw_obj_end(w);
}

int api_ep_exporters(struct fl0wer_api *a, struct api_buf *body)
{
    struct exp_list l;
    struct jw w;
    int status = 200;
    memset(&l, 0, sizeof(l));
    if (fl0wer_store_foreach_exporter(a->store, exp_collect, &l) < 0 ||
        fl0wer_store_foreach_interface(a->store, if_collect, &l) < 0) {
        api_error_body(body, "cannot read exporters from the store", NULL);
        status = 500;
        goto out;
    }
    if (l.failed) {
        api_error_body(body, "out of memory listing exporters", NULL);
        status = 503;
        goto out;
    }
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_key(&w, "exporters");
    jw_arr_begin(&w);
    for (size_t i = 0; i < l.n; i++)
        exp_write(&w, &l, &l.v[i]);
    jw_arr_end(&w);
    jw_obj_end(&w);
out:
    free(l.v);
    free(l.ifs);
    return status;
}

/* ---- edges ---- */
static void edge_write(void *arg, const struct fl0wer_edge_status *e)
{
    struct jw *w = arg;
    char name[FL0WER_EDGE_NAME_MAX];
    snprintf(name, sizeof(name), "%s", e->name);
    jw_obj_begin(w);
    jw_kstr(w, "name", name);
    jw_ku64(w, "last_seen", e->last_seen_ms);
    jw_ku64(w, "last_seq", e->last_seq);
    jw_ku64(w, "batches", e->batches);
    jw_ku64(w, "records", e->records);
    jw_ku64(w, "rejects", e->rejects);
    jw_ku64(w, "started", e->report.started_ms);
    jw_ku64(w, "packets_received", e->report.packets_received);
    jw_ku64(w, "kernel_drops", e->report.kernel_drops);
    jw_ku64(w, "records_decoded", e->report.records_decoded);
    jw_ku64(w, "records_sent", e->report.records_sent);
    jw_ku64(w, "records_dropped", e->report.records_dropped);
    jw_ku64(w, "spool_batches", e->report.spool_batches);
    jw_ku64(w, "spool_bytes", e->report.spool_bytes);
    jw_obj_end(w);
}

int api_ep_edges(struct fl0wer_api *a, struct api_buf *body)
{
    struct jw w;
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_key(&w, "edges");
    jw_arr_begin(&w);
    if (fl0wer_store_foreach_edge(a->store, edge_write, &w) < 0) {
        api_error_body(body, "cannot read edges from the store", NULL);
        return 500;
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 200;
}

/* ---- alerts (the analyzer's hook; empty list without one) ---- */
static void alert_emit(void *arg, const char *json_object)
{
    jw_raw(arg, json_object);
}

int api_ep_alerts(struct fl0wer_api *a, const struct api_params *p, struct api_buf *body)
{
    struct jw w;
    struct fl0wer_api_alert_query q = {p->from_ms, p->to_ms, p->alert_kind, p->alert_state,
                                       p->filter, p->limit};

    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_key(&w, "alerts");
    jw_arr_begin(&w);
    if (a->hooks.alerts && a->hooks.alerts(a->hooks.arg, &q, alert_emit, &w) < 0) {
        api_error_body(body, "cannot list alerts", NULL);
        return 500;
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    return 200;
}

/* ---- status ---- */
int api_ep_status(struct fl0wer_api *a, struct api_buf *body)
{
    struct fl0wer_store_status st;
    struct fl0wer_api_ingest_stats in;
    struct jw w;
    uint64_t now = api_now_ms();
    memset(&st, 0, sizeof(st));
    memset(&in, 0, sizeof(in));
    if (fl0wer_store_status(a->store, &st) != 0) {
        api_error_body(body, "cannot read the store status", NULL);
        return 500;
    }
    if (a->hooks.ingest_stats)
        a->hooks.ingest_stats(a->hooks.arg, &in);
    jw_init(&w, body);
    jw_obj_begin(&w);
    jw_kstr(&w, "version", FL0WER_VERSION);
    jw_ku64(&w, "now", now);
    jw_ku64(&w, "started", a->started_ms);
    jw_ku64(&w, "uptime_s", (now - a->started_ms) / 1000);
    jw_key(&w, "storage");
    jw_obj_begin(&w);
    jw_ku64(&w, "disk_bytes", st.disk_bytes);
    jw_ku64(&w, "flows_stored", st.flows_stored);
    jw_ku64(&w, "batches_stored", st.batches_stored);
    jw_ku64(&w, "oldest_flow", st.oldest_flow_ms);
    jw_ku64(&w, "newest_flow", st.newest_flow_ms);
    jw_ku64(&w, "retention_ms", st.retention_ms);
    jw_ku64(&w, "max_disk_bytes", st.max_disk_bytes);
    jw_obj_end(&w);
    jw_key(&w, "ingest");
    jw_obj_begin(&w);
    jw_ku64(&w, "batches_received", in.batches_received);
    jw_ku64(&w, "batches_stored", in.batches_stored);
    jw_ku64(&w, "batches_duplicate", in.batches_duplicate);
    jw_ku64(&w, "batches_rejected", in.batches_rejected);
    jw_ku64(&w, "batches_retry", in.batches_retry);
    jw_ku64(&w, "records_stored", in.records_stored);
    jw_ku64(&w, "bytes_received", in.bytes_received);
    jw_key(&w, "records_per_s");
    jw_double(&w, in.records_per_s);
    jw_key(&w, "batches_per_s");
    jw_double(&w, in.batches_per_s);
    jw_obj_end(&w);
    jw_key(&w, "tls");
    jw_bool(&w, !a->insecure);
    if (!a->insecure)
        jw_kstr(&w, "fingerprint", a->fingerprint);
    jw_obj_end(&w);
    return 200;
}
