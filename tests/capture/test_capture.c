/*
 * test_capture.c - unit tests of the capture reader: hand-written pcap/pcapng files covering each
 * link type, VLAN tags, IPv6 extension headers, fragments, truncation and port filtering; raw
 * payload splitting; open errors; and real captures (bundled, plus the shared ones when present).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "capture_internal.h"
#include "fl0wer/capture.h"
#include "pcapgen.h"

static const uint8_t ip_a[4] = {10, 0, 0, 1};
static const uint8_t ip_b[4] = {10, 0, 0, 2};
static const uint8_t ip6_a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
static const uint8_t ip6_b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

struct fixture {
    char dir[256];
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));

    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/fl0wer-test-capture-XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    struct dirent *e;
    char path[600];
    DIR *d = opendir(fx->dir);

    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", fx->dir, e->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

/* Ethernet header with the given ethertype (MACs are arbitrary). */
static void eth(struct gbuf *g, uint16_t type)
{
    static const uint8_t macs[12] = {0, 0x53, 0, 0, 0, 2, 0, 0x53, 0, 0, 0, 1};

    g_put(g, macs, sizeof(macs));
    g_be16(g, type);
}

static void vlan(struct gbuf *g, uint16_t id, uint16_t inner_type)
{
    g_be16(g, id);
    g_be16(g, inner_type);
}

/* Reads the next datagram and checks its payload text, ports and ts. */
static void expect_dg(struct fl0wer_capture *c, const char *payload, uint16_t sport,
                      uint16_t dport, uint64_t ts_ms)
{
    struct fl0wer_datagram dg;
    char err[256];

    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(dg.len, strlen(payload));
    assert_memory_equal(dg.payload, payload, dg.len);
    assert_int_equal(dg.src_port, sport);
    assert_int_equal(dg.dst_port, dport);
    assert_int_equal(dg.ts_ms, ts_ms);
}

static void expect_end(struct fl0wer_capture *c)
{
    struct fl0wer_datagram dg;
    char err[256];

    assert_int_equal(fl0wer_capture_next(c, &dg, err), 0);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 0);
}

/* Builds the 14-frame Ethernet capture used by the filter tests. */
static void build_ethernet_mix(struct gbuf *file)
{
    static const uint8_t hbh_dst[16] = {60, 0, 1, 4, 0, 0, 0, 0, /* HBH -> dst opts, PadN */
                                        17, 0, 1, 4, 0, 0, 0, 0}; /* dst opts -> UDP */
    static const uint8_t frag_mid[8] = {17, 0, 0x00, 0x09, 0, 0, 0, 7}; /* offset 1, M=1 */
    static const uint8_t frag_atomic[8] = {17, 0, 0, 0, 0, 0, 0, 8};
    struct gbuf f;
    uint32_t t = 1000;

    g_pcap_header(file, 1);
#define FRAME(build) do { memset(&f, 0, sizeof(f)); build; g_pcap_record(file, t++, 500000, &f); } while (0)
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 40000, 2055, 0, (const uint8_t *)"AAAA", 4)));
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 40000, 9999, 0, (const uint8_t *)"ZZ", 2)));
    FRAME((eth(&f, 0x0800), g_tcp4(&f, ip_a, ip_b)));
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 1, 2055, 0x2000, (const uint8_t *)"X", 1)));
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 1, 2055, 0x0064, (const uint8_t *)"X", 1)));
    FRAME((eth(&f, 0x8100), vlan(&f, 10, 0x0800),
           g_udp4(&f, ip_a, ip_b, 40001, 4739, 0, (const uint8_t *)"BBBBB", 5)));
    FRAME((eth(&f, 0x88a8), vlan(&f, 20, 0x8100), vlan(&f, 30, 0x0800),
           g_udp4(&f, ip_a, ip_b, 40002, 2055, 0, (const uint8_t *)"CC", 2)));
    FRAME((eth(&f, 0x86dd), g_udp6(&f, ip6_a, ip6_b, 0, hbh_dst, sizeof(hbh_dst), 40003, 4739,
                                   (const uint8_t *)"DDD", 3)));
    FRAME((eth(&f, 0x86dd), g_udp6(&f, ip6_a, ip6_b, 44, frag_mid, sizeof(frag_mid), 1, 2055,
                                   (const uint8_t *)"X", 1)));
    FRAME((eth(&f, 0x86dd), g_udp6(&f, ip6_a, ip6_b, 44, frag_atomic, sizeof(frag_atomic), 40004,
                                   2055, (const uint8_t *)"E", 1)));
    FRAME((eth(&f, 0x0806), g_put(&f, "arp-arp-arp-arp-arp-arp-arp-", 28)));
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 1, 2055, 0, (const uint8_t *)"TRUNC", 5),
           f.n -= 2));
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 40005, 2055, 0, (const uint8_t *)"FFFF", 4),
           g_put(&f, "\0\0\0\0\0\0\0\0\0\0", 10)));
    /* UDP length field (offset 14 + 24) larger than the IP payload */
    FRAME((eth(&f, 0x0800), g_udp4(&f, ip_a, ip_b, 1, 2055, 0, (const uint8_t *)"UU", 2),
           f.b[14 + 24] = 0, f.b[14 + 25] = 200));
