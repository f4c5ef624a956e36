/*
 * batch_build.c - the edge side of batch.h: packs flows (payload schema 2), exporter counters
 * and interface names incrementally into reusable buffers, then frames and signs the batch.
 *
 * Each list is packed into its own msgpack_sbuffer as records arrive (no per-flow allocation:
 * the buffers grow geometrically and keep their memory across resets). A flow is written by a
 * direct msgpack writer (batch_write.h, the smallest form of each integer) into space reserved
 * for the largest possible flow: its exporter address, domain id, version and sampling become an
 * index into the batch's source table (found through a last-hit check and a small hash table),
 * its times deltas from the batch's base (the first flow's first_ms), and trailing fields at
 * their default are left out. Exporters and interfaces, a few per batch, are packed with msgpack-c. finish()
 * writes the header, the payload prefix (array headers with the final counts, the source table,
 * the base), copies the bodies after it, hashes the payload and signs the header and the digest
 * (frame version 3: SHA-256).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "batch_internal.h"
#include "batch_write.h"
#include "fl0wer/batch.h"

/* Largest payload prefix: array(10) + schema + str(63) + seq + created + report(8 x uint64) +
 * source array header + base_ms + flows array header (the source entries are counted apart). */
#define BATCH_PREFIX_MAX (1 + 1 + 2 + 63 + 9 + 9 + 1 + 8 * 9 + 5 + 9 + 5)
/* Each of the exporter and interface array headers. */
#define BATCH_ARRAY_HDR_MAX 5
/* Most bytes one schema 2 flow takes: array 16 header, source index (uint 32), three 16-byte
 * bins (bin 8), two int 64 deltas, three uint64, four uint32, three uint16, seven uint8. */
#define BATCH_FLOW_MAX_BYTES (3 + 5 + 3 * 18 + 2 * 9 + 3 * 9 + 4 * 5 + 3 * 3 + 7 * 2)
/* Most bytes one source entry takes: fixarray, 16-byte bin, uint32, uint8, uint32. */
#define BATCH_SOURCE_MAX_BYTES (1 + 18 + 5 + 2 + 5)

struct batch_builder {
    struct fl0wer_edge_key key;
    size_t name_len;
    msgpack_sbuffer flows, exporters, interfaces, sources;
    msgpack_packer pk_exporters, pk_interfaces;
    size_t flow_count, exporter_count, interface_count;
    uint64_t base_ms; /* first_ms of the batch's first flow */
    /* The source table: entries in index order, and an open-addressing hash of index + 1
     * (0 = empty slot) with slot_cap a power of two at least twice src_count. */
    struct batch_source *src;
    size_t src_count, src_cap, src_last;
    uint32_t *slot;
    size_t slot_cap;
};

/* A msgpack writer into a fixed caller-owned buffer (used for the payload prefix). */
struct batch_fixbuf {
    uint8_t *p;
    size_t len, cap;
};

static int batch_fixbuf_write(void *data, const char *buf, size_t len)
{
    struct batch_fixbuf *fb = data;
    if (len == 0)
        return 0;
    if (len > fb->cap - fb->len)
        return -1;
    memcpy(fb->p + fb->len, buf, len);
    fb->len += len;
    return 0;
}

/* Makes room for at least `need` more bytes in sb (geometric growth). Returns 0 or -1. */
static int batch_reserve(msgpack_sbuffer *sb, size_t need)
{
    size_t cap = sb->alloc ? sb->alloc : 65536;
    char *p;
    if (sb->alloc - sb->size >= need)
        return 0;
    while (cap - sb->size < need)
        cap *= 2;
    p = realloc(sb->data, cap);
    if (!p)
        return -1;
    sb->data = p;
    sb->alloc = cap;
    return 0;
}

