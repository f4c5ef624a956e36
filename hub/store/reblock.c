/*
 * reblock.c - joins the small flow blocks of a settled hour (docs/storage.md, "Settled data").
 * put_batch writes a block per batch and minute: a low-rate hub gets batches of one or two flows
 * (the edge sends a batch once its oldest record is a second old), so each flow carried a block
 * header and a 28-byte key. Here the blocks of one minute and edge are rewritten as few full
 * blocks (<= STORE_MAX_BLOCK_FLOWS flows), in key order, in one atomic write per group of
 * minutes: the same flows, in the same order, fewer keys. Called by gc before the hour is
 * compacted to the last level.
 */
#include "store_int.h"

#include <stdlib.h>

#define REBLOCK_MAX_FLOWS 65536u       /* larger minute groups are left as they are */
#define REBLOCK_WRITE_BYTES (4u << 20) /* write batch size that triggers a write */

/* One minute and edge's blocks: their keys and values (copied), flows counted from headers. */
struct reblock_group {
    uint8_t prefix[16];     /* minute (BE 8) | edge name hash (BE 8) */
    uint8_t seq[8];         /* batch seq of the first block: the new blocks' keys */
    uint8_t *keys;          /* nblocks * STORE_FLOW_KEY_LEN */
    uint8_t *vals;          /* values back to back */
    size_t *lens;
    size_t nblocks, cap_keys, cap_lens, vlen, cap_vlen, flows;
    bool skip;              /* too large: left as it is */
    struct fl0wer_flow *buf; /* decoded flows (REBLOCK_MAX_FLOWS) */
    const struct fl0wer_flow **ptr;
    uint8_t *enc;
};