#undef FRAME
}

static void test_ethernet_filtering(void **state)
{
    struct fixture *fx = *state;
    static const uint16_t ports[] = {2055, 4739};
    struct fl0wer_capture_stats st;
    struct fl0wer_capture *c;
    struct fl0wer_datagram dg;
    struct gbuf file = {0};
    char path[512], err[256];

    build_ethernet_mix(&file);
    g_write(path, fx->dir, "mix.pcap", file.b, file.n);
    assert_int_equal(fl0wer_capture_open(&c, path, ports, 2, err), 0);
    assert_false(fl0wer_capture_is_raw(c));
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_memory_equal(dg.payload, "AAAA", 4);
    assert_int_equal(dg.len, 4);
    assert_int_equal(dg.src_port, 40000);
    assert_int_equal(dg.dst_port, 2055);
    assert_int_equal(dg.ts_ms, 1000500);
    assert_true(fl0wer_addr_is_v4(dg.src_addr));
    assert_memory_equal(dg.src_addr + 12, ip_a, 4);
    assert_memory_equal(dg.dst_addr + 12, ip_b, 4);
    expect_dg(c, "BBBBB", 40001, 4739, 1005500);
    expect_dg(c, "CC", 40002, 2055, 1006500);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_memory_equal(dg.payload, "DDD", 3);
    assert_int_equal(dg.dst_port, 4739);
    assert_memory_equal(dg.src_addr, ip6_a, 16);
    assert_memory_equal(dg.dst_addr, ip6_b, 16);
    expect_dg(c, "E", 40004, 2055, 1009500);
    expect_dg(c, "FFFF", 40005, 2055, 1012500); /* Ethernet padding not part of the payload */
    expect_end(c);
    fl0wer_capture_stats(c, &st);
    assert_int_equal(st.frames, 14);
    assert_int_equal(st.datagrams, 6);
    assert_int_equal(st.skipped_port, 1);
    assert_int_equal(st.skipped_not_udp, 2);
    assert_int_equal(st.skipped_fragment, 3);
    assert_int_equal(st.skipped_truncated, 2);
    assert_int_equal(fl0wer_capture_skipped(c), 8);
    fl0wer_capture_close(c);

    /* No port list: every UDP datagram, including the one to 9999. */
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), 0);
    expect_dg(c, "AAAA", 40000, 2055, 1000500);
    expect_dg(c, "ZZ", 40000, 9999, 1001500);
    fl0wer_capture_stats(c, &st);
    assert_int_equal(st.datagrams, 2);
    fl0wer_capture_close(c);
}