int fl0wer_batch_builder_init(struct fl0wer_batch_builder *b, const struct fl0wer_edge_key *key)
{
    struct batch_builder *bb = calloc(1, sizeof(*bb));
    b->priv = NULL;
    if (!bb)
        return FL0WER_BATCH_ERR_NOMEM;
    if (sodium_init() < 0) {
        free(bb);
        return FL0WER_BATCH_ERR_NOMEM;
    }
    bb->key = *key;
    bb->key.name[FL0WER_EDGE_NAME_MAX - 1] = '\0';
    bb->name_len = strlen(bb->key.name);
    msgpack_sbuffer_init(&bb->flows);
    msgpack_sbuffer_init(&bb->exporters);
    msgpack_sbuffer_init(&bb->interfaces);
    msgpack_sbuffer_init(&bb->sources);
    msgpack_packer_init(&bb->pk_exporters, &bb->exporters, msgpack_sbuffer_write);
    msgpack_packer_init(&bb->pk_interfaces, &bb->interfaces, msgpack_sbuffer_write);
    b->priv = bb;
    return 0;
}

void fl0wer_batch_builder_release(struct fl0wer_batch_builder *b)
{
    struct batch_builder *bb = b->priv;
    if (!bb)
        return;
    msgpack_sbuffer_destroy(&bb->flows);
    msgpack_sbuffer_destroy(&bb->exporters);
    msgpack_sbuffer_destroy(&bb->interfaces);
    msgpack_sbuffer_destroy(&bb->sources);
    free(bb->src);
    free(bb->slot);
    sodium_memzero(&bb->key, sizeof(bb->key));
    free(bb);
    b->priv = NULL;
}

void fl0wer_batch_builder_reset(struct fl0wer_batch_builder *b)
{
    struct batch_builder *bb = b->priv;
    msgpack_sbuffer_clear(&bb->flows);
    msgpack_sbuffer_clear(&bb->exporters);
    msgpack_sbuffer_clear(&bb->interfaces);
    msgpack_sbuffer_clear(&bb->sources);
    bb->flow_count = bb->exporter_count = bb->interface_count = 0;
    if (bb->src_count)
        memset(bb->slot, 0, bb->slot_cap * sizeof(*bb->slot));
    bb->src_count = bb->src_last = 0;
    bb->base_ms = 0;
}

size_t fl0wer_batch_flow_count(const struct fl0wer_batch_builder *b)
{
    const struct batch_builder *bb = b->priv;
    return bb->flow_count;
}

/* Upper bound of the finished batch size with the current contents. */
static size_t batch_size_bound(const struct batch_builder *bb)
{
    return FL0WER_BATCH_HEADER_LEN + BATCH_PREFIX_MAX + bb->sources.size + bb->flows.size +
           BATCH_ARRAY_HDR_MAX + bb->exporters.size + BATCH_ARRAY_HDR_MAX + bb->interfaces.size;
}

size_t fl0wer_batch_encoded_size(const struct fl0wer_batch_builder *b)
{
    return batch_size_bound(b->priv);
}

/* Packs an address: empty bin when unset, 4-byte bin when IPv4-mapped, else 16 bytes. */
static inline int batch_pack_addr(msgpack_packer *pk, const uint8_t a[FL0WER_ADDR_LEN])
{
    if (fl0wer_addr_is_zero(a))
        return msgpack_pack_bin(pk, 0);
    if (fl0wer_addr_is_v4(a))
        return msgpack_pack_bin(pk, 4) || msgpack_pack_bin_body(pk, a + 12, 4);
    return msgpack_pack_bin(pk, FL0WER_ADDR_LEN) ||
           msgpack_pack_bin_body(pk, a, FL0WER_ADDR_LEN);
}

/*
 * Rolls sb back to old_size after a failed or oversized append. Returns the error to report:
 * NOMEM when packing failed, TOO_LARGE when the batch would exceed FL0WER_BATCH_MAX_LEN.
 */
static int batch_check_append(struct batch_builder *bb, msgpack_sbuffer *sb, size_t old_size,
                              int pack_failed)
{
    if (pack_failed) {
        sb->size = old_size;
        return FL0WER_BATCH_ERR_NOMEM;
    }
    if (batch_size_bound(bb) > FL0WER_BATCH_MAX_LEN) {
        sb->size = old_size;
        return FL0WER_BATCH_ERR_TOO_LARGE;
    }
    return 0;
}

