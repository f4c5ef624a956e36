/*
 * agg_key.h - internal to the edge's aggregation (agg.c, agg_key.c): the two entry layouts
 * (struct fl0wer_flow, and the 96-byte compact struct agg_e4 for keys whose addresses are IPv4 or
 * all-zero), where the configured key fields lie in each (struct agg_layout), and the inline
 * helpers on the hot path: projecting, hashing and comparing keys, converting entries.
 */
#ifndef FL0WER_EDGE_AGG_KEY_H
#define FL0WER_EDGE_AGG_KEY_H

#include "agg.h"

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FLOW_WORDS (sizeof(struct fl0wer_flow) / 8)

enum { KIND6 = 0, KIND4 = 1 }; /* entry layouts: struct fl0wer_flow, struct agg_e4 */

/* The compact layout of an entry whose key addresses are IPv4 or zero. Words 0-6 hold every
 * key field (and tcp_flags, never a key field); words 7-11 the counters. domain_id..flags and
 * first_ms..flows are in the same order as in struct fl0wer_flow, so they convert as two
 * copies. */
struct agg_e4 {
    uint8_t addr[4][4]; /* exporter, src_addr, dst_addr, next_hop: the IPv4 bytes */
    uint32_t domain_id, in_if, out_if, src_as, dst_as, sampling;
    uint16_t src_port, dst_port, vlan;
    uint8_t proto, tcp_flags, tos, src_mask, dst_mask, direction, version, flags;
    uint8_t zero_addrs; /* bit k: address k is all-zero (::), not ::ffff:0.0.0.0 */
    uint8_t pad;
    uint64_t first_ms, last_ms, bytes, packets, flows;
};
#define E4_WORDS     (sizeof(struct agg_e4) / 8)
#define E4_KEY_WORDS (offsetof(struct agg_e4, first_ms) / 8)
#define SCALARS_LEN  (offsetof(struct fl0wer_flow, flags) + 1 - offsetof(struct fl0wer_flow, domain_id))
#define COUNTERS_LEN (offsetof(struct fl0wer_flow, flows) + 8 - offsetof(struct fl0wer_flow, first_ms))
static_assert(sizeof(struct agg_e4) == 96, "compact entry is 96 bytes");
static_assert(offsetof(struct agg_e4, flags) + 1 - offsetof(struct agg_e4, domain_id) ==
                  SCALARS_LEN, "domain_id..flags laid out as in struct fl0wer_flow");
static_assert(offsetof(struct agg_e4, flows) + 8 - offsetof(struct agg_e4, first_ms) ==
                  COUNTERS_LEN, "first_ms..flows laid out as in struct fl0wer_flow");

/* Where the key fields lie in both layouts, built once from the key mask (agg_layout_init). */
struct agg_layout {
    /* Per layout: key bytes of each word, the words with key bytes. */
    uint64_t kmask[2][FLOW_WORDS];
    uint8_t kw[2][FLOW_WORDS];
    size_t n_kw[2];
    unsigned addr_key; /* bit k: address k (exporter, src, dst, next_hop) is a key field */
    bool scale; /* sampling is not a key field: counters scaled, merged sampling = 1 */
    bool flags_key; /* flags is a key field (else it is ORed like tcp_flags) */
};

/* agg_key.c: fills l for the key fields in key_mask (EDGE_KEY_* bits). */
void agg_layout_init(struct agg_layout *l, uint32_t key_mask);

/* A record's key, prepared before its group is probed. */
struct agg_key {
    uint64_t kv[FLOW_WORDS]; /* masked key words of its layout */
    struct agg_e4 e4;        /* the record in compact form (KIND4) */
    uint32_t tag;
    int kind;
};

static inline uint64_t word_at(const void *p, size_t w)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)p + w * 8, 8);
    return v;
}

/* Fills e with f in the compact layout. Returns false (e unusable) when a key address of f is
 * neither IPv4 (::ffff:a.b.c.d) nor all-zero. Non-key addresses are left zero. */
