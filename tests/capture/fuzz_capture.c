/*
 * fuzz_capture.c - libFuzzer harness for the capture reader's untrusted-byte walkers: the
 * link/IP/UDP frame parser under every supported link type, and the raw payload splitter. The
 * first input byte picks the link type; a UDP result must point inside the frame.
 */
#include <pcap/dlt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "capture_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int dlts[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                               DLT_IPV4,   DLT_IPV6,      DLT_NULL,       DLT_LOOP};
    struct capture_udp udp;

    if (size < 1)
        return 0;
    int dlt = dlts[data[0] % (sizeof(dlts) / sizeof(dlts[0]))];
    const uint8_t *frame = data + 1;
    size_t len = size - 1;

    if (capture_parse_frame(dlt, frame, len, &udp) == CAPTURE_FRAME_UDP &&
        (udp.payload < frame || udp.payload + udp.len > frame + len))
        abort();
    /* Split the whole input as a raw payload file would be. */
    for (size_t off = 0; off < size;) {
        size_t n = capture_raw_datagram_len(data + off, size - off);
        if (n < 1 || n > size - off)
            abort();
        off += n;
    }
    return 0;
}