/* ---- schema 2 flows: source table, element count, writer ---- */

/* True when source s is the flow's (exporter address, domain id, version, sampling). */
static inline bool batch_source_is(const struct batch_source *s, const struct fl0wer_flow *f)
{
    return s->domain_id == f->domain_id && s->version == f->version &&
           s->sampling == f->sampling && memcmp(s->addr, f->exporter, FL0WER_ADDR_LEN) == 0;
}

static inline size_t batch_source_hash(const uint8_t addr[FL0WER_ADDR_LEN], uint32_t domain_id,
                                       uint8_t version, uint32_t sampling)
{
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ b ^ ((uint64_t)domain_id << 8 | version) ^
                 (uint64_t)sampling << 40;
    h *= 0xff51afd7ed558ccdull;
    return (size_t)(h ^ h >> 29);
}

/* Doubles the slot table (or creates it) and re-inserts every source. Returns 0 or -1. */
static int batch_source_rehash(struct batch_builder *bb)
{
    size_t cap = bb->slot_cap ? bb->slot_cap * 2 : 16;
    uint32_t *slot = calloc(cap, sizeof(*slot));
    if (!slot)
        return -1;
    for (size_t i = 0; i < bb->src_count; i++) {
        const struct batch_source *s = &bb->src[i];
        size_t k = batch_source_hash(s->addr, s->domain_id, s->version, s->sampling) & (cap - 1);
        while (slot[k])
            k = (k + 1) & (cap - 1);
        slot[k] = (uint32_t)(i + 1);
    }
    free(bb->slot);
    bb->slot = slot;
    bb->slot_cap = cap;
    return 0;
}

/*
 * Finds the index of f's source in the batch's table, adding it (entry appended to the packed
 * table) when new. Returns 0 with *idx set, or FL0WER_BATCH_ERR_NOMEM.
 */
static int batch_source_index(struct batch_builder *bb, const struct fl0wer_flow *f,
                              uint32_t *idx)
{
    if (bb->src_count && batch_source_is(&bb->src[bb->src_last], f)) {
        *idx = (uint32_t)bb->src_last;
        return 0;
    }
    if ((bb->src_count + 1) * 2 > bb->slot_cap && batch_source_rehash(bb) != 0)
        return FL0WER_BATCH_ERR_NOMEM;
    size_t k = batch_source_hash(f->exporter, f->domain_id, f->version, f->sampling) & (bb->slot_cap - 1);
    for (; bb->slot[k]; k = (k + 1) & (bb->slot_cap - 1)) {
        if (batch_source_is(&bb->src[bb->slot[k] - 1], f)) {
            bb->src_last = bb->slot[k] - 1;
            *idx = (uint32_t)bb->src_last;
            return 0;
        }
    }
    if (bb->src_count == bb->src_cap) {
        size_t cap = bb->src_cap ? bb->src_cap * 2 : 16;
        struct batch_source *p = realloc(bb->src, cap * sizeof(*p));
        if (!p)
            return FL0WER_BATCH_ERR_NOMEM;
        bb->src = p;
        bb->src_cap = cap;
    }
    if (batch_reserve(&bb->sources, BATCH_SOURCE_MAX_BYTES) != 0)
        return FL0WER_BATCH_ERR_NOMEM;
    struct batch_source *s = &bb->src[bb->src_count];
    memcpy(s->addr, f->exporter, FL0WER_ADDR_LEN);
    s->domain_id = f->domain_id;
    s->version = f->version;
    s->sampling = f->sampling;
    uint8_t *p = (uint8_t *)bb->sources.data + bb->sources.size;
    uint8_t *e = p;
    *e++ = 0x90 | BATCH_SOURCE_FIELDS;
    e = wr_addr(e, s->addr);
    e = wr_uint(e, s->domain_id);
    e = wr_uint(e, s->version);
    e = wr_uint(e, s->sampling);
    bb->sources.size += (size_t)(e - p);
    bb->slot[k] = (uint32_t)(bb->src_count + 1);
    bb->src_last = bb->src_count++;
    *idx = (uint32_t)bb->src_last;
    return 0;
}