int store_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return FL0WER_STORE_ERR_NOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* Adds one stored block (key k, value v) to g. Returns 0 or ERR_*. */
static int group_add(struct reblock_group *g, const char *k, const uint8_t *v, size_t vl)
{
    size_t n;
    uint64_t lo, hi;

    if (store_block_header(v, vl, &n, &lo, &hi) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    if (g->nblocks == 0)
        memcpy(g->seq, k + 16, 8);
    g->flows += n;
    if (g->flows > REBLOCK_MAX_FLOWS)
        g->skip = true;
    if (g->skip)
        return 0;
    if (store_grow((void **)&g->keys, &g->cap_keys, g->nblocks + 1, STORE_FLOW_KEY_LEN) != 0 ||
        store_grow((void **)&g->lens, &g->cap_lens, g->nblocks + 1, sizeof(size_t)) != 0 ||
        store_grow((void **)&g->vals, &g->cap_vlen, g->vlen + vl, 1) != 0)
        return FL0WER_STORE_ERR_NOMEM;
    memcpy(g->keys + g->nblocks * STORE_FLOW_KEY_LEN, k, STORE_FLOW_KEY_LEN);
    memcpy(g->vals + g->vlen, v, vl);
    g->lens[g->nblocks++] = vl;
    g->vlen += vl;
    return 0;
}

/*
 * Adds to wb the rewrite of g when it has more blocks than its flows need: deletes of its keys,
 * then its flows (in key order) as full blocks keyed prefix | first seq | 0, 1, ... Counts the
 * blocks before and after in *before / *after. Returns 0 or ERR_CORRUPT.
 */
static int group_rewrite(struct reblock_group *g, rocksdb_writebatch_t *wb,
                         rocksdb_column_family_handle_t *cf, uint64_t *before, uint64_t *after)
{
    size_t need = (g->flows + STORE_MAX_BLOCK_FLOWS - 1) / STORE_MAX_BLOCK_FLOWS, n = 0;
    const uint8_t *v = g->vals;
    uint8_t key[STORE_FLOW_KEY_LEN];

    if (g->skip || g->nblocks <= need)
        return 0;
    for (size_t b = 0; b < g->nblocks; b++) {
        size_t got;
        if (store_block_decode(v, g->lens[b], g->buf + n, REBLOCK_MAX_FLOWS - n, &got) != 0)
            return FL0WER_STORE_ERR_CORRUPT;
        n += got;
        v += g->lens[b];
    }
    if (n != g->flows)
        return FL0WER_STORE_ERR_CORRUPT;
    for (size_t b = 0; b < g->nblocks; b++)
        rocksdb_writebatch_delete_cf(wb, cf, (const char *)g->keys + b * STORE_FLOW_KEY_LEN,
                                     STORE_FLOW_KEY_LEN);
    memcpy(key, g->prefix, 16);
    memcpy(key + 16, g->seq, 8);
    for (size_t i = 0, b = 0; i < n; b++) {
        size_t c = n - i < STORE_MAX_BLOCK_FLOWS ? n - i : STORE_MAX_BLOCK_FLOWS;
        for (size_t j = 0; j < c; j++)
            g->ptr[j] = &g->buf[i + j];
        size_t len = store_block_encode(g->ptr, c, g->enc);
        store_be32(key + 24, (uint32_t)b);
        rocksdb_writebatch_put_cf(wb, cf, (const char *)key, sizeof(key), (const char *)g->enc,
                                  len);
        i += c;
    }
    *before += g->nblocks;
    *after += need;
    return 0;
}

static int write_wb(struct fl0wer_store *s, rocksdb_writebatch_t *wb)
{
    char *err = NULL;
    if (rocksdb_writebatch_count(wb) == 0)
        return 0;
    rocksdb_write(s->db, s->wopts, wb, &err);
    rocksdb_writebatch_clear(wb);
    return err ? store_io_error("writing joined flow blocks", err) : 0;
}

/* Walks the blocks of [from_ms, to_ms) (whole minutes) group by group; see the file comment. */
static int reblock_walk(struct fl0wer_store *s, struct reblock_group *g, rocksdb_writebatch_t *wb,
                        uint64_t from_ms, uint64_t to_ms, uint64_t *before, uint64_t *after)
{
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    rocksdb_iterator_t *it;
    uint8_t lo[8], hi[8];
    char *err = NULL;
    int rc = 0;

    store_be64(lo, from_ms / FL0WER_MINUTE_MS);
    store_be64(hi, to_ms / FL0WER_MINUTE_MS);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, sizeof(hi));
    rocksdb_readoptions_set_fill_cache(ro, 0);
    it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_FLOWS]);
    for (rocksdb_iter_seek(it, (const char *)lo, sizeof(lo)); rc == 0; rocksdb_iter_next(it)) {
        bool valid = rocksdb_iter_valid(it);
        size_t kl = 0, vl = 0;
        const char *k = valid ? rocksdb_iter_key(it, &kl) : NULL;
        if (valid && kl != STORE_FLOW_KEY_LEN) {
            rc = FL0WER_STORE_ERR_CORRUPT;
            break;
        }
        if ((g->nblocks || g->skip) && (!valid || memcmp(k, g->prefix, 16) != 0)) {
            rc = group_rewrite(g, wb, s->cf[STORE_CF_FLOWS], before, after);
            g->nblocks = g->vlen = g->flows = 0;
            g->skip = false;
            if (rc == 0 && rocksdb_writebatch_data(wb, &vl) && vl >= REBLOCK_WRITE_BYTES)
                rc = write_wb(s, wb);
        }
        if (!valid || rc != 0)
            break;
        if (g->nblocks == 0 && !g->skip)
            memcpy(g->prefix, k, 16);
        const uint8_t *v = (const uint8_t *)rocksdb_iter_value(it, &vl);
        rc = group_add(g, k, v, vl);
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    if (err)
        return store_io_error("reading flow blocks to join", err);
    return rc == 0 ? write_wb(s, wb) : rc;
}

int store_reblock_flows(struct fl0wer_store *s, uint64_t from_ms, uint64_t to_ms,
                        uint64_t *before, uint64_t *after)
{
    struct reblock_group g = {0};
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    int rc = FL0WER_STORE_ERR_NOMEM;

    *before = *after = 0;
    g.buf = malloc(REBLOCK_MAX_FLOWS * sizeof(*g.buf));
    g.ptr = malloc(STORE_MAX_BLOCK_FLOWS * sizeof(*g.ptr));
    g.enc = malloc(store_block_bound(STORE_MAX_BLOCK_FLOWS));
    if (wb && g.buf && g.ptr && g.enc)
        rc = reblock_walk(s, &g, wb, from_ms, to_ms, before, after);
    free(g.enc);
    free(g.ptr);
    free(g.buf);
    free(g.keys);
    free(g.vals);
    free(g.lens);
    if (wb)
        rocksdb_writebatch_destroy(wb);
    return rc;
}
