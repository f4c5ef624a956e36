/*
 * capture_internal.h - pieces of the capture reader shared between its files and its unit tests:
 * the link/IP/UDP frame parser and the raw payload file splitter. Not a public interface.
 */
#ifndef FL0WER_CAPTURE_INTERNAL_H
#define FL0WER_CAPTURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

/* What capture_parse_frame() found in one link-layer frame. */
enum capture_frame_status {
    CAPTURE_FRAME_UDP = 0,   /* a whole UDP datagram: *out is filled */
    CAPTURE_FRAME_NOT_UDP,   /* another protocol or link type */
    CAPTURE_FRAME_FRAGMENT,  /* an IPv4 or IPv6 fragment */
    CAPTURE_FRAME_TRUNCATED, /* shorter than a header or than a length it states */
};

/* A UDP datagram found in a frame; payload points into the frame. */
struct capture_udp {
    const uint8_t *payload;
    size_t len;
    uint8_t src_addr[FL0WER_ADDR_LEN];
    uint8_t dst_addr[FL0WER_ADDR_LEN];
    uint16_t src_port;
    uint16_t dst_port;
};

/*
 * Walks one frame of the libpcap link type dlt (DLT_EN10MB with VLAN tags, DLT_LINUX_SLL,
 * DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP) down to UDP. Reads only
 * [frame, frame + len). Returns a capture_frame_status; *out is valid only for CAPTURE_FRAME_UDP.
 */
enum capture_frame_status capture_parse_frame(int dlt, const uint8_t *frame, size_t len,
                                              struct capture_udp *out);

/*
 * Length of the first export datagram at the start of a raw payload buffer of len bytes (len > 0):
 * NetFlow v5 24 + 48 * count, IPFIX its length field, NetFlow v9 (no length field) and anything
 * unknown or overlong the whole buffer. Bytes after a datagram that do not start another plausible
 * header are counted as part of it. Always returns a value in [1, len].
 */
size_t capture_raw_datagram_len(const uint8_t *buf, size_t len);

/* True when buf (len bytes) starts like a NetFlow v5/v9 or IPFIX header. */
int capture_raw_plausible(const uint8_t *buf, size_t len);

#endif /* FL0WER_CAPTURE_INTERNAL_H */
