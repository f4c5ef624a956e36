/*
 * rollup.c - the packed rollup array: one RocksDB value per (level, dimension, period) holding
 * every group key of that period sorted ascending with its counters, column by column
 * (docs/storage.md). Encoder, bounds-checked reader, and the k-way merge of sorted arrays used
 * by the rollups column family's merge operator (merge.c) and by put_batch for hour arrays.
 *
 * Layout: format byte (STORE_ROLLUP_FORMAT), key width (0, 1, 2, 4 or 16), flags (bit 0: raw
 * counter columns present), varint count, varint byte length of each column, then the columns:
 *   keys      width <= 4: varint of the difference from the previous key (the first from 0);
 *             strictly increasing. width 16: 16 bytes each, strictly increasing in byte order.
 *   flows, bytes, packets           varints (bytes and packets scaled by sampling)
 *   raw_bytes, raw_packets          varints, only when flag bit 0 is set; absent means equal to
 *                                   the scaled columns (no sampled flow in the array)
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define ROLLUP_RAW 1u

size_t store_rollup_bound(size_t n)
{
    /* header: 3 bytes, count and 6 column lengths <= 10 bytes each; per entry <= 16 + 5 * 10 */
    return 3 + 7 * 10 + n * (16 + 5 * 10);
}

static bool valid_width(unsigned w)
{
    return w == 0 || w == 1 || w == 2 || w == 4 || w == 16;
}

int store_rollup_key_cmp(const struct store_rollup_entry *a, const struct store_rollup_entry *b)
{
    if (a->khi != b->khi)
        return a->khi < b->khi ? -1 : 1;
    return a->klo < b->klo ? -1 : a->klo > b->klo;
}

size_t store_rollup_encode(unsigned width, const struct store_rollup_entry *e, size_t n,
                           uint8_t *out)
{
    uint8_t *col_start[6], *p;
    size_t col_len[6];
    bool raw = false;
    int ncol;

    for (size_t i = 0; i < n && !raw; i++)
        raw = e[i].c.raw_bytes != e[i].c.bytes || e[i].c.raw_packets != e[i].c.packets;
    ncol = raw ? 6 : 4;
    /* columns go after a header of known maximum size, then are moved down */
    p = out + 3 + 7 * 10;
    col_start[0] = p;
    if (width == 16) {
        for (size_t i = 0; i < n; i++) {
            store_be64(p, e[i].khi);
            store_be64(p + 8, e[i].klo);
            p += 16;
        }
    } else {
        uint64_t prev = 0;
        for (size_t i = 0; i < n; i++) {
            p += store_put_varint(p, e[i].klo - prev);
            prev = e[i].klo;
        }
    }
#define COUNTER_COLUMN(col, field)                                                              \
    do {                                                                                        \
        col_len[col - 1] = (size_t)(p - col_start[col - 1]);                                    \
        col_start[col] = p;                                                                     \
        for (size_t i = 0; i < n; i++)                                                          \
            p += store_put_varint(p, e[i].c.field);                                             \
    } while (0)
    COUNTER_COLUMN(1, flows);
    COUNTER_COLUMN(2, bytes);
    COUNTER_COLUMN(3, packets);
    if (raw) {
        COUNTER_COLUMN(4, raw_bytes);
        COUNTER_COLUMN(5, raw_packets);
    }
#undef COUNTER_COLUMN
    col_len[ncol - 1] = (size_t)(p - col_start[ncol - 1]);
    size_t body = (size_t)(p - col_start[0]);

    uint8_t *h = out;
    *h++ = STORE_ROLLUP_FORMAT;
    *h++ = (uint8_t)width;
    *h++ = raw ? ROLLUP_RAW : 0;
    h += store_put_varint(h, n);
    for (int c = 0; c < ncol; c++)
        h += store_put_varint(h, col_len[c]);
    memmove(h, col_start[0], body);
    return (size_t)(h - out) + body;
}

int store_rollup_open(struct store_rollup_reader *r, const uint8_t *buf, size_t len)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *hdr = store_get_bytes(&c, 3);
    uint64_t n, lens[6];

    memset(r, 0, sizeof(*r));
    if (!hdr || hdr[0] != STORE_ROLLUP_FORMAT || !valid_width(hdr[1]) || (hdr[2] & ~ROLLUP_RAW))
        return FL0WER_STORE_ERR_CORRUPT;
    r->width = hdr[1];
    r->raw = hdr[2] & ROLLUP_RAW;
    n = store_get_varint(&c);
    int ncol = r->raw ? 6 : 4;
    for (int i = 0; i < ncol; i++)
        lens[i] = store_get_varint(&c);
    if (c.bad || n > len)
        return FL0WER_STORE_ERR_CORRUPT;
    for (int i = 0; i < ncol; i++) {
        const uint8_t *col = store_get_bytes(&c, (size_t)lens[i]);
        if (!col)
            return FL0WER_STORE_ERR_CORRUPT;
        r->col[i] = (struct store_cursor){col, col + lens[i], 0};
    }
    if (c.p != c.end || (r->width == 16 && lens[0] != n * 16))
        return FL0WER_STORE_ERR_CORRUPT;
    r->n = (size_t)n;
    return 0;
}

