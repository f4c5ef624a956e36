/*
 * merge.c - the rollups column family's merge operator: a rollup value is five varint counters
 * (flows, scaled bytes, scaled packets, raw bytes, raw packets) and merging adds them, so ingest
 * never reads a rollup row before updating it. Also the dimension keys rollups are grouped by.
 */
#include "store_int.h"

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

static void add_counters(struct fl0wer_rollup_counters *a, const struct fl0wer_rollup_counters *b)
{
    a->flows += b->flows;
    a->bytes += b->bytes;
    a->packets += b->packets;
    a->raw_bytes += b->raw_bytes;
    a->raw_packets += b->raw_packets;
}

bool fl0wer_store_dim_rolled_up(unsigned dim)
{
    /* enum fl0wer_dimension: 0 srcip, 1 dstip, 2..9 rolled up */
    return (dim >= 2 && dim <= 9) || dim == FL0WER_ROLLUP_TOTAL;
}

size_t fl0wer_store_dim_key(const struct fl0wer_flow *f, unsigned dim,
                            uint8_t key[FL0WER_DIMKEY_MAX])
{
    switch (dim) {
    case 0: memcpy(key, f->src_addr, 16); return 16;
    case 1: memcpy(key, f->dst_addr, 16); return 16;
    case 2: key[0] = (uint8_t)(f->src_port >> 8); key[1] = (uint8_t)f->src_port; return 2;
    case 3: key[0] = (uint8_t)(f->dst_port >> 8); key[1] = (uint8_t)f->dst_port; return 2;
    case 4: key[0] = f->proto; return 1;
    case 5: memcpy(key, f->exporter, 16); return 16;
    case 6: store_be32(key, f->src_as); return 4;
    case 7: store_be32(key, f->dst_as); return 4;
    case 8: store_be32(key, f->in_if); return 4;
    case 9: store_be32(key, f->out_if); return 4;
    default: return 0;
    }
}

/* Sums n varint-counter operands (and the existing value) into a malloc'd value. */
static char *sum_values(const char *existing, size_t existing_len, const char *const *ops,
                        const size_t *op_len, int n, unsigned char *success, size_t *out_len)
{
    struct fl0wer_rollup_counters sum = {0}, one;
    uint8_t buf[50];

    *success = 0;
    if (existing) {
        if (store_counters_decode((const uint8_t *)existing, existing_len, &sum) != 0)
            return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (store_counters_decode((const uint8_t *)ops[i], op_len[i], &one) != 0)
            return NULL;
        add_counters(&sum, &one);
    }
    size_t len = store_counters_encode(&sum, buf);
    char *out = malloc(len);
    if (!out)
        return NULL;
    memcpy(out, buf, len);
    *out_len = len;
    *success = 1;
    return out;
}

static char *full_merge(void *state, const char *key, size_t klen, const char *existing,
                        size_t existing_len, const char *const *ops, const size_t *op_len,
                        int n, unsigned char *success, size_t *out_len)
{
    return sum_values(existing, existing_len, ops, op_len, n, success, out_len);
}

static char *partial_merge(void *state, const char *key, size_t klen, const char *const *ops,
                           const size_t *op_len, int n, unsigned char *success, size_t *out_len)
{
    return sum_values(NULL, 0, ops, op_len, n, success, out_len);
}

static void delete_value(void *state, const char *value, size_t len)
{
    free((void *)value);
}

static void destroy_state(void *state)
{
}

static const char *merge_name(void *state)
{
    return "fl0wer.rollup.add.v1";
}

rocksdb_mergeoperator_t *store_merge_operator_create(void)
{
    return rocksdb_mergeoperator_create(NULL, destroy_state, full_merge, partial_merge,
                                        delete_value, merge_name);
}
