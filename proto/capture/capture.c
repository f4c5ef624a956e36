/*
 * capture.c - the capture reader: pcap/pcapng files through libpcap (UDP datagrams to the chosen
 * ports) and raw payload files split into export datagrams. Implements fl0wer/capture.h.
 */
#include "fl0wer/capture.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture_internal.h"

#define CAPTURE_ERRLEN  256
#define RAW_MAX_BYTES   (64u * 1024u * 1024u)

enum capture_kind { CAPTURE_PCAP, CAPTURE_RAW };

struct fl0wer_capture {
    enum capture_kind kind;
    uint16_t ports[FL0WER_CAPTURE_MAX_PORTS];
    size_t n_ports;
    struct fl0wer_capture_stats stats;
    /* pcap / pcapng */
    pcap_t *pcap;
    int dlt;
    /* raw payload file */
    uint8_t *raw;
    size_t raw_len;
    size_t raw_off;
    uint64_t mtime_ms;
};

static int is_pcap_magic(const uint8_t m[4])
{
    static const uint8_t magics[][4] = {
        {0xa1, 0xb2, 0xc3, 0xd4}, {0xd4, 0xc3, 0xb2, 0xa1}, /* pcap, microseconds */
        {0xa1, 0xb2, 0x3c, 0x4d}, {0x4d, 0x3c, 0xb2, 0xa1}, /* pcap, nanoseconds */
        {0x0a, 0x0d, 0x0d, 0x0a},                           /* pcapng section header */
    };
    size_t i;

    for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (memcmp(m, magics[i], 4) == 0)
            return 1;
    return 0;
}

/* Reads the whole raw file f into c (owning the buffer). Returns 0 or -errno / -EINVAL. */
static int raw_load(struct fl0wer_capture *c, FILE *f, const char *path, char *errbuf)
{
    struct stat st;

    if (fstat(fileno(f), &st) != 0) {
        snprintf(errbuf, CAPTURE_ERRLEN, "cannot stat %s: %s", path, strerror(errno));
        return -errno;
    }
    if (st.st_size <= 0 || (uint64_t)st.st_size > RAW_MAX_BYTES) {
        snprintf(errbuf, CAPTURE_ERRLEN, "%s: %s", path,
                 st.st_size <= 0 ? "empty file" : "raw payload file larger than 64 MiB");
        return -EINVAL;
    }
    c->raw_len = (size_t)st.st_size;
    c->raw = malloc(c->raw_len);
    if (c->raw == NULL) {
        snprintf(errbuf, CAPTURE_ERRLEN, "%s: out of memory", path);
        return -ENOMEM;
    }
    rewind(f);
    if (fread(c->raw, 1, c->raw_len, f) != c->raw_len) {
        snprintf(errbuf, CAPTURE_ERRLEN, "cannot read %s", path);
        return -EIO;
    }
    if (!capture_raw_plausible(c->raw, c->raw_len)) {
        snprintf(errbuf, CAPTURE_ERRLEN,
                 "%s: not a pcap, pcapng or netflow v5/v9/ipfix payload file", path);
        return -EINVAL;
    }
    c->mtime_ms = (uint64_t)st.st_mtim.tv_sec * 1000u + (uint64_t)st.st_mtim.tv_nsec / 1000000u;
    c->kind = CAPTURE_RAW;
    return 0;
}

static int pcap_load(struct fl0wer_capture *c, const char *path, char *errbuf)
{
    char perr[PCAP_ERRBUF_SIZE];

    c->pcap = pcap_open_offline(path, perr);
    if (c->pcap == NULL) {
        snprintf(errbuf, CAPTURE_ERRLEN, "cannot read capture %.120s: %.100s", path, perr);
        return -EINVAL;
    }
    c->dlt = pcap_datalink(c->pcap);
    c->kind = CAPTURE_PCAP;
    return 0;
}

int fl0wer_capture_open(struct fl0wer_capture **out, const char *path, const uint16_t *ports,
                        size_t n_ports, char *errbuf)
{
    struct fl0wer_capture *c;
    uint8_t magic[4] = {0};
    size_t got;
    FILE *f;
    int rc;

    *out = NULL;
    if (n_ports > FL0WER_CAPTURE_MAX_PORTS || (n_ports > 0 && ports == NULL)) {
        snprintf(errbuf, CAPTURE_ERRLEN, "too many ports (at most %d)", FL0WER_CAPTURE_MAX_PORTS);
        return -EINVAL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(errbuf, CAPTURE_ERRLEN, "out of memory");
        return -ENOMEM;
    }
    if (n_ports > 0)
        memcpy(c->ports, ports, n_ports * sizeof(*ports));
    c->n_ports = n_ports;
    f = fopen(path, "rb");
    if (f == NULL) {
        rc = -errno;
        snprintf(errbuf, CAPTURE_ERRLEN, "cannot open %s: %s", path, strerror(errno));
        goto out_free;
    }
    got = fread(magic, 1, sizeof(magic), f);
    if (got == sizeof(magic) && is_pcap_magic(magic))
        rc = pcap_load(c, path, errbuf);
    else
        rc = raw_load(c, f, path, errbuf);
    fclose(f);
    if (rc != 0)
        goto out_free;
    *out = c;
    return 0;

out_free:
    fl0wer_capture_close(c);
    return rc;
}

