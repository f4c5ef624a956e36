/*
 * merge.c - the rollups column family's merge operator: a rollup value is a packed array of one
 * period's rows of one dimension (rollup.c) and merging k of them is a k-way merge that sums the
 * counters of equal keys, so ingest writes one operand per (level, dimension, period) per batch
 * and never reads before writing. Address arrays (srcip, dstip) are bounded: a merge that finds
 * more than K keys keeps the K with the most bytes and marks the array truncated (rollmerge.c).
 * Also the dimension keys rollups are grouped by.
 */
#include "store_int.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void fl0wer_rollup_add_flow(struct fl0wer_rollup_counters *c, const struct fl0wer_flow *f)
{
    uint64_t sampling = f->sampling ? f->sampling : 1;
    c->flows += f->flows;
    c->bytes += f->bytes * sampling;
    c->packets += f->packets * sampling;
    c->raw_bytes += f->bytes;
    c->raw_packets += f->packets;
}

bool fl0wer_store_dim_rolled_up(unsigned dim)
{
    /* enum fl0wer_dimension: 0 srcip, 1 dstip (bounded arrays), 2..9 */
    return dim <= 9 || dim == FL0WER_ROLLUP_TOTAL;
}

size_t fl0wer_store_dim_key(const struct fl0wer_flow *f, unsigned dim,
                            uint8_t key[FL0WER_DIMKEY_MAX])
{
    switch (dim) {
    case 0: memcpy(key, f->src_addr, 16); return 16;
    case 1: memcpy(key, f->dst_addr, 16); return 16;
    case 2: store_be32(key, (uint32_t)f->proto << 16 | f->src_port); return 4;
    case 3: store_be32(key, (uint32_t)f->proto << 16 | f->dst_port); return 4;
    case 4: key[0] = f->proto; return 1;
    case 5: memcpy(key, f->exporter, 16); return 16;
    case 6: store_be32(key, f->src_as); return 4;
    case 7: store_be32(key, f->dst_as); return 4;
    case 8: store_be32(key, f->in_if); return 4;
    case 9: store_be32(key, f->out_if); return 4;
    default: return 0;
    }
}

unsigned store_dim_width(unsigned dim)
{
    static const uint8_t w[FL0WER_DIMKEY_MAX] = {16, 16, 4, 4, 1, 16, 4, 4, 4, 4};
    return dim < 10 ? w[dim] : 0;
}

/* The operator's state: the address arrays' bounds (minute, hour), set once after open. */
struct store_merge_state {
    _Atomic uint32_t address_k[2];
};

/*
 * Merges the existing value (if any) and the n operands of rollup key `key` into one malloc'd
 * array, bounded as the key's level and dimension ask.
 */
static char *merge_values(struct store_merge_state *st, const char *key, size_t klen,
                          const char *existing, size_t existing_len, const char *const *ops,
                          const size_t *op_len, int n, unsigned char *success, size_t *out_len)
{
    uint32_t bounds[2] = {atomic_load_explicit(&st->address_k[0], memory_order_relaxed),
                          atomic_load_explicit(&st->address_k[1], memory_order_relaxed)};
    size_t kmax = klen == STORE_ROLLUP_KEY_LEN
                      ? store_rollup_kmax(bounds, (uint8_t)key[0], (uint8_t)key[1])
                      : 0;
    const uint8_t *stack_vals[16], **vals = stack_vals;
    size_t stack_lens[16], *lens = stack_lens, k = 0;
    uint8_t *out = NULL;

    *success = 0;
    if (n + 1 > 16) {
        vals = malloc((size_t)(n + 1) * sizeof(*vals));
        lens = malloc((size_t)(n + 1) * sizeof(*lens));
        if (!vals || !lens)
            goto out_free;
    }
    if (existing) {
        vals[k] = (const uint8_t *)existing;
        lens[k++] = existing_len;
    }
    for (int i = 0; i < n; i++) {
        vals[k] = (const uint8_t *)ops[i];
        lens[k++] = op_len[i];
    }
    if (k == 1) {
        /* a lone operand (reads of a period not yet merged by compaction) is the value */
        struct store_rollup_reader r;
        if (store_rollup_open(&r, vals[0], lens[0]) == 0 && (out = malloc(lens[0])) != NULL) {
            memcpy(out, vals[0], lens[0]);
            *out_len = lens[0];
            *success = 1;
        }
    } else if (store_rollup_merge(vals, lens, k, kmax, &out, out_len) == 0) {
        *success = 1;
    }
out_free:
    if (vals != stack_vals)
        free(vals);
    if (lens != stack_lens)
        free(lens);
    return (char *)out;
}

static char *full_merge(void *state, const char *key, size_t klen, const char *existing,
                        size_t existing_len, const char *const *ops, const size_t *op_len,
                        int n, unsigned char *success, size_t *out_len)
{
    return merge_values(state, key, klen, existing, existing_len, ops, op_len, n, success,
                        out_len);
}

static char *partial_merge(void *state, const char *key, size_t klen, const char *const *ops,
                           const size_t *op_len, int n, unsigned char *success, size_t *out_len)
{
    return merge_values(state, key, klen, NULL, 0, ops, op_len, n, success, out_len);
}

static void delete_value(void *state, const char *value, size_t len)
{
    free((void *)value);
}

static void destroy_state(void *state)
{
    free(state);
}

static const char *merge_name(void *state)
{
    return "fl0wer.rollup.arrays.v3";
}

void store_merge_set_bounds(struct store_merge_state *st, const uint32_t address_k[2])
{
    atomic_store_explicit(&st->address_k[0], address_k[0], memory_order_relaxed);
    atomic_store_explicit(&st->address_k[1], address_k[1], memory_order_relaxed);
}

rocksdb_mergeoperator_t *store_merge_operator_create(const uint32_t address_k[2],
                                                     struct store_merge_state **state)
{
    struct store_merge_state *st = malloc(sizeof(*st));
    rocksdb_mergeoperator_t *m;

    *state = NULL;
    if (!st)
        return NULL;
    store_merge_set_bounds(st, address_k);
    m = rocksdb_mergeoperator_create(st, destroy_state, full_merge, partial_merge, delete_value,
                                     merge_name);
    if (!m)
        free(st);
    else
        *state = st;
    return m;
}
