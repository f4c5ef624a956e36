/*
 * agg_key.c - the aggregation key of the edge: the names of its fields (--aggregate-key) and where
 * they lie in both entry layouts (agg_key.h), as per-word byte masks.
 */
#include "agg_key.h"

#include <stdio.h>

static const struct {
    const char *name;
    uint32_t bit;
} key_names[] = {
    {"exporter", EDGE_KEY_EXPORTER}, {"domain_id", EDGE_KEY_DOMAIN},
    {"in_if", EDGE_KEY_IN_IF},       {"out_if", EDGE_KEY_OUT_IF},
    {"src_addr", EDGE_KEY_SRC_ADDR}, {"dst_addr", EDGE_KEY_DST_ADDR},
    {"src_port", EDGE_KEY_SRC_PORT}, {"dst_port", EDGE_KEY_DST_PORT},
    {"proto", EDGE_KEY_PROTO},       {"tos", EDGE_KEY_TOS},
    {"src_as", EDGE_KEY_SRC_AS},     {"dst_as", EDGE_KEY_DST_AS},
    {"next_hop", EDGE_KEY_NEXT_HOP}, {"sampling", EDGE_KEY_SAMPLING},
    {"version", EDGE_KEY_VERSION},   {"src_mask", EDGE_KEY_SRC_MASK},
    {"dst_mask", EDGE_KEY_DST_MASK}, {"vlan", EDGE_KEY_VLAN},
    {"direction", EDGE_KEY_DIRECTION}, {"flags", EDGE_KEY_FLAGS},
    {"domain", EDGE_KEY_DOMAIN},     {"all", EDGE_KEY_ALL},
};

int edge_agg_key_parse(const char *list, uint32_t *mask, char *err)
{
    uint32_t m = 0;
    const char *p = list;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && (*p == ' ')) {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        bool found = false;
        for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
            if (strlen(key_names[i].name) == n && memcmp(key_names[i].name, p, n) == 0) {
                m |= key_names[i].bit;
                found = true;
                break;
            }
        }
        if (!found) {
            snprintf(err, 256, "unknown aggregate key field '%.*s'", (int)(n > 64 ? 64 : n), p);
            return -1;
        }
        p += n;
        while (*p == ' ')
            p++;
        if (*p == ',')
            p++;
    }
    if (m == 0) {
        snprintf(err, 256, "empty aggregate key");
        return -1;
    }
    *mask = m;
    return 0;
}

void edge_agg_key_format(uint32_t mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 20; i++) {
        if (!(mask & key_names[i].bit))
            continue;
        int k = snprintf(buf + used, len - used, "%s%s", used ? "," : "", key_names[i].name);
        if (k < 0 || (size_t)k >= len - used)
            return;
        used += (size_t)k;
    }
}

struct key_span {
    uint32_t bit;
    size_t off, size;
};

/* Sets the key bytes of the fields in key_mask (spans: where each field is in the layout)
 * into kmask and lists the words holding key bytes in kw (returns their number). */
static size_t mask_layout(uint32_t key_mask, const struct key_span *spans, size_t n_spans,
                          size_t words, uint64_t *kmask, uint8_t *kw)
{
    uint8_t bytes[sizeof(struct fl0wer_flow)] = {0};
    for (size_t i = 0; i < n_spans; i++)
        if (key_mask & spans[i].bit)
            memset(bytes + spans[i].off, 0xff, spans[i].size);
    memcpy(kmask, bytes, words * 8);
    size_t n = 0;
    for (size_t w = 0; w < words; w++)
        if (kmask[w])
            kw[n++] = (uint8_t)w;
    return n;
}

#define SPAN(bit, type, field) {bit, offsetof(type, field), sizeof(((type *)0)->field)}
#define SCALAR_SPANS(type)                                                                       \
    SPAN(EDGE_KEY_DOMAIN, type, domain_id), SPAN(EDGE_KEY_IN_IF, type, in_if),                  \
        SPAN(EDGE_KEY_OUT_IF, type, out_if), SPAN(EDGE_KEY_SRC_AS, type, src_as),               \
        SPAN(EDGE_KEY_DST_AS, type, dst_as), SPAN(EDGE_KEY_SAMPLING, type, sampling),           \
        SPAN(EDGE_KEY_SRC_PORT, type, src_port), SPAN(EDGE_KEY_DST_PORT, type, dst_port),       \
        SPAN(EDGE_KEY_VLAN, type, vlan), SPAN(EDGE_KEY_PROTO, type, proto),                     \
        SPAN(EDGE_KEY_TOS, type, tos), SPAN(EDGE_KEY_SRC_MASK, type, src_mask),                 \
        SPAN(EDGE_KEY_DST_MASK, type, dst_mask), SPAN(EDGE_KEY_DIRECTION, type, direction),     \
        SPAN(EDGE_KEY_VERSION, type, version), SPAN(EDGE_KEY_FLAGS, type, flags)

static const uint32_t addr_bits[4] = {EDGE_KEY_EXPORTER, EDGE_KEY_SRC_ADDR, EDGE_KEY_DST_ADDR,
                                      EDGE_KEY_NEXT_HOP};

void agg_layout_init(struct agg_layout *a, uint32_t key_mask)
{
    static const struct key_span full[] = {
        SPAN(EDGE_KEY_EXPORTER, struct fl0wer_flow, exporter),
        SPAN(EDGE_KEY_SRC_ADDR, struct fl0wer_flow, src_addr),
        SPAN(EDGE_KEY_DST_ADDR, struct fl0wer_flow, dst_addr),
        SPAN(EDGE_KEY_NEXT_HOP, struct fl0wer_flow, next_hop),
        SCALAR_SPANS(struct fl0wer_flow),
    };
    static const struct key_span compact[] = {
        {EDGE_KEY_EXPORTER, offsetof(struct agg_e4, addr[0]), 4},
        {EDGE_KEY_SRC_ADDR, offsetof(struct agg_e4, addr[1]), 4},
        {EDGE_KEY_DST_ADDR, offsetof(struct agg_e4, addr[2]), 4},
        {EDGE_KEY_NEXT_HOP, offsetof(struct agg_e4, addr[3]), 4},
        SCALAR_SPANS(struct agg_e4),
    };
    uint32_t m = key_mask;
    a->n_kw[KIND6] = mask_layout(m, full, sizeof(full) / sizeof(full[0]), FLOW_WORDS,
                                 a->kmask[KIND6], a->kw[KIND6]);
    a->addr_key = 0;
    for (unsigned k = 0; k < 4; k++)
        if (m & addr_bits[k])
            a->addr_key |= 1u << k;
    /* The zero-address bits count as key bytes of their addresses. */
    uint64_t zbits = (uint64_t)a->addr_key << (8 * (offsetof(struct agg_e4, zero_addrs) % 8));
    a->n_kw[KIND4] = mask_layout(m, compact, sizeof(compact) / sizeof(compact[0]),
                                 E4_KEY_WORDS, a->kmask[KIND4], a->kw[KIND4]);
    uint64_t *zw = &a->kmask[KIND4][offsetof(struct agg_e4, zero_addrs) / 8];
    if (zbits && !*zw) { /* the word had no key byte yet: list it */
        a->kw[KIND4][a->n_kw[KIND4]++] = (uint8_t)(offsetof(struct agg_e4, zero_addrs) / 8);
    }
    *zw |= zbits;
    a->scale = !(m & EDGE_KEY_SAMPLING);
    a->flags_key = (m & EDGE_KEY_FLAGS) != 0;
}
