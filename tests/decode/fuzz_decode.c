/*
 * fuzz_decode.c - libFuzzer harness for fl0wer_decode. The input is a stream of datagrams, each
 * framed by a 2-byte big-endian length (a length past the end takes the rest), all fed to one
 * decoder so templates, options and holding carry over from one datagram to the next. Receive
 * times advance 7 minutes per datagram so template expiry is exercised too.
 */
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/decode.h"

static int sink(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    size_t *n = arg;

    for (size_t i = 0; i < count; i++)
        *n += flows[i].bytes & 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl0wer_decoder_config cfg = {.template_timeout_s = 1800, .max_templates = 64,
                                        .max_exporters = 8, .hold_packets = 2};
    struct fl0wer_decoder *d;
    struct fl0wer_source src = {.port = 2055, .recv_ms = 1700000000000ull};
    struct fl0wer_decoder_totals t;
    size_t n = 0, off = 0;

    src.addr[10] = src.addr[11] = 0xff;
    src.addr[12] = 192;
    src.addr[15] = 1;
    if (fl0wer_decoder_create(&d, &cfg) != 0)
        return 0;
    while (size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];

        off += 2;
        if (len > size - off)
            len = size - off;
        (void)fl0wer_decode_packet(d, &src, data + off, len, sink, &n);
        off += len;
        src.recv_ms += 420000;
        src.port ^= (uint16_t)(len & 1); /* sometimes a second exporter */
    }
    fl0wer_decoder_flush_held(d);
    fl0wer_decoder_totals(d, &t);
    fl0wer_decoder_destroy(d);
    return 0;
}
