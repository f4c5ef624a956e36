/*
 * pktbuild.h - tiny builder of NetFlow v5 / v9 / IPFIX packets for the decoder's unit tests,
 * and a flow collector callback. Header-only (static functions) so each test executable can use
 * it; every value is written big-endian exactly as the tests spell it out.
 */
#ifndef FL0WER_TESTS_PKTBUILD_H
#define FL0WER_TESTS_PKTBUILD_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/decode.h"

struct pb {
    uint8_t buf[70000];
    size_t len;
    size_t set_start; /* offset of the open set header */
};

static inline void pb_reset(struct pb *b)
{
    b->len = 0;
    b->set_start = 0;
}

static inline void pb_u8(struct pb *b, uint32_t v)
{
    b->buf[b->len++] = (uint8_t)v;
}

static inline void pb_u16(struct pb *b, uint32_t v)
{
    pb_u8(b, v >> 8);
    pb_u8(b, v);
}

static inline void pb_u32(struct pb *b, uint32_t v)
{
    pb_u16(b, v >> 16);
    pb_u16(b, v);
}

static inline void pb_u64(struct pb *b, uint64_t v)
{
    pb_u32(b, (uint32_t)(v >> 32));
    pb_u32(b, (uint32_t)v);
}

static inline void pb_bytes(struct pb *b, const void *p, size_t n)
{
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static inline void pb_zero(struct pb *b, size_t n)
{
    memset(b->buf + b->len, 0, n);
    b->len += n;
}

static inline void pb_v4(struct pb *b, const char *text)
{
    uint8_t a[4];

    inet_pton(AF_INET, text, a);
    pb_bytes(b, a, 4);
}

static inline void pb_v6(struct pb *b, const char *text)
{
    uint8_t a[16];

    inet_pton(AF_INET6, text, a);
    pb_bytes(b, a, 16);
}

static inline void pb_put16(struct pb *b, size_t off, uint32_t v)
{
    b->buf[off] = (uint8_t)(v >> 8);
    b->buf[off + 1] = (uint8_t)v;
}

/* NetFlow v5 header (24 bytes). */
static inline void pb_v5_header(struct pb *b, uint16_t count, uint32_t uptime, uint32_t secs,
                                uint32_t nsecs, uint32_t seq, uint8_t etype, uint8_t eid,
                                uint16_t sampling)
{
    pb_u16(b, 5);
    pb_u16(b, count);
    pb_u32(b, uptime);
    pb_u32(b, secs);
    pb_u32(b, nsecs);
    pb_u32(b, seq);
    pb_u8(b, etype);
    pb_u8(b, eid);
    pb_u16(b, sampling);
}

/* NetFlow v9 header (20 bytes); count is not checked by the decoder. */
static inline void pb_v9_header(struct pb *b, uint32_t uptime, uint32_t secs, uint32_t seq,
                                uint32_t source_id)
{
    pb_u16(b, 9);
    pb_u16(b, 0);
    pb_u32(b, uptime);
    pb_u32(b, secs);
    pb_u32(b, seq);
    pb_u32(b, source_id);
}

/* IPFIX header (16 bytes); the length is patched by pb_ipfix_end(). */
static inline void pb_ipfix_header(struct pb *b, uint32_t export_secs, uint32_t seq,
                                   uint32_t domain)
{
    pb_u16(b, 10);
    pb_u16(b, 0);
    pb_u32(b, export_secs);
    pb_u32(b, seq);
    pb_u32(b, domain);
}

static inline void pb_ipfix_end(struct pb *b)
{
    pb_put16(b, 2, (uint32_t)b->len);
}

static inline void pb_set_begin(struct pb *b, uint16_t id)
{
    b->set_start = b->len;
    pb_u16(b, id);
    pb_u16(b, 0);
}

/* Closes the open set after `pad` zero padding bytes. */
static inline void pb_set_end_pad(struct pb *b, size_t pad)
{
    pb_zero(b, pad);
    pb_put16(b, b->set_start + 2, (uint32_t)(b->len - b->set_start));
}

static inline void pb_set_end(struct pb *b)
{
    pb_set_end_pad(b, 0);
}

/* A template record: id, then n (type, length) pairs given as varargs of ints. */
static inline void pb_template(struct pb *b, uint16_t id, int n, ...)
{
    va_list ap;

    va_start(ap, n);
    pb_u16(b, id);
    pb_u16(b, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        pb_u16(b, (uint32_t)va_arg(ap, int));
        pb_u16(b, (uint32_t)va_arg(ap, int));
    }
    va_end(ap);
}

/* Flow collector for the callback. */
struct collect {
    size_t n;
    struct fl0wer_flow f[4096];
    int stop_after; /* >0: return non-zero once this many flows were seen */
};

static inline int collect_cb(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct collect *c = arg;

    for (size_t i = 0; i < count && c->n < 4096; i++)
        c->f[c->n++] = flows[i];
    if (c->stop_after > 0 && c->n >= (size_t)c->stop_after)
        return 1;
    return 0;
}

static inline void src_init(struct fl0wer_source *s, const char *addr, uint16_t port,
                            uint64_t recv_ms)
{
    memset(s, 0, sizeof(*s));
    fl0wer_addr_parse(addr, s->addr);
    s->port = port;
    s->recv_ms = recv_ms;
}

/* Snapshot of one exporter's counters. */
struct find_stats {
    uint32_t domain;
    uint16_t port;
    uint8_t addr[FL0WER_ADDR_LEN];
    int found;
    struct fl0wer_exporter_stats st;
};

static inline void find_stats_cb(void *arg, const struct fl0wer_exporter_stats *s)
{
    struct find_stats *fs = arg;

    if (s->domain_id == fs->domain && s->port == fs->port &&
        memcmp(s->addr, fs->addr, FL0WER_ADDR_LEN) == 0) {
        fs->st = *s;
        fs->found = 1;
    }
}

/* Returns the counters of (addr, port, domain); st.messages stays 0 when not tracked. */
static inline struct fl0wer_exporter_stats get_stats(const struct fl0wer_decoder *d,
                                                     const char *addr, uint16_t port,
                                                     uint32_t domain)
{
    struct find_stats fs;

    memset(&fs, 0, sizeof(fs));
    fs.domain = domain;
    fs.port = port;
    fl0wer_addr_parse(addr, fs.addr);
    fl0wer_decoder_foreach_exporter(d, find_stats_cb, &fs);
    return fs.st;
}

static inline const char *addr_str(const uint8_t *a)
{
    static char buf[4][FL0WER_ADDR_STRLEN];
    static int k;

    k = (k + 1) % 4;
    return fl0wer_addr_format(a, buf[k], sizeof(buf[k]));
}

#endif /* FL0WER_TESTS_PKTBUILD_H */
