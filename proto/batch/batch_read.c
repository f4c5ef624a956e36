/*
 * batch_read.c - the hub side of batch.h: header checks, signature verification and the strict
 * payload parser.
 *
 * The payload is walked with a bounds-checked msgpack cursor (struct mp_cur) instead of
 * msgpack_unpack(): msgpack-c's object unpacker allocates an array's element table from the
 * count in its header before reading the elements, so a 5-byte hostile payload could ask for
 * gigabytes. Here every count is checked against the schema and against the bytes that remain
 * before anything is allocated, and only the documented msgpack types are accepted.
 *
 * Flows, the bulk of a batch, are read by one tight reader (flow_read_at) that relies on the
 * largest encoding a flow can have (BATCH_FLOW_MAX_WIRE bytes) being readable: mp_read_flow
 * (batch_cursor.h) runs it directly in the payload when that many bytes remain, else on a
 * zero-padded copy of the payload's tail, where reading past the real end is then detected as
 * truncation.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "batch_cursor.h"
#include "batch_internal.h"
#include "fl0wer/batch.h"

/* ---- the schema 1 flow reader ---- */

/* Largest accepted encoding of one flow: array 32 header, four addresses as bin 32 of 16
 * bytes, the other 22 fields as uint 64. */
#define BATCH_FLOW_ADDRS    4
#define BATCH_FLOW_MAX_WIRE \
    (5 + BATCH_FLOW_ADDRS * (5 + FL0WER_ADDR_LEN) + (BATCH_FLOW_FIELDS - BATCH_FLOW_ADDRS) * 9)
_Static_assert(BATCH_FLOW_MAX_WIRE == 287, "flow wire bound");
_Static_assert(BATCH_FLOW_MAX_WIRE <= MP_FLOW_PAD, "tail copy room");

/*
 * Reads one flow array (field order: docs/protocol.md) at *pp, where BATCH_FLOW_MAX_WIRE bytes
 * are readable, writing every field of *f. Returns false on any schema violation. Flattened:
 * the field readers are inlined, p stays in a register.
 */
__attribute__((flatten)) static bool flow_read_at(const uint8_t **pp, const void *unused,
                                                  struct fl0wer_flow *f)
{
    (void)unused;
    const uint8_t *p = *pp;
    if (p[0] == 0xdc && ld_be16(p + 1) == BATCH_FLOW_FIELDS)
        p += 3;
    else if (p[0] == 0xdd && ld_be32(p + 1) == BATCH_FLOW_FIELDS)
        p += 5;
    else
        return false;
    if (!(fr_addr(&p, f->exporter) && fr_addr(&p, f->src_addr) && fr_addr(&p, f->dst_addr) &&
          fr_addr(&p, f->next_hop) && fr_u64(&p, &f->first_ms) && fr_u64(&p, &f->last_ms) &&
          fr_u64(&p, &f->bytes) && fr_u64(&p, &f->packets) && fr_u64(&p, &f->flows) &&
          fr_u32(&p, &f->domain_id) && fr_u32(&p, &f->in_if) && fr_u32(&p, &f->out_if) &&
          fr_u32(&p, &f->src_as) && fr_u32(&p, &f->dst_as) && fr_u32(&p, &f->sampling) &&
          fr_u16(&p, &f->src_port) && fr_u16(&p, &f->dst_port) && fr_u16(&p, &f->vlan) &&
          fr_u8(&p, &f->proto) && fr_u8(&p, &f->tcp_flags) && fr_u8(&p, &f->tos) &&
          fr_u8(&p, &f->src_mask) && fr_u8(&p, &f->dst_mask) && fr_u8(&p, &f->direction) &&
          fr_u8(&p, &f->version) && fr_u8(&p, &f->flags)))
        return false;
    f->reserved[0] = f->reserved[1] = 0;
    *pp = p;
    return true;
}

/* Checks the fixed header fields every reader relies on. */
static int batch_check_frame(const uint8_t *buf, size_t len)
{
    if (len < FL0WER_BATCH_HEADER_LEN)
        return FL0WER_BATCH_ERR_SHORT;
    if (memcmp(buf, FL0WER_BATCH_MAGIC, 4) != 0 ||
        (buf[4] != FL0WER_BATCH_FRAME_VER && buf[4] != FL0WER_BATCH_FRAME_V2) || buf[5] || buf[6] ||
        buf[7])
        return FL0WER_BATCH_ERR_MAGIC;
    if (len > FL0WER_BATCH_MAX_LEN)
        return FL0WER_BATCH_ERR_TOO_LARGE;
    return 0;
}

