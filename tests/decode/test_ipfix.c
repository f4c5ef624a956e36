/*
 * test_ipfix.c - IPFIX (RFC 7011) from hand-built messages: IPv6 fields, variable-length IEs in
 * both length forms, enterprise IEs, set padding, RFC 5103 reverse records, withdrawals, every
 * time form, sampling by selector id and in-record, fallback fields, sequence numbers, trailing
 * bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pktbuild.h"

#define EXP 1700000100u
#define EXP_MS (UINT64_C(1700000100) * 1000)

static struct pb b;
static struct collect c;

static int decode(struct fl0wer_decoder *d, struct fl0wer_source *s)
{
    memset(&c, 0, sizeof(c));
    return fl0wer_decode_packet(d, s, b.buf, b.len, collect_cb, &c);
}

static void test_ipfix_ipv6_fields(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "2001:db8::1", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 5);
    pb_set_begin(&b, 2);
    pb_template(&b, 300, 19, 27, 16, 28, 16, 7, 2, 11, 2, 4, 1, 6, 2, 1, 8, 2, 8, 152, 8, 153, 8,
                62, 16, 10, 4, 14, 4, 61, 1, 58, 2, 16, 4, 17, 4, 29, 1, 30, 1);
    pb_set_end(&b);
    pb_set_begin(&b, 300);
    pb_v6(&b, "2001:db8:1::10");
    pb_v6(&b, "2001:db8:2::20");
    pb_u16(&b, 33000);
    pb_u16(&b, 22);
    pb_u8(&b, 6);
    pb_u16(&b, 0x0118); /* 2-byte tcpControlBits: ECE bit 0x100 dropped, 0x18 kept */
    pb_u64(&b, 123456789012ull);
    pb_u64(&b, 98765);
    pb_u64(&b, 1700000000123ull);
    pb_u64(&b, 1700000050456ull);
    pb_v6(&b, "fe80::1");
    pb_u32(&b, 100000);
    pb_u32(&b, 200000);
    pb_u8(&b, 0);
    pb_u16(&b, 4000);
    pb_u32(&b, 4200000000u);
    pb_u32(&b, 13335);
    pb_u8(&b, 48);
    pb_u8(&b, 64);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    const struct fl0wer_flow *f = &c.f[0];
    assert_int_equal(f->version, 10);
    assert_int_equal(f->domain_id, 5);
    assert_string_equal(addr_str(f->exporter), "2001:db8::1");
    assert_string_equal(addr_str(f->src_addr), "2001:db8:1::10");
    assert_string_equal(addr_str(f->dst_addr), "2001:db8:2::20");
    assert_string_equal(addr_str(f->next_hop), "fe80::1");
    assert_int_equal(f->src_port, 33000);
    assert_int_equal(f->dst_port, 22);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->tcp_flags, 0x18);
    assert_int_equal(f->bytes, 123456789012ull);
    assert_int_equal(f->packets, 98765);
    assert_int_equal(f->first_ms, 1700000000123ull);
    assert_int_equal(f->last_ms, 1700000050456ull);
    assert_int_equal(f->in_if, 100000);
    assert_int_equal(f->out_if, 200000);
    assert_int_equal(f->direction, FL0WER_DIR_INGRESS);
    assert_int_equal(f->vlan, 4000);
    assert_int_equal(f->src_as, 4200000000u);
    assert_int_equal(f->dst_as, 13335);
    assert_int_equal(f->src_mask, 48);
    assert_int_equal(f->dst_mask, 64);
    assert_int_equal(f->flags, FL0WER_FLOW_F_IPV6);
    fl0wer_decoder_destroy(d);
}

