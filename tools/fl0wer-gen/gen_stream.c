/*
 * gen_stream.c - cuts the model into export packets: exporters take turns, each packet carries
 * the exporter's next flows (as many as --records-per-packet or ~1400 bytes allow), templates
 * and sampling options ride at the front of the first packet and every N-th after it.
 */
#include <string.h>

#include "gen.h"

#define GEN_AUTO_BUDGET 1400 /* payload bytes when records_per_packet is 0 */

/* Worst-case bytes of headers and set framing (two data sets, padding) around the records. */
static size_t framing(const struct gen_exporter *ex)
{
    return ex->version == 5 ? 24 : ex->version == 9 ? 20 + 2 * (4 + 3) : 16 + 2 * 4;
}

/* Index of the next exporter with flows left, from the round-robin position; -1 when none. */
static int next_exporter(const struct gen_ctx *g)
{
    for (uint32_t k = 0; k < g->cfg.exporters; k++) {
        uint32_t i = (g->next_ex + k) % g->cfg.exporters;

        if (g->ex[i].next_flow < g->cfg.flows)
            return (int)i;
    }
    return -1;
}

int gen_next_packet(struct gen_ctx *g, uint8_t *buf, size_t *len, uint32_t *exporter)
{
    const struct gen_config *c = &g->cfg;
    struct gen_packet_plan plan = {.flows = g->scratch};
    struct gen_exporter *ex;
    size_t size, max_n, n = 0;
    uint64_t last = 0;
    int i = next_exporter(g);

    if (i < 0)
        return 0;
    ex = &g->ex[i];
    g->next_ex = ((uint32_t)i + 1) % c->exporters;
    plan.templates = ex->version != 5 && ex->packets % c->template_refresh == 0;
    size = framing(ex) + (plan.templates ? gen_template_size(ex, c->sampling) : 0);
    max_n = c->records_per_packet ? c->records_per_packet : GEN_MAX_RPP;
    if (ex->version == 5 && max_n > 30)
        max_n = 30;
    while (n < max_n && ex->next_flow < c->flows) {
        struct fl0wer_flow *f = &g->scratch[n];
        size_t rs;

        gen_model_flow(g, ex->next_flow, f);
        rs = gen_record_size(ex, f);
        if (n > 0 && size + rs > (c->records_per_packet ? GEN_MAX_PACKET : GEN_AUTO_BUDGET))
            break;
        size += rs;
        last = f->last_ms > last ? f->last_ms : last;
        ex->next_flow += c->exporters;
        n++;
    }
    plan.n_flows = n;
    /* Whole seconds, after every flow in it, never earlier than the previous packet. */
    plan.export_ms = (last / 1000 + 1) * 1000;
    if (plan.export_ms < ex->last_export_ms)
        plan.export_ms = ex->last_export_ms;
    ex->last_export_ms = plan.export_ms;

    if (ex->version == 5)
        *len = gen_v5_encode(ex, &plan, c->sampling, buf);
    else if (ex->version == 9)
        *len = gen_v9_encode(ex, &plan, c->sampling, buf);
    else
        *len = gen_ipfix_encode(ex, &plan, c->sampling, buf);

    for (size_t k = 0; k < n; k++) {
        const struct fl0wer_flow *f = &g->scratch[k];

        ex->bytes += f->bytes;
        ex->packets_counted += f->packets;
        if (gen_totals_add(&g->totals, f) != 0)
            return -1;
    }
    ex->records += n;
    ex->packets++;
    ex->packet_bytes += *len;
    g->totals.packets++;
    g->totals.packet_bytes += *len;
    g->totals.records += n;
    if (plan.templates) {
        uint64_t t = c->sampling > 1 ? 3 : 2;

        ex->templates += t;
        g->totals.templates += t;
        g->totals.options_records += c->sampling > 1;
    }
    *exporter = (uint32_t)i;
    return 1;
}
