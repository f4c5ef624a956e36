/*
 * test_v5.c - NetFlow v5 decoding from hand-built packets: every field, the sampling header,
 * sysUpTime arithmetic and its wrap, sequence gaps, count errors, callback stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pktbuild.h"

struct v5rec {
    const char *src, *dst, *nh;
    uint16_t in, out;
    uint32_t pkts, octets, first, last;
    uint16_t sport, dport;
    uint8_t flags, proto, tos;
    uint16_t sas, das;
    uint8_t smask, dmask;
};

static void put_rec(struct pb *b, const struct v5rec *r)
{
    pb_v4(b, r->src);
    pb_v4(b, r->dst);
    pb_v4(b, r->nh);
    pb_u16(b, r->in);
    pb_u16(b, r->out);
    pb_u32(b, r->pkts);
    pb_u32(b, r->octets);
    pb_u32(b, r->first);
    pb_u32(b, r->last);
    pb_u16(b, r->sport);
    pb_u16(b, r->dport);
    pb_u8(b, 0);
    pb_u8(b, r->flags);
    pb_u8(b, r->proto);
    pb_u8(b, r->tos);
    pb_u16(b, r->sas);
    pb_u16(b, r->das);
    pb_u8(b, r->smask);
    pb_u8(b, r->dmask);
    pb_u16(b, 0);
}

static const struct v5rec rec_a = {"10.1.1.1", "10.2.2.2", "10.3.3.3", 5, 7, 10, 1500, 90000,
                                   99000, 1234, 80, 0x1b, 6, 0x20, 65001, 65002, 24, 16};
static const struct v5rec rec_b = {"192.0.2.1", "198.51.100.7", "0.0.0.0", 1, 2, 1, 60, 99500,
                                   99500, 0, 0x0303, 0, 1, 0, 0, 0, 0, 0};

static struct pb b;
static struct collect c;

static void test_v5_fields(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_exporter_stats st;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "172.16.0.1", 40000, 1);
    pb_reset(&b);
    pb_v5_header(&b, 2, 100000, 1700000000, 500000000, 1000, 1, 2, 0x4000 | 64);
    put_rec(&b, &rec_a);
    put_rec(&b, &rec_b);
    memset(&c, 0, sizeof(c));
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c), 0);
    assert_int_equal(c.n, 2);
    const struct fl0wer_flow *f = &c.f[0];
    assert_int_equal(f->version, 5);
    assert_string_equal(addr_str(f->exporter), "172.16.0.1");
    assert_int_equal(f->domain_id, 258);
    assert_string_equal(addr_str(f->src_addr), "10.1.1.1");
    assert_string_equal(addr_str(f->dst_addr), "10.2.2.2");
    assert_string_equal(addr_str(f->next_hop), "10.3.3.3");
    assert_int_equal(f->in_if, 5);
    assert_int_equal(f->out_if, 7);
    assert_int_equal(f->packets, 10);
    assert_int_equal(f->bytes, 1500);
    assert_int_equal(f->first_ms, UINT64_C(1699999990500));
    assert_int_equal(f->last_ms, UINT64_C(1699999999500));
    assert_int_equal(f->src_port, 1234);
    assert_int_equal(f->dst_port, 80);
    assert_int_equal(f->tcp_flags, 0x1b);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->tos, 0x20);
    assert_int_equal(f->src_as, 65001);
    assert_int_equal(f->dst_as, 65002);
    assert_int_equal(f->src_mask, 24);
    assert_int_equal(f->dst_mask, 16);
    assert_int_equal(f->sampling, 64);
    assert_int_equal(f->flows, 1);
    assert_int_equal(f->flags, 0);
    f = &c.f[1];
    assert_true(fl0wer_addr_is_zero(f->next_hop));
    assert_int_equal(f->dst_port, 0x0303);
    assert_int_equal(f->proto, 1);
    st = get_stats(d, "172.16.0.1", 40000, 258);
    assert_int_equal(st.messages, 1);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.bytes, 24 + 2 * 48);
    assert_int_equal(st.sampling, 64);
    assert_int_equal(st.version, 5);
    fl0wer_decoder_destroy(d);
}

/* sysUpTime wrapped between flow start and export: 32-bit arithmetic. */
static void test_v5_uptime_wrap(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct v5rec r = rec_a;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "172.16.0.1", 40000, 1);
    r.first = 0xfffff000u; /* 4096 ms before the wrap, export at uptime 5000 */
    r.last = 4000;
    pb_reset(&b);
    pb_v5_header(&b, 1, 5000, 1700000000, 0, 0, 0, 0, 0);
    put_rec(&b, &r);
    memset(&c, 0, sizeof(c));
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0].first_ms, UINT64_C(1700000000000) - 9096);
    assert_int_equal(c.f[0].last_ms, UINT64_C(1700000000000) - 1000);
    assert_int_equal(c.f[0].sampling, 1);
    fl0wer_decoder_destroy(d);
}

