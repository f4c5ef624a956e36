/*
 * test_decode_files.c - decodes real exporter datagrams from ../shared/testdata/flows
 * (logstash-codec-netflow, telegraf raw payloads) in the feeding order of their SOURCES.md and
 * checks record counts and field values that were verified independently with tshark 4.0
 * (the .dat files wrapped into a UDP/2055 pcap, `tshark -d udp.port==2055,cflow -V`).
 * Skips visibly when the shared folder is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "pktbuild.h"

static char dir[1024];
static struct collect c;
static struct fl0wer_decoder *d;
static struct fl0wer_source s;

static int setup(void **state)
{
    const char *env = getenv("FL0WER_SHARED_FLOWS");

    snprintf(dir, sizeof(dir), "%s", env && *env ? env : FL0WER_SHARED_FLOWS);
    src_init(&s, "192.0.2.200", 2055, 1700000000000ull);
    memset(&c, 0, sizeof(c));
    return fl0wer_decoder_create(&d, NULL);
}

static int teardown(void **state)
{
    fl0wer_decoder_destroy(d);
    return 0;
}

/* Reads dir/rel into a new buffer; skips the test when the shared folder is absent. */
static uint8_t *load(const char *rel, size_t *len)
{
    char path[1400];
    FILE *f;
    uint8_t *buf;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    f = fopen(path, "rb");
    if (f == NULL) {
        printf("SKIPPED: %s absent (../shared/testdata/flows absent)\n", path);
        skip();
    }
    buf = malloc(70000);
    assert_non_null(buf);
    *len = fread(buf, 1, 70000, f);
    fclose(f);
    return buf;
}

/* Feeds a file as datagrams: v5 split by count, IPFIX by message length, else whole. */
static int feed(const char *rel)
{
    size_t len, off = 0;
    uint8_t *buf = load(rel, &len);
    int rc = 0;

    while (off + 4 <= len) {
        uint16_t v = (uint16_t)(buf[off] << 8 | buf[off + 1]);
        uint16_t n16 = (uint16_t)(buf[off + 2] << 8 | buf[off + 3]);
        size_t n = len - off;

        if (v == 5 && 24 + (size_t)n16 * 48 <= n)
            n = 24 + (size_t)n16 * 48;
        else if (v == 10 && n16 >= 16 && n16 + 16u <= n)
            n = n16; /* several concatenated messages */
        rc = fl0wer_decode_packet(d, &s, buf + off, n, collect_cb, &c);
        off += n;
    }
    free(buf);
    return rc;
}

#define LS "logstash-codec-netflow/"

static void test_softflowd_v5_stream(void **state)
{
    struct fl0wer_decoder_totals t;

    assert_int_equal(feed(LS "netflow5.dat"), 0);
    fl0wer_decoder_totals(d, &t);
    assert_int_equal(t.messages, 12);
    assert_int_equal(t.records, 30);
    assert_int_equal(c.n, 30);
    assert_int_equal(t.errors, 0);
}

static void test_juniper_mx80_v5(void **state)
{
    assert_int_equal(feed(LS "netflow5_test_juniper_mx80.dat"), 0);
    assert_int_equal(c.n, 29);
    assert_string_equal(addr_str(c.f[0].src_addr), "10.0.0.1");
    assert_string_equal(addr_str(c.f[0].dst_addr), "192.168.0.2");
    assert_int_equal(c.f[0].in_if, 542);
    assert_int_equal(c.f[0].bytes, 1500);
    assert_int_equal(c.f[0].src_port, 443);
    assert_int_equal(c.f[0].sampling, 1000); /* header rate 1000, mode bits 0 */
    /* 13:52:52 UTC export, sysUpTime 190649.064 s, start 190632.000 s */
    assert_int_equal(c.f[0].first_ms, 1469109172000ull - 17064);
}

static void if74_cb(void *arg, const struct fl0wer_interface_info *i)
{
    if (i->ifindex == 74)
        snprintf(arg, 128, "%s", i->description);
}