/*
 * Number of elements of f's schema 2 flow array: 23, less the trailing fields that hold their
 * default (flows 1, the rest 0), but never fewer than 7. Tested from the last field down,
 * stopping at the first one that is set (elements 7 .. 22: proto .. vlan).
 */
static inline unsigned batch_flow2_len(const struct fl0wer_flow *f)
{
    if (f->vlan)
        return 23;
    if (!fl0wer_addr_is_zero(f->next_hop))
        return 22;
    if (f->flags)
        return 21;
    if (f->direction)
        return 20;
    if (f->tos)
        return 19;
    if (f->dst_as)
        return 18;
    if (f->src_as)
        return 17;
    if (f->flows != 1)
        return 16;
    if (f->dst_mask)
        return 15;
    if (f->src_mask)
        return 14;
    if (f->out_if)
        return 13;
    if (f->in_if)
        return 12;
    if (f->tcp_flags)
        return 11;
    if (f->dst_port)
        return 10;
    if (f->src_port)
        return 9;
    if (f->proto)
        return 8;
    return BATCH_FLOW2_MIN;
}

/*
 * Writes f as a schema 2 flow array at p (BATCH_FLOW_MAX_BYTES reserved) with source index idx
 * and the batch's base time; returns the end. Field order is part of the wire format
 * (docs/protocol.md, schema 2 flow).
 */
__attribute__((flatten)) static uint8_t *batch_write_flow(uint8_t *p, const struct fl0wer_flow *f,
                                                         uint32_t idx, uint64_t base_ms)
{
    unsigned n = batch_flow2_len(f);
    if (n <= 15) {
        *p++ = (uint8_t)(0x90 | n);
    } else {
        p = wr_be16(p, 0xdc, n);
    }
    p = wr_uint(p, idx);
    p = wr_addr(p, f->src_addr);
    p = wr_addr(p, f->dst_addr);
    p = wr_int(p, f->first_ms - base_ms);
    p = wr_int(p, f->last_ms - f->first_ms);
    p = wr_uint(p, f->bytes);
    p = wr_uint(p, f->packets);
    if (n <= 7)
        return p;
    p = wr_uint(p, f->proto);
    if (n <= 8)
        return p;
    p = wr_uint(p, f->src_port);
    if (n <= 9)
        return p;
    p = wr_uint(p, f->dst_port);
    if (n <= 10)
        return p;
    p = wr_uint(p, f->tcp_flags);
    if (n <= 11)
        return p;
    p = wr_uint(p, f->in_if);
    if (n <= 12)
        return p;
    p = wr_uint(p, f->out_if);
    if (n <= 13)
        return p;
    p = wr_uint(p, f->src_mask);
    if (n <= 14)
        return p;
    p = wr_uint(p, f->dst_mask);
    if (n <= 15)
        return p;
    p = wr_uint(p, f->flows);
    if (n <= 16)
        return p;
    p = wr_uint(p, f->src_as);
    if (n <= 17)
        return p;
    p = wr_uint(p, f->dst_as);
    if (n <= 18)
        return p;
    p = wr_uint(p, f->tos);
    if (n <= 19)
        return p;
    p = wr_uint(p, f->direction);
    if (n <= 20)
        return p;
    p = wr_uint(p, f->flags);
    if (n <= 21)
        return p;
    p = wr_addr(p, f->next_hop);
    if (n <= 22)
        return p;
    return wr_uint(p, f->vlan);
}

