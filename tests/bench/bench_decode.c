/*
 * bench_decode.c - decoder throughput. Builds realistic NetFlow v5 (30 records), v9 (template
 * of 18 fields, 30 records) and IPFIX (Cisco-like template of 18 fields, 30 records) packets in
 * memory (templates sent once, then data packets as an exporter does) and decodes each N times,
 * printing records per second on one core.
 *   usage: bench_decode [iterations] [--generic]   (default 200000 packets per format;
 *          --generic: FL0WER_DECODER_GENERIC, the general path without the fixed-length plan)
 * For instructions per record run a fixed small count under callgrind, e.g.
 *   valgrind --tool=callgrind bench_decode 2000
 * and divide the Ir of fl0wer_decode_packet (inclusive) by the records printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl0wer/decode.h"

static uint8_t pkt[3][4096], tpkt[3][512];
static size_t pkt_len[3], tpkt_len[3];

struct w {
    uint8_t *p;
};

static void u8(struct w *w, uint32_t v) { *w->p++ = (uint8_t)v; }
static void u16(struct w *w, uint32_t v) { u8(w, v >> 8), u8(w, v); }
static void u32(struct w *w, uint32_t v) { u16(w, v >> 16), u16(w, v); }
static void u64(struct w *w, uint64_t v) { u32(w, (uint32_t)(v >> 32)), u32(w, (uint32_t)v); }

/* Cisco-like IPFIX / v9 template: 18 fields, 61 bytes per record. */
static const uint16_t tpl[18][2] = {
    {8, 4},  {12, 4}, {7, 2},  {11, 2}, {4, 1},  {6, 1},   {5, 1},   {10, 4},  {14, 4},
    {1, 8},  {2, 8},  {15, 4}, {16, 4}, {17, 4}, {9, 1},   {13, 1},  {22, 4},  {21, 4},
};

static void record(struct w *w, uint32_t i, int ipfix)
{
    u32(w, 0x0a000000u | i), u32(w, 0xc0a80000u | (i * 7 & 0xffff));
    u16(w, 1024 + i), u16(w, 443), u8(w, 6), u8(w, 0x1b), u8(w, 0);
    u32(w, 3), u32(w, 7);
    u64(w, 1500ull * (i + 1)), u64(w, i + 1);
    u32(w, 0x0a0000fe), u32(w, 64512), u32(w, 15169), u8(w, 24), u8(w, 16);
    u32(w, ipfix ? 100000 + i : 900000 + i), u32(w, ipfix ? 101000 + i : 999000);
}

/* IPFIX: with_tpl 1 = template message, 0 = data message of 30 records. */
static size_t build_ipfix(uint8_t *buf, int with_tpl)
{
    struct w w = {buf};
    uint8_t *set;

    u16(&w, 10), u16(&w, 0), u32(&w, 1700000000), u32(&w, 0), u32(&w, 1);
    if (!with_tpl)
        goto data;
    u16(&w, 2), u16(&w, 4 + 4 + 18 * 4), u16(&w, 256), u16(&w, 18);
    for (int i = 0; i < 18; i++)
        u16(&w, tpl[i][0]), u16(&w, tpl[i][1]);
    u16(&w, 3), u16(&w, 4 + 6 + 8), u16(&w, 257), u16(&w, 2), u16(&w, 1);
    u16(&w, 149), u16(&w, 4), u16(&w, 160), u16(&w, 8);
    u16(&w, 257), u16(&w, 4 + 12), u32(&w, 1), u64(&w, 1699990000000ull);
    goto out;
data:
    set = w.p;
    u16(&w, 256), u16(&w, 0);
    for (uint32_t i = 0; i < 30; i++)
        record(&w, i, 1);
    set[2] = (uint8_t)((w.p - set) >> 8), set[3] = (uint8_t)(w.p - set);
out:
    buf[2] = (uint8_t)((w.p - buf) >> 8), buf[3] = (uint8_t)(w.p - buf);
    return (size_t)(w.p - buf);
}