int store_rollup_next(struct store_rollup_reader *r, struct store_rollup_entry *e)
{
    if (r->i >= r->n) {
        int ncol = r->raw ? 6 : 4;
        for (int i = 0; i < ncol; i++)
            if (r->col[i].p != r->col[i].end)
                return FL0WER_STORE_ERR_CORRUPT;
        return 0;
    }
    if (r->width == 16) {
        const uint8_t *k = store_get_bytes(&r->col[0], 16);
        if (!k)
            return FL0WER_STORE_ERR_CORRUPT;
        e->khi = store_get_be64(k);
        e->klo = store_get_be64(k + 8);
    } else {
        uint64_t d = store_get_varint(&r->col[0]);
        e->khi = 0;
        e->klo = r->prev + d;
        if ((r->i > 0 && d == 0) || e->klo < r->prev ||
            (r->width < 8 && e->klo >> (8 * r->width)))
            return FL0WER_STORE_ERR_CORRUPT;
    }
    if (r->i > 0 && r->width == 16 && (e->khi < r->prev_hi ||
                                       (e->khi == r->prev_hi && e->klo <= r->prev)))
        return FL0WER_STORE_ERR_CORRUPT;
    r->prev = e->klo;
    r->prev_hi = e->khi;
    e->c.flows = store_get_varint(&r->col[1]);
    e->c.bytes = store_get_varint(&r->col[2]);
    e->c.packets = store_get_varint(&r->col[3]);
    if (r->raw) {
        e->c.raw_bytes = store_get_varint(&r->col[4]);
        e->c.raw_packets = store_get_varint(&r->col[5]);
    } else {
        e->c.raw_bytes = e->c.bytes;
        e->c.raw_packets = e->c.packets;
    }
    for (int i = 0; i < (r->raw ? 6 : 4); i++)
        if (r->col[i].bad)
            return FL0WER_STORE_ERR_CORRUPT;
    r->i++;
    return 1;
}

void store_rollup_key_bytes(const struct store_rollup_entry *e, unsigned width, uint8_t *out)
{
    if (width == 16) {
        store_be64(out, e->khi);
        store_be64(out + 8, e->klo);
        return;
    }
    for (unsigned i = 0; i < width; i++)
        out[i] = (uint8_t)(e->klo >> (8 * (width - 1 - i)));
}

static int cmp_entry(const void *a, const void *b)
{
    return store_rollup_key_cmp(a, b);
}

/*
 * Sorts e[0..n) by key: LSD radix sort on the low `width` bytes of klo (tmp: n entries of room),
 * skipping bytes that are equal in every key; qsort for 16-byte keys.
 */
void store_rollup_sort(struct store_rollup_entry *e, size_t n, unsigned width,
                       struct store_rollup_entry *tmp)
{
    if (n < 2)
        return;
    if (width > 8) {
        qsort(e, n, sizeof(*e), cmp_entry);
        return;
    }
    struct store_rollup_entry *src = e, *dst = tmp;
    for (unsigned byte = 0; byte < width; byte++) {
        size_t count[257] = {0};
        unsigned shift = 8 * byte;
        for (size_t i = 0; i < n; i++)
            count[((src[i].klo >> shift) & 0xff) + 1]++;
        if (count[((src[0].klo >> shift) & 0xff) + 1] == n)
            continue; /* every key has this byte: already in order for it */
        for (int d = 1; d <= 256; d++)
            count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].klo >> shift) & 0xff]++] = src[i];
        struct store_rollup_entry *t = src;
        src = dst;
        dst = t;
    }
    if (src != e)
        memcpy(e, src, n * sizeof(*e));
}

static void add_counters(struct fl0wer_rollup_counters *a, const struct fl0wer_rollup_counters *b)
{
    a->flows += b->flows;
    a->bytes += b->bytes;
    a->packets += b->packets;
    a->raw_bytes += b->raw_bytes;
    a->raw_packets += b->raw_packets;
}

/* A min-heap of reader indices ordered by each reader's current entry. */
struct merge_src {
    struct store_rollup_reader r;
    struct store_rollup_entry cur;
};

static bool src_less(const struct merge_src *s, size_t a, size_t b)
{
    return store_rollup_key_cmp(&s[a].cur, &s[b].cur) < 0;
}

static void heap_down(const struct merge_src *s, size_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && src_less(s, h[l], h[m]))
            m = l;
        if (r < n && src_less(s, h[r], h[m]))
            m = r;
        if (m == i)
            return;
        size_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/*
 * Many operands of narrow keys (flushes merge one operand per batch): every entry decoded into
 * ent (room for total), radix-sorted, equal keys summed, encoded into *out. Cheaper than a heap
 * of k cursors once k is more than a few. Returns 0, ERR_NOMEM or ERR_CORRUPT.
 */
