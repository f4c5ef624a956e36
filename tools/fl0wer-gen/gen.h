/*
 * gen.h - fl0wer-gen's library (fl0wer_gen): a deterministic flow model and independent NetFlow
 * v5 / v9 / IPFIX encoders that turn it into export packets, plus the totals a lossless
 * collector must report for them. Written separately from proto/decode on purpose.
 *
 * Use: gen_init() with a config, then gen_next_packet() until it returns 0; every flow it puts
 * in a packet is also added to the totals (gen_totals_json()). gen_release() frees everything.
 */
#ifndef FL0WER_GEN_H
#define FL0WER_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fl0wer/flow.h"

#define GEN_MAX_EXPORTERS 256
#define GEN_MAX_PACKET    65507 /* largest UDP payload over IPv4 */
#define GEN_TOP_N         10

#define GEN_TPL_V4   256 /* data template ids (v9 and IPFIX) */
#define GEN_TPL_V6   257
#define GEN_TPL_OPTS 258 /* sampling options template */

/* Sampling announcement styles (per exporter, alternating with the exporter index). */
enum gen_sampling_style {
    GEN_SAMP_V5_HEADER = 0,   /* v5 header sampling_interval */
    GEN_SAMP_V9_34_35,        /* v9 options, scope System: 34 samplingInterval, 35 algorithm */
    GEN_SAMP_V9_48_49_50,     /* v9 options, scope System: 48 sampler id, 49 mode, 50 interval;
                                 data records carry 48 */
    GEN_SAMP_IPFIX_305_306,   /* IPFIX options, scope 149: 305 packet interval, 306 space */
    GEN_SAMP_IPFIX_34,        /* IPFIX options, scope 149: 34 samplingInterval */
};

struct gen_config {
    uint64_t seed;
    uint64_t flows;              /* flow records over all exporters */
    uint32_t exporters;          /* 1..GEN_MAX_EXPORTERS */
    uint8_t versions[3];         /* 5, 9, 10; exporter i uses versions[i % n_versions] */
    size_t n_versions;
    double ipv6_share;           /* 0..1, share of IPv6 flows on v9/IPFIX exporters */
    uint32_t sampling;           /* 1 = unsampled; else announced and set on every flow */
    uint64_t start_ms;           /* end time of the first flow */
    uint64_t window_ms;          /* flows end spread over [start, start + window) */
    uint32_t records_per_packet; /* 0 = as many as fit in 1400 bytes (v5: 30) */
    uint32_t template_refresh;   /* templates (and sampling options) every N packets */
    uint32_t hosts;              /* size of each address pool */
    /* Exporter source addresses/ports (IPv4-mapped), round-robin; none = 192.0.2.(1+i). */
    uint8_t bind_addr[GEN_MAX_EXPORTERS][FL0WER_ADDR_LEN];
    size_t n_bind;
};

/* Fills cfg with the defaults (seed 1, 1000 flows, 1 exporter, v9, no IPv6, no sampling...). */
void gen_config_default(struct gen_config *cfg);

/* One (key, counters) row of a top table. */
struct gen_top_entry {
    uint8_t key[FL0WER_ADDR_LEN]; /* address, or a number in the last 4 bytes */
    uint64_t flows;
    uint64_t bytes;   /* scaled by sampling */
    uint64_t packets; /* scaled by sampling */
};

struct gen_table {
    struct gen_top_entry *slots;
    size_t cap;
    size_t used;
};

enum gen_dim { GEN_DIM_SRCIP = 0, GEN_DIM_DSTIP, GEN_DIM_DSTPORT, GEN_DIM_PROTO, GEN_DIM__COUNT };

struct gen_totals {
    uint64_t packets;          /* export packets / IPFIX messages */
    uint64_t packet_bytes;     /* sum of UDP payload sizes */
    uint64_t records;          /* flow data records */
    uint64_t options_records;  /* sampling options data records */
    uint64_t templates;        /* template + options template records */
    uint64_t flows;            /* sum of the flows field */
    uint64_t bytes;            /* raw */
    uint64_t packets_counted;  /* raw */
    uint64_t bytes_scaled;
    uint64_t packets_scaled;
    uint64_t ipv6_flows;
    struct gen_table top[GEN_DIM__COUNT];
};

struct gen_exporter {
    uint8_t addr[FL0WER_ADDR_LEN];
    uint16_t port;
    uint8_t version;
    uint8_t sampling_style;
    uint32_t domain_id;     /* v5 engine_type<<8|engine_id, v9 source id, IPFIX domain */
    uint64_t boot_ms;       /* sysUptime origin */
    uint64_t next_flow;     /* index of its next flow: flows are i, i + E, i + 2E, ... */
    uint32_t sequence;      /* v5 flows, v9 packets, IPFIX data records sent before */
    uint64_t packets;
    uint64_t packet_bytes;
    uint64_t records;
    uint64_t bytes;
    uint64_t packets_counted;
    uint64_t templates;
    uint64_t last_export_ms; /* header times never go backwards */
};

#define GEN_MAX_RPP 1000 /* records per packet cap */