static size_t build_v9(uint8_t *buf, int with_tpl)
{
    struct w w = {buf};
    uint8_t *set;

    u16(&w, 9), u16(&w, with_tpl ? 1 : 30), u32(&w, 1000000), u32(&w, 1700000000), u32(&w, 0);
    u32(&w, 1);
    if (with_tpl) {
        u16(&w, 0), u16(&w, 4 + 4 + 18 * 4), u16(&w, 256), u16(&w, 18);
        for (int i = 0; i < 18; i++)
            u16(&w, tpl[i][0]), u16(&w, tpl[i][1]);
        return (size_t)(w.p - buf);
    }
    set = w.p;
    u16(&w, 256), u16(&w, 0);
    for (uint32_t i = 0; i < 30; i++)
        record(&w, i, 0);
    while ((w.p - set) % 4)
        u8(&w, 0);
    set[2] = (uint8_t)((w.p - set) >> 8), set[3] = (uint8_t)(w.p - set);
    return (size_t)(w.p - buf);
}

static size_t build_v5(uint8_t *buf)
{
    struct w w = {buf};

    u16(&w, 5), u16(&w, 30), u32(&w, 1000000), u32(&w, 1700000000), u32(&w, 0), u32(&w, 0);
    u16(&w, 0), u16(&w, 0);
    for (uint32_t i = 0; i < 30; i++) {
        u32(&w, 0x0a000000u | i), u32(&w, 0xc0a80001u), u32(&w, 0x0a0000fe);
        u16(&w, 3), u16(&w, 7), u32(&w, i + 1), u32(&w, 1500 * (i + 1));
        u32(&w, 900000), u32(&w, 999000), u16(&w, 1024 + i), u16(&w, 443);
        u8(&w, 0), u8(&w, 0x1b), u8(&w, 6), u8(&w, 0), u16(&w, 64512), u16(&w, 15169);
        u8(&w, 24), u8(&w, 16), u16(&w, 0);
    }
    return (size_t)(w.p - buf);
}

static int sink(void *arg, const struct fl0wer_flow *f, size_t n)
{
    uint64_t *total = arg;

    *total += n + (f[n - 1].bytes & 1);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const char *const names[3] = {"netflow-v5", "netflow-v9", "ipfix"};
    long iters = argc > 1 ? atol(argv[1]) : 200000;
    struct fl0wer_decoder_config cfg = {0};
    struct fl0wer_decoder *d;
    struct fl0wer_source src;

    pkt_len[0] = build_v5(pkt[0]);
    pkt_len[1] = build_v9(pkt[1], 0);
    tpkt_len[1] = build_v9(tpkt[1], 1);
    pkt_len[2] = build_ipfix(pkt[2], 0);
    tpkt_len[2] = build_ipfix(tpkt[2], 1);
    if (argc > 2 && strcmp(argv[2], "--generic") == 0)
        cfg.flags |= FL0WER_DECODER_GENERIC;
    if (fl0wer_decoder_create(&d, &cfg) != 0)
        return 1;
    memset(&src, 0, sizeof(src));
    src.addr[10] = src.addr[11] = 0xff;
    src.addr[12] = 192;
    src.addr[15] = 1;
    src.port = 2055;
    src.recv_ms = 1700000000000ull;
    for (int k = 0; k < 3; k++) {
        uint64_t total = 0;
        double t0, t1;

        if ((tpkt_len[k] && fl0wer_decode_packet(d, &src, tpkt[k], tpkt_len[k], sink, &total)) ||
            fl0wer_decode_packet(d, &src, pkt[k], pkt_len[k], sink, &total) != 0 || total != 30) {
            fprintf(stderr, "bench: %s packet does not decode\n", names[k]);
            return 1;
        }
        total = 0;
        t0 = now_s();
        for (long i = 0; i < iters; i++)
            fl0wer_decode_packet(d, &src, pkt[k], pkt_len[k], sink, &total);
        t1 = now_s();
        printf("%-10s %4zu-byte packets: %ld packets, %llu records in %.3f s = %.2f M records/s/core\n",
               names[k], pkt_len[k], iters, (unsigned long long)total, t1 - t0,
               (double)total / (t1 - t0) / 1e6);
    }
    fl0wer_decoder_destroy(d);
    return 0;
}