static int port_wanted(const struct fl0wer_capture *c, uint16_t port)
{
    size_t i;

    if (c->n_ports == 0)
        return 1;
    for (i = 0; i < c->n_ports; i++)
        if (c->ports[i] == port)
            return 1;
    return 0;
}

/* Counts why a frame was passed over. */
static void count_skip(struct fl0wer_capture *c, enum capture_frame_status st)
{
    if (st == CAPTURE_FRAME_FRAGMENT)
        c->stats.skipped_fragment++;
    else if (st == CAPTURE_FRAME_TRUNCATED)
        c->stats.skipped_truncated++;
    else
        c->stats.skipped_not_udp++;
}

static int pcap_next_datagram(struct fl0wer_capture *c, struct fl0wer_datagram *dg, char *errbuf)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    struct capture_udp udp;
    enum capture_frame_status st;
    int rc;

    for (;;) {
        rc = pcap_next_ex(c->pcap, &h, &data);
        if (rc == PCAP_ERROR_BREAK)
            return 0;
        if (rc < 0) {
            snprintf(errbuf, CAPTURE_ERRLEN, "capture read failed: %s", pcap_geterr(c->pcap));
            return -EIO;
        }
        if (rc == 0)
            continue;
        c->stats.frames++;
        st = capture_parse_frame(c->dlt, data, h->caplen, &udp);
        if (st != CAPTURE_FRAME_UDP) {
            count_skip(c, st);
            continue;
        }
        if (!port_wanted(c, udp.dst_port)) {
            c->stats.skipped_port++;
            continue;
        }
        dg->payload = udp.payload;
        dg->len = udp.len;
        memcpy(dg->src_addr, udp.src_addr, FL0WER_ADDR_LEN);
        memcpy(dg->dst_addr, udp.dst_addr, FL0WER_ADDR_LEN);
        dg->src_port = udp.src_port;
        dg->dst_port = udp.dst_port;
        dg->ts_ms = (uint64_t)h->ts.tv_sec * 1000u + (uint64_t)h->ts.tv_usec / 1000u;
        c->stats.datagrams++;
        return 1;
    }
}

static int raw_next_datagram(struct fl0wer_capture *c, struct fl0wer_datagram *dg)
{
    static const uint8_t loopback[4] = {127, 0, 0, 1};
    size_t left = c->raw_len - c->raw_off;
    size_t n;

    if (left == 0)
        return 0;
    n = capture_raw_datagram_len(c->raw + c->raw_off, left);
    memset(dg, 0, sizeof(*dg));
    dg->payload = c->raw + c->raw_off;
    dg->len = n;
    fl0wer_addr_from_v4(dg->src_addr, loopback);
    fl0wer_addr_from_v4(dg->dst_addr, loopback);
    dg->ts_ms = c->mtime_ms;
    c->raw_off += n;
    c->stats.frames++;
    c->stats.datagrams++;
    return 1;
}

int fl0wer_capture_next(struct fl0wer_capture *c, struct fl0wer_datagram *dg, char *errbuf)
{
    if (c->kind == CAPTURE_RAW)
        return raw_next_datagram(c, dg);
    return pcap_next_datagram(c, dg, errbuf);
}

uint64_t fl0wer_capture_skipped(const struct fl0wer_capture *c)
{
    return c->stats.skipped_not_udp + c->stats.skipped_port + c->stats.skipped_fragment +
           c->stats.skipped_truncated;
}

void fl0wer_capture_stats(const struct fl0wer_capture *c, struct fl0wer_capture_stats *out)
{
    *out = c->stats;
}

int fl0wer_capture_is_raw(const struct fl0wer_capture *c)
{
    return c->kind == CAPTURE_RAW;
}

void fl0wer_capture_close(struct fl0wer_capture *c)
{
    if (c == NULL)
        return;
    if (c->pcap != NULL)
        pcap_close(c->pcap);
    free(c->raw);
    free(c);
}
