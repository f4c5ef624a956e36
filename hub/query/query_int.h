/*
 * query_int.h - internals shared by the query engine's files: the per-request context, the
 * accumulation plan (query.c) and helpers for top-N (top.c).
 */
#ifndef FL0WER_QUERY_INT_H
#define FL0WER_QUERY_INT_H

#include "fl0wer/query.h"
#include "rowmap.h"
#include "store_int.h"

struct store_rollup_entry;

enum query_kind { QUERY_SUMMARY, QUERY_TOP, QUERY_SERIES };

struct query_ctx {
    struct fl0wer_store *s;
    const struct fl0wer_query *q;
    const struct fl0wer_filter *filter; /* NULL when every flow matches */
    enum query_kind kind;
    unsigned dim;       /* group-by dimension (FL0WER_ROLLUP_TOTAL for none) */
    unsigned scan_dim;  /* dimension whose rollup arrays are read: dim, or with a filter over
                           one dimension's fields (key_filter) that dimension */
    bool key_filter;    /* the filter is applied to each rollup row's key (key_flow) */
    struct fl0wer_flow key_flow; /* a flow holding only the current row's key fields */
    uint64_t deadline;  /* CLOCK_MONOTONIC ms */
    uint64_t step;      /* series */
    struct fl0wer_rollup_counters total;   /* summary */
    struct fl0wer_rollup_counters *points; /* series, one per step */
    struct fl0wer_rowmap map;              /* top: group key -> counters */
    uint64_t rows, raw_flows;
    uint64_t *trunc;     /* starts of the periods whose arrays were truncated, in the current */
    size_t trunc_n, trunc_cap; /* rollup scan: answered again from finer data */
    uint64_t truncated_periods; /* how many were (for tests and logs) */
    struct store_rollup_entry *ents; /* one decoded rollup array */
    size_t ents_cap;
    bool used_raw, used_rollups; /* which paths answered (for tests and logs) */
    uint32_t raw_cols; /* rawscan.c: block columns decoded once the filter has kept some rows */
    bool negate;     /* raw flows are subtracted (a partial hour = its hour array minus the
                        rest of the hour, query.c partial_hour) */
    bool subtracted; /* some were: top-N drops groups left with all counters 0 */
};

/* Validates q and fills c. Returns 0 or FL0WER_QUERY_ERR_INVAL. Release c in every case. */
int query_ctx_init(struct query_ctx *c, struct fl0wer_store *s, const struct fl0wer_query *q,
                   enum query_kind kind);
void query_ctx_release(struct query_ctx *c);
/* Accumulates q's range into c from rollups and/or raw blocks. Returns 0 or FL0WER_QUERY_ERR_*. */
int query_run(struct query_ctx *c);
bool query_expired(struct query_ctx *c);
bool query_match(const struct query_ctx *c, const struct fl0wer_flow *f);
/* query.c: maps a store error to a query error (query errors pass through). */
int query_map_rc(int rc);
/* query.c: v rounded up to a multiple of unit. */
uint64_t query_round_up(uint64_t v, uint64_t unit);
/* rawscan.c: raw blocks over [from, to), decoding only the columns the query and filter read;
 * a long range is split over q->threads threads. */
int query_raw(struct query_ctx *c, uint64_t from, uint64_t to);
/* query.c: rollup arrays of level over [from, to) (aligned); truncated periods from finer data. */
int query_rollups(struct query_ctx *c, enum fl0wer_rollup_level level, uint64_t from,
                  uint64_t to);
/* partial.c: [from, to) (at most two partial hours) of a dimension with hour arrays only. */
int query_partial_hours(struct query_ctx *c, uint64_t from, uint64_t to);
/* Adds counters for group key (hi, lo) at time t to the context's accumulator. */
static inline int query_accumulate(struct query_ctx *c, uint64_t t_ms, uint64_t hi, uint64_t lo,
                                   const struct fl0wer_rollup_counters *v)
{
    struct fl0wer_rollup_counters *dst;
    struct fl0wer_rowmap_entry *e;

    switch (c->kind) {
    case QUERY_SUMMARY:
        dst = &c->total;
        break;
    case QUERY_SERIES:
        dst = &c->points[(t_ms - c->q->from_ms) / c->step];
        break;
    default:
        if (!(e = fl0wer_rowmap_get(&c->map, hi, store_dim_rank_key(c->dim, lo))))
            return FL0WER_QUERY_ERR_NOMEM;
        dst = &e->c;
        break;
    }
    if (c->negate) { /* modulo 2^64: exact once the hour's own counts are in */
        dst->flows -= v->flows;
        dst->bytes -= v->bytes;
        dst->packets -= v->packets;
        dst->raw_bytes -= v->raw_bytes;
        dst->raw_packets -= v->raw_packets;
        return 0;
    }
    store_counters_add(dst, v);
    return 0;
}

/* Scaled or raw totals of v as the query asks. */
void query_totals(const struct query_ctx *c, const struct fl0wer_rollup_counters *v,
                  struct fl0wer_totals *out);

#endif /* FL0WER_QUERY_INT_H */
