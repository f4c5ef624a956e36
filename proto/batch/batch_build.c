/*
 * batch_build.c - the edge side of batch.h: packs flows, exporter counters and interface names
 * incrementally with msgpack-c into reusable buffers, then frames and signs the batch.
 *
 * Each list is packed into its own msgpack_sbuffer as records arrive (no per-flow allocation:
 * the buffers grow geometrically and keep their memory across resets). A flow is packed by
 * msgpack-c's inline packers into space reserved for the largest possible flow, through a local
 * packer whose write callback is a plain copy: the compiler sees the callback and inlines it, so
 * a flow costs no function call or capacity check per field. finish() writes the header, the
 * payload prefix (array headers with the final counts), copies the three bodies after it, hashes
 * the payload and signs the header and the digest (frame version 2).
 */
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <sodium.h>

#include "batch_internal.h"
#include "fl0wer/batch.h"

/* Largest payload prefix: array(8) + schema + str(63) + seq + created + report(8 x uint64) +
 * flows array header. */
#define BATCH_PREFIX_MAX (1 + 1 + 2 + 63 + 9 + 9 + 1 + 8 * 9 + 5)
/* Each of the exporter and interface array headers. */
#define BATCH_ARRAY_HDR_MAX 5
/* Most bytes one packed flow takes: array 16 header, four 16-byte bins (bin 8), five uint64,
 * six uint32, three uint16 and eight uint8 in their widest forms. */
#define BATCH_FLOW_MAX_BYTES (3 + 4 * 18 + 5 * 9 + 6 * 5 + 3 * 3 + 8 * 2)

struct batch_builder {
    struct fl0wer_edge_key key;
    size_t name_len;
    msgpack_sbuffer flows, exporters, interfaces;
    msgpack_packer pk_exporters, pk_interfaces;
    size_t flow_count, exporter_count, interface_count;
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

/* Unchecked writer into space the caller reserved (at most BATCH_FLOW_MAX_BYTES). */
struct batch_cur {
    uint8_t *p;
};

static inline int batch_cur_write(void *data, const char *buf, size_t len)
{
    struct batch_cur *c = data;
    memcpy(c->p, buf, len);
    c->p += len;
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
    bb->flow_count = bb->exporter_count = bb->interface_count = 0;
}

size_t fl0wer_batch_flow_count(const struct fl0wer_batch_builder *b)
{
    const struct batch_builder *bb = b->priv;
    return bb->flow_count;
}

/* Upper bound of the finished batch size with the current contents. */
static size_t batch_size_bound(const struct batch_builder *bb)
{
    return FL0WER_BATCH_HEADER_LEN + BATCH_PREFIX_MAX + bb->flows.size + BATCH_ARRAY_HDR_MAX +
           bb->exporters.size + BATCH_ARRAY_HDR_MAX + bb->interfaces.size;
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

/*
 * Packs one flow at c (BATCH_FLOW_MAX_BYTES reserved). The packer is local with a known callback
 * and the function is flattened (every msgpack_pack_* and the callback inlined into it), so each
 * field compiles to a width test and direct stores.
 */
__attribute__((flatten)) static void batch_pack_flow(struct batch_cur *c,
                                                     const struct fl0wer_flow *f)
{
    msgpack_packer pkr;
    msgpack_packer *pk = &pkr;
    msgpack_packer_init(pk, c, batch_cur_write);
    /* Field order is part of the wire format: docs/protocol.md, "flow". The writer cannot
     * fail, so the results are not looked at. */
    (void)(msgpack_pack_array(pk, BATCH_FLOW_FIELDS) || batch_pack_addr(pk, f->exporter) ||
           batch_pack_addr(pk, f->src_addr) || batch_pack_addr(pk, f->dst_addr) ||
           batch_pack_addr(pk, f->next_hop) || msgpack_pack_uint64(pk, f->first_ms) ||
           msgpack_pack_uint64(pk, f->last_ms) || msgpack_pack_uint64(pk, f->bytes) ||
           msgpack_pack_uint64(pk, f->packets) || msgpack_pack_uint64(pk, f->flows) ||
           msgpack_pack_uint32(pk, f->domain_id) || msgpack_pack_uint32(pk, f->in_if) ||
           msgpack_pack_uint32(pk, f->out_if) || msgpack_pack_uint32(pk, f->src_as) ||
           msgpack_pack_uint32(pk, f->dst_as) || msgpack_pack_uint32(pk, f->sampling) ||
           msgpack_pack_uint16(pk, f->src_port) || msgpack_pack_uint16(pk, f->dst_port) ||
           msgpack_pack_uint16(pk, f->vlan) || msgpack_pack_uint8(pk, f->proto) ||
           msgpack_pack_uint8(pk, f->tcp_flags) || msgpack_pack_uint8(pk, f->tos) ||
           msgpack_pack_uint8(pk, f->src_mask) || msgpack_pack_uint8(pk, f->dst_mask) ||
           msgpack_pack_uint8(pk, f->direction) || msgpack_pack_uint8(pk, f->version) ||
           msgpack_pack_uint8(pk, f->flags));
}

int fl0wer_batch_add_flow(struct fl0wer_batch_builder *b, const struct fl0wer_flow *f)
{
    struct batch_builder *bb = b->priv;
    struct batch_cur c;
    size_t n;
    if (bb->flow_count >= FL0WER_BATCH_MAX_RECORDS)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    if (batch_reserve(&bb->flows, BATCH_FLOW_MAX_BYTES) != 0)
        return FL0WER_BATCH_ERR_NOMEM;
    c.p = (uint8_t *)bb->flows.data + bb->flows.size;
    batch_pack_flow(&c, f);
    n = (size_t)(c.p - ((uint8_t *)bb->flows.data + bb->flows.size));
    if (batch_size_bound(bb) + n > FL0WER_BATCH_MAX_LEN)
        return FL0WER_BATCH_ERR_TOO_LARGE; /* not committed: size unchanged */
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

/* Packs the payload prefix (everything before the flow bodies) into fb. */
static int batch_pack_prefix(struct batch_builder *bb, msgpack_packer *pk, uint64_t seq,
                             uint64_t created_ms, const struct fl0wer_edge_report *r)
{
    return msgpack_pack_array(pk, BATCH_TOP_FIELDS) ||
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
           msgpack_pack_array(pk, (size_t)bb->flow_count);
}

/*
 * Frames and signs (frame version 2): the payload is written at offset 104, the header at 0,
 * and the signature over header[0, 40) || BLAKE2b-256(payload) into bytes [40, 104).
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
    fail = fail || batch_fixbuf_write(&fb, bb->flows.data, bb->flows.size) ||
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