int fl0wer_batch_add_flow(struct fl0wer_batch_builder *b, const struct fl0wer_flow *f)
{
    struct batch_builder *bb = b->priv;
    uint32_t idx;
    size_t n;
    if (bb->flow_count >= FL0WER_BATCH_MAX_RECORDS)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    if (batch_reserve(&bb->flows, BATCH_FLOW_MAX_BYTES) != 0)
        return FL0WER_BATCH_ERR_NOMEM;
    size_t src_before = bb->src_count, src_bytes = bb->sources.size;
    int rc = batch_source_index(bb, f, &idx);
    if (rc)
        return rc;
    if (bb->flow_count == 0)
        bb->base_ms = f->first_ms;
    uint8_t *p = (uint8_t *)bb->flows.data + bb->flows.size;
    n = (size_t)(batch_write_flow(p, f, idx, bb->base_ms) - p);
    if (batch_size_bound(bb) + n > FL0WER_BATCH_MAX_LEN) {
        /* not committed: drop a source this flow added (always the last one) */
        if (bb->src_count > src_before) {
            const struct batch_source *s = &bb->src[--bb->src_count];
            size_t k = batch_source_hash(s->addr, s->domain_id, s->version, s->sampling) &
                       (bb->slot_cap - 1);
            while (bb->slot[k] != bb->src_count + 1)
                k = (k + 1) & (bb->slot_cap - 1);
            bb->slot[k] = 0;
            bb->src_last = 0;
            bb->sources.size = src_bytes;
        }
        return FL0WER_BATCH_ERR_TOO_LARGE;
    }
    bb->flows.size += n;
    bb->flow_count++;
    return 0;
}
int fl0wer_batch_add_exporter(struct fl0wer_batch_builder *b,
                              const struct fl0wer_exporter_stats *s)
{
    struct batch_builder *bb = b->priv;
    msgpack_packer *pk = &bb->pk_exporters;
    size_t old = bb->exporters.size;
    if (bb->exporter_count >= FL0WER_BATCH_MAX_RECORDS)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    int fail = msgpack_pack_array(pk, BATCH_EXPORTER_FIELDS) || batch_pack_addr(pk, s->addr) ||
               msgpack_pack_uint16(pk, s->port) || msgpack_pack_uint32(pk, s->domain_id) ||
               msgpack_pack_uint8(pk, s->version) || msgpack_pack_uint64(pk, s->messages) ||
               msgpack_pack_uint64(pk, s->records) || msgpack_pack_uint64(pk, s->bytes) ||
               msgpack_pack_uint64(pk, s->sequence_gaps) ||
               msgpack_pack_uint64(pk, s->unknown_template) ||
               msgpack_pack_uint64(pk, s->templates) ||
               msgpack_pack_array(pk, FL0WER_DERR__COUNT);
    for (int i = 0; i < FL0WER_DERR__COUNT && !fail; i++)
        fail = msgpack_pack_uint64(pk, s->errors[i]);
    fail = fail || msgpack_pack_uint64(pk, s->last_seen_ms) ||
           msgpack_pack_uint32(pk, s->sampling);
    int rc = batch_check_append(bb, &bb->exporters, old, fail);
    if (rc == 0)
        bb->exporter_count++;
    return rc;
}

/* Packs a NUL-terminated string field of at most cap bytes (cap includes the NUL). */
static int batch_pack_cstr(msgpack_packer *pk, const char *s, size_t cap)
{
    size_t len = strnlen(s, cap - 1);
    return msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, s, len);
}

int fl0wer_batch_add_interface(struct fl0wer_batch_builder *b,
                               const struct fl0wer_interface_info *i)
{
    struct batch_builder *bb = b->priv;
    msgpack_packer *pk = &bb->pk_interfaces;
    size_t old = bb->interfaces.size;
    if (bb->interface_count >= FL0WER_BATCH_MAX_RECORDS)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    int fail = msgpack_pack_array(pk, BATCH_INTERFACE_FIELDS) ||
               batch_pack_addr(pk, i->exporter) || msgpack_pack_uint32(pk, i->domain_id) ||
               msgpack_pack_uint32(pk, i->ifindex) ||
               batch_pack_cstr(pk, i->name, sizeof(i->name)) ||
               batch_pack_cstr(pk, i->description, sizeof(i->description));
    int rc = batch_check_append(bb, &bb->interfaces, old, fail);
    if (rc == 0)
        bb->interface_count++;
    return rc;
}

