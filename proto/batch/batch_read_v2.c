/*
 * batch_read_v2.c - the schema 2 part of the hub's payload parser: the per-batch source table,
 * the time base and the compact flow arrays (docs/protocol.md, "Payload (schema version 2)").
 *
 * A schema 2 flow names its exporter address, domain id, export version and sampling interval
 * by an index into the batch's source table, carries first_ms as a signed delta from the batch's base_ms and last_ms
 * as a signed delta from first_ms (both modulo 2^64, so every pair of uint64 times round-trips),
 * and may omit trailing fields that have their default value. Like the schema 1 reader, a flow is
 * read by one tight function once its largest encoding is known to be readable (in place, or in
 * a zero-padded copy of the payload's tail where reading past the real end is then detected).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "batch_cursor.h"
#include "batch_internal.h"
#include "fl0wer/batch.h"

/* Largest accepted schema 2 flow: array 32 header, the source index and 19 more integers as
 * 9 bytes each, three addresses as bin 32 of 16 bytes. */
#define BATCH_FLOW2_ADDRS    3
#define BATCH_FLOW2_MAX_WIRE \
    (5 + BATCH_FLOW2_ADDRS * (5 + FL0WER_ADDR_LEN) + (BATCH_FLOW2_MAX - BATCH_FLOW2_ADDRS) * 9)
_Static_assert(BATCH_FLOW2_MAX_WIRE == 248, "schema 2 flow wire bound");
_Static_assert(BATCH_FLOW2_MAX_WIRE <= MP_FLOW_PAD, "tail copy room");
/* Fewest bytes of one source entry: fixarray, empty bin (2 bytes), three fixints. */
#define BATCH_SOURCE_MIN_WIRE 6
/* Source tables up to this size are read into a stack array; larger ones are allocated
 * (bounded by the payload: at most one entry per 6 bytes). */
#define BATCH_SOURCES_STACK 64

/* The parsing context of one schema 2 flow list. */
struct flow2_ctx {
    const struct batch_source *src;
    size_t n_src;
    uint64_t base_ms;
};

/* Reads the array header of a schema 2 flow at *pp; *n gets its element count (7..23). */
static inline bool fr_flow2_header(const uint8_t **pp, uint64_t *n)
{
    const uint8_t *p = *pp;
    if (p[0] >= 0x90 && p[0] <= 0x9f) {
        *n = p[0] & 0x0fu;
        p += 1;
    } else if (p[0] == 0xdc) {
        *n = ld_be16(p + 1);
        p += 3;
    } else if (p[0] == 0xdd) {
        *n = ld_be32(p + 1);
        p += 5;
    } else {
        return false;
    }
    *pp = p;
    return *n >= BATCH_FLOW2_MIN && *n <= BATCH_FLOW2_MAX;
}

/*
 * Reads one schema 2 flow at *pp (BATCH_FLOW2_MAX_WIRE bytes readable) into *f, every field
 * written: omitted trailing fields get their defaults (flows 1, the rest 0).
 * Returns false on any schema violation: a wrong type or width, a source index outside the
 * table, an element count outside 7..23.
 */
