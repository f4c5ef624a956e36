/*
 * gen_model.c - fl0wer-gen's flow model: configuration, exporters, and flow number i of a run
 * as a pure function of (seed, i): Zipf-distributed hosts, service ports and AS numbers,
 * TCP/UDP/ICMP mix, heavy-tailed packet counts, interfaces, masks and times.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"

static const uint16_t tcp_ports[] = {443, 80, 22, 25, 993, 3389, 8080, 8443, 445, 143,
                                     110, 587, 3306, 5432, 179, 21};
static const uint16_t udp_ports[] = {53, 443, 123, 161, 514, 1194, 500, 4500, 5060, 67,
                                     69, 137, 1900, 3478, 2056, 4789};
#define N_SERVICE 16
/* AS numbers by popularity; 4-byte ones become AS_TRANS (23456) in 2-byte v5 records. */
static const uint32_t as_list[] = {0, 15169, 13335, 16509, 8075, 32934, 3356, 1299, 174,
                                   64512, 65001, 65002, 4200000001u, 4200000002u, 2914, 6939};
#define N_AS 16

void gen_config_default(struct gen_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->seed = 1;
    cfg->flows = 1000;
    cfg->exporters = 1;
    cfg->versions[0] = 9;
    cfg->n_versions = 1;
    cfg->sampling = 1;
    cfg->window_ms = 60000;
    cfg->template_refresh = 20;
    cfg->hosts = 1000;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform double in [0, 1). */
static double uniform(uint64_t *s)
{
    return (double)(splitmix(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Cumulative Zipf(s = 1.1) distribution over n ranks (malloc'd). */
static double *zipf_cdf(size_t n)
{
    double *c = malloc(n * sizeof(*c)), sum = 0;

    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        c[i] = (sum += 1.0 / pow((double)(i + 1), 1.1));
    for (size_t i = 0; i < n; i++)
        c[i] /= sum;
    return c;
}

/* Rank (0-based) drawn from a cumulative distribution of n entries. */
static size_t zipf_draw(const double *cdf, size_t n, uint64_t *s)
{
    double u = uniform(s);
    size_t lo = 0, hi = n - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int bad(char *msg, size_t len, const char *text)
{
    snprintf(msg, len, "%s", text);
    return -1;
}

int gen_init(struct gen_ctx *g, const struct gen_config *cfg, char *msg, size_t msg_len)
{
    memset(g, 0, sizeof(*g));
    g->cfg = *cfg;
    if (cfg->exporters < 1 || cfg->exporters > GEN_MAX_EXPORTERS)
        return bad(msg, msg_len, "exporters must be 1..256");
    if (cfg->n_versions < 1 || cfg->n_versions > 3)
        return bad(msg, msg_len, "versions must list 1 to 3 of 5, 9, 10");
    for (size_t i = 0; i < cfg->n_versions; i++)
        if (cfg->versions[i] != 5 && cfg->versions[i] != 9 && cfg->versions[i] != 10)
            return bad(msg, msg_len, "versions must be 5, 9 or 10");
    if (!(cfg->ipv6_share >= 0 && cfg->ipv6_share <= 1))
        return bad(msg, msg_len, "ipv6-share must be between 0 and 1");
    if (cfg->sampling < 1 || cfg->sampling > 16383)
        return bad(msg, msg_len, "sampling must be 1..16383 (the v5 header's 14 bits)");
    if (cfg->records_per_packet > GEN_MAX_RPP)
        return bad(msg, msg_len, "records-per-packet must be 0..1000");
    if (cfg->template_refresh < 1)
        return bad(msg, msg_len, "template-refresh must be at least 1");
    if (cfg->hosts < 1 || cfg->hosts > 1000000)
        return bad(msg, msg_len, "hosts must be 1..1000000");
    if (cfg->window_ms < 1)
        return bad(msg, msg_len, "window must be at least 1 ms");
    g->zipf_hosts = zipf_cdf(cfg->hosts);
    g->zipf_ports = zipf_cdf(N_SERVICE);
    g->zipf_as = zipf_cdf(N_AS);
    g->scratch = calloc(GEN_MAX_RPP, sizeof(*g->scratch));
    if (!g->zipf_hosts || !g->zipf_ports || !g->zipf_as || !g->scratch) {
        gen_release(g);
        return -2;
    }
    for (uint32_t i = 0; i < cfg->exporters; i++) {
        struct gen_exporter *ex = &g->ex[i];
        uint8_t v4[4] = {192, 0, 2, (uint8_t)(1 + i)};
        uint32_t nth = i / (uint32_t)cfg->n_versions; /* how many before it share its version */

        ex->version = cfg->versions[i % cfg->n_versions];
        if (cfg->n_bind > 0)
            memcpy(ex->addr, cfg->bind_addr[i % cfg->n_bind], FL0WER_ADDR_LEN);
        else
            fl0wer_addr_from_v4(ex->addr, v4);
        ex->port = (uint16_t)(40000 + i);
        ex->domain_id = ex->version == 5 ? i & 0xff : 100 + i;
        ex->boot_ms = cfg->start_ms > 3600000 ? cfg->start_ms - 3600000 - 1000ull * i : 0;
        ex->next_flow = i;
        ex->sampling_style = ex->version == 5   ? GEN_SAMP_V5_HEADER
                             : ex->version == 9 ? (nth % 2 ? GEN_SAMP_V9_48_49_50
                                                           : GEN_SAMP_V9_34_35)
                                                : (nth % 2 ? GEN_SAMP_IPFIX_34
                                                           : GEN_SAMP_IPFIX_305_306);
    }
    return 0;
}

void gen_release(struct gen_ctx *g)
{
    free(g->zipf_hosts);
    free(g->zipf_ports);
    free(g->zipf_as);
    free(g->scratch);
    gen_totals_release(&g->totals);
    g->zipf_hosts = g->zipf_ports = g->zipf_as = NULL;
    g->scratch = NULL;
}

/* Host number `rank` of a pool: v4 10.x.y.z / 198.18.x.y, v6 2001:db8:1::n / 2001:db8:2::n. */
static void host_addr(uint8_t out[FL0WER_ADDR_LEN], bool v6, bool dst, uint32_t rank)
{
    uint32_t n = rank + 1;

    if (v6) {
        static const uint8_t base[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};

        memset(out, 0, FL0WER_ADDR_LEN);
        memcpy(out, base, 8);
        out[5] = dst ? 2 : 1;
        out[12] = (uint8_t)(n >> 24);
        out[13] = (uint8_t)(n >> 16);
        out[14] = (uint8_t)(n >> 8);
        out[15] = (uint8_t)n;
    } else {
        uint8_t v4[4] = {10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};

        if (dst) {
            v4[0] = 198;
            v4[1] = (uint8_t)(18 + ((n >> 16) & 1));
        }
        fl0wer_addr_from_v4(out, v4);
    }
}

static void model_ports(const struct gen_ctx *g, uint64_t *s, bool v6, struct fl0wer_flow *f)
{
    double u = uniform(s);

    if (u < 0.70) {
        static const uint8_t tcp_flags[] = {0x1b, 0x1b, 0x1b, 0x02, 0x12, 0x10, 0x18, 0x14, 0x19};

        f->proto = 6;
        f->tcp_flags = tcp_flags[splitmix(s) % sizeof(tcp_flags)];
    } else if (u < 0.95) {
        f->proto = 17;
    } else {
        static const uint8_t t4[] = {8, 0, 3, 11}, t6[] = {128, 129, 1, 3};
        size_t k = splitmix(s) % 4;

        f->proto = v6 ? 58 : 1;
        f->src_port = 0;
        f->dst_port = (uint16_t)((v6 ? t6[k] : t4[k]) << 8 | (k >= 2 ? splitmix(s) % 4 : 0));
        return;
    }
    f->src_port = (uint16_t)(1024 + splitmix(s) % 64512);
    if (uniform(s) < 0.85) {
        size_t r = zipf_draw(g->zipf_ports, N_SERVICE, s);

        f->dst_port = f->proto == 6 ? tcp_ports[r] : udp_ports[r];
    } else {
        f->dst_port = (uint16_t)(1024 + splitmix(s) % 64512);
    }
}

void gen_model_flow(const struct gen_ctx *g, uint64_t index, struct fl0wer_flow *f)
{
    const struct gen_config *c = &g->cfg;
    const struct gen_exporter *ex = &g->ex[index % c->exporters];
    uint64_t s = c->seed * 0x2545f4914f6cdd1dull ^ index, dur;
    bool v6;
    double u;

    splitmix(&s);
    fl0wer_flow_init(f);
    v6 = ex->version != 5 && uniform(&s) < c->ipv6_share;
    host_addr(f->src_addr, v6, false, (uint32_t)zipf_draw(g->zipf_hosts, c->hosts, &s));
    host_addr(f->dst_addr, v6, true, (uint32_t)zipf_draw(g->zipf_hosts, c->hosts, &s));
    model_ports(g, &s, v6, f);
    /* Pareto-like packet counts (alpha 1.2), capped; 40..1500-byte packets. */
    u = 1.0 - uniform(&s);
    f->packets = 1 + (uint64_t)fmin(pow(u, -1.0 / 1.2) - 1.0, 999999.0);
    f->bytes = f->packets * (40 + splitmix(&s) % 1461);
    f->tos = uniform(&s) < 0.9 ? 0 : (const uint8_t[]){0x10, 0xb8, 0x28}[splitmix(&s) % 3];
    f->src_as = as_list[zipf_draw(g->zipf_as, N_AS, &s)];
    f->dst_as = as_list[zipf_draw(g->zipf_as, N_AS, &s)];
    if (ex->version == 5) {
        f->src_as = f->src_as > 65535 ? 23456 : f->src_as;
        f->dst_as = f->dst_as > 65535 ? 23456 : f->dst_as;
    }
    f->in_if = 1 + (uint32_t)(splitmix(&s) % 8);
    f->out_if = 1 + (uint32_t)(splitmix(&s) % 8);
    f->src_mask = v6 ? 48 : 24;
    f->dst_mask = v6 ? 64 : 16;
    u = uniform(&s);
    dur = (uint64_t)(u * u * 30000.0);
    f->last_ms = c->start_ms + (uint64_t)((double)index * (double)c->window_ms / (double)c->flows);
    f->first_ms = f->last_ms - (dur < f->last_ms - ex->boot_ms ? dur : 0);
    memcpy(f->exporter, ex->addr, FL0WER_ADDR_LEN);
    f->domain_id = ex->domain_id;
    f->version = ex->version;
    f->sampling = c->sampling;
    f->flags = v6 ? FL0WER_FLOW_F_IPV6 : 0;
}
