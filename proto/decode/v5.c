/*
 * v5.c - NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records, IPv4 only.
 */
#include <string.h>

#include "cursor.h"
#include "internal.h"

#define V5_HEADER 24
#define V5_RECORD 48
#define V5_MAX_COUNT 30
#define V5_SEQ_WINDOW (1u << 24)

/* Builds over the prototype proto the flow of one 48-byte record at p into f (a batch slot). */
static void v5_record(const struct dec_pkt *pk, const uint8_t *p, const struct fl0wer_flow *proto,
                      struct fl0wer_flow *f)
{
    memcpy(f, proto, sizeof(*f));
    fl0wer_addr_from_v4(f->src_addr, p);
    fl0wer_addr_from_v4(f->dst_addr, p + 4);
    if (dec_be32(p + 8) != 0)
        fl0wer_addr_from_v4(f->next_hop, p + 8);
    f->in_if = dec_be16(p + 12);
    f->out_if = dec_be16(p + 14);
    f->packets = dec_be32(p + 16);
    f->bytes = dec_be32(p + 20);
    if (pk->export_ms) {
        uint32_t first_ago = pk->sys_uptime - dec_be32(p + 24);
        uint32_t last_ago = pk->sys_uptime - dec_be32(p + 28);

        f->first_ms = pk->export_ms > first_ago ? pk->export_ms - first_ago : 0;
        f->last_ms = pk->export_ms > last_ago ? pk->export_ms - last_ago : 0;
    } else {
        f->first_ms = f->last_ms = pk->src->recv_ms;
        f->flags |= FL0WER_FLOW_F_TIME_RECV;
    }
    f->src_port = dec_be16(p + 32);
    f->dst_port = dec_be16(p + 34);
    f->tcp_flags = p[37];
    f->proto = p[38];
    f->tos = p[39];
    f->src_as = dec_be16(p + 40);
    f->dst_as = dec_be16(p + 42);
    f->src_mask = p[44];
    f->dst_mask = p[45];
}

/*
 * Decodes a v5 packet. A header count above 30 or beyond the datagram is a V5_COUNT error: the
 * records that are wholly present are still decoded, and FL0WER_ERR_FORMAT is returned.
 */
int dec_v5(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len)
{
    struct dec_exporter *ex;
    struct fl0wer_flow proto;
    uint16_t count, si;
    size_t avail;
    int rc = FL0WER_OK;

    if (len < V5_HEADER) {
        struct fl0wer_source s = *pk->src;

        dec_count_error(d, dec_exporter_get(d, &s, 0, 5), FL0WER_DERR_SHORT);
        return FL0WER_ERR_SHORT;
    }
    ex = dec_message_begin(pk, (uint32_t)buf[20] << 8 | buf[21], 5, len);
    if (ex == NULL)
        return FL0WER_ERR_LIMIT;
    count = dec_be16(buf + 2);
    pk->sys_uptime = dec_be32(buf + 4);
    pk->export_ms = (uint64_t)dec_be32(buf + 8) * 1000 + dec_be32(buf + 12) / 1000000;
    si = dec_be16(buf + 22);
    if ((si & 0x3fff) > 1) {
        ex->wide_sampling = si & 0x3fff;
        ex->st.sampling = ex->wide_sampling;
    }
    avail = (len - V5_HEADER) / V5_RECORD;
    if (count > V5_MAX_COUNT || count > avail) {
        dec_count_error(d, ex, FL0WER_DERR_V5_COUNT);
        rc = FL0WER_ERR_FORMAT;
        if (count > avail)
            count = (uint16_t)(avail < V5_MAX_COUNT ? avail : V5_MAX_COUNT);
        else
            count = V5_MAX_COUNT;
    }
    dec_sequence(ex, dec_be32(buf + 16), count, V5_SEQ_WINDOW);
    fl0wer_flow_init(&proto);
    proto.version = FL0WER_EXPORT_NETFLOW5;
    memcpy(proto.exporter, pk->src->addr, FL0WER_ADDR_LEN);
    proto.domain_id = ex->st.domain_id;
    proto.sampling = ex->wide_sampling ? ex->wide_sampling : d->cfg.default_sampling;
    for (uint16_t i = 0; i < count; i++) {
        if (pk->cb_failed)
            return FL0WER_ERR_CALLBACK;
        v5_record(pk, buf + V5_HEADER + (size_t)i * V5_RECORD, &proto, &d->batch[d->nbatch]);
        ex->st.records++;
        pk->data_records++;
        if (++d->nbatch == DEC_BATCH && dec_flush(pk) != FL0WER_OK)
            return FL0WER_ERR_CALLBACK;
    }
    return rc;
}
