/*
 * pcapgen.c - byte builders for the hand-written test captures (see pcapgen.h).
 */
#include "pcapgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void g_put(struct gbuf *g, const void *p, size_t n)
{
    if (g->n + n > sizeof(g->b))
        abort();
    memcpy(g->b + g->n, p, n);
    g->n += n;
}

void g_u8(struct gbuf *g, uint8_t v)
{
    g_put(g, &v, 1);
}

void g_be16(struct gbuf *g, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    g_put(g, b, 2);
}

void g_be32(struct gbuf *g, uint32_t v)
{
    g_be16(g, (uint16_t)(v >> 16));
    g_be16(g, (uint16_t)v);
}

void g_le16(struct gbuf *g, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    g_put(g, b, 2);
}

void g_le32(struct gbuf *g, uint32_t v)
{
    g_le16(g, (uint16_t)v);
    g_le16(g, (uint16_t)(v >> 16));
}

static void udp_header(struct gbuf *g, uint16_t sport, uint16_t dport, size_t plen)
{
    g_be16(g, sport);
    g_be16(g, dport);
    g_be16(g, (uint16_t)(8 + plen));
    g_be16(g, 0);
}

void g_udp4(struct gbuf *g, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
            uint16_t dport, uint16_t frag, const uint8_t *payload, size_t plen)
{
    g_u8(g, 0x45);
    g_u8(g, 0);
    g_be16(g, (uint16_t)(20 + 8 + plen));
    g_be16(g, 0x1234);
    g_be16(g, frag);
    g_u8(g, 64);
    g_u8(g, 17);
    g_be16(g, 0);
    g_put(g, src, 4);
    g_put(g, dst, 4);
    udp_header(g, sport, dport, plen);
    g_put(g, payload, plen);
}

void g_udp6(struct gbuf *g, const uint8_t src[16], const uint8_t dst[16], uint8_t ext_nh,
            const uint8_t *ext, size_t ext_len, uint16_t sport, uint16_t dport,
            const uint8_t *payload, size_t plen)
{
    g_be32(g, 0x60000000u);
    g_be16(g, (uint16_t)(ext_len + 8 + plen));
    g_u8(g, ext != NULL ? ext_nh : 17);
    g_u8(g, 64);
    g_put(g, src, 16);
    g_put(g, dst, 16);
    if (ext != NULL)
        g_put(g, ext, ext_len);
    udp_header(g, sport, dport, plen);
    g_put(g, payload, plen);
}

void g_tcp4(struct gbuf *g, const uint8_t src[4], const uint8_t dst[4])
{
    static const uint8_t tcp[20] = {0x00, 0xb3, 0x07, 0xd7, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x10};

    g_u8(g, 0x45);
    g_u8(g, 0);
    g_be16(g, 40);
    g_be16(g, 1);
    g_be16(g, 0x4000);
    g_u8(g, 64);
    g_u8(g, 6);
    g_be16(g, 0);
    g_put(g, src, 4);
    g_put(g, dst, 4);
    g_put(g, tcp, sizeof(tcp));
}

void g_pcap_header(struct gbuf *f, uint32_t linktype)
{
    g_le32(f, 0xa1b2c3d4u);
    g_le16(f, 2);
    g_le16(f, 4);
    g_le32(f, 0);
    g_le32(f, 0);
    g_le32(f, 65535);
    g_le32(f, linktype);
}

void g_pcap_record(struct gbuf *f, uint32_t sec, uint32_t usec, const struct gbuf *frame)
{
    g_le32(f, sec);
    g_le32(f, usec);
    g_le32(f, (uint32_t)frame->n);
    g_le32(f, (uint32_t)frame->n);
    g_put(f, frame->b, frame->n);
}

void g_pcapng_header(struct gbuf *f, uint16_t linktype)
{
    /* section header block, no options */
    g_le32(f, 0x0a0d0d0au);
    g_le32(f, 28);
    g_le32(f, 0x1a2b3c4du);
    g_le16(f, 1);
    g_le16(f, 0);
    g_le32(f, 0xffffffffu);
    g_le32(f, 0xffffffffu);
    g_le32(f, 28);
    /* interface description block, default microsecond resolution */
    g_le32(f, 1);
    g_le32(f, 20);
    g_le16(f, linktype);
    g_le16(f, 0);
    g_le32(f, 65535);
    g_le32(f, 20);
}

void g_pcapng_record(struct gbuf *f, uint64_t ts_us, const struct gbuf *frame)
{
    static const uint8_t pad[4];
    size_t padded = (frame->n + 3) & ~(size_t)3;
    uint32_t total = (uint32_t)(32 + padded);

    g_le32(f, 6);
    g_le32(f, total);
    g_le32(f, 0);
    g_le32(f, (uint32_t)(ts_us >> 32));
    g_le32(f, (uint32_t)ts_us);
    g_le32(f, (uint32_t)frame->n);
    g_le32(f, (uint32_t)frame->n);
    g_put(f, frame->b, frame->n);
    g_put(f, pad, padded - frame->n);
    g_le32(f, total);
}

const char *g_write(char path[512], const char *dir, const char *name, const void *buf, size_t n)
{
    FILE *f;

    snprintf(path, 512, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, n, f) != n)
        abort();
    fclose(f);
    return path;
}
