/*
 * query.h - the hub's query engine: summaries, top-N, time series and flow listings over stored
 * flows, answered from rollups where they suffice and from raw flow blocks where they must.
 *
 * Bytes and packets are scaled by each flow's sampling interval unless q->unscaled is set; the
 * flow count is never scaled. Every function may run concurrently with ingest and other queries.
 */
#ifndef FL0WER_QUERY_H
#define FL0WER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/filter.h"
#include "fl0wer/flow.h"
#include "fl0wer/store.h"

#define FL0WER_QUERY_ERR_INVAL   (-80) /* bad request (range, dimension, limit) */
#define FL0WER_QUERY_ERR_TIMEOUT (-81) /* took longer than deadline_ms */
#define FL0WER_QUERY_ERR_NOMEM   (-82)
#define FL0WER_QUERY_ERR_STORE   (-83)

/* Dimensions for top-N ("srcip", "dstip", ... as spelled by fl0wer_dimension_name). */
enum fl0wer_dimension {
    FL0WER_DIM_SRCIP = 0,
    FL0WER_DIM_DSTIP,
    FL0WER_DIM_SRCPORT,
    FL0WER_DIM_DSTPORT,
    FL0WER_DIM_PROTO,
    FL0WER_DIM_EXPORTER,
    FL0WER_DIM_SRCAS,
    FL0WER_DIM_DSTAS,
    FL0WER_DIM_INIF,
    FL0WER_DIM_OUTIF,
    FL0WER_DIM__COUNT
};

enum fl0wer_order { FL0WER_ORDER_BYTES = 0, FL0WER_ORDER_PACKETS, FL0WER_ORDER_FLOWS };

const char *fl0wer_dimension_name(enum fl0wer_dimension d);
/* Parses "srcip", "dstport", ... Returns 0 or FL0WER_QUERY_ERR_INVAL. */
int fl0wer_dimension_parse(const char *name, enum fl0wer_dimension *out);
const char *fl0wer_order_name(enum fl0wer_order o);
int fl0wer_order_parse(const char *name, enum fl0wer_order *out);

/* A request. The filter is borrowed (NULL = all flows). Times are ms since the epoch. */
struct fl0wer_query {
    uint64_t from_ms; /* inclusive */
    uint64_t to_ms;   /* exclusive */
    const struct fl0wer_filter *filter;
    bool unscaled;         /* report raw counters instead of sampling-scaled ones */
    uint64_t deadline_ms;  /* wall-clock budget; 0 = 10 s */
    unsigned threads;      /* a scan of raw flows is split over this many threads (the
                              caller's included) in chunks of its flow keys, unless it holds
                              only a few batches; 0 or 1: the caller's alone */
};

struct fl0wer_totals {
    uint64_t flows;
    uint64_t bytes;
    uint64_t packets;
};

int fl0wer_query_summary(struct fl0wer_store *s, const struct fl0wer_query *q,
                         struct fl0wer_totals *out);

/* One top-N row. key is the dimension's text ("10.0.0.1", "443", "6", "65001", "12"). */
struct fl0wer_top_row {
    char key[FL0WER_ADDR_STRLEN + 8];
    struct fl0wer_totals totals;
};

/*
 * Top-N rows by dim ordered by order, descending (ties by key ascending: numeric order for
 * numbers, byte order for addresses). *rows is malloc'd (caller frees) with *n_rows <= limit
 * entries; limit must be 1..10000. srcip/dstip come from their bounded rollup arrays where those
 * hold every address of the period, from raw flow blocks elsewhere (docs/storage.md).
 */
int fl0wer_query_top(struct fl0wer_store *s, const struct fl0wer_query *q,
                     enum fl0wer_dimension dim, enum fl0wer_order order, size_t limit,
                     struct fl0wer_top_row **rows, size_t *n_rows);

/* One time-series point: totals of flows whose last_ms falls in [t_ms, t_ms + step). */
struct fl0wer_series_point {
    uint64_t t_ms;
    struct fl0wer_totals totals;
};

/*
 * Time series from q->from_ms to q->to_ms with step_ms (>= 60000 and a multiple of 60000; at most
 * 100000 points). *points is malloc'd (caller frees), one point per step including empty ones;
 * the last point stops at q->to_ms when the range is not a whole number of steps.
 */
int fl0wer_query_series(struct fl0wer_store *s, const struct fl0wer_query *q, uint64_t step_ms,
                        struct fl0wer_series_point **points, size_t *n_points);

/*
 * Streams up to limit (>= 1) matching raw flows (newest blocks last) to fn, which returns
 * non-zero to stop (the call then returns 0). Counters are passed as stored (raw); the caller
 * scales by sampling if it wants to.
 */
int fl0wer_query_flows(struct fl0wer_store *s, const struct fl0wer_query *q, size_t limit,
                       int (*fn)(void *arg, const struct fl0wer_flow *f), void *arg);

#endif /* FL0WER_QUERY_H */
