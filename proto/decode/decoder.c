/*
 * decoder.c - the public API of decode.h: lifecycle, per-packet dispatch by version, expiry,
 * counters and error names.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define EXPIRE_EVERY_MS 60000u
#define MAX_HOLD_PACKETS 64u

const char *fl0wer_decode_error_name(enum fl0wer_decode_error kind)
{
    static const char *const names[FL0WER_DERR__COUNT] = {
        [FL0WER_DERR_SHORT] = "short",       [FL0WER_DERR_VERSION] = "version",
        [FL0WER_DERR_LENGTH] = "length",     [FL0WER_DERR_SET_ID] = "set_id",
        [FL0WER_DERR_TEMPLATE] = "template", [FL0WER_DERR_RECORD] = "record",
        [FL0WER_DERR_V5_COUNT] = "v5_count", [FL0WER_DERR_LIMIT] = "limit",
    };

    if ((unsigned)kind >= FL0WER_DERR__COUNT)
        return "unknown";
    return names[kind];
}

const char *fl0wer_strerror(int rc)
{
    switch (rc) {
    case FL0WER_OK:
        return "ok";
    case FL0WER_ERR_NOMEM:
        return "out of memory";
    case FL0WER_ERR_INVAL:
        return "invalid argument";
    case FL0WER_ERR_SHORT:
        return "packet shorter than a length it states";
    case FL0WER_ERR_VERSION:
        return "not netflow v5/v9 or ipfix";
    case FL0WER_ERR_FORMAT:
        return "malformed length, count or id";
    case FL0WER_ERR_TEMPLATE:
        return "malformed template";
    case FL0WER_ERR_CALLBACK:
        return "flow callback stopped decoding";
    case FL0WER_ERR_LIMIT:
        return "configured limit reached";
    default:
        return "unknown error";
    }
}

int fl0wer_decoder_create(struct fl0wer_decoder **out, const struct fl0wer_decoder_config *cfg)
{
    struct fl0wer_decoder *d;

    if (out == NULL)
        return FL0WER_ERR_INVAL;
    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return FL0WER_ERR_NOMEM;
    if (cfg != NULL)
        d->cfg = *cfg;
    if (d->cfg.template_timeout_s == 0)
        d->cfg.template_timeout_s = 1800;
    if (d->cfg.max_templates == 0)
        d->cfg.max_templates = 65536;
    if (d->cfg.max_exporters == 0)
        d->cfg.max_exporters = 65536;
    if (d->cfg.default_sampling == 0)
        d->cfg.default_sampling = 1;
    if (d->cfg.hold_packets == 0)
        d->cfg.hold_packets = 4;
    if (d->cfg.hold_packets > MAX_HOLD_PACKETS)
        d->cfg.hold_packets = MAX_HOLD_PACKETS;
    if (d->cfg.flags & FL0WER_DECODER_NO_HOLD)
        d->cfg.hold_packets = 0;
    *out = d;
    return FL0WER_OK;
}

void fl0wer_decoder_destroy(struct fl0wer_decoder *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < d->ex_cap; i++)
        if (d->ex[i] != NULL)
            dec_exporter_free(d, d->ex[i]);
    free(d->ex);
    free(d);
}

void fl0wer_decoder_expire(struct fl0wer_decoder *d, uint64_t now_ms)
{
    if (d == NULL)
        return;
    d->last_expire_ms = now_ms;
    for (uint32_t i = 0; i < d->ex_cap; i++) {
        struct dec_exporter *ex = d->ex[i];

        if (ex == NULL)
            continue;
        dec_template_expire(d, ex, now_ms);
        dec_hold_expire(d, ex, now_ms, (uint64_t)d->cfg.template_timeout_s * 1000);
    }
}

int fl0wer_decode_packet(struct fl0wer_decoder *d, const struct fl0wer_source *src,
                         const uint8_t *buf, size_t len, fl0wer_flow_cb cb, void *arg)
{
    struct dec_pkt pk;
    uint16_t version;
    int rc, frc;

    if (d == NULL || src == NULL || (buf == NULL && len != 0))
        return FL0WER_ERR_INVAL;
    if (src->recv_ms > d->last_expire_ms + EXPIRE_EVERY_MS)
        fl0wer_decoder_expire(d, src->recv_ms);
    memset(&pk, 0, sizeof(pk));
    pk.d = d;
    pk.src = src;
    pk.cb = cb;
    pk.arg = arg;
    d->nbatch = 0;
    if (len < 2) {
        dec_count_error(d, dec_exporter_get(d, src, 0, 0), FL0WER_DERR_SHORT);
        return FL0WER_ERR_SHORT;
    }
    version = dec_be16(buf);
    pk.version = version == 10 ? FL0WER_EXPORT_IPFIX : (uint8_t)version;
    switch (version) {
    case 5:
        rc = dec_v5(d, &pk, buf, len);
        break;
    case 9:
        rc = dec_v9(d, &pk, buf, len);
        break;
    case 10:
        rc = dec_ipfix(d, &pk, buf, len);
        break;
    default:
        dec_count_error(d, dec_exporter_get(d, src, 0, 0), FL0WER_DERR_VERSION);
        return FL0WER_ERR_VERSION;
    }
    if (pk.ex != NULL && pk.new_templates && pk.ex->nheld > 0 && !pk.cb_failed)
        dec_hold_retry(&pk);
    frc = dec_flush(&pk);
    if (pk.cb_failed)
        return FL0WER_ERR_CALLBACK;
    return rc != FL0WER_OK ? rc : frc;
}

size_t fl0wer_decoder_foreach_exporter(const struct fl0wer_decoder *d,
                                       void (*fn)(void *arg, const struct fl0wer_exporter_stats *s),
                                       void *arg)
{
    size_t n = 0;

    if (d == NULL)
        return 0;
    for (uint32_t i = 0; i < d->ex_cap; i++) {
        const struct dec_exporter *ex = d->ex[i];
        struct fl0wer_exporter_stats s;

        if (ex == NULL)
            continue;
        s = ex->st;
        s.templates = ex->st.templates;
        if (fn != NULL)
            fn(arg, &s);
        n++;
    }
    return n;
}

size_t fl0wer_decoder_foreach_interface(const struct fl0wer_decoder *d,
                                        void (*fn)(void *arg,
                                                   const struct fl0wer_interface_info *i),
                                        void *arg)
{
    size_t n = 0;

    if (d == NULL)
        return 0;
    for (uint32_t i = 0; i < d->ex_cap; i++) {
        const struct dec_exporter *ex = d->ex[i];

        if (ex == NULL)
            continue;
        for (uint32_t k = 0; k < ex->nifs; k++) {
            if (fn != NULL)
                fn(arg, &ex->ifs[k]);
            n++;
        }
    }
    return n;
}

void fl0wer_decoder_totals(const struct fl0wer_decoder *d, struct fl0wer_decoder_totals *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (d == NULL)
        return;
    out->errors = d->orphan_errors;
    out->held = d->held_total;
    for (uint32_t i = 0; i < d->ex_cap; i++) {
        const struct dec_exporter *ex = d->ex[i];

        if (ex == NULL)
            continue;
        out->messages += ex->st.messages;
        out->records += ex->st.records;
        out->unknown_template += ex->st.unknown_template;
        out->templates += ex->st.templates;
        for (int k = 0; k < FL0WER_DERR__COUNT; k++)
            out->errors += ex->st.errors[k];
    }
}

void fl0wer_decoder_flush_held(struct fl0wer_decoder *d)
{
    if (d == NULL)
        return;
    for (uint32_t i = 0; i < d->ex_cap; i++)
        if (d->ex[i] != NULL)
            dec_hold_drop_all(d, d->ex[i]);
}
