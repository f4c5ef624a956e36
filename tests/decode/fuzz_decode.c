/*
 * fuzz_decode.c - libFuzzer harness for fl0wer_decode. The input is a stream of datagrams, each
 * framed by a 2-byte big-endian length (a length past the end takes the rest), all fed to one
 * decoder so templates, options and holding carry over from one datagram to the next. Receive
 * times advance 7 minutes per datagram so template expiry is exercised too.
 *
 * Every datagram also goes through a second decoder with FL0WER_DECODER_GENERIC (no fixed-length
 * fast path): return codes, flows (byte for byte) and totals must be identical, else abort.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/decode.h"

struct out {
    struct fl0wer_flow *f;
    size_t n, cap;
};

static int sink(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct out *o = arg;

    if (o->n + count > o->cap) {
        size_t cap = (o->n + count) * 2;
        struct fl0wer_flow *f = realloc(o->f, cap * sizeof(*f));

        if (f == NULL)
            abort();
        o->f = f;
        o->cap = cap;
    }
    memcpy(o->f + o->n, flows, count * sizeof(*flows));
    o->n += count;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl0wer_decoder_config cfg = {.template_timeout_s = 1800, .max_templates = 64,
                                        .max_exporters = 8, .hold_packets = 2};
    struct fl0wer_decoder *d, *g;
    struct fl0wer_source src = {.port = 2055, .recv_ms = 1700000000000ull};
    struct fl0wer_decoder_totals t, tg;
    struct out a = {0}, b = {0};
    size_t off = 0;

    src.addr[10] = src.addr[11] = 0xff;
    src.addr[12] = 192;
    src.addr[15] = 1;
    if (fl0wer_decoder_create(&d, &cfg) != 0)
        return 0;
    cfg.flags |= FL0WER_DECODER_GENERIC;
    if (fl0wer_decoder_create(&g, &cfg) != 0) {
        fl0wer_decoder_destroy(d);
        return 0;
    }
    while (size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        int rc, rcg;

        off += 2;
        if (len > size - off)
            len = size - off;
        a.n = b.n = 0;
        rc = fl0wer_decode_packet(d, &src, data + off, len, sink, &a);
        rcg = fl0wer_decode_packet(g, &src, data + off, len, sink, &b);
        if (rc != rcg || a.n != b.n || (a.n && memcmp(a.f, b.f, a.n * sizeof(*a.f)) != 0))
            abort(); /* the fast path disagrees with the general path */
        off += len;
        src.recv_ms += 420000;
        src.port ^= (uint16_t)(len & 1); /* sometimes a second exporter */
    }
    fl0wer_decoder_flush_held(d);
    fl0wer_decoder_flush_held(g);
    fl0wer_decoder_totals(d, &t);
    fl0wer_decoder_totals(g, &tg);
    if (memcmp(&t, &tg, sizeof(t)) != 0)
        abort();
    fl0wer_decoder_destroy(d);
    fl0wer_decoder_destroy(g);
    free(a.f);
    free(b.f);
    return 0;
}
