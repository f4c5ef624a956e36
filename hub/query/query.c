/*
 * query.c - the hub's query engine (query.h): names of dimensions and orders, the plan that
 * splits a time range into raw-flow edges, minute rollups and hour rollups, and summary, series
 * and flow listings on top of it. Top-N lives in top.c, scans of raw blocks in rawscan.c.
 * docs/storage.md explains when rollups answer and when raw blocks must.
 */
#include "query_int.h"
#include "store_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const dim_names[FL0WER_DIM__COUNT] = {
    "srcip", "dstip", "srcport", "dstport", "proto", "exporter", "srcas", "dstas", "inif",
    "outif"};
static const char *const order_names[] = {"bytes", "packets", "flows"};

const char *fl0wer_dimension_name(enum fl0wer_dimension d)
{
    return (unsigned)d < FL0WER_DIM__COUNT ? dim_names[d] : "unknown";
}

int fl0wer_dimension_parse(const char *name, enum fl0wer_dimension *out)
{
    for (unsigned i = 0; name && i < FL0WER_DIM__COUNT; i++) {
        if (strcmp(name, dim_names[i]) == 0) {
            *out = (enum fl0wer_dimension)i;
            return 0;
        }
    }
    return FL0WER_QUERY_ERR_INVAL;
}

const char *fl0wer_order_name(enum fl0wer_order o)
{
    return (unsigned)o < 3 ? order_names[o] : "unknown";
}