/* Variable-length IEs (1- and 3-byte length forms), an enterprise IE, set padding. */
static void test_ipfix_varlen_enterprise_padding(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    uint8_t blob[300];

    memset(blob, 'x', sizeof(blob));
    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.30", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 2);
    pb_u16(&b, 301);
    pb_u16(&b, 5);
    pb_u16(&b, 8);
    pb_u16(&b, 4);
    pb_u16(&b, 0x8000 | 100); /* enterprise IE, PEN 9 (Cisco), variable length */
    pb_u16(&b, 0xffff);
    pb_u32(&b, 9);
    pb_u16(&b, 12);
    pb_u16(&b, 4);
    pb_u16(&b, 96); /* applicationName: variable length, skipped */
    pb_u16(&b, 0xffff);
    pb_u16(&b, 1);
    pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 301);
    pb_v4(&b, "10.0.0.1");
    pb_u8(&b, 5);
    pb_bytes(&b, blob, 5);
    pb_v4(&b, "10.0.0.2");
    pb_u8(&b, 0);
    pb_u32(&b, 111);
    pb_v4(&b, "10.0.0.3");
    pb_u8(&b, 255);
    pb_u16(&b, 300);
    pb_bytes(&b, blob, 300);
    pb_v4(&b, "10.0.0.4");
    pb_u8(&b, 2);
    pb_bytes(&b, blob, 2);
    pb_u32(&b, 222);
    pb_set_end_pad(&b, 3);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(addr_str(c.f[0].src_addr), "10.0.0.1");
    assert_string_equal(addr_str(c.f[0].dst_addr), "10.0.0.2");
    assert_int_equal(c.f[0].bytes, 111);
    assert_string_equal(addr_str(c.f[1].src_addr), "10.0.0.3");
    assert_string_equal(addr_str(c.f[1].dst_addr), "10.0.0.4");
    assert_int_equal(c.f[1].bytes, 222);
    assert_int_equal(get_stats(d, "192.0.2.30", 4739, 0).errors[FL0WER_DERR_RECORD], 0);
    fl0wer_decoder_destroy(d);
}

/* RFC 5103 biflow: reverse octets/packets (PEN 29305) produce a second, reversed record. */
static void test_ipfix_reverse_record(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.31", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 2);
    pb_u16(&b, 302);
    pb_u16(&b, 12);
    pb_u16(&b, 8), pb_u16(&b, 4), pb_u16(&b, 12), pb_u16(&b, 4);
    pb_u16(&b, 7), pb_u16(&b, 2), pb_u16(&b, 11), pb_u16(&b, 2), pb_u16(&b, 4), pb_u16(&b, 1);
    pb_u16(&b, 1), pb_u16(&b, 8), pb_u16(&b, 2), pb_u16(&b, 8);
    pb_u16(&b, 0x8001), pb_u16(&b, 8), pb_u32(&b, 29305);
    pb_u16(&b, 0x8002), pb_u16(&b, 8), pb_u32(&b, 29305);
    pb_u16(&b, 0x8006), pb_u16(&b, 1), pb_u32(&b, 29305);
    pb_u16(&b, 10), pb_u16(&b, 4), pb_u16(&b, 14), pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 302);
    for (int i = 0; i < 2; i++) {
        pb_v4(&b, "10.1.1.1");
        pb_v4(&b, "10.2.2.2");
        pb_u16(&b, 40000);
        pb_u16(&b, 443);
        pb_u8(&b, 6);
        pb_u64(&b, 100);
        pb_u64(&b, 2);
        pb_u64(&b, i == 0 ? 300 : 0);
        pb_u64(&b, i == 0 ? 4 : 0);
        pb_u8(&b, 0x12);
        pb_u32(&b, 1);
        pb_u32(&b, 2);
    }
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.f[0].bytes, 100);
    assert_int_equal(c.f[0].flags, 0);
    const struct fl0wer_flow *r = &c.f[1];
    assert_int_equal(r->flags, FL0WER_FLOW_F_REVERSE);
    assert_string_equal(addr_str(r->src_addr), "10.2.2.2");
    assert_string_equal(addr_str(r->dst_addr), "10.1.1.1");
    assert_int_equal(r->src_port, 443);
    assert_int_equal(r->dst_port, 40000);
    assert_int_equal(r->bytes, 300);
    assert_int_equal(r->packets, 4);
    assert_int_equal(r->tcp_flags, 0x12);
    assert_int_equal(r->in_if, 2);
    assert_int_equal(r->out_if, 1);
    assert_int_equal(r->first_ms, c.f[0].first_ms);
    assert_int_equal(c.f[2].flags, 0); /* no reverse traffic: no reverse record */
    assert_int_equal(get_stats(d, "192.0.2.31", 4739, 0).records, 3);
    fl0wer_decoder_destroy(d);
}

