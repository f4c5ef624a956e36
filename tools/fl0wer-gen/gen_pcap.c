/*
 * gen_pcap.c - writes generated export packets as a classic little-endian pcap file
 * (microsecond timestamps, Ethernet link type), each wrapped in Ethernet / IPv4 / UDP to
 * 192.0.2.254 port 2056 from the exporter's address and port.
 */
#include <string.h>

#include "gen.h"

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int gen_pcap_header(FILE *f)
{
    uint8_t h[24];

    le32(h, 0xa1b2c3d4u);
    h[4] = 2; h[5] = 0; /* version 2.4 */
    h[6] = 4; h[7] = 0;
    le32(h + 8, 0);      /* thiszone */
    le32(h + 12, 0);     /* sigfigs */
    le32(h + 16, 65535); /* snaplen */
    le32(h + 20, 1);     /* LINKTYPE_ETHERNET */
    return fwrite(h, sizeof(h), 1, f) == 1 ? 0 : -1;
}

static uint16_t ip_checksum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;

    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

int gen_pcap_packet(FILE *f, const struct gen_exporter *ex, uint64_t ts_ms,
                    const uint8_t *payload, size_t len)
{
    uint8_t rec[16], hdr[42], *w;
    size_t total = sizeof(hdr) + len;

    if (len > GEN_MAX_PACKET)
        return -1;
    le32(rec, (uint32_t)(ts_ms / 1000));
    le32(rec + 4, (uint32_t)(ts_ms % 1000) * 1000u);
    le32(rec + 8, (uint32_t)total);
    le32(rec + 12, (uint32_t)total);

    memcpy(hdr, (const uint8_t[]){0x02, 0, 0, 0, 0, 0xfe}, 6);           /* dst MAC */
    memcpy(hdr + 6, (const uint8_t[]){0x02, 0, 0, 0, 0, ex->addr[15]}, 6); /* src MAC */
    w = gen_put16(hdr + 12, 0x0800);
    w = gen_put8(w, 0x45);
    w = gen_put8(w, 0);
    w = gen_put16(w, (uint16_t)(20 + 8 + len));
    w = gen_put16(w, 0);      /* id */
    w = gen_put16(w, 0x4000); /* don't fragment */
    w = gen_put8(w, 64);
    w = gen_put8(w, 17);
    w = gen_put16(w, 0); /* checksum, below */
    memcpy(w, ex->addr + 12, 4);
    memcpy(w + 4, (const uint8_t[]){192, 0, 2, 254}, 4);
    gen_put16(hdr + 24, ip_checksum(hdr + 14, 20));
    w = gen_put16(hdr + 34, ex->port);
    w = gen_put16(w, 2056);
    w = gen_put16(w, (uint16_t)(8 + len));
    gen_put16(w, 0); /* no UDP checksum (allowed over IPv4) */
    if (fwrite(rec, sizeof(rec), 1, f) != 1 || fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
        (len > 0 && fwrite(payload, len, 1, f) != 1))
        return -1;
    return 0;
}
