/*
 * expect.c - fl0wer-test-expect: decodes capture files with the decoder library, the way the
 * edge sees them when fl0wer-replay sends them (one decoder, files in the given order, each
 * capture exporter kept apart, receive time = now), and prints the totals the hub side must end
 * up with, as one JSON line:
 *   {"datagrams":..,"records":..,"bytes":..,"packets":..,"flows":..,"scaled_bytes":..,
 *    "scaled_packets":..,"errors":..}
 * usage: fl0wer-test-expect [--port P]... FILE...
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl0wer/capture.h"
#include "fl0wer/decode.h"

struct sums {
    uint64_t records, bytes, packets, flows, scaled_bytes, scaled_packets;
};

static int count_cb(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct sums *s = arg;
    for (size_t i = 0; i < count; i++) {
        uint64_t k = flows[i].sampling ? flows[i].sampling : 1;
        s->records++;
        s->bytes += flows[i].bytes;
        s->packets += flows[i].packets;
        s->flows += flows[i].flows;
        s->scaled_bytes += flows[i].bytes * k;
        s->scaled_packets += flows[i].packets * k;
    }
    return 0;
}

int main(int argc, char **argv)
{
    uint16_t ports[FL0WER_CAPTURE_MAX_PORTS];
    size_t n_ports = 0;
    struct fl0wer_decoder *d;
    struct sums s = {0};
    uint64_t datagrams = 0, errors = 0;
    char errbuf[256];
    if (fl0wer_decoder_create(&d, NULL) != 0)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            if (n_ports < FL0WER_CAPTURE_MAX_PORTS)
                ports[n_ports++] = (uint16_t)atoi(argv[++i]);
            continue;
        }
        struct fl0wer_capture *c;
        if (fl0wer_capture_open(&c, argv[i], ports, n_ports, errbuf) != 0) {
            fprintf(stderr, "fl0wer-test-expect: %s: %s\n", argv[i], errbuf);
            return 1;
        }
        struct fl0wer_datagram dg;
        while (fl0wer_capture_next(c, &dg, errbuf) == 1) {
            struct fl0wer_source src;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            memcpy(src.addr, dg.src_addr, FL0WER_ADDR_LEN);
            src.port = dg.src_port;
            src.recv_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
            datagrams++;
            if (fl0wer_decode_packet(d, &src, dg.payload, dg.len, count_cb, &s) < 0)
                errors++;
        }
        fl0wer_capture_close(c);
    }
    fl0wer_decoder_destroy(d);
    printf("{\"datagrams\":%" PRIu64 ",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"packets\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"scaled_bytes\":%" PRIu64
           ",\"scaled_packets\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
           datagrams, s.records, s.bytes, s.packets, s.flows, s.scaled_bytes, s.scaled_packets,
           errors);
    return 0;
}