__attribute__((flatten)) static bool flow2_read_at(const uint8_t **pp, const void *ctx,
                                                   struct fl0wer_flow *f)
{
    const struct flow2_ctx *x = ctx;
    const uint8_t *p = *pp;
    uint64_t n, idx, d_first, d_last;
    if (!fr_flow2_header(&p, &n) || !fr_uint(&p, UINT64_MAX, &idx) || idx >= x->n_src)
        return false;
    const struct batch_source *s = &x->src[idx];
    memcpy(f->exporter, s->addr, FL0WER_ADDR_LEN);
    f->domain_id = s->domain_id;
    f->version = s->version;
    f->sampling = s->sampling;
    if (!(fr_addr(&p, f->src_addr) && fr_addr(&p, f->dst_addr) && fr_int(&p, &d_first) &&
          fr_int(&p, &d_last) && fr_u64(&p, &f->bytes) && fr_u64(&p, &f->packets)))
        return false;
    f->first_ms = x->base_ms + d_first; /* modulo 2^64 */
    f->last_ms = f->first_ms + d_last;
    /* Trailing fields: defaults, then read those present (elements 7 .. n-1). */
    f->proto = f->tcp_flags = f->tos = f->src_mask = f->dst_mask = f->direction = f->flags = 0;
    f->src_port = f->dst_port = f->vlan = 0;
    f->in_if = f->out_if = f->src_as = f->dst_as = 0;
    memset(f->next_hop, 0, FL0WER_ADDR_LEN);
    f->flows = 1;
    f->reserved[0] = f->reserved[1] = 0;
    /* Field order is part of the wire format: docs/protocol.md, schema 2 flow. */
    if (n > 7 &&
        !(fr_u8(&p, &f->proto) &&
          (n <= 8 || fr_u16(&p, &f->src_port)) &&
          (n <= 9 || fr_u16(&p, &f->dst_port)) &&
          (n <= 10 || fr_u8(&p, &f->tcp_flags)) &&
          (n <= 11 || fr_u32(&p, &f->in_if)) &&
          (n <= 12 || fr_u32(&p, &f->out_if)) &&
          (n <= 13 || fr_u8(&p, &f->src_mask)) &&
          (n <= 14 || fr_u8(&p, &f->dst_mask)) &&
          (n <= 15 || fr_u64(&p, &f->flows)) &&
          (n <= 16 || fr_u32(&p, &f->src_as)) &&
          (n <= 17 || fr_u32(&p, &f->dst_as)) &&
          (n <= 18 || fr_u8(&p, &f->tos)) &&
          (n <= 19 || fr_u8(&p, &f->direction)) &&
          (n <= 20 || fr_u8(&p, &f->flags)) &&
          (n <= 21 || fr_addr(&p, f->next_hop)) &&
          (n <= 22 || fr_u16(&p, &f->vlan))))
        return false;
    *pp = p;
    return true;
}

/* Reads the source table's entries (count already checked) into tab. */
static int batch_read_source_entries(struct mp_cur *c, struct batch_source *tab, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&tab[i], 0, sizeof(tab[i]));
        if (mp_array_of(c, BATCH_SOURCE_FIELDS) || mp_addr(c, tab[i].addr) ||
            mp_u32(c, &tab[i].domain_id) || mp_u8(c, &tab[i].version) ||
            mp_u32(c, &tab[i].sampling))
            return FL0WER_BATCH_ERR_SCHEMA;
    }
    return 0;
}

/*
 * Reads the source table, base_ms and the flow list (payload elements 5, 6 and 7 of schema 2)
 * into b's flow array (reused or grown). The table lives on the stack, or for more than
 * BATCH_SOURCES_STACK entries in a heap array bounded by the payload, freed before returning.
 */
int batch_read_flows_v2(struct mp_cur *c, struct fl0wer_batch *b)
{
    struct batch_source stack[BATCH_SOURCES_STACK], *tab = stack;
    struct flow2_ctx x;
    uint64_t n;
    int rc = mp_list_count(c, BATCH_SOURCE_MIN_WIRE, &n);
    if (rc != 0)
        return rc;
    if (n > BATCH_SOURCES_STACK) {
        tab = malloc((size_t)n * sizeof(*tab));
        if (!tab)
            return FL0WER_BATCH_ERR_NOMEM;
    }
    rc = batch_read_source_entries(c, tab, (size_t)n);
    if (rc)
        goto out_free_tab;
    x.src = tab;
    x.n_src = (size_t)n;
    if (mp_u64(c, &x.base_ms)) {
        rc = FL0WER_BATCH_ERR_SCHEMA;
        goto out_free_tab;
    }
    rc = batch_read_list(c, sizeof(*b->flows), 1 + BATCH_FLOW2_MIN, (void **)&b->flows,
                         &b->flow_cap, &b->flow_count);
    for (size_t i = 0; rc == 0 && i < b->flow_count; i++)
        rc = mp_read_flow(c, BATCH_FLOW2_MAX_WIRE, flow2_read_at, &x, &b->flows[i]);
out_free_tab:
    if (tab != stack)
        free(tab);
    return rc;
}