int fl0wer_batch_peek_key(const uint8_t *buf, size_t len, uint8_t pk[FL0WER_PUBKEY_LEN])
{
    int rc = batch_check_frame(buf, len);
    if (rc == 0)
        memcpy(pk, buf + BATCH_OFF_PK, FL0WER_PUBKEY_LEN);
    return rc;
}

/* The signature covers header[0, 40) || the payload's digest (SHA-256 for frame version 3,
 * BLAKE2b-256 for 2); the payload is hashed where it lies. */
int fl0wer_batch_verify(const uint8_t *buf, size_t len, const uint8_t pk[FL0WER_PUBKEY_LEN])
{
    uint8_t m[BATCH_SIGNED_LEN];
    int rc = batch_check_frame(buf, len);
    if (rc)
        return rc;
    if (sodium_init() < 0)
        return FL0WER_BATCH_ERR_NOMEM;
    batch_signed_message(buf, len, m);
    if (crypto_sign_verify_detached(buf + BATCH_OFF_SIG, m, sizeof(m), pk) != 0)
        return FL0WER_BATCH_ERR_SIGNATURE;
    return 0;
}

/* Reads one exporter array; the error-counter array may be shorter or longer than ours. */
static int batch_read_exporter(struct mp_cur *c, struct fl0wer_exporter_stats *s)
{
    uint64_t nerr;
    memset(s, 0, sizeof(*s));
    if (mp_array_of(c, BATCH_EXPORTER_FIELDS) || mp_addr(c, s->addr) || mp_u16(c, &s->port) ||
        mp_u32(c, &s->domain_id) || mp_u8(c, &s->version) || mp_u64(c, &s->messages) ||
        mp_u64(c, &s->records) || mp_u64(c, &s->bytes) || mp_u64(c, &s->sequence_gaps) ||
        mp_u64(c, &s->unknown_template) || mp_u64(c, &s->templates) || mp_array(c, &nerr) ||
        nerr > BATCH_EXPORTER_ERRORS_MAX)
        return FL0WER_BATCH_ERR_SCHEMA;
    for (uint64_t i = 0; i < nerr; i++) {
        uint64_t v;
        if (mp_u64(c, &v))
            return FL0WER_BATCH_ERR_SCHEMA;
        if (i < FL0WER_DERR__COUNT)
            s->errors[i] = v;
    }
    return mp_u64(c, &s->last_seen_ms) || mp_u32(c, &s->sampling) ? FL0WER_BATCH_ERR_SCHEMA : 0;
}

/* Reads one interface array; names longer than the struct fields are truncated. */
static int batch_read_interface(struct mp_cur *c, struct fl0wer_interface_info *i)
{
    memset(i, 0, sizeof(*i));
    return mp_array_of(c, BATCH_INTERFACE_FIELDS) || mp_addr(c, i->exporter) ||
                   mp_u32(c, &i->domain_id) || mp_u32(c, &i->ifindex) ||
                   mp_cstr(c, i->name, sizeof(i->name)) ||
                   mp_cstr(c, i->description, sizeof(i->description))
               ? FL0WER_BATCH_ERR_SCHEMA
               : 0;
}

/* Declared in batch_internal.h. */
int batch_read_list(struct mp_cur *c, size_t elem, size_t min_elem, void **arr, size_t *cap,
                    size_t *count)
{
    uint64_t n;
    int rc = mp_list_count(c, min_elem, &n);
    if (rc != 0)
        return rc;
    if (n > *cap) {
        free(*arr);
        *cap = 0;
        *arr = malloc((size_t)n * elem);
        if (!*arr)
            return FL0WER_BATCH_ERR_NOMEM;
        *cap = (size_t)n;
    }
    *count = (size_t)n;
    return 0;
}