/* One UDP datagram behind each other link type. */
static void write_one(struct fixture *fx, char path[512], const char *name, uint32_t linktype,
                      const struct gbuf *frame)
{
    struct gbuf file = {0};

    g_pcap_header(&file, linktype);
    g_pcap_record(&file, 7, 1000, frame);
    g_write(path, fx->dir, name, file.b, file.n);
}

static void check_one(const char *path, int v6)
{
    static const uint16_t port = 9995;
    struct fl0wer_capture *c;
    struct fl0wer_datagram dg;
    char err[256];

    assert_int_equal(fl0wer_capture_open(&c, path, &port, 1, err), 0);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(dg.len, 6);
    assert_memory_equal(dg.payload, "flow!!", 6);
    assert_int_equal(dg.src_port, 5000);
    assert_int_equal(dg.dst_port, 9995);
    assert_int_equal(dg.ts_ms, 7001);
    if (v6)
        assert_memory_equal(dg.src_addr, ip6_a, 16);
    else
        assert_memory_equal(dg.src_addr + 12, ip_a, 4);
    expect_end(c);
    assert_int_equal(fl0wer_capture_skipped(c), 0);
    fl0wer_capture_close(c);
}

static void test_link_types(void **state)
{
    struct fixture *fx = *state;
    static const uint8_t sll_addr[8] = {0, 0x53, 0, 0, 0, 1, 0, 0};
    const uint8_t *pl = (const uint8_t *)"flow!!";
    struct gbuf f;
    char path[512];

    memset(&f, 0, sizeof(f)); /* Linux cooked v1 */
    g_be16(&f, 0), g_be16(&f, 1), g_be16(&f, 6), g_put(&f, sll_addr, 8), g_be16(&f, 0x0800);
    g_udp4(&f, ip_a, ip_b, 5000, 9995, 0, pl, 6);
    write_one(fx, path, "sll.pcap", 113, &f);
    check_one(path, 0);

    memset(&f, 0, sizeof(f)); /* Linux cooked v2 */
    g_be16(&f, 0x86dd), g_be16(&f, 0), g_be32(&f, 3), g_be16(&f, 1), g_u8(&f, 0), g_u8(&f, 6);
    g_put(&f, sll_addr, 8);
    g_udp6(&f, ip6_a, ip6_b, 0, NULL, 0, 5000, 9995, pl, 6);
    write_one(fx, path, "sll2.pcap", 276, &f);
    check_one(path, 1);

    memset(&f, 0, sizeof(f)); /* LINKTYPE_RAW */
    g_udp4(&f, ip_a, ip_b, 5000, 9995, 0, pl, 6);
    write_one(fx, path, "raw.pcap", 101, &f);
    check_one(path, 0);
    write_one(fx, path, "ipv4.pcap", 228, &f);
    check_one(path, 0);

    memset(&f, 0, sizeof(f)); /* LINKTYPE_IPV6 */
    g_udp6(&f, ip6_a, ip6_b, 0, NULL, 0, 5000, 9995, pl, 6);
    write_one(fx, path, "ipv6.pcap", 229, &f);
    check_one(path, 1);

    memset(&f, 0, sizeof(f)); /* BSD null, little-endian AF_INET */
    g_le32(&f, 2);
    g_udp4(&f, ip_a, ip_b, 5000, 9995, 0, pl, 6);
    write_one(fx, path, "null4.pcap", 0, &f);
    check_one(path, 0);

    memset(&f, 0, sizeof(f)); /* BSD null, big-endian AF_INET6 (macOS value 30) */
    g_be32(&f, 30);
    g_udp6(&f, ip6_a, ip6_b, 0, NULL, 0, 5000, 9995, pl, 6);
    write_one(fx, path, "null6.pcap", 0, &f);
    check_one(path, 1);

    memset(&f, 0, sizeof(f)); /* OpenBSD loop, network order */
    g_be32(&f, 24);
    g_udp6(&f, ip6_a, ip6_b, 0, NULL, 0, 5000, 9995, pl, 6);
    write_one(fx, path, "loop.pcap", 108, &f);
    check_one(path, 1);
}