struct gen_ctx {
    struct gen_config cfg;
    struct gen_exporter ex[GEN_MAX_EXPORTERS];
    uint32_t next_ex;         /* round-robin position */
    struct gen_totals totals;
    double *zipf_hosts;       /* cumulative distributions */
    double *zipf_ports;
    double *zipf_as;
    struct fl0wer_flow *scratch; /* GEN_MAX_RPP flows of the packet being built */
};

/* Validates cfg and sets up the exporters. Returns 0, -1 (bad config, msg set) or -2 (nomem). */
int gen_init(struct gen_ctx *g, const struct gen_config *cfg, char *msg, size_t msg_len);
void gen_release(struct gen_ctx *g);

/*
 * Produces the next export packet into buf (at least GEN_MAX_PACKET bytes): *len its size,
 * *exporter the index of the exporter that sends it. Returns 1, or 0 when every flow was sent.
 */
int gen_next_packet(struct gen_ctx *g, uint8_t *buf, size_t *len, uint32_t *exporter);

/* The model: flow number `index` of the whole run (exporter index % E), fully determined. */
void gen_model_flow(const struct gen_ctx *g, uint64_t index, struct fl0wer_flow *f);

/* Writes the totals as one JSON object (with a trailing newline). */
void gen_totals_json(const struct gen_ctx *g, FILE *out);

/* Adds one flow to the totals (used by gen_next_packet). Returns 0 or -1 on allocation error. */
int gen_totals_add(struct gen_totals *t, const struct fl0wer_flow *f);
void gen_totals_release(struct gen_totals *t);

/* Sorted top entries of a table (malloc'd, caller frees), at most n. */
size_t gen_top(const struct gen_table *t, size_t n, struct gen_top_entry **out);

/* ---- encoders: each appends at most `cap` bytes and returns the packet length ---- */

struct gen_packet_plan {
    const struct fl0wer_flow *flows;
    size_t n_flows;
    bool templates;     /* include templates (and the sampling options template + data) */
    uint64_t export_ms; /* header time */
};

/* Bytes one flow takes in a data record of this exporter's format. */
size_t gen_record_size(const struct gen_exporter *ex, const struct fl0wer_flow *f);
/* Bytes of the template/options part of a packet (0 for v5). */
size_t gen_template_size(const struct gen_exporter *ex, uint32_t sampling);

size_t gen_v5_encode(struct gen_exporter *ex, const struct gen_packet_plan *p, uint32_t sampling,
                     uint8_t *buf);
size_t gen_v9_encode(struct gen_exporter *ex, const struct gen_packet_plan *p, uint32_t sampling,
                     uint8_t *buf);
size_t gen_ipfix_encode(struct gen_exporter *ex, const struct gen_packet_plan *p,
                        uint32_t sampling, uint8_t *buf);

/* Big-endian writers shared by the encoders. */
static inline uint8_t *gen_put8(uint8_t *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static inline uint8_t *gen_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

static inline uint8_t *gen_put32(uint8_t *p, uint32_t v)
{
    p = gen_put16(p, (uint16_t)(v >> 16));
    return gen_put16(p, (uint16_t)v);
}

static inline uint8_t *gen_put64(uint8_t *p, uint64_t v)
{
    p = gen_put32(p, (uint32_t)(v >> 32));
    return gen_put32(p, (uint32_t)v);
}

/*
 * Writes the fields the v9 and IPFIX templates share, in template order: addresses (4 or 16
 * bytes each), masks, ports, protocol, flags, ToS, interfaces, AS numbers, bytes, packets.
 */
static inline uint8_t *gen_put_common_fields(uint8_t *w, const struct fl0wer_flow *f, bool v6)
{
    if (v6) {
        memcpy(w, f->src_addr, 16);
        memcpy(w + 16, f->dst_addr, 16);
        w += 32;
    } else {
        memcpy(w, f->src_addr + 12, 4);
        memcpy(w + 4, f->dst_addr + 12, 4);
        w += 8;
    }
    w = gen_put8(w, f->src_mask);
    w = gen_put8(w, f->dst_mask);
    w = gen_put16(w, f->src_port);
    w = gen_put16(w, f->dst_port);
    w = gen_put8(w, f->proto);
    w = gen_put8(w, f->tcp_flags);
    w = gen_put8(w, f->tos);
    w = gen_put32(w, f->in_if);
    w = gen_put32(w, f->out_if);
    w = gen_put32(w, f->src_as);
    w = gen_put32(w, f->dst_as);
    w = gen_put64(w, f->bytes);
    w = gen_put64(w, f->packets);
    return w;
}

/* ---- output ---- */

/* Writes the classic pcap file header (Ethernet, snaplen 65535). Returns 0 or -1. */
int gen_pcap_header(FILE *f);
/*
 * Writes one record: Ethernet / IPv4 (src = exporter address, dst 192.0.2.254) / UDP (src =
 * exporter port, dst 2056) carrying payload, timestamped ts_ms. Returns 0 or -1.
 */
int gen_pcap_packet(FILE *f, const struct gen_exporter *ex, uint64_t ts_ms,
                    const uint8_t *payload, size_t len);

#endif /* FL0WER_GEN_H */