static inline bool to_e4(const struct agg_layout *a, const struct fl0wer_flow *f, struct agg_e4 *e)
{
    static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t zero[FL0WER_ADDR_LEN];
    const uint8_t *addrs[4] = {f->exporter, f->src_addr, f->dst_addr, f->next_hop};
    memset(e->addr, 0, sizeof(e->addr));
    e->zero_addrs = e->pad = 0;
    for (unsigned k = 0; k < 4; k++) {
        if (!(a->addr_key & (1u << k)))
            continue;
        if (memcmp(addrs[k], v4_prefix, sizeof(v4_prefix)) == 0)
            memcpy(e->addr[k], addrs[k] + 12, 4);
        else if (memcmp(addrs[k], zero, sizeof(zero)) == 0)
            e->zero_addrs |= (uint8_t)(1u << k);
        else
            return false;
    }
    memcpy(&e->domain_id, &f->domain_id, SCALARS_LEN);
    return true;
}

/* Writes the merged compact entry e as a full record (non-key fields zero). */
static inline void expand_e4(const struct agg_layout *a, const struct agg_e4 *e,
                             struct fl0wer_flow *f)
{
    uint8_t *addrs[4] = {f->exporter, f->src_addr, f->dst_addr, f->next_hop};
    unsigned v4 = a->addr_key & ~(unsigned)e->zero_addrs; /* the others have addr[k] == 0 */
    for (unsigned k = 0; k < 4; k++) {
        uint8_t ff = (uint8_t)(0u - ((v4 >> k) & 1u));
        memset(addrs[k], 0, 10);
        addrs[k][10] = addrs[k][11] = ff;
        memcpy(addrs[k] + 12, e->addr[k], 4);
    }
    memcpy(&f->first_ms, &e->first_ms, COUNTERS_LEN);
    memcpy(&f->domain_id, &e->domain_id, SCALARS_LEN);
    memset(f->reserved, 0, sizeof(f->reserved));
    if (a->scale)
        f->sampling = 1;
}