static void test_cisco_asr9k_v9(void **state)
{
    char desc74[128] = "";

    assert_int_equal(feed(LS "netflow9_test_cisco_asr9k_opttpl256.dat"), 0);
    assert_int_equal(feed(LS "netflow9_test_cisco_asr9k_opttpl257.dat"), 0);
    assert_int_equal(feed(LS "netflow9_test_cisco_asr9k_tpl260.dat"), 0);
    assert_int_equal(feed(LS "netflow9_test_cisco_asr9k_data256.dat"), 0);
    assert_int_equal(feed(LS "netflow9_test_cisco_asr9k_data260.dat"), 0);
    assert_int_equal(c.n, 21);
    const struct fl0wer_flow *f = &c.f[0];
    assert_int_equal(f->domain_id, 2177);
    assert_string_equal(addr_str(f->src_addr), "10.0.9.146");
    assert_string_equal(addr_str(f->dst_addr), "10.0.31.81");
    assert_int_equal(f->in_if, 110);
    assert_int_equal(f->out_if, 158);
    assert_int_equal(f->dst_as, 64496);
    assert_string_equal(addr_str(f->next_hop), "10.0.14.33"); /* BGP next hop (18) */
    assert_int_equal(f->direction, FL0WER_DIR_EGRESS);
    assert_int_equal(f->bytes, 40);
    assert_int_equal(f->src_port, 54017);
    assert_int_equal(f->dst_port, 443);
    /* Dec 6 2016 10:09:24 UTC, sysUpTime 1704770.673 s, start 1704740.613 s */
    assert_int_equal(f->first_ms, 1481018964000ull - 30060);
    assert_int_equal(fl0wer_decoder_foreach_interface(d, NULL, NULL), 19);
    fl0wer_decoder_foreach_interface(d, if74_cb, desc74);
    assert_string_equal(desc74, "TenGigE0_0_1_0");
}

static void test_openbsd_pflow_ipfix(void **state)
{
    assert_int_equal(feed(LS "ipfix_test_openbsd_pflow_tpl.dat"), 0);
    assert_int_equal(feed(LS "ipfix_test_openbsd_pflow_data.dat"), 0);
    assert_int_equal(c.n, 26);
    const struct fl0wer_flow *f = &c.f[0];
    assert_int_equal(f->domain_id, 42);
    assert_string_equal(addr_str(f->src_addr), "192.168.0.17");
    assert_string_equal(addr_str(f->dst_addr), "192.168.0.1");
    assert_int_equal(f->packets, 7);
    assert_int_equal(f->bytes, 373);
    assert_int_equal(f->src_port, 64020);
    assert_int_equal(f->dst_port, 80);
    assert_int_equal(f->first_ms, 1469107799000ull); /* Jul 21 2016 13:29:59 UTC */
}

static void test_softflowd_ipfix_stream(void **state)
{
    struct fl0wer_decoder_totals t;

    assert_int_equal(feed(LS "ipfix.dat"), 0);
    fl0wer_decoder_totals(d, &t);
    assert_int_equal(t.messages, 3);
    assert_int_equal(c.n, 12); /* tshark: 13 records, one of them options data */
    assert_string_equal(addr_str(c.f[0].src_addr), "192.168.253.1");
    assert_int_equal(c.f[0].bytes, 260);
    assert_int_equal(c.f[4].bytes, 5946);
}

/* IPFIX length 290 in a 292-byte datagram: the last set runs past the message. */
static void test_telegraf_issue_14370(void **state)
{
    struct fl0wer_decoder_totals t;

    assert_int_equal(feed("telegraf/issue_14370/message.bin"), FL0WER_ERR_SHORT);
    fl0wer_decoder_totals(d, &t);
    assert_int_equal(c.n, 1); /* as tshark */
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.templates, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_softflowd_v5_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_juniper_mx80_v5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cisco_asr9k_v9, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openbsd_pflow_ipfix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_softflowd_ipfix_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_telegraf_issue_14370, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