static void put_tpl_small(struct pb *p, uint16_t id)
{
    pb_set_begin(p, 2);
    pb_template(p, id, 3, 8, 4, 12, 4, 1, 4);
    pb_set_end(p);
}

static void put_data_small(struct pb *p, uint16_t id, int n)
{
    pb_set_begin(p, id);
    for (int i = 0; i < n; i++) {
        pb_v4(p, "10.3.3.3");
        pb_v4(p, "10.4.4.4");
        pb_u32(p, (uint32_t)(10 + i));
    }
    pb_set_end(p);
}

/* Withdrawals are honoured (also over UDP): one template, then all. */
static void test_ipfix_withdrawal(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_decoder_config cfg = {.flags = FL0WER_DECODER_NO_HOLD};
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, &cfg), 0);
    src_init(&s, "192.0.2.32", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    put_tpl_small(&b, 256);
    put_tpl_small(&b, 257);
    put_data_small(&b, 256, 1);
    pb_set_begin(&b, 2);
    pb_u16(&b, 256);
    pb_u16(&b, 0); /* withdraw 256 */
    pb_set_end(&b);
    put_data_small(&b, 256, 1);
    put_data_small(&b, 257, 1);
    pb_set_begin(&b, 2);
    pb_u16(&b, 2);
    pb_u16(&b, 0); /* withdraw all data templates */
    pb_set_end(&b);
    put_data_small(&b, 257, 1);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(get_stats(d, "192.0.2.32", 4739, 0).unknown_template, 2);
    fl0wer_decoder_destroy(d);
}

/* A message with one template (id) holding the given (ie, len) fields and one record. */
static void one_record(uint32_t export_secs, uint16_t id, int n, const int *spec,
                       const uint64_t *vals)
{
    pb_reset(&b);
    pb_ipfix_header(&b, export_secs, 0, 0);
    pb_set_begin(&b, 2);
    pb_u16(&b, id);
    pb_u16(&b, (uint32_t)n + 1);
    pb_u16(&b, 8);
    pb_u16(&b, 4);
    for (int i = 0; i < n; i++) {
        pb_u16(&b, (uint32_t)spec[2 * i]);
        pb_u16(&b, (uint32_t)spec[2 * i + 1]);
    }
    pb_set_end(&b);
    pb_set_begin(&b, id);
    pb_v4(&b, "10.5.5.5");
    for (int i = 0; i < n; i++) {
        if (spec[2 * i + 1] == 8)
            pb_u64(&b, vals[i]);
        else
            pb_u32(&b, (uint32_t)vals[i]);
    }
    pb_set_end(&b);
    pb_ipfix_end(&b);
}

#define NTP(unix_s, frac) ((((uint64_t)(unix_s) + 2208988800u) << 32) | (frac))