/* Chooses f's layout and fills k: the masked key words and their hash. */
static inline void prepare_key(const struct agg_layout *a, const struct fl0wer_flow *f,
                               struct agg_key *k)
{
    const void *src = f;
    k->kind = KIND6;
    if (to_e4(a, f, &k->e4)) {
        k->kind = KIND4;
        src = &k->e4;
    }
    const uint8_t *kw = a->kw[k->kind];
    const uint64_t *km = a->kmask[k->kind];
    size_t n = a->n_kw[k->kind], i = 0;
    uint64_t h1 = 0x9e3779b97f4a7c15ull + (uint64_t)k->kind, h2 = 0x94d049bb133111ebull;
    for (; i + 1 < n; i += 2) { /* two independent lanes */
        k->kv[i] = word_at(src, kw[i]) & km[kw[i]];
        k->kv[i + 1] = word_at(src, kw[i + 1]) & km[kw[i + 1]];
        h1 = (h1 ^ k->kv[i]) * 0xff51afd7ed558ccdull;
        h2 = (h2 ^ k->kv[i + 1]) * 0xc4ceb9fe1a85ec53ull;
        h1 ^= h1 >> 32;
        h2 ^= h2 >> 29;
    }
    if (i < n) {
        k->kv[i] = word_at(src, kw[i]) & km[kw[i]];
        h1 = (h1 ^ k->kv[i]) * 0xff51afd7ed558ccdull;
        h1 ^= h1 >> 32;
    }
    uint64_t h = h1 ^ (h2 * 0x9e3779b97f4a7c15ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    k->tag = (uint32_t)h;
}

static inline bool key_equal(const struct agg_layout *a, const void *e, const struct agg_key *k)
{
    const uint8_t *kw = a->kw[k->kind];
    const uint64_t *km = a->kmask[k->kind];
    for (size_t i = 0; i < a->n_kw[k->kind]; i++)
        if ((word_at(e, kw[i]) & km[kw[i]]) != k->kv[i])
            return false;
    return true;
}

/* Folds the counters of f (scaled when sampling is not a key field) into the entry e, of
 * either layout (the counter fields have the same names in both). */
#define AGG_MERGE_INTO(l, e, f)                                                                  \
    do {                                                                                         \
        uint64_t scale_ = (l)->scale ? ((f)->sampling ? (f)->sampling : 1) : 1;                  \
        if ((f)->first_ms < (e)->first_ms)                                                       \
            (e)->first_ms = (f)->first_ms;                                                       \
        if ((f)->last_ms > (e)->last_ms)                                                         \
            (e)->last_ms = (f)->last_ms;                                                         \
        (e)->bytes += (f)->bytes * scale_;                                                       \
        (e)->packets += (f)->packets * scale_;                                                   \
        (e)->flows += (f)->flows;                                                                \
        (e)->tcp_flags |= (f)->tcp_flags;                                                        \
        if (!(l)->flags_key)                                                                     \
            (e)->flags |= (f)->flags;                                                            \
    } while (0)

static inline void merge_entry(const struct agg_layout *l, void *e, int kind,
                               const struct fl0wer_flow *f)
{
    if (kind == KIND4) {
        struct agg_e4 *e4 = e;
        AGG_MERGE_INTO(l, e4, f);
    } else {
        struct fl0wer_flow *e6 = e;
        AGG_MERGE_INTO(l, e6, f);
    }
}

/* Entries of the single record f, whose key k was prepared: key fields kept, the rest zero,
 * counters as merged from nothing; init_e4 for k->kind == KIND4, init_e6 for KIND6. */
static inline void init_e4(const struct agg_layout *l, struct agg_e4 *e4,
                           const struct fl0wer_flow *f, const struct agg_key *k)
{
    const uint64_t *km = l->kmask[KIND4];
    uint64_t w[E4_WORDS] = {0};
    for (size_t i = 0; i < E4_KEY_WORDS; i++)
        w[i] = word_at(&k->e4, i) & km[i];
    memcpy(e4, w, sizeof(w));
    e4->first_ms = f->first_ms;
    e4->last_ms = f->last_ms;
    AGG_MERGE_INTO(l, e4, f);
}

/* Completes a full-layout entry whose key words are already in e6: f's times and counters, as
 * a merge of f alone. */
static inline void fill_e6(const struct agg_layout *l, struct fl0wer_flow *e6,
                           const struct fl0wer_flow *f)
{
    if (l->scale)
        e6->sampling = 1;
    e6->first_ms = f->first_ms;
    e6->last_ms = f->last_ms;
    AGG_MERGE_INTO(l, e6, f);
}

static inline void init_e6(const struct agg_layout *l, struct fl0wer_flow *e6,
                           const struct fl0wer_flow *f)
{
    const uint64_t *km = l->kmask[KIND6];
    uint64_t w[FLOW_WORDS];
    for (size_t i = 0; i < FLOW_WORDS; i++)
        w[i] = word_at(f, i) & km[i];
    memcpy(e6, w, sizeof(w));
    fill_e6(l, e6, f);
}

/*
 * Writes into out the record f projected exactly as a merge of f alone would be emitted, and
 * returns a hash of its key fields (of the masked words, so equal keys hash equal). The full
 * layout's masks give the merged form for any record: a compact entry keeps a key address's
 * bytes (IPv4-mapped or all-zero, expanded back to the same 16 bytes) and zeroes the others,
 * as the masks do.
 */
static_assert(FLOW_WORDS % 2 == 0, "words hashed in pairs");
static inline uint32_t project_hashed(const struct agg_layout *l, const struct fl0wer_flow *f,
                                      struct fl0wer_flow *out)
{
    const uint64_t *km = l->kmask[KIND6];
    uint64_t w[FLOW_WORDS];
    uint64_t h1 = 0x9e3779b97f4a7c15ull, h2 = 0x94d049bb133111ebull;
    for (size_t i = 0; i < FLOW_WORDS; i += 2) { /* two independent lanes */
        w[i] = word_at(f, i) & km[i];
        w[i + 1] = word_at(f, i + 1) & km[i + 1];
        h1 = (h1 ^ w[i]) * 0xff51afd7ed558ccdull;
        h2 = (h2 ^ w[i + 1]) * 0xc4ceb9fe1a85ec53ull;
        h1 ^= h1 >> 32;
        h2 ^= h2 >> 29;
    }
    memcpy(out, w, sizeof(w));
    fill_e6(l, out, f);
    uint64_t h = h1 ^ (h2 * 0x9e3779b97f4a7c15ull);
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return (uint32_t)(h >> 32);
}

#endif /* FL0WER_EDGE_AGG_KEY_H */