/* Packs the payload prefix up to the source table's array header into fb. */
static int batch_pack_prefix(struct batch_builder *bb, msgpack_packer *pk, uint64_t seq,
                             uint64_t created_ms, const struct fl0wer_edge_report *r)
{
    return msgpack_pack_array(pk, BATCH_TOP_FIELDS_V2) ||
           msgpack_pack_uint8(pk, FL0WER_BATCH_SCHEMA_VER) ||
           msgpack_pack_str(pk, bb->name_len) ||
           msgpack_pack_str_body(pk, bb->key.name, bb->name_len) ||
           msgpack_pack_uint64(pk, seq) || msgpack_pack_uint64(pk, created_ms) ||
           msgpack_pack_array(pk, BATCH_REPORT_FIELDS) ||
           msgpack_pack_uint64(pk, r->started_ms) ||
           msgpack_pack_uint64(pk, r->packets_received) ||
           msgpack_pack_uint64(pk, r->kernel_drops) ||
           msgpack_pack_uint64(pk, r->records_decoded) ||
           msgpack_pack_uint64(pk, r->records_sent) ||
           msgpack_pack_uint64(pk, r->records_dropped) ||
           msgpack_pack_uint64(pk, r->spool_batches) || msgpack_pack_uint64(pk, r->spool_bytes) ||
           msgpack_pack_array(pk, bb->src_count);
}

/* Packs what follows the source entries and precedes the flow bodies: base_ms, flow count. */
static int batch_pack_base(struct batch_builder *bb, msgpack_packer *pk)
{
    return msgpack_pack_uint64(pk, bb->base_ms) || msgpack_pack_array(pk, bb->flow_count);
}

/*
 * Frames and signs (frame version 3): the payload is written at offset 104, the header at 0,
 * and the signature over header[0, 40) || SHA-256(payload) into bytes [40, 104).
 */
int fl0wer_batch_finish(struct fl0wer_batch_builder *b, uint64_t seq, uint64_t created_ms,
                        const struct fl0wer_edge_report *report, uint8_t **out, size_t *out_len)
{
    struct batch_builder *bb = b->priv;
    static const struct fl0wer_edge_report no_report;
    size_t cap = batch_size_bound(bb);
    msgpack_packer pk;
    uint8_t *buf;
    *out = NULL;
    *out_len = 0;
    if (cap > FL0WER_BATCH_MAX_LEN)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    buf = malloc(cap);
    if (!buf)
        return FL0WER_BATCH_ERR_NOMEM;
    struct batch_fixbuf fb = {buf, FL0WER_BATCH_HEADER_LEN, cap};
    msgpack_packer_init(&pk, &fb, batch_fixbuf_write);
    int fail = batch_pack_prefix(bb, &pk, seq, created_ms, report ? report : &no_report);
    fail = fail || batch_fixbuf_write(&fb, bb->sources.data, bb->sources.size) ||
           batch_pack_base(bb, &pk) ||
           batch_fixbuf_write(&fb, bb->flows.data, bb->flows.size) ||
           msgpack_pack_array(&pk, bb->exporter_count) ||
           batch_fixbuf_write(&fb, bb->exporters.data, bb->exporters.size) ||
           msgpack_pack_array(&pk, bb->interface_count) ||
           batch_fixbuf_write(&fb, bb->interfaces.data, bb->interfaces.size);
    if (fail) { /* cannot happen: cap is an upper bound */
        free(buf);
        return FL0WER_BATCH_ERR_NOMEM;
    }
    uint8_t m[BATCH_SIGNED_LEN];
    memcpy(buf, FL0WER_BATCH_MAGIC, 4);
    buf[4] = FL0WER_BATCH_FRAME_VER;
    buf[5] = buf[6] = buf[7] = 0;
    memcpy(buf + BATCH_OFF_PK, bb->key.pk, FL0WER_PUBKEY_LEN);
    batch_signed_message(buf, fb.len, m);
    crypto_sign_detached(buf + BATCH_OFF_SIG, NULL, m, sizeof(m), bb->key.sk);
    *out = buf;
    *out_len = fb.len;
    return 0;
}