static void test_ipfix_time_forms(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct {
        int n;
        int spec[6];
        uint64_t vals[3];
        uint64_t first, last;
        uint32_t export_secs;
        uint8_t flags;
    } cases[] = {
        {2, {150, 4, 151, 4}, {1700000000, 1700000050}, 1700000000000ull, 1700000050000ull, EXP, 0},
        {2, {152, 8, 153, 8}, {1700000000007ull, 1700000000009ull}, 1700000000007ull,
         1700000000009ull, EXP, 0},
        {2, {154, 8, 155, 8}, {NTP(1700000000, 0x80000000u), NTP(1700000001, 0)},
         1700000000500ull, 1700000001000ull, EXP, 0},
        {2, {156, 8, 157, 8}, {NTP(1700000000, 0x40000000u), NTP(1700000002, 0xc0000000u)},
         1700000000250ull, 1700000002750ull, EXP, 0},
        {2, {158, 4, 159, 4}, {5000000, 1000000}, EXP_MS - 5000, EXP_MS - 1000, EXP, 0},
        {3, {160, 8, 22, 4, 21, 4}, {1690000000000ull, 1000, 5000}, 1690000001000ull,
         1690000005000ull, EXP, 0},
        {2, {152, 8, 161, 4}, {1700000000000ull, 1234}, 1700000000000ull, 1700000001234ull, EXP,
         0},
        {2, {153, 8, 161, 4}, {1700000001234ull, 1234}, 1700000000000ull, 1700000001234ull, EXP,
         0},
        {1, {323, 8}, {1700000003000ull}, 1700000003000ull, 1700000003000ull, EXP, 0},
        {1, {4, 4}, {6}, EXP_MS, EXP_MS, EXP, 0},                     /* no time: export */
        {2, {22, 4, 21, 4}, {1000, 2000}, EXP_MS, EXP_MS, EXP, 0},    /* no sysinit known */
        {1, {4, 4}, {6}, 777, 777, 0, FL0WER_FLOW_F_TIME_RECV},       /* nothing: receive */
    };

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.33", 4739, 777);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        one_record(cases[i].export_secs, (uint16_t)(400 + i), cases[i].n, cases[i].spec,
                   cases[i].vals);
        assert_int_equal(decode(d, &s), 0);
        assert_int_equal(c.n, 1);
        assert_int_equal(c.f[0].first_ms, cases[i].first);
        assert_int_equal(c.f[0].last_ms, cases[i].last);
        assert_int_equal(c.f[0].flags, cases[i].flags);
    }
    /* systemInitTimeMilliseconds from options data, then 21/22 data */
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 3);
    pb_u16(&b, 500);
    pb_u16(&b, 2);
    pb_u16(&b, 1);
    pb_u16(&b, 149); /* scope: observationDomainId */
    pb_u16(&b, 4);
    pb_u16(&b, 160);
    pb_u16(&b, 8);
    pb_set_end(&b);
    pb_set_begin(&b, 500);
    pb_u32(&b, 0);
    pb_u64(&b, 1600000000000ull);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    one_record(EXP, 410, 2, (const int[]){22, 4, 21, 4}, (const uint64_t[]){1000, 2000});
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0].first_ms, 1600000001000ull);
    assert_int_equal(c.f[0].last_ms, 1600000002000ull);
    fl0wer_decoder_destroy(d);
}

/* Sampling: selector table (302 -> 305/306) from options; 34 inside a data record. */
static void test_ipfix_sampling(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.34", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 3);
    pb_u16(&b, 600);
    pb_u16(&b, 3);
    pb_u16(&b, 1);
    pb_u16(&b, 302), pb_u16(&b, 8), pb_u16(&b, 305), pb_u16(&b, 4), pb_u16(&b, 306), pb_u16(&b, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 600);
    pb_u64(&b, 5), pb_u32(&b, 1), pb_u32(&b, 99);
    pb_u64(&b, 6), pb_u32(&b, 2), pb_u32(&b, 18);
    pb_set_end(&b);
    pb_set_begin(&b, 2);
    pb_template(&b, 601, 3, 8, 4, 1, 4, 302, 8);
    pb_template(&b, 602, 3, 8, 4, 1, 4, 34, 4);
    pb_set_end(&b);
    pb_set_begin(&b, 601);
    pb_v4(&b, "10.6.6.1"), pb_u32(&b, 1), pb_u64(&b, 5);
    pb_v4(&b, "10.6.6.2"), pb_u32(&b, 1), pb_u64(&b, 6);
    pb_v4(&b, "10.6.6.3"), pb_u32(&b, 1), pb_u64(&b, 7); /* unknown selector */
    pb_set_end(&b);
    pb_set_begin(&b, 602);
    pb_v4(&b, "10.6.6.4"), pb_u32(&b, 1), pb_u32(&b, 512);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.f[0].sampling, 100);
    assert_int_equal(c.f[1].sampling, 10);
    assert_int_equal(c.f[2].sampling, 10); /* last announced selector */
    assert_int_equal(c.f[3].sampling, 512);
    assert_int_equal(c.f[3].bytes, 1);
    fl0wer_decoder_destroy(d);
}

