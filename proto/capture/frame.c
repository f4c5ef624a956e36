/*
 * frame.c - walks one captured link-layer frame (Ethernet with VLAN tags, Linux cooked SLL and
 * SLL2, raw IP, BSD null/loopback) through IPv4 or IPv6 (with extension headers) down to a UDP
 * datagram. Every read goes through a cursor bounded by the frame's end.
 */
#include "capture_internal.h"

#include <pcap/pcap.h>
#include <string.h>

#define ETHERTYPE_IPV4 0x0800u
#define ETHERTYPE_IPV6 0x86ddu
#define MAX_VLAN_TAGS  8
#define MAX_V6_EXT     16

/* A bounded view of the bytes still to be parsed. */
struct cursor {
    const uint8_t *p;
    const uint8_t *end;
};

static size_t cur_left(const struct cursor *c)
{
    return (size_t)(c->end - c->p);
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Parses a UDP header + payload of exactly the bytes in c (the IP payload). */
static enum capture_frame_status parse_udp(struct cursor c, struct capture_udp *out)
{
    uint16_t ulen;

    if (cur_left(&c) < 8)
        return CAPTURE_FRAME_TRUNCATED;
    ulen = be16(c.p + 4);
    if (ulen < 8 || ulen > cur_left(&c))
        return CAPTURE_FRAME_TRUNCATED;
    out->src_port = be16(c.p);
    out->dst_port = be16(c.p + 2);
    out->payload = c.p + 8;
    out->len = (size_t)ulen - 8;
    return CAPTURE_FRAME_UDP;
}

static enum capture_frame_status parse_ipv4(struct cursor c, struct capture_udp *out)
{
    size_t ihl, total;
    uint16_t frag;

    if (cur_left(&c) < 20 || (c.p[0] >> 4) != 4)
        return cur_left(&c) < 20 ? CAPTURE_FRAME_TRUNCATED : CAPTURE_FRAME_NOT_UDP;
    ihl = (size_t)(c.p[0] & 0x0f) * 4;
    total = be16(c.p + 2);
    if (ihl < 20 || total < ihl || total > cur_left(&c))
        return CAPTURE_FRAME_TRUNCATED;
    frag = be16(c.p + 6);
    if ((frag & 0x2000u) != 0 || (frag & 0x1fffu) != 0)
        return CAPTURE_FRAME_FRAGMENT;
    if (c.p[9] != 17)
        return CAPTURE_FRAME_NOT_UDP;
    fl0wer_addr_from_v4(out->src_addr, c.p + 12);
    fl0wer_addr_from_v4(out->dst_addr, c.p + 16);
    c.end = c.p + total; /* drop link-layer padding */
    c.p += ihl;
    return parse_udp(c, out);
}

/* Extension header length for the headers that use the (len + 1) * 8 or AH forms; 0 if none. */
static size_t v6_ext_len(uint8_t nh, const uint8_t *p)
{
    switch (nh) {
    case 0:   /* hop-by-hop options */
    case 43:  /* routing */
    case 60:  /* destination options */
    case 135: /* mobility */
    case 139: /* HIP */
    case 140: /* shim6 */
        return ((size_t)p[1] + 1) * 8;
    case 51: /* authentication header */
        return ((size_t)p[1] + 2) * 4;
    default:
        return 0;
    }
}

static enum capture_frame_status parse_ipv6(struct cursor c, struct capture_udp *out)
{
    size_t plen, hlen;
    uint8_t nh;
    int i;

    if (cur_left(&c) < 40)
        return CAPTURE_FRAME_TRUNCATED;
    if ((c.p[0] >> 4) != 6)
        return CAPTURE_FRAME_NOT_UDP;
    plen = be16(c.p + 4);
    if (plen == 0 || plen > cur_left(&c) - 40)
        return CAPTURE_FRAME_TRUNCATED; /* jumbograms are not supported */
    nh = c.p[6];
    memcpy(out->src_addr, c.p + 8, FL0WER_ADDR_LEN);
    memcpy(out->dst_addr, c.p + 24, FL0WER_ADDR_LEN);
    c.end = c.p + 40 + plen;
    c.p += 40;
    for (i = 0; i < MAX_V6_EXT && nh != 17; i++) {
        if (nh == 44) { /* fragment header: only atomic fragments are whole datagrams */
            if (cur_left(&c) < 8)
                return CAPTURE_FRAME_TRUNCATED;
            if ((be16(c.p + 2) & 0xfff9u) != 0)
                return CAPTURE_FRAME_FRAGMENT;
            hlen = 8;
        } else {
            if (cur_left(&c) < 2)
                return CAPTURE_FRAME_TRUNCATED;
            hlen = v6_ext_len(nh, c.p);
            if (hlen == 0)
                return CAPTURE_FRAME_NOT_UDP;
        }
        if (hlen > cur_left(&c))
            return CAPTURE_FRAME_TRUNCATED;
        nh = c.p[0];
        c.p += hlen;
    }
    if (nh != 17)
        return CAPTURE_FRAME_NOT_UDP;
    return parse_udp(c, out);
}

/* Dispatches on an ethertype after skipping 802.1Q / 802.1ad / QinQ tags. */
static enum capture_frame_status parse_ethertype(uint16_t type, struct cursor c,
                                                 struct capture_udp *out)
{
    int tags = 0;

    while (type == 0x8100u || type == 0x88a8u || type == 0x9100u) {
        if (++tags > MAX_VLAN_TAGS)
            return CAPTURE_FRAME_NOT_UDP;
        if (cur_left(&c) < 4)
            return CAPTURE_FRAME_TRUNCATED;
        type = be16(c.p + 2);
        c.p += 4;
    }
    if (type == ETHERTYPE_IPV4)
        return parse_ipv4(c, out);
    if (type == ETHERTYPE_IPV6)
        return parse_ipv6(c, out);
    return CAPTURE_FRAME_NOT_UDP;
}

/* Raw IP: the version nibble says which. */
static enum capture_frame_status parse_raw_ip(struct cursor c, struct capture_udp *out)
{
    if (cur_left(&c) < 1)
        return CAPTURE_FRAME_TRUNCATED;
    if ((c.p[0] >> 4) == 4)
        return parse_ipv4(c, out);
    if ((c.p[0] >> 4) == 6)
        return parse_ipv6(c, out);
    return CAPTURE_FRAME_NOT_UDP;
}

/* BSD loopback: a 4-byte address family, in the capturing host's order (DLT_NULL) or big endian
 * (DLT_LOOP). AF_INET is 2 everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS). */
static enum capture_frame_status parse_null(struct cursor c, int big_endian_only,
                                            struct capture_udp *out)
{
    uint32_t be, le, fam;

    if (cur_left(&c) < 4)
        return CAPTURE_FRAME_TRUNCATED;
    be = be32(c.p);
    le = (uint32_t)c.p[0] | ((uint32_t)c.p[1] << 8) | ((uint32_t)c.p[2] << 16) |
         ((uint32_t)c.p[3] << 24);
    fam = (big_endian_only || be < 256) ? be : le;
    c.p += 4;
    if (fam == 2)
        return parse_ipv4(c, out);
    if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
        return parse_ipv6(c, out);
    return CAPTURE_FRAME_NOT_UDP;
}

enum capture_frame_status capture_parse_frame(int dlt, const uint8_t *frame, size_t len,
                                              struct capture_udp *out)
{
    struct cursor c = {frame, frame + len};

    memset(out, 0, sizeof(*out));
    switch (dlt) {
    case DLT_EN10MB:
        if (len < 14)
            return CAPTURE_FRAME_TRUNCATED;
        c.p += 14;
        return parse_ethertype(be16(frame + 12), c, out);
    case DLT_LINUX_SLL:
        if (len < 16)
            return CAPTURE_FRAME_TRUNCATED;
        c.p += 16;
        return parse_ethertype(be16(frame + 14), c, out);
    case DLT_LINUX_SLL2:
        if (len < 20)
            return CAPTURE_FRAME_TRUNCATED;
        c.p += 20;
        return parse_ethertype(be16(frame), c, out);
    case DLT_RAW:
    case DLT_IPV4:
    case DLT_IPV6:
        return parse_raw_ip(c, out);
    case DLT_NULL:
        return parse_null(c, 0, out);
    case DLT_LOOP:
        return parse_null(c, 1, out);
    default:
        return CAPTURE_FRAME_NOT_UDP;
    }
}
