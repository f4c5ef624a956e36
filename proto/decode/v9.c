/*
 * v9.c - NetFlow v9 (RFC 3954): header, template and options template flowsets, and the set
 * walk shared with IPFIX (dec_walk_sets) and the data set handling (dec_handle_data_set).
 */
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define V9_HEADER 20
#define V9_SEQ_WINDOW (1u << 16)

/* True when every byte of [p, end) is zero (trailing zero padding of a datagram). */
static bool all_zero(const uint8_t *p, const uint8_t *end)
{
    for (; p < end; p++)
        if (*p != 0)
            return false;
    return true;
}

/*
 * Decodes the data set with id at set_off (body [body, end)) of the packet buf, or, when its
 * template is unknown, holds it for later or counts it as unknown_template. Returns 0 or what
 * dec_data_set returned.
 */
int dec_handle_data_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off,
                        uint16_t id, const uint8_t *body, const uint8_t *end)
{
    const struct dec_template *t = dec_template_find(pk->d, pk->ex, id, pk->src->recv_ms);

    if (t == NULL) {
        pk->unknown_sets = true;
        if (dec_hold_begin(pk, buf, len, set_off) == 0)
            pk->held_sets++;
        else
            pk->ex->st.unknown_template++;
        return FL0WER_OK;
    }
    return dec_data_set(pk, t, body, end);
}

/* Stores a compiled template; counts it; notes that held data may now be decodable. */
int dec_learn_template(struct dec_pkt *pk, struct dec_template *t)
{
    bool changed;
    int rc;

    t->last_seen_ms = pk->src->recv_ms;
    pk->ex->st.templates++;
    rc = dec_template_store(pk->d, pk->ex, t, &changed);
    if (rc == FL0WER_OK && changed)
        pk->new_templates = true;
    return rc == FL0WER_ERR_FORMAT ? FL0WER_ERR_LIMIT : rc;
}

/* Parses the template records of a v9 template flowset body [p, end). */
static int v9_templates(struct dec_pkt *pk, const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 4) {
        uint16_t id = dec_be16(p), count = dec_be16(p + 2);
        struct dec_template *t;
        int rc;

        if (id == 0 && count == 0)
            break; /* padding */
        if (id < 256 || count == 0 || count > DEC_MAX_FIELDS ||
            (size_t)(end - p - 4) < (size_t)count * 4)
            return FL0WER_ERR_TEMPLATE;
        p += 4;
        if ((t = dec_template_alloc(count, (uint16_t)(count * 4))) == NULL)
            return FL0WER_ERR_NOMEM;
        t->id = id;
        memcpy(t->raw, p, (size_t)count * 4);
        for (uint16_t i = 0; i < count; i++, p += 4)
            dec_compile_field(&t->ops[i], &t->has, dec_be16(p), 0, dec_be16(p + 2));
        if (dec_template_finish(t) != FL0WER_OK) {
            dec_template_free(t);
            return FL0WER_ERR_TEMPLATE;
        }
        if ((rc = dec_learn_template(pk, t)) != FL0WER_OK)
            return rc;
    }
    return FL0WER_OK;
}

/*
 * Parses a v9 options template flowset body: scope and option lengths are in bytes; a scope
 * length of 0 (Juniper SRX) is accepted. What is left shorter than a record header is padding.
 */
static int v9_options_templates(struct dec_pkt *pk, const uint8_t *p, const uint8_t *end)
{
    while (end - p >= 6) {
        uint16_t id = dec_be16(p), slen = dec_be16(p + 2), olen = dec_be16(p + 4);
        uint32_t nscope = slen / 4u, nops = nscope + olen / 4u;
        struct dec_template *t;
        int rc;

        if (id == 0)
            break; /* padding */
        if (id < 256 || slen % 4 || olen % 4 || nops == 0 || nops > DEC_MAX_FIELDS ||
            (size_t)(end - p - 6) < (size_t)slen + olen)
            return FL0WER_ERR_TEMPLATE;
        p += 6;
        if ((t = dec_template_alloc((uint16_t)nops, (uint16_t)(slen + olen))) == NULL)
            return FL0WER_ERR_NOMEM;
        t->id = id;
        t->options = true;
        t->scope_ops = (uint16_t)nscope;
        memcpy(t->raw, p, (size_t)slen + olen);
        for (uint32_t i = 0; i < nops; i++, p += 4) {
            if (i < nscope)
                dec_compile_v9_scope(&t->ops[i], &t->has, dec_be16(p), dec_be16(p + 2));
            else
                dec_compile_field(&t->ops[i], &t->has, dec_be16(p), 0, dec_be16(p + 2));
        }
        if (dec_template_finish(t) != FL0WER_OK) {
            dec_template_free(t);
            return FL0WER_ERR_TEMPLATE;
        }
        if ((rc = dec_learn_template(pk, t)) != FL0WER_OK)
            return rc;
    }
    return FL0WER_OK;
}

