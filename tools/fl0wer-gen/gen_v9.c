/*
 * gen_v9.c - NetFlow v9 (RFC 3954) export packets: header (count = every record in the packet,
 * sequence = packets sent before), template FlowSet (id 0) with an IPv4 and an IPv6 template,
 * options template FlowSet (id 1) and options data announcing sampling, then data FlowSets
 * padded to 4 bytes. Times are FIRST/LAST_SWITCHED relative to sysUptime.
 */
#include <string.h>

#include "gen.h"

struct v9_field {
    uint16_t type;
    uint16_t len;
};

/* Data template body after the addresses (shared by IPv4 and IPv6). */
static const struct v9_field common[] = {
    {7, 2},  /* L4_SRC_PORT */
    {11, 2}, /* L4_DST_PORT (ICMP: type << 8 | code) */
    {4, 1},  /* PROTOCOL */
    {6, 1},  /* TCP_FLAGS */
    {5, 1},  /* SRC_TOS */
    {10, 4}, /* INPUT_SNMP */
    {14, 4}, /* OUTPUT_SNMP */
    {16, 4}, /* SRC_AS */
    {17, 4}, /* DST_AS */
    {1, 8},  /* IN_BYTES */
    {2, 8},  /* IN_PKTS */
    {22, 4}, /* FIRST_SWITCHED */
    {21, 4}, /* LAST_SWITCHED */
};
#define N_COMMON (sizeof(common) / sizeof(common[0]))
#define COMMON_LEN 47

static bool sampler_in_data(const struct gen_exporter *ex, uint32_t sampling)
{
    return sampling > 1 && ex->sampling_style == GEN_SAMP_V9_48_49_50;
}

static size_t v9_pad(size_t n)
{
    return (4 - n % 4) % 4;
}

size_t gen_record_size(const struct gen_exporter *ex, const struct fl0wer_flow *f)
{
    bool v6 = (f->flags & FL0WER_FLOW_F_IPV6) != 0;

    if (ex->version == 5)
        return 48;
    /* v9: + FLOW_SAMPLER_ID when sampled that way; IPFIX: 8-byte times instead of 4 */
    return (v6 ? 34 : 10) + COMMON_LEN + (ex->version == 10 ? 8 : 0) +
           (ex->version == 9 && sampler_in_data(ex, f->sampling) ? 1 : 0);
}

/* Options record size of the v9 sampling styles (scope System 4 bytes + fields). */
static size_t v9_opts_record(const struct gen_exporter *ex)
{
    return ex->sampling_style == GEN_SAMP_V9_48_49_50 ? 4 + 1 + 1 + 4 : 4 + 4 + 1;
}

size_t gen_template_size(const struct gen_exporter *ex, uint32_t sampling)
{
    size_t fields = 4 + N_COMMON + (sampler_in_data(ex, sampling) ? 1 : 0), n;

    if (ex->version == 5)
        return 0;
    n = 4 + 2 * (4 + 4 * fields); /* template set, two templates */
    if (sampling <= 1)
        return n;
    if (ex->version == 9) {
        size_t ot = 4 + 6 + 4 + 4 * (ex->sampling_style == GEN_SAMP_V9_48_49_50 ? 3 : 2);

        return n + ot + v9_pad(ot) + 4 + v9_opts_record(ex) + v9_pad(4 + v9_opts_record(ex));
    }
    /* IPFIX: options template set (scope 149 + 1 or 2 fields) and its data set */
    return n + 4 + 6 + 4 * (ex->sampling_style == GEN_SAMP_IPFIX_34 ? 2 : 3) + 4 + 4 +
           (ex->sampling_style == GEN_SAMP_IPFIX_34 ? 4 : 8);
}

static uint8_t *put_template(uint8_t *w, uint16_t id, bool v6, bool sampler)
{
    w = gen_put16(w, id);
    w = gen_put16(w, (uint16_t)(4 + N_COMMON + (sampler ? 1 : 0)));
    w = gen_put16(w, v6 ? 27 : 8); /* IPV6_SRC_ADDR / IPV4_SRC_ADDR */
    w = gen_put16(w, v6 ? 16 : 4);
    w = gen_put16(w, v6 ? 28 : 12);
    w = gen_put16(w, v6 ? 16 : 4);
    w = gen_put16(w, v6 ? 29 : 9); /* SRC_MASK */
    w = gen_put16(w, 1);
    w = gen_put16(w, v6 ? 30 : 13);
    w = gen_put16(w, 1);
    for (size_t i = 0; i < N_COMMON; i++) {
        w = gen_put16(w, common[i].type);
        w = gen_put16(w, common[i].len);
    }
    if (sampler) {
        w = gen_put16(w, 48); /* FLOW_SAMPLER_ID */
        w = gen_put16(w, 1);
    }
    return w;
}