static void test_pcapng(void **state)
{
    struct fixture *fx = *state;
    static const uint16_t port = 2055;
    struct fl0wer_capture *c;
    struct gbuf file = {0}, f = {0};
    char path[512], err[256];

    g_pcapng_header(&file, 1);
    eth(&f, 0x0800);
    g_udp4(&f, ip_a, ip_b, 1111, 2055, 0, (const uint8_t *)"ng-one", 6);
    g_pcapng_record(&file, 1700000000123456ull, &f);
    memset(&f, 0, sizeof(f));
    eth(&f, 0x0800);
    g_udp4(&f, ip_a, ip_b, 1112, 2055, 0, (const uint8_t *)"ng-2", 4);
    g_pcapng_record(&file, 1700000001999999ull, &f);
    g_write(path, fx->dir, "two.pcapng", file.b, file.n);
    assert_int_equal(fl0wer_capture_open(&c, path, &port, 1, err), 0);
    expect_dg(c, "ng-one", 1111, 2055, 1700000000123ull);
    expect_dg(c, "ng-2", 1112, 2055, 1700000001999ull);
    expect_end(c);
    fl0wer_capture_close(c);
}

/* A NetFlow v5 header with the given count followed by count zeroed records. */
static void v5(struct gbuf *g, uint16_t count, size_t records_present)
{
    static const uint8_t zero[48];
    size_t i;

    g_be16(g, 5);
    g_be16(g, count);
    g_put(g, zero, 20);
    for (i = 0; i < records_present; i++)
        g_put(g, zero, 48);
}

static void ipfix(struct gbuf *g, uint16_t len)
{
    static const uint8_t zero[64];

    g_be16(g, 10);
    g_be16(g, len);
    g_put(g, zero, len >= 4 ? len - 4u : 0);
}

static void test_raw_split_rules(void **state)
{
    struct gbuf g = {0};

    v5(&g, 1, 1);
    v5(&g, 2, 2);
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), 72);
    assert_int_equal(capture_raw_datagram_len(g.b + 72, g.n - 72), 120);
    /* a count larger than the file: the rest of the file */
    memset(&g, 0, sizeof(g));
    v5(&g, 163, 30);
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), 24 + 30 * 48);
    /* IPFIX: length field; trailing bytes that start nothing belong to the message */
    memset(&g, 0, sizeof(g));
    ipfix(&g, 20);
    ipfix(&g, 16);
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), 20);
    g.n = 22;
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), 22);
    /* IPFIX length below the header size, and v9: the whole rest */
    memset(&g, 0, sizeof(g));
    ipfix(&g, 8);
    g_put(&g, "0123456789abcdef", 16);
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), 24);
    memset(&g, 0, sizeof(g));
    g_be16(&g, 9);
    g_put(&g, "0123456789abcdefghij", 18);
    v5(&g, 1, 1);
    assert_int_equal(capture_raw_datagram_len(g.b, g.n), g.n);
    /* tiny buffers */
    assert_int_equal(capture_raw_datagram_len((const uint8_t *)"\0\5", 2), 2);
    assert_int_equal(capture_raw_datagram_len((const uint8_t *)"\0\5\0\1", 4), 4);
    assert_false(capture_raw_plausible((const uint8_t *)"\0\12\0\20", 4));
    assert_false(capture_raw_plausible((const uint8_t *)"\0\7\0\20xxxxxxxxxxxxxxxxxxxxxx", 24));
}

