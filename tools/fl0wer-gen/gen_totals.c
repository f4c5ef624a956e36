/*
 * gen_totals.c - the totals a lossless collector must report for a generated run: counters,
 * per-exporter counters, and top-10 tables (source/destination address, destination port,
 * protocol) kept in small open-addressing hash tables; printed as JSON.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static uint64_t key_hash(const uint8_t k[FL0WER_ADDR_LEN])
{
    uint64_t h = 1469598103934665603ull;

    for (int i = 0; i < FL0WER_ADDR_LEN; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

/* Returns the entry of key (inserted zeroed with key set), or NULL when out of memory. */
static struct gen_top_entry *table_get(struct gen_table *t, const uint8_t key[FL0WER_ADDR_LEN])
{
    size_t i;

    if ((t->used + 1) * 2 > t->cap) {
        struct gen_table n = {.cap = t->cap ? t->cap * 2 : 256};

        n.slots = calloc(n.cap, sizeof(*n.slots));
        if (n.slots == NULL)
            return NULL;
        for (size_t k = 0; k < t->cap; k++) {
            if (t->slots[k].flows == 0)
                continue;
            i = key_hash(t->slots[k].key) & (n.cap - 1);
            while (n.slots[i].flows != 0)
                i = (i + 1) & (n.cap - 1);
            n.slots[i] = t->slots[k];
        }
        n.used = t->used;
        free(t->slots);
        *t = n;
    }
    i = key_hash(key) & (t->cap - 1);
    while (t->slots[i].flows != 0 && memcmp(t->slots[i].key, key, FL0WER_ADDR_LEN) != 0)
        i = (i + 1) & (t->cap - 1);
    if (t->slots[i].flows == 0) {
        memcpy(t->slots[i].key, key, FL0WER_ADDR_LEN);
        t->used++;
    }
    return &t->slots[i];
}

static void number_key(uint8_t key[FL0WER_ADDR_LEN], uint32_t v)
{
    memset(key, 0, FL0WER_ADDR_LEN);
    key[12] = (uint8_t)(v >> 24);
    key[13] = (uint8_t)(v >> 16);
    key[14] = (uint8_t)(v >> 8);
    key[15] = (uint8_t)v;
}

int gen_totals_add(struct gen_totals *t, const struct fl0wer_flow *f)
{
    uint64_t bs = f->bytes * f->sampling, ps = f->packets * f->sampling;
    uint8_t keys[GEN_DIM__COUNT][FL0WER_ADDR_LEN];

    t->flows += f->flows;
    t->bytes += f->bytes;
    t->packets_counted += f->packets;
    t->bytes_scaled += bs;
    t->packets_scaled += ps;
    t->ipv6_flows += (f->flags & FL0WER_FLOW_F_IPV6) != 0;
    memcpy(keys[GEN_DIM_SRCIP], f->src_addr, FL0WER_ADDR_LEN);
    memcpy(keys[GEN_DIM_DSTIP], f->dst_addr, FL0WER_ADDR_LEN);
    number_key(keys[GEN_DIM_DSTPORT], f->dst_port);
    number_key(keys[GEN_DIM_PROTO], f->proto);
    for (int d = 0; d < GEN_DIM__COUNT; d++) {
        struct gen_top_entry *e = table_get(&t->top[d], keys[d]);

        if (e == NULL)
            return -1;
        e->flows += f->flows;
        e->bytes += bs;
        e->packets += ps;
    }
    return 0;
}

void gen_totals_release(struct gen_totals *t)
{
    for (int d = 0; d < GEN_DIM__COUNT; d++) {
        free(t->top[d].slots);
        memset(&t->top[d], 0, sizeof(t->top[d]));
    }
}

/* Bytes descending, then key ascending (bytewise, which orders numbers and addresses). */
static int by_bytes(const void *a, const void *b)
{
    const struct gen_top_entry *x = a, *y = b;

    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return memcmp(x->key, y->key, FL0WER_ADDR_LEN);
}

size_t gen_top(const struct gen_table *t, size_t n, struct gen_top_entry **out)
{
    struct gen_top_entry *all = malloc((t->used ? t->used : 1) * sizeof(*all));
    size_t k = 0;

    *out = all;
    if (all == NULL)
        return 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].flows != 0)
            all[k++] = t->slots[i];
    qsort(all, k, sizeof(*all), by_bytes);
    return k < n ? k : n;
}

static void print_top(const struct gen_table *t, int dim, FILE *out)
{
    static const char *names[GEN_DIM__COUNT] = {"srcip", "dstip", "dstport", "proto"};
    struct gen_top_entry *rows;
    size_t n = gen_top(t, GEN_TOP_N, &rows);

    fprintf(out, "%s\"%s\":[", dim ? "," : "", names[dim]);
    for (size_t i = 0; i < n; i++) {
        char key[FL0WER_ADDR_STRLEN];
        const uint8_t *k = rows[i].key;

        if (dim <= GEN_DIM_DSTIP)
            fprintf(out, "%s{\"key\":\"%s\"", i ? "," : "",
                    fl0wer_addr_format(k, key, sizeof(key)));
        else
            fprintf(out, "%s{\"key\":%u", i ? "," : "",
                    (unsigned)k[12] << 24 | (unsigned)k[13] << 16 | (unsigned)k[14] << 8 | k[15]);
        fprintf(out, ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}",
                rows[i].flows, rows[i].bytes, rows[i].packets);
    }
    fprintf(out, "]");
    free(rows);
}

void gen_totals_json(const struct gen_ctx *g, FILE *out)
{
    const struct gen_totals *t = &g->totals;

    fprintf(out,
            "{\"packets\":%" PRIu64 ",\"packet_bytes\":%" PRIu64 ",\"records\":%" PRIu64
            ",\"options_records\":%" PRIu64 ",\"templates\":%" PRIu64 ",\"flows\":%" PRIu64
            ",\"bytes\":%" PRIu64 ",\"packets_counted\":%" PRIu64 ",\"bytes_scaled\":%" PRIu64
            ",\"packets_scaled\":%" PRIu64 ",\"ipv6_flows\":%" PRIu64 ",\"sampling\":%u,\"top\":{",
            t->packets, t->packet_bytes, t->records, t->options_records, t->templates, t->flows,
            t->bytes, t->packets_counted, t->bytes_scaled, t->packets_scaled, t->ipv6_flows,
            g->cfg.sampling);
    for (int d = 0; d < GEN_DIM__COUNT; d++)
        print_top(&t->top[d], d, out);
    fprintf(out, "},\"exporters\":[");
    for (uint32_t i = 0; i < g->cfg.exporters; i++) {
        const struct gen_exporter *ex = &g->ex[i];
        char addr[FL0WER_ADDR_STRLEN];

        fprintf(out,
                "%s{\"addr\":\"%s\",\"port\":%u,\"domain_id\":%" PRIu32 ",\"version\":%u"
                ",\"packets\":%" PRIu64 ",\"packet_bytes\":%" PRIu64 ",\"records\":%" PRIu64
                ",\"templates\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets_counted\":%" PRIu64
                "}",
                i ? "," : "", fl0wer_addr_format(ex->addr, addr, sizeof(addr)), ex->port,
                ex->domain_id, ex->version, ex->packets, ex->packet_bytes, ex->records,
                ex->templates, ex->bytes, ex->packets_counted);
    }
    fprintf(out, "]}\n");
}
