/*
 * partial.c - partial hours of a dimension without minute rollups (addresses by default): from
 * raw blocks, or as the hour's rollup array minus the raw flows of the rest of the hour when
 * that rest is smaller (docs/storage.md, "How queries are answered").
 */
#include "query_int.h"
#include "store_int.h"

static int count_minute_flows(void *arg, uint64_t t_ms, struct store_rollup_reader *r)
{
    struct store_rollup_entry e;
    int got;
    (void)t_ms;
    while ((got = store_rollup_next(r, &e)) > 0)
        *(uint64_t *)arg += e.c.flows;
    return got < 0 ? FL0WER_STORE_ERR_CORRUPT : 0;
}

/* Flow records of the whole minutes that [from, to) touches, from the minute totals. */
static int minute_flows(struct query_ctx *c, uint64_t from, uint64_t to, uint64_t *n)
{
    *n = 0;
    if (from >= to)
        return 0;
    return query_map_rc(store_scan_rollup_arrays(c->s, FL0WER_ROLLUP_MINUTE, FL0WER_ROLLUP_TOTAL,
                                           from - from % FL0WER_MINUTE_MS,
                                           query_round_up(to, FL0WER_MINUTE_MS), count_minute_flows,
                                           n));
}

static int count_raw_flows(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        *(uint64_t *)arg += flows[i].flows;
    return 0;
}

/*
 * Whether the raw blocks still hold every flow of the hour starting at hs that its rollups
 * count. An hour starting at or after the store's raw cut (gc has removed nothing that ended
 * after it) is whole. Otherwise: retention and the disk cap remove the oldest flows only (in
 * minutes up to the oldest stored flow's), so a later hour is whole; the hour holding the oldest stored flow's minute is
 * whole when its minutes before that one have no flows in the minute totals and that minute's
 * raw flows add up to its total; that count is not made (*whole false) when the minute holds
 * budget flows or more (reading them would cost what the subtraction saves).
 */
static int raw_whole_hour(struct query_ctx *c, uint64_t hs, uint64_t budget, bool *whole)
{
    uint64_t oldest, newest, m, before, total, stored = 0;
    int rc;

    *whole = store_raw_cut(c->s) <= hs; /* nothing that ended in this hour was removed */
    if (*whole)
        return 0;
    if ((rc = query_map_rc(store_flow_time_range(c->s, &oldest, &newest))) != 0 || newest == 0)
        return rc; /* no raw flows at all */
    m = oldest - oldest % FL0WER_MINUTE_MS;
    if (m < hs) { /* removed flows lie in minutes up to the oldest flow's */
        *whole = true;
        return 0;
    }
    if (m >= hs + FL0WER_HOUR_MS)
        return 0;
    if ((rc = minute_flows(c, hs, m, &before)) != 0 || before != 0 ||
        (rc = minute_flows(c, m, m + 1, &total)) != 0 || total >= budget)
        return rc;
    rc = query_map_rc(store_scan_flow_cols(c->s, m, m + FL0WER_MINUTE_MS, STORE_COL_FLOWS,
                                           count_raw_flows, &stored));
    *whole = rc == 0 && stored == total;
    return rc;
}

/*
 * [from, to), inside the hour starting at hs, of a dimension with hour arrays only: from raw
 * blocks, or, when the rest of the hour holds fewer flows (minute totals), as the hour's array
 * minus the raw flows of the rest of the hour (exact: the array holds every flow of the hour,
 * a truncated one is replaced by the hour's raw blocks). Not for a series (its points need
 * times) nor for an hour whose raw flows were partly removed (raw_whole_hour).
 */
static int partial_hour(struct query_ctx *c, uint64_t hs, uint64_t from, uint64_t to)
{
    uint64_t he = hs + FL0WER_HOUR_MS, inside, before, after;
    bool whole = false;
    int rc;

    if (from >= to)
        return 0;
    if (c->kind == QUERY_SERIES || (rc = minute_flows(c, from, to, &inside)) != 0 ||
        (rc = minute_flows(c, hs, from, &before)) != 0 ||
        (rc = minute_flows(c, to, he, &after)) != 0 || before + after >= inside ||
        (rc = raw_whole_hour(c, hs, inside - before - after, &whole)) != 0 || !whole)
        return rc != 0 ? rc : query_raw(c, from, to);
    if ((rc = query_rollups(c, FL0WER_ROLLUP_HOUR, hs, he)) != 0)
        return rc;
    c->negate = c->subtracted = true;
    if ((rc = query_raw(c, hs, from)) == 0)
        rc = query_raw(c, to, he);
    c->negate = false;
    return rc;
}

/* [from, to), at most one hour long, split at the hour boundary into partial_hour calls. */
int query_partial_hours(struct query_ctx *c, uint64_t from, uint64_t to)
{
    uint64_t hs = from - from % FL0WER_HOUR_MS, cut = hs + FL0WER_HOUR_MS;
    int rc;

    if (from >= to)
        return 0;
    if (hs > UINT64_MAX - 2 * FL0WER_HOUR_MS) /* the end of time: no rollups there */
        return query_raw(c, from, to);
    if (to <= cut)
        return partial_hour(c, hs, from, to);
    if ((rc = partial_hour(c, hs, from, cut)) != 0)
        return rc;
    return partial_hour(c, cut, cut, to);
}