/* True when name is 1-63 characters of [A-Za-z0-9._-] (the key-file name rule). */
static bool batch_name_valid(const uint8_t *s, uint64_t len)
{
    if (len == 0 || len >= FL0WER_EDGE_NAME_MAX)
        return false;
    for (uint64_t i = 0; i < len; i++) {
        uint8_t ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

/* Reads the fields before the sources or flows: schema version (1 in an array of 8, 2 in an
 * array of 10), name, seq, created, edge report. */
static int batch_read_prefix(struct mp_cur *c, struct fl0wer_batch *b, uint64_t *schema)
{
    uint64_t top, nlen;
    const uint8_t *name;
    struct fl0wer_edge_report *r = &b->report;
    if (mp_array(c, &top) || mp_u64(c, schema) ||
        !((*schema == 1 && top == BATCH_TOP_FIELDS) ||
          (*schema == 2 && top == BATCH_TOP_FIELDS_V2)) ||
        mp_blob(c, true, &name, &nlen) || !batch_name_valid(name, nlen))
        return FL0WER_BATCH_ERR_SCHEMA;
    memcpy(b->edge_name, name, (size_t)nlen);
    b->edge_name[nlen] = '\0';
    if (mp_u64(c, &b->seq) || mp_u64(c, &b->created_ms) ||
        mp_array_of(c, BATCH_REPORT_FIELDS) || mp_u64(c, &r->started_ms) ||
        mp_u64(c, &r->packets_received) || mp_u64(c, &r->kernel_drops) ||
        mp_u64(c, &r->records_decoded) || mp_u64(c, &r->records_sent) ||
        mp_u64(c, &r->records_dropped) || mp_u64(c, &r->spool_batches) ||
        mp_u64(c, &r->spool_bytes))
        return FL0WER_BATCH_ERR_SCHEMA;
    return 0;
}

/* Parses the payload into b (arrays reused); on failure the caller zeroes the counts. */
static int batch_read_payload(struct mp_cur *c, struct fl0wer_batch *b)
{
    uint64_t schema;
    int rc = batch_read_prefix(c, b, &schema);
    if (rc)
        return rc;
    if (schema == 2) {
        rc = batch_read_flows_v2(c, b);
    } else {
        rc = batch_read_list(c, sizeof(*b->flows), 1 + BATCH_FLOW_FIELDS, (void **)&b->flows,
                             &b->flow_cap, &b->flow_count);
        for (size_t i = 0; rc == 0 && i < b->flow_count; i++)
            rc = mp_read_flow(c, BATCH_FLOW_MAX_WIRE, flow_read_at, NULL, &b->flows[i]);
    }
    if (rc)
        return rc;
    rc = batch_read_list(c, sizeof(*b->exporters), 1 + BATCH_EXPORTER_FIELDS,
                         (void **)&b->exporters, &b->exporter_cap, &b->exporter_count);
    for (size_t i = 0; rc == 0 && i < b->exporter_count; i++)
        rc = batch_read_exporter(c, &b->exporters[i]);
    if (rc)
        return rc;
    rc = batch_read_list(c, sizeof(*b->interfaces), 1 + BATCH_INTERFACE_FIELDS,
                         (void **)&b->interfaces, &b->interface_cap, &b->interface_count);
    for (size_t i = 0; rc == 0 && i < b->interface_count; i++)
        rc = batch_read_interface(c, &b->interfaces[i]);
    if (rc)
        return rc;
    return c->p == c->end ? 0 : FL0WER_BATCH_ERR_SCHEMA; /* no trailing bytes */
}

int fl0wer_batch_parse_reuse(const uint8_t *buf, size_t len, struct fl0wer_batch *b)
{
    b->flow_count = b->exporter_count = b->interface_count = 0;
    int rc = batch_check_frame(buf, len);
    if (rc)
        return rc;
    memcpy(b->edge_pk, buf + BATCH_OFF_PK, FL0WER_PUBKEY_LEN);
    struct mp_cur c = {buf + FL0WER_BATCH_HEADER_LEN, buf + len};
    rc = batch_read_payload(&c, b);
    if (rc)
        b->flow_count = b->exporter_count = b->interface_count = 0;
    return rc;
}

int fl0wer_batch_parse(const uint8_t *buf, size_t len, struct fl0wer_batch *out)
{
    memset(out, 0, sizeof(*out));
    int rc = fl0wer_batch_parse_reuse(buf, len, out);
    if (rc) {
        fl0wer_batch_release(out);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
