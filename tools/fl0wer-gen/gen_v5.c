/*
 * gen_v5.c - NetFlow v5 export packets: 24-byte header (flow_sequence counts flows sent before,
 * sampling_interval = mode 01 | 14-bit interval) and 48-byte records with sysUptime-relative
 * times. Addresses must be IPv4 (the model gives v5 exporters only IPv4 flows).
 */
#include "gen.h"

#define V5_HEADER 24
#define V5_RECORD 48

static uint32_t uptime(const struct gen_exporter *ex, uint64_t ms)
{
    return (uint32_t)(ms - ex->boot_ms);
}

size_t gen_v5_encode(struct gen_exporter *ex, const struct gen_packet_plan *p, uint32_t sampling,
                     uint8_t *buf)
{
    uint8_t *w = buf;

    w = gen_put16(w, 5);
    w = gen_put16(w, (uint16_t)p->n_flows);
    w = gen_put32(w, uptime(ex, p->export_ms));
    w = gen_put32(w, (uint32_t)(p->export_ms / 1000));
    w = gen_put32(w, (uint32_t)(p->export_ms % 1000) * 1000000u);
    w = gen_put32(w, ex->sequence);
    w = gen_put8(w, (uint8_t)(ex->domain_id >> 8));
    w = gen_put8(w, (uint8_t)ex->domain_id);
    w = gen_put16(w, sampling > 1 ? (uint16_t)(0x4000u | (sampling & 0x3fff)) : 0);
    for (size_t i = 0; i < p->n_flows; i++) {
        const struct fl0wer_flow *f = &p->flows[i];

        for (int k = 12; k < 16; k++)
            *w++ = f->src_addr[k];
        for (int k = 12; k < 16; k++)
            *w++ = f->dst_addr[k];
        w = gen_put32(w, 0); /* nexthop */
        w = gen_put16(w, (uint16_t)f->in_if);
        w = gen_put16(w, (uint16_t)f->out_if);
        w = gen_put32(w, (uint32_t)f->packets);
        w = gen_put32(w, (uint32_t)f->bytes);
        w = gen_put32(w, uptime(ex, f->first_ms));
        w = gen_put32(w, uptime(ex, f->last_ms));
        w = gen_put16(w, f->src_port);
        w = gen_put16(w, f->dst_port);
        w = gen_put8(w, 0);
        w = gen_put8(w, f->tcp_flags);
        w = gen_put8(w, f->proto);
        w = gen_put8(w, f->tos);
        w = gen_put16(w, (uint16_t)f->src_as);
        w = gen_put16(w, (uint16_t)f->dst_as);
        w = gen_put8(w, f->src_mask);
        w = gen_put8(w, f->dst_mask);
        w = gen_put16(w, 0);
    }
    ex->sequence += (uint32_t)p->n_flows;
    return (size_t)(w - buf);
}