int fl0wer_order_parse(const char *name, enum fl0wer_order *out)
{
    for (unsigned i = 0; name && i < 3; i++) {
        if (strcmp(name, order_names[i]) == 0) {
            *out = (enum fl0wer_order)i;
            return 0;
        }
    }
    return FL0WER_QUERY_ERR_INVAL;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int query_ctx_init(struct query_ctx *c, struct fl0wer_store *s, const struct fl0wer_query *q,
                   enum query_kind kind)
{
    memset(c, 0, sizeof(*c));
    if (!s || !q || q->from_ms >= q->to_ms)
        return FL0WER_QUERY_ERR_INVAL;
    c->s = s;
    c->q = q;
    c->kind = kind;
    c->dim = FL0WER_ROLLUP_TOTAL;
    c->filter = q->filter;
    if (c->filter && fl0wer_filter_is_all(c->filter))
        c->filter = NULL;
    c->deadline = mono_ms() + (q->deadline_ms ? q->deadline_ms : 10000);
    fl0wer_rowmap_init(&c->map);
    return 0;
}

bool query_expired(struct query_ctx *c)
{
    return mono_ms() > c->deadline;
}

bool query_match(const struct query_ctx *c, const struct fl0wer_flow *f)
{
    return !c->filter || fl0wer_filter_match(c->filter, f);
}

/*
 * Whether the filter matches a rollup row of c->scan_dim: the row's key is written into the
 * fields of c->key_flow that the dimension holds (store_dim_set), which are the only fields the
 * filter reads (filter_dim).
 */
static bool key_matches(struct query_ctx *c, uint64_t hi, uint64_t lo)
{
    store_dim_set(&c->key_flow, c->scan_dim, hi, lo);
    return fl0wer_filter_match(c->filter, &c->key_flow);
}

/* The fields of struct fl0wer_flow that a rollup row of each dimension holds (its key). */
static const uint32_t dim_fields[FL0WER_DIM__COUNT] = {
    [FL0WER_DIM_SRCIP] = FL0WER_FILTER_USES_SRC_ADDR,
    [FL0WER_DIM_DSTIP] = FL0WER_FILTER_USES_DST_ADDR,
    [FL0WER_DIM_SRCPORT] = FL0WER_FILTER_USES_SRC_PORT | FL0WER_FILTER_USES_PROTO,
    [FL0WER_DIM_DSTPORT] = FL0WER_FILTER_USES_DST_PORT | FL0WER_FILTER_USES_PROTO,
    [FL0WER_DIM_PROTO] = FL0WER_FILTER_USES_PROTO,
    [FL0WER_DIM_EXPORTER] = FL0WER_FILTER_USES_EXPORTER,
    [FL0WER_DIM_SRCAS] = FL0WER_FILTER_USES_SRC_AS,
    [FL0WER_DIM_DSTAS] = FL0WER_FILTER_USES_DST_AS,
    [FL0WER_DIM_INIF] = FL0WER_FILTER_USES_IN_IF,
    [FL0WER_DIM_OUTIF] = FL0WER_FILTER_USES_OUT_IF,
};
/* The fields a top-N by dimension dim ranks: its key's, but a port alone, not its protocol. */
static uint32_t rank_fields(int dim)
{
    uint32_t f = dim_fields[dim];
    return dim == FL0WER_DIM_SRCPORT || dim == FL0WER_DIM_DSTPORT ? f & ~FL0WER_FILTER_USES_PROTO
                                                                   : f;
}

/*
 * The rolled-up dimension whose rows hold every field filter f reads (so the filter is decided
 * per rollup row) and, for a top-N by group (else -1), the fields it ranks; or -1 when none
 * does. The group's own dimension is preferred, then the smallest arrays first (protocol before
 * the ports). E.g. "proto tcp" -> proto; "dst port 53 or dst port 853" and "proto udp and dst
 * port 53" -> dstport; "src port 53 and dst port 53" -> -1 (two dimensions); a top-N by proto
 * filtered by "dst port 443" -> dstport (its rows carry the protocol).
 */
static int filter_dim(const struct fl0wer_filter *f, int group)
{
    static const unsigned order[] = {
        FL0WER_DIM_PROTO,  FL0WER_DIM_SRCPORT, FL0WER_DIM_DSTPORT, FL0WER_DIM_EXPORTER,
        FL0WER_DIM_SRCAS,  FL0WER_DIM_DSTAS,   FL0WER_DIM_INIF,    FL0WER_DIM_OUTIF,
        FL0WER_DIM_SRCIP,  FL0WER_DIM_DSTIP};
    uint32_t uses = fl0wer_filter_uses(f);

    if (group >= 0)
        uses |= rank_fields(group);
    if (group >= 0 && (uses & ~dim_fields[group]) == 0)
        return group;
    for (size_t i = 0; uses && i < sizeof(order) / sizeof(order[0]); i++)
        if ((uses & ~dim_fields[order[i]]) == 0)
            return (int)order[i];
    return -1;
}

/* Notes period t_ms, whose array is truncated, to be answered from finer data. */
static int note_truncated(struct query_ctx *c, uint64_t t_ms)
{
    if (c->trunc_n == c->trunc_cap) {
        size_t cap = c->trunc_cap ? 2 * c->trunc_cap : 64;
        uint64_t *t = realloc(c->trunc, cap * sizeof(*t));
        if (!t)
            return FL0WER_QUERY_ERR_NOMEM;
        c->trunc = t;
        c->trunc_cap = cap;
    }
    c->trunc[c->trunc_n++] = t_ms;
    c->truncated_periods++;
    return 0;
}

/*
 * One period's rollup array: every row added to the accumulator (a top-N without a row filter
 * by small keys: decoded straight into the row map, store_rollup_add_to_map; otherwise decoded
 * whole, column by column, into c->ents first); a truncated one is noted instead.
 */
static int rollup_cb(void *arg, uint64_t t_ms, struct store_rollup_reader *r)
{
    struct query_ctx *c = arg;
    int rc = 0;

    if (query_expired(c))
        return FL0WER_QUERY_ERR_TIMEOUT;
    if (r->truncated)
        return note_truncated(c, t_ms);
    if (c->kind == QUERY_TOP && !c->key_filter && !c->negate && r->width <= 8) {
        /* every row counts, under its own key: straight from the columns into the map */
        c->rows += r->n;
        return store_rollup_add_to_map(r, &c->map, store_dim_rank_key(c->dim, UINT64_MAX));
    }
    if (r->n > c->ents_cap) {
        struct store_rollup_entry *e = realloc(c->ents, r->n * sizeof(*e));
        if (!e)
            return FL0WER_QUERY_ERR_NOMEM;
        c->ents = e;
        c->ents_cap = r->n;
    }
    if (store_rollup_read_all(r, c->ents) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    for (size_t i = 0; i < r->n && rc == 0; i++) {
        if ((++c->rows & 4095) == 0 && query_expired(c))
            return FL0WER_QUERY_ERR_TIMEOUT;
        uint64_t hi = c->ents[i].khi, lo = c->ents[i].klo;
        if (c->key_filter && !key_matches(c, hi, lo))
            continue;
        if (c->scan_dim != c->dim && c->kind == QUERY_TOP) /* the group from the row's fields */
            store_dim_value(&c->key_flow, c->dim, &hi, &lo);
        rc = query_accumulate(c, t_ms, hi, lo, &c->ents[i].c);
    }
    return rc;
}

/* Maps a store error to a query error (query errors pass through). */
int query_map_rc(int rc)
{
    if (rc == 0 || rc == FL0WER_QUERY_ERR_TIMEOUT || rc == FL0WER_QUERY_ERR_NOMEM)
        return rc;
    return rc == FL0WER_STORE_ERR_NOMEM ? FL0WER_QUERY_ERR_NOMEM : FL0WER_QUERY_ERR_STORE;
}

/*
 * Rollup arrays of level over [from, to) (aligned to the level). Periods whose arrays are
 * truncated (addresses over K) are answered again: an hour from its minute arrays when the
 * dimension has them, else (and a minute) from raw blocks, adjacent periods in one scan, so
 * the result stays exact.
 */
int query_rollups(struct query_ctx *c, enum fl0wer_rollup_level level, uint64_t from,
                  uint64_t to)
{
    uint64_t unit = level == FL0WER_ROLLUP_HOUR ? FL0WER_HOUR_MS : FL0WER_MINUTE_MS, *t;
    size_t n;
    int rc;

    if (from >= to)
        return 0;
    c->used_rollups = true;
    c->trunc_n = 0;
    rc = query_map_rc(store_scan_rollup_arrays(c->s, level, c->scan_dim, from, to, rollup_cb, c));
    /* take the list: the finer scans below fill their own */
    t = c->trunc;
    n = c->trunc_n;
    c->trunc = NULL;
    c->trunc_n = c->trunc_cap = 0;
    for (size_t i = 0; i < n && rc == 0;) {
        size_t j = i + 1;
        if (level == FL0WER_ROLLUP_HOUR && store_minute_arrays(c->s, c->scan_dim)) {
            rc = query_rollups(c, FL0WER_ROLLUP_MINUTE, t[i], t[i] + unit);
        } else {
            while (j < n && t[j] == t[j - 1] + unit)
                j++;
            rc = query_raw(c, t[i], t[j - 1] + unit);
        }
        i = j;
    }
    free(t);
    return rc;
}

uint64_t query_round_up(uint64_t v, uint64_t unit)
{
    return v % unit ? v - v % unit + unit : v;
}

/*
 * Runs the plan over [from, to): without a filter, or with one decided per row of a rolled-up
 * dimension (filter_dim), whole hours come from hour rollups, whole minutes from minute
 * rollups, and only the partial minutes at the edges from raw blocks; anything else is
 * answered from raw blocks with the filter applied per flow. Addresses without minute arrays:
 * whole hours from hour arrays, partial hours raw or as their hour minus the rest (partial.c).
 * Truncated address arrays are replaced by finer data (query_rollups). For a series, rollup
 * periods are used only when each lies inside one point.
 */
int query_run(struct query_ctx *c)
{
    uint64_t from = c->q->from_ms, to = c->q->to_ms;
    int fdim = c->filter ? filter_dim(c->filter, c->kind == QUERY_TOP ? (int)c->dim : -1) : -1;
    bool rolled;
    int rc;

    /* A filter over the fields of one dimension's rows is decided per row of that dimension's
     * arrays, which for a top-N also hold the fields it groups by. */
    c->scan_dim = c->dim;
    c->key_filter = fdim >= 0;
    if (c->key_filter)
        c->scan_dim = (unsigned)fdim;
    rolled = (!c->filter || c->key_filter) && fl0wer_store_dim_rolled_up(c->scan_dim);
    bool minute_rows = store_minute_arrays(c->s, c->scan_dim);
    bool minutes_ok = rolled && minute_rows, hours_ok = rolled;

    if (c->kind == QUERY_SERIES) {
        bool aligned = from % FL0WER_MINUTE_MS == 0;
        minutes_ok = minutes_ok && aligned;
        hours_ok = hours_ok && aligned && from % FL0WER_HOUR_MS == 0 &&
                   c->step % FL0WER_HOUR_MS == 0;
    }
    if (hours_ok && !minute_rows) {
        uint64_t h0 = query_round_up(from, FL0WER_HOUR_MS), h1 = to - to % FL0WER_HOUR_MS;
        if (h0 >= h1)
            return query_partial_hours(c, from, to);
        if ((rc = query_partial_hours(c, from, h0)) != 0 ||
            (rc = query_rollups(c, FL0WER_ROLLUP_HOUR, h0, h1)) != 0)
            return rc;
        return query_partial_hours(c, h1, to);
    }
    uint64_t m0 = query_round_up(from, FL0WER_MINUTE_MS), m1 = to - to % FL0WER_MINUTE_MS;
    if (!minutes_ok || m0 >= m1)
        return query_raw(c, from, to);
    if ((rc = query_raw(c, from, m0)) != 0 || (rc = query_raw(c, m1, to)) != 0)
        return rc;
    uint64_t h0 = query_round_up(m0, FL0WER_HOUR_MS), h1 = m1 - m1 % FL0WER_HOUR_MS;
    if (!hours_ok || h0 >= h1)
        return query_rollups(c, FL0WER_ROLLUP_MINUTE, m0, m1);
    if ((rc = query_rollups(c, FL0WER_ROLLUP_MINUTE, m0, h0)) != 0 ||
        (rc = query_rollups(c, FL0WER_ROLLUP_HOUR, h0, h1)) != 0)
        return rc;
    return query_rollups(c, FL0WER_ROLLUP_MINUTE, h1, m1);
}

void query_totals(const struct query_ctx *c, const struct fl0wer_rollup_counters *v,
                  struct fl0wer_totals *out)
{
    out->flows = v->flows;
    out->bytes = c->q->unscaled ? v->raw_bytes : v->bytes;
    out->packets = c->q->unscaled ? v->raw_packets : v->packets;
}

void query_ctx_release(struct query_ctx *c)
{
    free(c->trunc);
    c->trunc = NULL;
    free(c->ents);
    c->ents = NULL;
    fl0wer_rowmap_release(&c->map);
    free(c->points);
    c->points = NULL;
}

int fl0wer_query_summary(struct fl0wer_store *s, const struct fl0wer_query *q,
                         struct fl0wer_totals *out)
{
    struct query_ctx c;
    int rc = query_ctx_init(&c, s, q, QUERY_SUMMARY);

    if (rc == 0 && !out)
        rc = FL0WER_QUERY_ERR_INVAL;
    if (rc == 0)
        rc = query_run(&c);
    if (rc == 0)
        query_totals(&c, &c.total, out);
    query_ctx_release(&c);
    return rc;
}

int fl0wer_query_series(struct fl0wer_store *s, const struct fl0wer_query *q, uint64_t step_ms,
                        struct fl0wer_series_point **points, size_t *n_points)
{
    struct query_ctx c;
    int rc = query_ctx_init(&c, s, q, QUERY_SERIES);
    uint64_t n = 0;

    if (rc == 0 && (!points || !n_points || step_ms < FL0WER_MINUTE_MS ||
                    step_ms % FL0WER_MINUTE_MS))
        rc = FL0WER_QUERY_ERR_INVAL;
    if (rc == 0) {
        n = (q->to_ms - q->from_ms + step_ms - 1) / step_ms;
        if (n > 100000)
            rc = FL0WER_QUERY_ERR_INVAL;
    }
    if (rc == 0) {
        c.step = step_ms;
        c.points = calloc(n, sizeof(*c.points));
        if (!c.points)
            rc = FL0WER_QUERY_ERR_NOMEM;
    }
    if (rc == 0)
        rc = query_run(&c);
    if (rc == 0) {
        struct fl0wer_series_point *p = malloc(n * sizeof(*p));
        if (!p) {
            rc = FL0WER_QUERY_ERR_NOMEM;
        } else {
            for (uint64_t i = 0; i < n; i++) {
                p[i].t_ms = q->from_ms + i * step_ms;
                query_totals(&c, &c.points[i], &p[i].totals);
            }
            *points = p;
            *n_points = (size_t)n;
        }
    }
    query_ctx_release(&c);
    return rc;
}

struct flows_ctx {
    struct query_ctx *c;
    size_t limit, sent;
    int (*fn)(void *arg, const struct fl0wer_flow *f);
    void *arg;
};

#define FLOWS_STOP 1 /* internal: the limit was reached or the caller stopped */

static int flows_cb(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    struct flows_ctx *x = arg;
    if (query_expired(x->c))
        return FL0WER_QUERY_ERR_TIMEOUT;
    for (size_t i = 0; i < n; i++) {
        if ((i & 63) == 63 && query_expired(x->c))
            return FL0WER_QUERY_ERR_TIMEOUT;
        if (!query_match(x->c, &flows[i]))
            continue;
        if (x->fn(x->arg, &flows[i]) != 0 || ++x->sent >= x->limit)
            return FLOWS_STOP;
    }
    return 0;
}

int fl0wer_query_flows(struct fl0wer_store *s, const struct fl0wer_query *q, size_t limit,
                       int (*fn)(void *arg, const struct fl0wer_flow *f), void *arg)
{
    struct query_ctx c;
    int rc = query_ctx_init(&c, s, q, QUERY_SUMMARY);
    struct flows_ctx x = {&c, limit, 0, fn, arg};

    if (rc == 0 && (!fn || limit == 0))
        rc = FL0WER_QUERY_ERR_INVAL;
    if (rc == 0) {
        rc = fl0wer_store_scan_flows(s, q->from_ms, q->to_ms, flows_cb, &x);
        rc = rc == FLOWS_STOP ? 0 : query_map_rc(rc);
    }
    query_ctx_release(&c);
    return rc;
}