static int merge_by_sort(struct merge_src *src, size_t k, unsigned width,
                         struct store_rollup_entry *ent, size_t total, uint8_t **out,
                         size_t *out_len)
{
    struct store_rollup_entry *tmp = malloc((total ? total : 1) * sizeof(*tmp));
    size_t n = 0, m = 0;
    int got = 0;

    if (!tmp)
        return FL0WER_STORE_ERR_NOMEM;
    for (size_t i = 0; i < k && got >= 0; i++)
        while (n < total && (got = store_rollup_next(&src[i].r, &ent[n])) > 0)
            n++;
    if (got >= 0 && n == total) {
        /* each source must be exhausted exactly (checks the columns' ends) */
        struct store_rollup_entry spare;
        for (size_t i = 0; i < k && got >= 0; i++)
            if ((got = store_rollup_next(&src[i].r, &spare)) > 0)
                got = FL0WER_STORE_ERR_CORRUPT;
    }
    if (got < 0) {
        free(tmp);
        return FL0WER_STORE_ERR_CORRUPT;
    }
    store_rollup_sort(ent, n, width, tmp);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && ent[m - 1].klo == ent[i].klo)
            add_counters(&ent[m - 1].c, &ent[i].c);
        else
            ent[m++] = ent[i];
    }
    *out_len = store_rollup_encode(width, ent, m, *out);
    free(tmp);
    return 0;
}

/*
 * Merges k encoded arrays (all of one key width) into one malloc'd encoded array, summing the
 * counters of equal keys. Returns 0 with *out (free()) and *out_len, ERR_CORRUPT or ERR_NOMEM.
 */
int store_rollup_merge(const uint8_t *const *vals, const size_t *lens, size_t k, uint8_t **out,
                       size_t *out_len)
{
    struct merge_src *src = calloc(k ? k : 1, sizeof(*src));
    size_t *heap = malloc((k ? k : 1) * sizeof(*heap)), total = 0, n = 0, hn = 0;
    struct store_rollup_entry *ent = NULL;
    unsigned width = 0;
    int rc = FL0WER_STORE_ERR_NOMEM;

    *out = NULL;
    if (!src || !heap)
        goto out_free;
    for (size_t i = 0; i < k; i++) {
        if ((rc = store_rollup_open(&src[i].r, vals[i], lens[i])) != 0)
            goto out_free;
        if (i > 0 && src[i].r.width != width) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            goto out_free;
        }
        width = src[i].r.width;
        total += src[i].r.n;
    }
    rc = FL0WER_STORE_ERR_NOMEM;
    if (!(ent = malloc((total ? total : 1) * sizeof(*ent))) ||
        !(*out = malloc(store_rollup_bound(total))))
        goto out_free;
    if (k >= 3 && width <= 8) {
        rc = merge_by_sort(src, k, width, ent, total, out, out_len);
        goto out_free;
    }
    for (size_t i = 0; i < k; i++) {
        int got = store_rollup_next(&src[i].r, &src[i].cur);
        if (got < 0) {
            rc = got;
            goto out_free;
        }
        if (got)
            heap[hn++] = i;
    }
    for (size_t i = hn; i-- > 0;)
        heap_down(src, heap, hn, i);
    while (hn > 0) {
        struct merge_src *m = &src[heap[0]];
        if (n > 0 && store_rollup_key_cmp(&ent[n - 1], &m->cur) == 0)
            add_counters(&ent[n - 1].c, &m->cur.c);
        else
            ent[n++] = m->cur;
        int got = store_rollup_next(&m->r, &m->cur);
        if (got < 0) {
            rc = got;
            goto out_free;
        }
        if (!got)
            heap[0] = heap[--hn];
        heap_down(src, heap, hn, 0);
    }
    *out_len = store_rollup_encode(width, ent, n, *out);
    rc = 0;
out_free:
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    free(ent);
    free(heap);
    free(src);
    return rc;
}

/*
 * Merges two sorted entry arrays a (na) and b (nb) into out (room for na + nb), summing equal
 * keys. Returns the merged count.
 */
size_t store_rollup_merge_entries(const struct store_rollup_entry *a, size_t na,
                                  const struct store_rollup_entry *b, size_t nb,
                                  struct store_rollup_entry *out)
{
    size_t i = 0, j = 0, n = 0;
    while (i < na && j < nb) {
        int c = store_rollup_key_cmp(&a[i], &b[j]);
        if (c < 0) {
            out[n++] = a[i++];
        } else if (c > 0) {
            out[n++] = b[j++];
        } else {
            out[n] = a[i++];
            add_counters(&out[n++].c, &b[j++].c);
        }
    }
    while (i < na)
        out[n++] = a[i++];
    while (j < nb)
        out[n++] = b[j++];
    return n;
}