static uint8_t *pad(uint8_t *w, size_t n)
{
    memset(w, 0, n);
    return w + n;
}

/* Template FlowSet, and the sampling options template + data when sampled. *records counts. */
static uint8_t *put_templates(uint8_t *w, const struct gen_exporter *ex, uint32_t sampling,
                              uint16_t *records)
{
    bool sampler = sampler_in_data(ex, sampling);
    uint8_t *set = w;
    size_t len;

    w = gen_put16(w, 0);
    w = gen_put16(w, 0); /* length, below */
    w = put_template(w, GEN_TPL_V4, false, sampler);
    w = put_template(w, GEN_TPL_V6, true, sampler);
    gen_put16(set + 2, (uint16_t)(w - set));
    *records += 2;
    if (sampling <= 1)
        return w;

    set = w;
    w = gen_put16(w, 1);
    w = gen_put16(w, 0);
    w = gen_put16(w, GEN_TPL_OPTS);
    w = gen_put16(w, 4); /* scope length in bytes */
    w = gen_put16(w, (uint16_t)(4 * (sampler ? 3 : 2)));
    w = gen_put16(w, 1); /* scope System */
    w = gen_put16(w, 4);
    if (sampler) {
        w = gen_put32(w, 48u << 16 | 1);  /* FLOW_SAMPLER_ID, 1 byte */
        w = gen_put32(w, 49u << 16 | 1);  /* FLOW_SAMPLER_MODE */
        w = gen_put32(w, 50u << 16 | 4);  /* FLOW_SAMPLER_RANDOM_INTERVAL */
    } else {
        w = gen_put32(w, 34u << 16 | 4);  /* SAMPLING_INTERVAL */
        w = gen_put32(w, 35u << 16 | 1);  /* SAMPLING_ALGORITHM */
    }
    len = (size_t)(w - set);
    w = pad(w, v9_pad(len));
    gen_put16(set + 2, (uint16_t)(w - set));

    set = w;
    w = gen_put16(w, GEN_TPL_OPTS);
    w = gen_put16(w, 0);
    w = gen_put32(w, 0); /* scope value: the whole system */
    if (sampler) {
        w = gen_put8(w, 1);          /* sampler id */
        w = gen_put8(w, 2);          /* random */
        w = gen_put32(w, sampling);
    } else {
        w = gen_put32(w, sampling);
        w = gen_put8(w, 1);          /* deterministic */
    }
    w = pad(w, v9_pad((size_t)(w - set)));
    gen_put16(set + 2, (uint16_t)(w - set));
    *records += 2;
    return w;
}

static uint8_t *put_record(uint8_t *w, const struct gen_exporter *ex, const struct fl0wer_flow *f,
                           bool v6, bool sampler)
{
    w = gen_put_common_fields(w, f, v6);
    w = gen_put32(w, (uint32_t)(f->first_ms - ex->boot_ms));
    w = gen_put32(w, (uint32_t)(f->last_ms - ex->boot_ms));
    if (sampler)
        w = gen_put8(w, 1);
    return w;
}

size_t gen_v9_encode(struct gen_exporter *ex, const struct gen_packet_plan *p, uint32_t sampling,
                     uint8_t *buf)
{
    bool sampler = sampler_in_data(ex, sampling);
    uint16_t records = 0;
    uint8_t *w = buf + 20;

    if (p->templates)
        w = put_templates(w, ex, sampling, &records);
    for (int fam = 0; fam < 2; fam++) {
        uint8_t *set = w;
        size_t n = 0;

        w = gen_put16(w, fam ? GEN_TPL_V6 : GEN_TPL_V4);
        w = gen_put16(w, 0);
        for (size_t i = 0; i < p->n_flows; i++) {
            bool v6 = (p->flows[i].flags & FL0WER_FLOW_F_IPV6) != 0;

            if (v6 == (fam == 1)) {
                w = put_record(w, ex, &p->flows[i], v6, sampler);
                n++;
            }
        }
        if (n == 0) {
            w = set;
            continue;
        }
        w = pad(w, v9_pad((size_t)(w - set)));
        gen_put16(set + 2, (uint16_t)(w - set));
        records = (uint16_t)(records + n);
    }
    gen_put16(buf, 9);
    gen_put16(buf + 2, records);
    gen_put32(buf + 4, (uint32_t)(p->export_ms - ex->boot_ms));
    gen_put32(buf + 8, (uint32_t)(p->export_ms / 1000));
    gen_put32(buf + 12, ex->sequence++);
    gen_put32(buf + 16, ex->domain_id);
    return (size_t)(w - buf);
}
