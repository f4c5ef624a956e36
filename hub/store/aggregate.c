/*
 * aggregate.c - a batch's rollups, summed in memory: for each rolled-up dimension and each
 * minute the batch touches, the flows of that minute are grouped by key in a hash table, the
 * groups sorted by key and written as ONE packed array (rollup.c) merge operand under
 * 'm' | dim | minute; the minute arrays of each hour are merged into one 'h' | dim | hour operand.
 * So a batch costs a few RocksDB operations per dimension, not one per flow and dimension.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

/* The dimensions with rollups, in enum fl0wer_dimension numbers, and the totals. */
static const unsigned rolled_dims[] = {FL0WER_ROLLUP_TOTAL, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

static inline size_t slot_of(uint64_t hi, uint64_t lo, size_t mask)
{
    uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ull)) * 0xbf58476d1ce4e5b9ull;
    return (size_t)(h ^ (h >> 31)) & mask;
}

/*
 * Groups the sorted flows [from, to) by dim into out (room for to - from); returns the number
 * of groups. Inlined once per dimension (group() below) so the key is read without a switch
 * per flow.
 */
static inline __attribute__((always_inline)) size_t
group_dim(const struct fl0wer_batch *b, struct store_scratch *x, const unsigned dim,
          size_t from, size_t to, struct store_rollup_entry *out)
{
    size_t mask = x->slot_cap - 1, n = 0;
    uint32_t gen = x->gen;

    for (size_t i = from; i < to; i++) {
        uint64_t hi, lo;
        store_dim_value(&b->flows[x->order[i]], dim, &hi, &lo);
        size_t j = slot_of(hi, lo, mask);
        for (;;) {
            struct store_slot *sl = &x->slots[j];
            if (sl->gen != gen) {
                sl->gen = gen;
                sl->idx = (uint32_t)n;
                out[n].khi = hi;
                out[n].klo = lo;
                out[n++].c = x->cnt[i];
                break;
            }
            struct store_rollup_entry *e = &out[sl->idx];
            if (e->klo == lo && e->khi == hi) {
                store_counters_add(&e->c, &x->cnt[i]);
                break;
            }
            j = (j + 1) & mask;
        }
    }
    return n;
}

/* group_dim for dim, a fresh generation of the hash table's slots. */
static size_t group(const struct fl0wer_batch *b, struct store_scratch *x, unsigned dim,
                    size_t from, size_t to, struct store_rollup_entry *out)
{
    if (++x->gen == 0) {
        memset(x->slots, 0, x->slot_cap * sizeof(*x->slots));
        x->gen = 1;
    }
    switch (dim) {
#define GROUP_CASE(d)                                                                           \
    case d:                                                                                     \
        return group_dim(b, x, d, from, to, out)
    GROUP_CASE(0);
    GROUP_CASE(1);
    GROUP_CASE(2);
    GROUP_CASE(3);
    GROUP_CASE(4);
    GROUP_CASE(5);
    GROUP_CASE(6);
    GROUP_CASE(7);
    GROUP_CASE(8);
    GROUP_CASE(9);
#undef GROUP_CASE
    default:
        return group_dim(b, x, dim, from, to, out);
    }
}

/* Adds the array val (len bytes) of level, dim and period to wb: as a merge operand, or
 * (replace) as a put over what is stored. */
static void put_array(rocksdb_writebatch_t *wb, rocksdb_column_family_handle_t *cf, char level,
                      unsigned dim, uint64_t period, const uint8_t *val, size_t len, bool replace)
{
    uint8_t key[STORE_ROLLUP_KEY_LEN];
    key[0] = (uint8_t)level;
    key[1] = (uint8_t)dim;
    store_be64(key + 2, period);
    if (replace)
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, sizeof(key), (const char *)val, len);
    else
        rocksdb_writebatch_merge_cf(wb, cf, (const char *)key, sizeof(key), (const char *)val,
                                    len);
}

/*
 * Encodes n sorted entries, bounded to kmax rows (0: no bound): when longer, the kmax with the
 * most bytes are kept (e is reordered; scratch: room for n, not e) and the array is marked
 * truncated.
 */
static size_t encode_bounded(unsigned width, struct store_rollup_entry *e, size_t n, size_t kmax,
                             struct store_scratch *x, struct store_rollup_entry *scratch)
{
    bool truncated = kmax && n > kmax;
    if (truncated)
        n = store_rollup_keep_top(e, n, kmax, scratch, x->kbuf);
    return store_rollup_encode(width, e, n, truncated, x->val);
}

/* Sums the counters of equal neighbours of the sorted e[0..n) in place; returns the count. */
static size_t sum_equal(struct store_rollup_entry *e, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && e[m - 1].klo == e[i].klo && e[m - 1].khi == e[i].khi)
            store_counters_add(&e[m - 1].c, &e[i].c);
        else
            e[m++] = e[i];
    }
    return m;
}

/*
 * A dimension with hour arrays only (addresses without a minute bound): per hour the batch
 * touches, its flows grouped, sorted and encoded (bounded) as one 'h' operand, or (replace) as
 * the hour's whole array, put over what is stored.
 */
