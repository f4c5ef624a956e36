/*
 * pcapgen.h - builds tiny pcap / pcapng files byte by byte for the capture reader's unit tests
 * (link headers, IPv4/IPv6 with extension headers, UDP), so each test states its input exactly.
 */
#ifndef FL0WER_TEST_PCAPGEN_H
#define FL0WER_TEST_PCAPGEN_H

#include <stddef.h>
#include <stdint.h>

struct gbuf {
    uint8_t b[8192];
    size_t n;
};

void g_put(struct gbuf *g, const void *p, size_t n);
void g_u8(struct gbuf *g, uint8_t v);
void g_be16(struct gbuf *g, uint16_t v);
void g_be32(struct gbuf *g, uint32_t v);
void g_le16(struct gbuf *g, uint16_t v);
void g_le32(struct gbuf *g, uint32_t v);

/* IPv4 + UDP packet. frag: the IPv4 flags/fragment-offset field. */
void g_udp4(struct gbuf *g, const uint8_t src[4], const uint8_t dst[4], uint16_t sport,
            uint16_t dport, uint16_t frag, const uint8_t *payload, size_t plen);
/* IPv6 (+ ext headers given raw, first next-header value ext_nh) + UDP. ext may be NULL. */
void g_udp6(struct gbuf *g, const uint8_t src[16], const uint8_t dst[16], uint8_t ext_nh,
            const uint8_t *ext, size_t ext_len, uint16_t sport, uint16_t dport,
            const uint8_t *payload, size_t plen);
/* IPv4 TCP segment (no options), for not-UDP frames. */
void g_tcp4(struct gbuf *g, const uint8_t src[4], const uint8_t dst[4]);

/* Classic pcap: global header then records. */
void g_pcap_header(struct gbuf *file, uint32_t linktype);
void g_pcap_record(struct gbuf *file, uint32_t sec, uint32_t usec, const struct gbuf *frame);
/* pcapng: section header, one interface, enhanced packet blocks (microsecond timestamps). */
void g_pcapng_header(struct gbuf *file, uint16_t linktype);
void g_pcapng_record(struct gbuf *file, uint64_t ts_us, const struct gbuf *frame);

/* Writes buf to dir/name, stores that path in path and returns it. */
const char *g_write(char path[512], const char *dir, const char *name, const void *buf, size_t n);

#endif /* FL0WER_TEST_PCAPGEN_H */