/* Fallbacks: 23/24, 85/86, BGP next hop, physical interfaces, postVlanId, ICMP forms. */
static void test_ipfix_fallbacks_and_icmp(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.35", 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 0, 0);
    pb_set_begin(&b, 2);
    pb_template(&b, 700, 9, 8, 4, 4, 1, 32, 2, 23, 8, 24, 4, 18, 4, 252, 4, 253, 4, 59, 2);
    pb_template(&b, 701, 6, 27, 16, 4, 1, 178, 1, 179, 1, 85, 8, 86, 8);
    pb_set_end(&b);
    pb_set_begin(&b, 700);
    pb_v4(&b, "10.8.8.8"), pb_u8(&b, 1), pb_u16(&b, 0x0800), pb_u64(&b, 840), pb_u32(&b, 10);
    pb_v4(&b, "10.0.0.99"), pb_u32(&b, 21), pb_u32(&b, 22), pb_u16(&b, 3001);
    pb_set_end(&b);
    pb_set_begin(&b, 701);
    pb_v6(&b, "2001:db8::8"), pb_u8(&b, 58), pb_u8(&b, 128), pb_u8(&b, 0);
    pb_u64(&b, 5000), pb_u64(&b, 50);
    pb_set_end(&b);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.f[0].dst_port, 0x0800);
    assert_int_equal(c.f[0].src_port, 0);
    assert_int_equal(c.f[0].bytes, 840);
    assert_int_equal(c.f[0].packets, 10);
    assert_string_equal(addr_str(c.f[0].next_hop), "10.0.0.99");
    assert_int_equal(c.f[0].in_if, 21);
    assert_int_equal(c.f[0].out_if, 22);
    assert_int_equal(c.f[0].vlan, 3001);
    assert_int_equal(c.f[1].dst_port, 128 << 8);
    assert_int_equal(c.f[1].proto, 58);
    assert_int_equal(c.f[1].bytes, 5000);
    assert_int_equal(c.f[1].packets, 50);
    assert_int_equal(c.f[1].flags, FL0WER_FLOW_F_IPV6);
    fl0wer_decoder_destroy(d);
}

/* IPFIX sequence numbers count data records (options records too, template records not). */
static void test_ipfix_sequence(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    const char *ex = "192.0.2.36";

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, ex, 4739, 1);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 100, 1);
    put_tpl_small(&b, 256);
    put_data_small(&b, 256, 3);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 103, 1);
    put_data_small(&b, 256, 2);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(get_stats(d, ex, 4739, 1).sequence_gaps, 0);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 110, 1); /* 105..109 lost */
    put_data_small(&b, 256, 2);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(get_stats(d, ex, 4739, 1).sequence_gaps, 5);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 112, 1); /* template only: does not advance */
    put_tpl_small(&b, 257);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 112, 1);
    put_data_small(&b, 257, 1);
    pb_ipfix_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(get_stats(d, ex, 4739, 1).sequence_gaps, 5);
    /* trailing bytes after the message are ignored */
    pb_reset(&b);
    pb_ipfix_header(&b, EXP, 113, 1);
    put_data_small(&b, 257, 1);
    pb_ipfix_end(&b);
    pb_u16(&b, 0xabcd);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(get_stats(d, ex, 4739, 1).sequence_gaps, 5);
    assert_int_equal(get_stats(d, ex, 4739, 1).records, 9);
    fl0wer_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipfix_ipv6_fields),
        cmocka_unit_test(test_ipfix_varlen_enterprise_padding),
        cmocka_unit_test(test_ipfix_reverse_record),
        cmocka_unit_test(test_ipfix_withdrawal),
        cmocka_unit_test(test_ipfix_time_forms),
        cmocka_unit_test(test_ipfix_sampling),
        cmocka_unit_test(test_ipfix_fallbacks_and_icmp),
        cmocka_unit_test(test_ipfix_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