static int send_seq(struct fl0wer_decoder *d, struct fl0wer_source *s, uint32_t seq, int n)
{
    pb_reset(&b);
    pb_v5_header(&b, (uint16_t)n, 5000, 1700000000, 0, seq, 0, 0, 0);
    for (int i = 0; i < n; i++)
        put_rec(&b, &rec_a);
    memset(&c, 0, sizeof(c));
    return fl0wer_decode_packet(d, s, b.buf, b.len, collect_cb, &c);
}

/* v5 sequence numbers count flows. */
static void test_v5_sequence(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "172.16.0.2", 40000, 1);
    assert_int_equal(send_seq(d, &s, 100, 2), 0); /* first packet: no gap */
    assert_int_equal(send_seq(d, &s, 102, 1), 0);
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 0);
    assert_int_equal(send_seq(d, &s, 110, 1), 0); /* 103..109 missing */
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 7);
    assert_int_equal(send_seq(d, &s, 103, 2), 0); /* two of them arrive late */
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 5);
    assert_int_equal(send_seq(d, &s, 111, 1), 0);
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 5);
    assert_int_equal(send_seq(d, &s, 0x80000000u, 1), 0); /* restart: resync */
    assert_int_equal(send_seq(d, &s, 0x80000001u, 1), 0);
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 5);
    assert_int_equal(send_seq(d, &s, 0xffffffffu, 1), 0); /* restart again, then wrap */
    assert_int_equal(send_seq(d, &s, 0, 1), 0);
    assert_int_equal(send_seq(d, &s, 3, 1), 0);
    assert_int_equal(get_stats(d, "172.16.0.2", 40000, 0).sequence_gaps, 7);
    fl0wer_decoder_destroy(d);
}

static void test_v5_count_errors(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_exporter_stats st;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "172.16.0.3", 40000, 1);
    pb_reset(&b);
    pb_v5_header(&b, 3, 5000, 1700000000, 0, 0, 0, 0, 0); /* says 3, carries 1 */
    put_rec(&b, &rec_a);
    memset(&c, 0, sizeof(c));
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c), FL0WER_ERR_FORMAT);
    assert_int_equal(c.n, 1);
    pb_reset(&b);
    pb_v5_header(&b, 31, 5000, 1700000000, 0, 0, 0, 0, 0); /* more than 30 */
    for (int i = 0; i < 31; i++)
        put_rec(&b, &rec_a);
    memset(&c, 0, sizeof(c));
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c), FL0WER_ERR_FORMAT);
    assert_int_equal(c.n, 30);
    st = get_stats(d, "172.16.0.3", 40000, 0);
    assert_int_equal(st.errors[FL0WER_DERR_V5_COUNT], 2);
    assert_int_equal(st.records, 31);
    /* a truncated header */
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, 23, collect_cb, &c), FL0WER_ERR_SHORT);
    st = get_stats(d, "172.16.0.3", 40000, 0);
    assert_int_equal(st.errors[FL0WER_DERR_SHORT], 1);
    fl0wer_decoder_destroy(d);
}

static void test_v5_no_time_and_callback_stop(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "172.16.0.4", 40000, 1234567);
    pb_reset(&b);
    pb_v5_header(&b, 2, 5000, 0, 0, 0, 0, 0, 0); /* no export time */
    put_rec(&b, &rec_a);
    put_rec(&b, &rec_a);
    memset(&c, 0, sizeof(c));
    c.stop_after = 1;
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c),
                     FL0WER_ERR_CALLBACK);
    assert_int_equal(c.f[0].first_ms, 1234567);
    assert_int_equal(c.f[0].last_ms, 1234567);
    assert_int_equal(c.f[0].flags, FL0WER_FLOW_F_TIME_RECV);
    /* the decoder goes on */
    memset(&c, 0, sizeof(c));
    assert_int_equal(fl0wer_decode_packet(d, &s, b.buf, b.len, collect_cb, &c), 0);
    assert_int_equal(c.n, 2);
    fl0wer_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v5_fields),
        cmocka_unit_test(test_v5_uptime_wrap),
        cmocka_unit_test(test_v5_sequence),
        cmocka_unit_test(test_v5_count_errors),
        cmocka_unit_test(test_v5_no_time_and_callback_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
