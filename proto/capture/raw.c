/*
 * raw.c - splits a raw payload file (UDP payloads written back to back, no packet headers) into
 * export datagrams using the NetFlow v5 count and the IPFIX length field.
 */
#include "capture_internal.h"

#define V5_HEADER  24u
#define V5_RECORD  48u
#define V9_HEADER  20u
#define IPFIX_HDR  16u

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

int capture_raw_plausible(const uint8_t *buf, size_t len)
{
    if (len < 4)
        return 0;
    switch (be16(buf)) {
    case 5:
        return len >= V5_HEADER;
    case 9:
        return len >= V9_HEADER;
    case 10:
        return len >= IPFIX_HDR && be16(buf + 2) >= IPFIX_HDR;
    default:
        return 0;
    }
}

size_t capture_raw_datagram_len(const uint8_t *buf, size_t len)
{
    size_t want;

    if (len < 4)
        return len;
    switch (be16(buf)) {
    case 5:
        want = V5_HEADER + V5_RECORD * (size_t)be16(buf + 2);
        break;
    case 10:
        want = be16(buf + 2);
        if (want < IPFIX_HDR)
            return len;
        break;
    default: /* NetFlow v9 has no length field; unknown versions cannot be split */
        return len;
    }
    if (want >= len)
        return len;
    /* Bytes that do not start another datagram are trailing bytes of this one. */
    if (!capture_raw_plausible(buf + want, len - want))
        return len;
    return want;
}
