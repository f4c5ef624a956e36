/*
 * hold.c - packets whose data sets arrived before their template.
 *
 * Per (exporter, domain) up to cfg.hold_packets copies are kept (FIFO), each with the offsets of
 * its pending data sets. When a packet of that exporter brings a new template, the pending sets
 * whose template is now known are decoded (dec_hold_retry); the others stay. A set is counted
 * as unknown_template only when it is given up (evicted, expired, flushed, exporter reboot) or
 * when it could not be held at all.
 */
#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "internal.h"

/* Frees the packet copy of h (the slot itself belongs to the exporter's array). */
void dec_hold_free(struct fl0wer_decoder *d, struct dec_held *h)
{
    d->held_bytes -= h->len;
    free(h->buf);
    h->buf = NULL;
    h->len = 0;
    h->nsets = 0;
}

/* Gives up held packet i of ex: its pending sets count as unknown_template. */
static void give_up(struct fl0wer_decoder *d, struct dec_exporter *ex, uint32_t i)
{
    ex->st.unknown_template += ex->held[i].nsets;
    dec_hold_free(d, &ex->held[i]);
    memmove(&ex->held[i], &ex->held[i + 1], (ex->nheld - i - 1) * sizeof(ex->held[0]));
    ex->nheld--;
}

/* Gives up every held packet of ex. */
void dec_hold_drop_all(struct fl0wer_decoder *d, struct dec_exporter *ex)
{
    while (ex->nheld > 0)
        give_up(d, ex, 0);
}

/* Gives up held packets of ex received more than max_age_ms before now_ms. */
void dec_hold_expire(struct fl0wer_decoder *d, struct dec_exporter *ex, uint64_t now_ms,
                     uint64_t max_age_ms)
{
    uint32_t i = 0;

    while (i < ex->nheld) {
        if (now_ms > ex->held[i].recv_ms && now_ms - ex->held[i].recv_ms > max_age_ms)
            give_up(d, ex, i);
        else
            i++;
    }
}

/*
 * Remembers that the data set at set_off of the packet being decoded has no template yet, holding
 * a copy of the packet (once per packet). Returns 0 when held, -1 when holding is disabled or
 * impossible (the caller then counts the set as unknown_template).
 */
int dec_hold_begin(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off)
{
    struct fl0wer_decoder *d = pk->d;
    struct dec_exporter *ex = pk->ex;
    uint32_t cap = d->cfg.hold_packets;

    if (pk->replaying || (d->cfg.flags & FL0WER_DECODER_NO_HOLD) || cap == 0)
        return -1;
    if (pk->hold == NULL) {
        struct dec_held *h;

        if (d->held_bytes + len > DEC_HOLD_MAX_BYTES)
            return -1;
        if (ex->held == NULL && (ex->held = calloc(cap, sizeof(*ex->held))) == NULL)
            return -1;
        if (ex->nheld == cap)
            give_up(d, ex, 0);
        h = &ex->held[ex->nheld];
        if ((h->buf = malloc(len)) == NULL)
            return -1;
        memcpy(h->buf, buf, len);
        h->len = len;
        h->recv_ms = pk->src->recv_ms;
        h->nsets = 0;
        d->held_bytes += len;
        d->held_total++;
        ex->nheld++;
        pk->hold = h;
    }
    if (pk->hold->nsets == DEC_HOLD_MAX_SETS)
        return -1;
    pk->hold->set_off[pk->hold->nsets++] = (uint16_t)set_off;
    return 0;
}

/*
 * Decodes the pending sets of ex's held packets whose template is now known, through the
 * callback of the packet being decoded. Fully decoded packets are released.
 */
void dec_hold_retry(struct dec_pkt *pk)
{
    struct fl0wer_decoder *d = pk->d;
    struct dec_exporter *ex = pk->ex;
    uint32_t i = 0;

    while (i < ex->nheld && !pk->cb_failed) {
        struct dec_held *h = &ex->held[i];
        uint16_t k = 0;

        while (k < h->nsets) {
            bool unknown = false;

            dec_replay_set(pk, h->buf, h->len, h->set_off[k], &unknown);
            if (unknown) {
                k++;
                continue;
            }
            h->set_off[k] = h->set_off[--h->nsets];
        }
        if (h->nsets == 0) {
            dec_hold_free(d, h);
            memmove(&ex->held[i], &ex->held[i + 1], (ex->nheld - i - 1) * sizeof(ex->held[0]));
            ex->nheld--;
        } else {
            i++;
        }
    }
    pk->hold = NULL;
}

/*
 * Decodes the data set at set_off of a held v9 / IPFIX packet (validated when it was held) with
 * the time context of that packet's header. *still_unknown is set when its template is still
 * missing. Returns what dec_data_set returned, or 0.
 */
int dec_replay_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off,
                   bool *still_unknown)
{
    struct dec_pkt rp = *pk;
    const struct dec_template *t;
    uint16_t id, slen;
    int rc;

    *still_unknown = false;
    if (set_off + 4 > len)
        return FL0WER_OK;
    id = dec_be16(buf + set_off);
    slen = dec_be16(buf + set_off + 2);
    if (slen < 4 || set_off + slen > len)
        return FL0WER_OK;
    t = dec_template_find(pk->d, pk->ex, id, pk->src->recv_ms);
    if (t == NULL) {
        *still_unknown = true;
        return FL0WER_OK;
    }
    rp.replaying = true;
    rp.hold = NULL;
    rp.version = (uint8_t)dec_be16(buf);
    if (rp.version == 9) {
        rp.sys_uptime = dec_be32(buf + 4);
        rp.export_ms = (uint64_t)dec_be32(buf + 8) * 1000;
    } else {
        rp.version = FL0WER_EXPORT_IPFIX;
        rp.sys_uptime = 0;
        rp.export_ms = (uint64_t)dec_be32(buf + 4) * 1000;
    }
    rc = dec_data_set(&rp, t, buf + set_off + 4, buf + set_off + slen);
    pk->cb_failed = rp.cb_failed;
    return rc;
}
