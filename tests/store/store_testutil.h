/*
 * store_testutil.h - helpers shared by the store and query tests: a seeded random flow
 * generator, temporary data directories (removed at the end) and batch building.
 */
#ifndef FL0WER_STORE_TESTUTIL_H
#define FL0WER_STORE_TESTUTIL_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl0wer/batch.h"
#include "fl0wer/flow.h"

struct tu_rng {
    uint64_t s;
};

static inline uint64_t tu_next(struct tu_rng *r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t tu_below(struct tu_rng *r, uint64_t n)
{
    return tu_next(r) % n;
}

/* A random address from a small pool (so group-bys have repeats), v4 or v6. */
static inline void tu_addr(struct tu_rng *r, uint8_t out[16], unsigned pool)
{
    unsigned k = (unsigned)tu_below(r, pool);
    if (k % 5 == 4) {
        memset(out, 0, 16);
        out[0] = 0x20;
        out[1] = 0x01;
        out[2] = 0x0d;
        out[3] = 0xb8;
        out[14] = (uint8_t)(k >> 8);
        out[15] = (uint8_t)k;
    } else {
        uint8_t v4[4] = {10, (uint8_t)(k >> 16), (uint8_t)(k >> 8), (uint8_t)k};
        fl0wer_addr_from_v4(out, v4);
    }
}

/* A random flow ending in [t0, t0 + span_ms). Every field is set. */
static inline void tu_flow(struct tu_rng *r, struct fl0wer_flow *f, uint64_t t0, uint64_t span_ms)
{
    static const uint32_t samplings[] = {1, 1, 1, 10, 100, 512, 0};
    static const uint16_t ports[] = {53, 80, 443, 123, 22, 8080};

    memset(f, 0, sizeof(*f));
    tu_addr(r, f->exporter, 3);
    tu_addr(r, f->src_addr, 200);
    tu_addr(r, f->dst_addr, 50);
    if (tu_below(r, 3))
        tu_addr(r, f->next_hop, 4);
    f->last_ms = t0 + tu_below(r, span_ms);
    f->first_ms = f->last_ms - tu_below(r, 120000);
    f->bytes = 40 + tu_below(r, 1500000);
    f->packets = 1 + tu_below(r, 1000);
    f->flows = 1 + tu_below(r, 3);
    f->domain_id = (uint32_t)tu_below(r, 3);
    f->in_if = (uint32_t)tu_below(r, 12);
    f->out_if = (uint32_t)tu_below(r, 12);
    f->src_as = tu_below(r, 2) ? 64500 + (uint32_t)tu_below(r, 30) : 0;
    f->dst_as = 64500 + (uint32_t)tu_below(r, 30);
    f->sampling = samplings[tu_below(r, 7)];
    f->src_port = tu_below(r, 2) ? ports[tu_below(r, 6)] : (uint16_t)(1024 + tu_below(r, 3000));
    f->dst_port = ports[tu_below(r, 6)];
    f->vlan = (uint16_t)tu_below(r, 5);
    f->proto = tu_below(r, 4) ? 6 : 17;
    f->tcp_flags = (uint8_t)tu_next(r);
    f->tos = (uint8_t)tu_next(r);
    f->src_mask = (uint8_t)tu_below(r, 33);
    f->dst_mask = (uint8_t)tu_below(r, 129);
    f->direction = (uint8_t)tu_below(r, 3);
    f->version = tu_below(r, 2) ? 9 : 10;
    f->flags = (uint8_t)tu_below(r, 8);
}

static inline int tu_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Creates a fresh temporary directory; returns it in buf. */
static inline char *tu_tmpdir(char *buf, size_t len)
{
    snprintf(buf, len, "/tmp/fl0wer-store-test-XXXXXX");
    return mkdtemp(buf);
}

static inline void tu_rmdir(const char *path)
{
    nftw(path, tu_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A batch over flows (borrowed). */
static inline struct fl0wer_batch tu_batch(struct fl0wer_flow *flows, size_t n, uint64_t seq)
{
    struct fl0wer_batch b;
    memset(&b, 0, sizeof(b));
    b.seq = seq;
    b.flows = flows;
    b.flow_count = n;
    b.created_ms = 1700000000000ull;
    return b;
}

static inline int tu_flow_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct fl0wer_flow));
}

#endif /* FL0WER_STORE_TESTUTIL_H */