/* Counts a failed template set under the right kind; keeps the set walk going. */
static void count_template_rc(struct dec_pkt *pk, int rc, int *first_rc)
{
    if (rc == FL0WER_OK)
        return;
    if (rc == FL0WER_ERR_TEMPLATE)
        dec_count_error(pk->d, pk->ex, FL0WER_DERR_TEMPLATE);
    else if (rc == FL0WER_ERR_LIMIT)
        dec_count_error(pk->d, pk->ex, FL0WER_DERR_LIMIT);
    if (*first_rc == FL0WER_OK)
        *first_rc = rc;
}

static int v9_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t off, uint16_t id,
                  const uint8_t *body, const uint8_t *end)
{
    if (id == 0)
        return v9_templates(pk, body, end);
    if (id == 1)
        return v9_options_templates(pk, body, end);
    return dec_handle_data_set(pk, buf, len, off, id, body, end);
}

/*
 * Walks the sets of a v9 packet or IPFIX message [buf, buf + len) from off, in order, calling
 * the version's handler for each. A set shorter than its header or longer than what is left
 * ends the walk with an error (counted); all-zero trailing bytes are padding; reserved set ids
 * are counted and skipped. Returns the first error met, or 0.
 */
int dec_walk_sets(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t off,
                  dec_set_fn fn)
{
    int first_rc = FL0WER_OK;

    while (len - off >= 4 && !pk->cb_failed) {
        const uint8_t *p = buf + off;
        uint16_t id = dec_be16(p), slen = dec_be16(p + 2);
        int rc;

        if (all_zero(p, buf + len))
            break;
        if (slen < 4) {
            dec_count_error(pk->d, pk->ex, FL0WER_DERR_LENGTH);
            return first_rc != FL0WER_OK ? first_rc : FL0WER_ERR_FORMAT;
        }
        if (slen > len - off) {
            dec_count_error(pk->d, pk->ex, FL0WER_DERR_LENGTH);
            return first_rc != FL0WER_OK ? first_rc : FL0WER_ERR_SHORT;
        }
        if (pk->version == FL0WER_EXPORT_IPFIX ? (id < 2 || (id > 3 && id < 256))
                                               : (id > 1 && id < 256)) {
            dec_count_error(pk->d, pk->ex, FL0WER_DERR_SET_ID);
            if (first_rc == FL0WER_OK)
                first_rc = FL0WER_ERR_FORMAT;
        } else {
            rc = fn(pk, buf, len, off, id, p + 4, p + slen);
            if (rc == FL0WER_ERR_CALLBACK)
                return rc;
            count_template_rc(pk, rc, &first_rc);
        }
        off += slen;
    }
    return first_rc;
}

int dec_v9(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len)
{
    struct dec_exporter *ex;
    uint32_t uptime, secs;

    if (len < V9_HEADER) {
        dec_count_error(d, dec_exporter_get(d, pk->src, 0, 9), FL0WER_DERR_SHORT);
        return FL0WER_ERR_SHORT;
    }
    ex = dec_message_begin(pk, dec_be32(buf + 16), 9, len);
    if (ex == NULL)
        return FL0WER_ERR_LIMIT;
    uptime = dec_be32(buf + 4);
    secs = dec_be32(buf + 8);
    if (dec_v9_rebooted(ex, uptime, secs)) {
        dec_template_remove_all(d, ex, -1);
        dec_hold_drop_all(d, ex);
        ex->have_seq = false;
    }
    ex->have_uptime = true;
    ex->last_uptime = uptime;
    ex->last_unix_secs = secs;
    pk->sys_uptime = uptime;
    pk->export_ms = (uint64_t)secs * 1000;
    dec_sequence(ex, dec_be32(buf + 12), 1, V9_SEQ_WINDOW);
    return dec_walk_sets(pk, buf, len, V9_HEADER, v9_set);
}