static void test_raw_file(void **state)
{
    struct fixture *fx = *state;
    struct fl0wer_capture_stats st;
    struct fl0wer_capture *c;
    struct fl0wer_datagram dg;
    struct timeval tv[2] = {{1600000000, 250000}, {1600000000, 250000}};
    struct gbuf g = {0};
    char path[512], err[256];
    static const uint8_t lo[4] = {127, 0, 0, 1};

    v5(&g, 1, 1);
    v5(&g, 2, 2);
    ipfix(&g, 20);
    g_put(&g, "\1\2", 2); /* trailing bytes after the last IPFIX message */
    g_write(path, fx->dir, "mixed.dat", g.b, g.n);
    assert_int_equal(utimes(path, tv), 0);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), 0);
    assert_true(fl0wer_capture_is_raw(c));
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(dg.len, 72);
    assert_int_equal(dg.payload[1], 5);
    assert_int_equal(dg.ts_ms, 1600000000250ull);
    assert_int_equal(dg.src_port, 0);
    assert_memory_equal(dg.src_addr + 12, lo, 4);
    assert_true(fl0wer_addr_is_v4(dg.src_addr));
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(dg.len, 120);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(dg.len, 22);
    assert_int_equal(dg.payload[1], 10);
    expect_end(c);
    fl0wer_capture_stats(c, &st);
    assert_int_equal(st.datagrams, 3);
    assert_int_equal(fl0wer_capture_skipped(c), 0);
    fl0wer_capture_close(c);
}

static void test_open_errors(void **state)
{
    struct fixture *fx = *state;
    struct fl0wer_capture *c = (struct fl0wer_capture *)&c;
    uint16_t many[FL0WER_CAPTURE_MAX_PORTS + 1] = {0};
    char path[512], err[256];

    snprintf(path, sizeof(path), "%s/missing.pcap", fx->dir);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), -ENOENT);
    assert_null(c);
    assert_non_null(strstr(err, "missing.pcap"));
    assert_non_null(strstr(err, "cannot open"));

    g_write(path, fx->dir, "garbage.bin", "hello, this is not a capture", 28);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), -EINVAL);
    assert_non_null(strstr(err, "not a pcap"));

    g_write(path, fx->dir, "empty.dat", "", 0);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), -EINVAL);
    assert_non_null(strstr(err, "empty file"));

    /* pcap magic followed by a truncated global header */
    g_write(path, fx->dir, "short.pcap", "\xd4\xc3\xb2\xa1\x02\x00", 6);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), -EINVAL);
    assert_non_null(strstr(err, "cannot read capture"));

    assert_int_equal(fl0wer_capture_open(&c, path, many, FL0WER_CAPTURE_MAX_PORTS + 1, err),
                     -EINVAL);
    fl0wer_capture_close(NULL);
}

/* A pcap whose last record is cut off: the good record, then -EIO with a message. */
static void test_truncated_file(void **state)
{
    struct fixture *fx = *state;
    struct fl0wer_capture *c;
    struct fl0wer_datagram dg;
    struct gbuf file = {0}, f = {0};
    char path[512], err[256];

    g_pcap_header(&file, 1);
    eth(&f, 0x0800);
    g_udp4(&f, ip_a, ip_b, 1, 2055, 0, (const uint8_t *)"whole", 5);
    g_pcap_record(&file, 1, 0, &f);
    g_pcap_record(&file, 2, 0, &f);
    file.n -= 10;
    g_write(path, fx->dir, "cut.pcap", file.b, file.n);
    assert_int_equal(fl0wer_capture_open(&c, path, NULL, 0, err), 0);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), 1);
    assert_int_equal(fl0wer_capture_next(c, &dg, err), -EIO);
    assert_non_null(strstr(err, "capture read failed"));
    fl0wer_capture_close(c);
}

/* Counts datagrams, their total length and skipped frames of a whole file. */
static int scan(const char *path, uint16_t port, uint64_t *n, uint64_t *bytes,
                struct fl0wer_capture_stats *st)
{
    struct fl0wer_capture *c;
    struct fl0wer_datagram dg;
    char err[256];
    int rc;

