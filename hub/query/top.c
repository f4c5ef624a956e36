/*
 * top.c - top-N: the plan fills a hash map from group key to counters; a bounded min-heap of
 * `limit` entries keeps the best rows (order metric descending, ties by key ascending), which
 * are then sorted and formatted.
 */
#include "query_int.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct top_sel {
    const struct query_ctx *c;
    enum fl0wer_order order;
};

static uint64_t metric(const struct top_sel *t, const struct fl0wer_rollup_counters *v)
{
    bool raw = t->c->q->unscaled;
    switch (t->order) {
    case FL0WER_ORDER_PACKETS: return raw ? v->raw_packets : v->packets;
    case FL0WER_ORDER_FLOWS: return v->flows;
    default: return raw ? v->raw_bytes : v->bytes;
    }
}

/* True when a ranks before b. */
static bool better(const struct top_sel *t, const struct fl0wer_rowmap_entry *a,
                   const struct fl0wer_rowmap_entry *b)
{
    uint64_t ma = metric(t, &a->c), mb = metric(t, &b->c);
    if (ma != mb)
        return ma > mb;
    if (a->khi != b->khi)
        return a->khi < b->khi;
    return a->klo < b->klo;
}

/* Restores the min-heap (worst entry at the root) below i. */
static void sift_down(const struct top_sel *t, const struct fl0wer_rowmap_entry **h, size_t n,
                      size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && better(t, h[w], h[l]))
            w = l;
        if (r < n && better(t, h[w], h[r]))
            w = r;
        if (w == i)
            return;
        const struct fl0wer_rowmap_entry *tmp = h[i];
        h[i] = h[w];
        h[w] = tmp;
        i = w;
    }
}

static void sift_up(const struct top_sel *t, const struct fl0wer_rowmap_entry **h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!better(t, h[p], h[i]))
            return;
        const struct fl0wer_rowmap_entry *tmp = h[i];
        h[i] = h[p];
        h[p] = tmp;
        i = p;
    }
}

/* Formats a group key as the dimension's text. */
static void format_key(unsigned dim, const struct fl0wer_rowmap_entry *e, char *out, size_t len)
{
    if (store_dim_width(dim) == FL0WER_ADDR_LEN) {
        uint8_t a[FL0WER_ADDR_LEN];
        store_be64(a, e->khi);
        store_be64(a + 8, e->klo);
        fl0wer_addr_format(a, out, len);
        return;
    }
    snprintf(out, len, "%" PRIu64, e->klo);
}

int fl0wer_query_top(struct fl0wer_store *s, const struct fl0wer_query *q,
                     enum fl0wer_dimension dim, enum fl0wer_order order, size_t limit,
                     struct fl0wer_top_row **rows, size_t *n_rows)
{
    struct query_ctx c;
    const struct fl0wer_rowmap_entry **heap = NULL;
    size_t n = 0;
    int rc = query_ctx_init(&c, s, q, QUERY_TOP);

    if (rc == 0 && ((unsigned)dim >= FL0WER_DIM__COUNT || (unsigned)order > 2 || limit < 1 ||
                    limit > 10000 || !rows || !n_rows))
        rc = FL0WER_QUERY_ERR_INVAL;
    if (rc == 0) {
        c.dim = (unsigned)dim;
        rc = query_run(&c);
    }
    if (rc == 0 && !(heap = malloc(limit * sizeof(*heap))))
        rc = FL0WER_QUERY_ERR_NOMEM;
    if (rc != 0)
        goto out;

    struct top_sel t = {&c, order};
    for (size_t i = 0; i < c.map.count; i++) {
        const struct fl0wer_rowmap_entry *e = &c.map.ents[i];
        if (c.subtracted && !e->c.flows && !e->c.bytes && !e->c.packets && !e->c.raw_bytes &&
            !e->c.raw_packets)
            continue; /* only in the part of an hour that was subtracted */
        if (n < limit) {
            heap[n] = e;
            sift_up(&t, heap, n++);
        } else if (better(&t, e, heap[0])) {
            heap[0] = e;
            sift_down(&t, heap, n, 0);
        }
    }
    struct fl0wer_top_row *out = calloc(n ? n : 1, sizeof(*out));
    if (!out) {
        rc = FL0WER_QUERY_ERR_NOMEM;
        goto out;
    }
    /* pop the worst first: fills the result from the back */
    for (size_t m = n; m > 0; m--) {
        const struct fl0wer_rowmap_entry *e = heap[0];
        format_key(c.dim, e, out[m - 1].key, sizeof(out[m - 1].key));
        query_totals(&c, &e->c, &out[m - 1].totals);
        heap[0] = heap[m - 1];
        sift_down(&t, heap, m - 1, 0);
    }
    *rows = out;
    *n_rows = n;
out:
    free(heap);
    query_ctx_release(&c);
    return rc;
}
