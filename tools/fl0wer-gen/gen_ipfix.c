/*
 * gen_ipfix.c - IPFIX (RFC 7011) messages: 16-byte header (length, export time, sequence =
 * data records, flow and options, sent before this message, observation domain), template set
 * (id 2) with an IPv4 and an IPv6 template, options template set (id 3, scope
 * observationDomainId 149) with samplingPacketInterval/Space (305/306) or samplingInterval (34)
 * and its data, then data sets. Times are flowStart/EndMilliseconds (152/153).
 */
#include <string.h>

#include "gen.h"

struct ie {
    uint16_t id;
    uint16_t len;
};

static const struct ie common[] = {
    {7, 2},   /* sourceTransportPort */
    {11, 2},  /* destinationTransportPort (ICMP: type << 8 | code) */
    {4, 1},   /* protocolIdentifier */
    {6, 1},   /* tcpControlBits */
    {5, 1},   /* ipClassOfService */
    {10, 4},  /* ingressInterface */
    {14, 4},  /* egressInterface */
    {16, 4},  /* bgpSourceAsNumber */
    {17, 4},  /* bgpDestinationAsNumber */
    {1, 8},   /* octetDeltaCount */
    {2, 8},   /* packetDeltaCount */
    {152, 8}, /* flowStartMilliseconds */
    {153, 8}, /* flowEndMilliseconds */
};
#define N_COMMON (sizeof(common) / sizeof(common[0]))

static uint8_t *put_template(uint8_t *w, uint16_t id, bool v6)
{
    w = gen_put16(w, id);
    w = gen_put16(w, (uint16_t)(4 + N_COMMON));
    w = gen_put32(w, (v6 ? 27u : 8u) << 16 | (v6 ? 16u : 4u));  /* source address */
    w = gen_put32(w, (v6 ? 28u : 12u) << 16 | (v6 ? 16u : 4u)); /* destination address */
    w = gen_put32(w, (v6 ? 29u : 9u) << 16 | 1u);   /* source prefix length */
    w = gen_put32(w, (v6 ? 30u : 13u) << 16 | 1u);  /* destination prefix length */
    for (size_t i = 0; i < N_COMMON; i++)
        w = gen_put32(w, (uint32_t)common[i].id << 16 | common[i].len);
    return w;
}

/* Template set, then (sampled) the options template set and one options data record. */
static uint8_t *put_templates(uint8_t *w, const struct gen_exporter *ex, uint32_t sampling,
                              uint32_t *data_records)
{
    bool use34 = ex->sampling_style == GEN_SAMP_IPFIX_34;
    uint8_t *set = w;

    w = gen_put16(w, 2);
    w = gen_put16(w, 0);
    w = put_template(w, GEN_TPL_V4, false);
    w = put_template(w, GEN_TPL_V6, true);
    gen_put16(set + 2, (uint16_t)(w - set));
    if (sampling <= 1)
        return w;

    set = w;
    w = gen_put16(w, 3);
    w = gen_put16(w, 0);
    w = gen_put16(w, GEN_TPL_OPTS);
    w = gen_put16(w, use34 ? 2 : 3); /* field count */
    w = gen_put16(w, 1);             /* scope field count */
    w = gen_put32(w, 149u << 16 | 4); /* observationDomainId */
    if (use34) {
        w = gen_put32(w, 34u << 16 | 4);
    } else {
        w = gen_put32(w, 305u << 16 | 4);
        w = gen_put32(w, 306u << 16 | 4);
    }
    gen_put16(set + 2, (uint16_t)(w - set));

    set = w;
    w = gen_put16(w, GEN_TPL_OPTS);
    w = gen_put16(w, 0);
    w = gen_put32(w, ex->domain_id);
    if (use34) {
        w = gen_put32(w, sampling);
    } else {
        w = gen_put32(w, 1);            /* one packet selected ... */
        w = gen_put32(w, sampling - 1); /* ... then sampling - 1 skipped */
    }
    gen_put16(set + 2, (uint16_t)(w - set));
    (*data_records)++;
    return w;
}

static uint8_t *put_record(uint8_t *w, const struct fl0wer_flow *f, bool v6)
{
    w = gen_put_common_fields(w, f, v6);
    w = gen_put64(w, f->first_ms);
    w = gen_put64(w, f->last_ms);
    return w;
}

size_t gen_ipfix_encode(struct gen_exporter *ex, const struct gen_packet_plan *p,
                        uint32_t sampling, uint8_t *buf)
{
    uint32_t data_records = 0;
    uint8_t *w = buf + 16;

    if (p->templates)
        w = put_templates(w, ex, sampling, &data_records);
    for (int fam = 0; fam < 2; fam++) {
        uint8_t *set = w;
        size_t n = 0;

        w = gen_put16(w, fam ? GEN_TPL_V6 : GEN_TPL_V4);
        w = gen_put16(w, 0);
        for (size_t i = 0; i < p->n_flows; i++) {
            bool v6 = (p->flows[i].flags & FL0WER_FLOW_F_IPV6) != 0;

            if (v6 == (fam == 1)) {
                w = put_record(w, &p->flows[i], v6);
                n++;
            }
        }
        if (n == 0) {
            w = set;
            continue;
        }
        gen_put16(set + 2, (uint16_t)(w - set));
        data_records += (uint32_t)n;
    }
    gen_put16(buf, 10);
    gen_put16(buf + 2, (uint16_t)(w - buf));
    gen_put32(buf + 4, (uint32_t)(p->export_ms / 1000));
    gen_put32(buf + 8, ex->sequence);
    gen_put32(buf + 12, ex->domain_id);
    ex->sequence += data_records;
    return (size_t)(w - buf);
}