static void add_hours_only(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                           const struct fl0wer_batch *b, struct store_scratch *x, unsigned dim,
                           bool replace)
{
    size_t n = b->flow_count, khour = store_rollup_kmax(s->address_k, 'h', dim);
    unsigned width = store_dim_width(dim);

    for (size_t i = 0; i < n;) {
        uint64_t hour = x->minute[i] / 60;
        size_t end = i;
        while (end < n && x->minute[end] / 60 == hour)
            end++;
        size_t g = group(b, x, dim, i, end, x->ent);
        struct store_rollup_entry *sorted = store_rollup_sort(x->ent, g, x->tmp, x->kbuf);
        size_t len = encode_bounded(width, sorted, g, khour, x,
                                    sorted == x->tmp ? x->acc : x->tmp);
        put_array(wb, s->cf[STORE_CF_ROLLUPS], 'h', dim, hour, x->val, len, replace);
        i = end;
    }
}

/*
 * One dimension. Per minute: the flows grouped by key into x->ent (the groups of an hour's
 * minutes one after another), sorted (into x->tmp or in place) and encoded as the 'm' array.
 * The hour array is the minute's own bytes when that minute is the hour's only one in the batch
 * (and neither array is truncated), else the hour's minute groups sorted together with equal
 * keys summed. Address arrays are bounded (encode_bounded).
 */
static void add_dim(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                    const struct fl0wer_batch *b, struct store_scratch *x, unsigned dim)
{
    rocksdb_column_family_handle_t *cf = s->cf[STORE_CF_ROLLUPS];
    size_t n = b->flow_count, hour_off = 0, off = 0;
    size_t kmin = store_rollup_kmax(s->address_k, 'm', dim);
    size_t khour = store_rollup_kmax(s->address_k, 'h', dim);
    unsigned width = store_dim_width(dim);

    if (!store_minute_arrays(s, dim)) {
        add_hours_only(s, wb, b, x, dim, false);
        return;
    }
    for (size_t i = 0; i < n;) {
        uint64_t minute = x->minute[i], hour = minute / 60;
        struct store_rollup_entry *e, *sorted;
        size_t end = i, g;
        while (end < n && x->minute[end] == minute)
            end++;
        if (i == 0 || x->minute[i - 1] / 60 != hour)
            hour_off = off = 0; /* the hour's first minute in the batch */
        e = x->ent + off;
        if (dim == FL0WER_ROLLUP_TOTAL) {
            memset(e, 0, sizeof(*e));
            for (size_t k = i; k < end; k++)
                store_counters_add(&e->c, &x->cnt[k]);
            g = 1;
        } else {
            g = group(b, x, dim, i, end, e);
        }
        /* e keeps its entries (reordered at most): the hour reads them again below */
        sorted = g > 1 ? store_rollup_sort(e, g, x->tmp, x->kbuf) : e;
        bool single = hour_off == off && (end == n || x->minute[end] / 60 != hour);
        bool last = end == n || x->minute[end] / 60 != hour;
        bool same = single && !(kmin && g > kmin) && !(khour && g > khour);
        off += g;
        if (sorted == e && kmin && g > kmin) {
            /* the bound reorders: keep the hour's copy of e intact */
            memcpy(x->tmp, e, g * sizeof(*e));
            sorted = x->tmp;
        }
        size_t len = encode_bounded(width, sorted, g, kmin, x, x->acc);
        put_array(wb, cf, 'm', dim, minute, x->val, len, false);
        if (same) {
            put_array(wb, cf, 'h', dim, hour, x->val, len, false);
        } else if (last) {
            size_t hn = off - hour_off;
            sorted = store_rollup_sort(x->ent + hour_off, hn, x->tmp, x->kbuf);
            hn = sum_equal(sorted, hn);
            len = encode_bounded(width, sorted, hn, khour, x,
                                 sorted == x->tmp ? x->acc : x->tmp);
            put_array(wb, cf, 'h', dim, hour, x->val, len, false);
        }
        i = end;
    }
}

/* The counters of each sorted flow of b (x->order filled), sampling-scaled and raw. */
static void fill_counters(const struct fl0wer_batch *b, struct store_scratch *x)
{
    for (size_t i = 0; i < b->flow_count; i++) {
        const struct fl0wer_flow *f = &b->flows[x->order[i]];
        uint64_t sampling = f->sampling ? f->sampling : 1;
        x->cnt[i].flows = f->flows;
        x->cnt[i].bytes = f->bytes * sampling;
        x->cnt[i].packets = f->packets * sampling;
        x->cnt[i].raw_bytes = f->bytes;
        x->cnt[i].raw_packets = f->packets;
    }
}

int store_add_rollups(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                      const struct fl0wer_batch *b, struct store_scratch *x)
{
    fill_counters(b, x);
    for (size_t d = 0; d < sizeof(rolled_dims) / sizeof(rolled_dims[0]); d++)
        add_dim(s, wb, b, x, rolled_dims[d]);
    return 0;
}

void store_put_address_hours(const struct fl0wer_store *s, rocksdb_writebatch_t *wb,
                             const struct fl0wer_batch *b, struct store_scratch *x)
{
    fill_counters(b, x);
    add_hours_only(s, wb, b, x, 0, true); /* srcip */
    add_hours_only(s, wb, b, x, 1, true); /* dstip */
}