    if (fl0wer_capture_open(&c, path, &port, port ? 1 : 0, err) != 0) {
        print_error("%s\n", err);
        return -1;
    }
    *n = *bytes = 0;
    while ((rc = fl0wer_capture_next(c, &dg, err)) == 1) {
        (*n)++;
        *bytes += dg.len;
    }
    fl0wer_capture_stats(c, st);
    fl0wer_capture_close(c);
    return rc;
}

static void test_bundled_files(void **state)
{
    struct fl0wer_capture_stats st;
    uint64_t n, bytes;
    char path[512];

    snprintf(path, sizeof(path), "%s/tests/data/captures/logstash-codec-netflow/netflow5.dat",
             FL0WER_SOURCE_DIR);
    assert_int_equal(scan(path, 0, &n, &bytes, &st), 0);
    assert_int_equal(n, 12); /* 12 concatenated v5 datagrams */
    assert_int_equal(bytes, 1728);
    snprintf(path, sizeof(path), "%s/tests/data/captures/telegraf/issue_14370/message.bin",
             FL0WER_SOURCE_DIR);
    assert_int_equal(scan(path, 0, &n, &bytes, &st), 0);
    assert_int_equal(n, 1); /* 290-byte message + 2 trailing bytes */
    assert_int_equal(bytes, 292);
    snprintf(path, sizeof(path), "%s/tests/data/captures/graylog-plugin-netflow/netflow9.pcap",
             FL0WER_SOURCE_DIR);
    assert_int_equal(scan(path, 2055, &n, &bytes, &st), 0);
    assert_int_equal(n, 9);
    assert_int_equal(st.frames, 9);
}

static void test_shared_files(void **state)
{
    struct fl0wer_capture_stats st;
    uint64_t n, bytes;
    char path[512];

    snprintf(path, sizeof(path), "%s/INDEX.md", FL0WER_SHARED_FLOWS);
    if (access(path, R_OK) != 0) {
        print_message("SKIPPED: shared captures absent (%s)\n", FL0WER_SHARED_FLOWS);
        skip();
    }
    /* Linux cooked SLL capture */
    snprintf(path, sizeof(path), "%s/pmacct/112-IPFIXv10-CISCO-options-map-reassignment/"
             "traffic-00.pcap", FL0WER_SHARED_FLOWS);
    assert_int_equal(scan(path, 9991, &n, &bytes, &st), 0);
    assert_int_equal(n, 21);
    /* IPFIX mixed with BMP over TCP: the TCP segments are skipped and counted */
    snprintf(path, sizeof(path), "%s/pmacct/400-IPFIXv10-BMP-CISCO-SRv6-multiple-sources/"
             "traffic-00.pcap", FL0WER_SHARED_FLOWS);
    assert_int_equal(scan(path, 9991, &n, &bytes, &st), 0);
    assert_int_equal(n, 583);
    assert_int_equal(st.frames, 606);
    assert_int_equal(st.skipped_not_udp, 23);
    /* IPv6 transport */
    snprintf(path, sizeof(path), "%s/netgauze/flow/srv6/srv6.pcap", FL0WER_SHARED_FLOWS);
    assert_int_equal(scan(path, 9992, &n, &bytes, &st), 0);
    assert_int_equal(n, 170);
    /* default-port filter passes nothing of a capture sent to 2057 */
    snprintf(path, sizeof(path), "%s/ndpi/netflowv9.pcap", FL0WER_SHARED_FLOWS);
    assert_int_equal(scan(path, 2055, &n, &bytes, &st), 0);
    assert_int_equal(n, 0);
    assert_int_equal(st.skipped_port, 10);
    assert_int_equal(scan(path, 2057, &n, &bytes, &st), 0);
    assert_int_equal(n, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ethernet_filtering, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pcapng, setup, teardown),
        cmocka_unit_test(test_raw_split_rules),
        cmocka_unit_test_setup_teardown(test_raw_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_file, setup, teardown),
        cmocka_unit_test(test_bundled_files),
        cmocka_unit_test(test_shared_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
