/*
 * ipfix.c - IPFIX (RFC 7011): message header, template and options template sets (enterprise
 * IEs, withdrawals) and data sets through the shared set walk of v9.c.
 */
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define IPFIX_HEADER 16
#define IPFIX_SEQ_WINDOW (1u << 24)

/*
 * Measures the field specifiers of a template record: count specifiers starting at p, each 4
 * bytes plus 4 for a PEN when the enterprise bit is set. Returns their byte length, or 0 when
 * they run past end.
 */
static size_t spec_bytes(const uint8_t *p, const uint8_t *end, uint16_t count)
{
    const uint8_t *q = p;

    for (uint16_t i = 0; i < count; i++) {
        size_t need;

        if (end - q < 4)
            return 0;
        need = (q[0] & 0x80) ? 8 : 4;
        if ((size_t)(end - q) < need)
            return 0;
        q += need;
    }
    return (size_t)(q - p);
}

/* Compiles count specifiers at p (already measured) into t. */
static void compile_specs(struct dec_template *t, const uint8_t *p, uint16_t count)
{
    for (uint16_t i = 0; i < count; i++) {
        uint16_t id = dec_be16(p), len = dec_be16(p + 2);
        uint32_t pen = 0;

        if (id & 0x8000) {
            pen = dec_be32(p + 4);
            p += 8;
        } else {
            p += 4;
        }
        dec_compile_field(&t->ops[i], &t->has, (uint16_t)(id & 0x7fff), pen, len);
    }
}

/*
 * Withdraws template id (field count 0). RFC 7011 §8.1 forbids withdrawals over UDP, but fl0wer
 * honours them whatever the transport: an exporter that sends one no longer uses the template.
 * Id 2 (set 2) / 3 (set 3) withdraws all data / options templates.
 */
static void withdraw(struct dec_pkt *pk, uint16_t id, bool options)
{
    if (id == 2 || id == 3)
        dec_template_remove_all(pk->d, pk->ex, options ? 1 : 0);
    else
        dec_template_remove(pk->d, pk->ex, id);
}

/*
 * Parses the records of a template (set 2) or options template (set 3) set body [p, end).
 * Trailing bytes that cannot start a record, or a zero template id, are padding.
 */
static int ipfix_templates(struct dec_pkt *pk, const uint8_t *p, const uint8_t *end,
                           bool options)
{
    while (end - p >= 4) {
        uint16_t id = dec_be16(p), count = dec_be16(p + 2), scope = 0;
        size_t hdr = options ? 6 : 4, nbytes;
        struct dec_template *t;
        int rc;

        if (id == 0)
            break; /* padding */
        if (count == 0) {
            withdraw(pk, id, options);
            p += 4;
            continue;
        }
        if ((size_t)(end - p) < hdr)
            return FL0WER_ERR_TEMPLATE;
        if (options)
            scope = dec_be16(p + 4);
        if (id < 256 || count > DEC_MAX_FIELDS || scope > count)
            return FL0WER_ERR_TEMPLATE;
        p += hdr;
        nbytes = spec_bytes(p, end, count);
        if (nbytes == 0)
            return FL0WER_ERR_TEMPLATE;
        if ((t = dec_template_alloc(count, (uint16_t)nbytes)) == NULL)
            return FL0WER_ERR_NOMEM;
        t->id = id;
        t->options = options;
        t->scope_ops = scope;
        memcpy(t->raw, p, nbytes);
        compile_specs(t, p, count);
        p += nbytes;
        if (dec_template_finish(t) != FL0WER_OK) {
            dec_template_free(t);
            return FL0WER_ERR_TEMPLATE;
        }
        if ((rc = dec_learn_template(pk, t)) != FL0WER_OK)
            return rc;
    }
    return FL0WER_OK;
}

static int ipfix_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t off, uint16_t id,
                     const uint8_t *body, const uint8_t *end)
{
    if (id == 2 || id == 3)
        return ipfix_templates(pk, body, end, id == 3);
    return dec_handle_data_set(pk, buf, len, off, id, body, end);
}

/*
 * Decodes an IPFIX message. The header length must be at least 16 and within the datagram;
 * bytes after the message are ignored. The sequence number counts data records (flow and options
 * records); when a set could not be decoded the record count is unknown and the next message
 * resynchronises the expected number.
 */
int dec_ipfix(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len)
{
    struct dec_exporter *ex;
    uint16_t mlen;
    int rc;

    if (len < IPFIX_HEADER) {
        dec_count_error(d, dec_exporter_get(d, pk->src, 0, 10), FL0WER_DERR_SHORT);
        return FL0WER_ERR_SHORT;
    }
    ex = dec_message_begin(pk, dec_be32(buf + 12), 10, len);
    if (ex == NULL)
        return FL0WER_ERR_LIMIT;
    mlen = dec_be16(buf + 2);
    if (mlen < IPFIX_HEADER || mlen > len) {
        dec_count_error(d, ex, FL0WER_DERR_LENGTH);
        return mlen < IPFIX_HEADER ? FL0WER_ERR_FORMAT : FL0WER_ERR_SHORT;
    }
    pk->export_ms = (uint64_t)dec_be32(buf + 4) * 1000;
    rc = dec_walk_sets(pk, buf, mlen, IPFIX_HEADER, ipfix_set);
    dec_sequence(ex, dec_be32(buf + 8), pk->data_records, IPFIX_SEQ_WINDOW);
    if (pk->unknown_sets || rc != FL0WER_OK)
        ex->have_seq = false;
    return rc;
}
