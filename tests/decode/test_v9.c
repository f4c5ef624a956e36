/*
 * test_v9.c - NetFlow v9 (RFC 3954) from hand-built packets: template then data with
 * reduced-size fields and padding, data before its template (same packet, earlier packet,
 * hold disabled, flushed), sampling (exporter-wide 34/35, per sampler id 48/49/50, order of sets
 * within a packet), interface names, Juniper SRX zero-length scope, reboot, time forms, sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pktbuild.h"

#define SECS 1700000000u
#define EXPORT_MS (UINT64_C(1700000000) * 1000)
#define UPTIME 1000000u

static struct pb b;
static struct collect c;

/* Template 256: 21 fields, 49-byte records, reduced-size counters and interfaces. */
static void put_tpl256(struct pb *p)
{
    pb_set_begin(p, 0);
    pb_template(p, 256, 21, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 6, 1, 5, 1, 1, 4, 2, 4, 10, 2, 14, 2,
                22, 4, 21, 4, 15, 4, 16, 2, 17, 2, 9, 1, 13, 1, 58, 2, 61, 1, 48, 1);
    pb_set_end(p);
}

static void put_rec256(struct pb *p, const char *src, uint16_t sport, uint32_t bytes,
                       uint8_t sampler)
{
    pb_v4(p, src);
    pb_v4(p, "10.9.9.9");
    pb_u16(p, sport);
    pb_u16(p, 443);
    pb_u8(p, 6);
    pb_u8(p, 0x12);
    pb_u8(p, 0xb8);
    pb_u32(p, bytes);
    pb_u32(p, 7);
    pb_u16(p, 11);
    pb_u16(p, 12);
    pb_u32(p, UPTIME - 10000);
    pb_u32(p, UPTIME - 2000);
    pb_v4(p, "10.0.0.254");
    pb_u16(p, 64512);
    pb_u16(p, 64513);
    pb_u8(p, 23);
    pb_u8(p, 25);
    pb_u16(p, 100);
    pb_u8(p, 1);
    pb_u8(p, sampler);
}

/* A data set 256 with n records (sampler ids 1..n cycling 1,2) and 3 bytes of padding. */
static void put_data256(struct pb *p, int n)
{
    pb_set_begin(p, 256);
    for (int i = 0; i < n; i++)
        put_rec256(p, i % 2 ? "10.1.0.2" : "10.1.0.1", (uint16_t)(5000 + i),
                   (uint32_t)(1000 * (i + 1)), (uint8_t)(1 + i % 2));
    pb_set_end_pad(p, 3);
}

static int decode(struct fl0wer_decoder *d, struct fl0wer_source *s)
{
    memset(&c, 0, sizeof(c));
    return fl0wer_decode_packet(d, s, b.buf, b.len, collect_cb, &c);
}

static void test_v9_template_then_data(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_exporter_stats st;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.10", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 77);
    put_tpl256(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 0);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 2, 77);
    put_data256(&b, 2);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    const struct fl0wer_flow *f = &c.f[0];
    assert_int_equal(f->version, 9);
    assert_int_equal(f->domain_id, 77);
    assert_string_equal(addr_str(f->exporter), "192.0.2.10");
    assert_string_equal(addr_str(f->src_addr), "10.1.0.1");
    assert_string_equal(addr_str(f->dst_addr), "10.9.9.9");
    assert_int_equal(f->src_port, 5000);
    assert_int_equal(f->dst_port, 443);
    assert_int_equal(f->proto, 6);
    assert_int_equal(f->tcp_flags, 0x12);
    assert_int_equal(f->tos, 0xb8);
    assert_int_equal(f->bytes, 1000);
    assert_int_equal(f->packets, 7);
    assert_int_equal(f->in_if, 11);
    assert_int_equal(f->out_if, 12);
    assert_int_equal(f->first_ms, EXPORT_MS - 10000);
    assert_int_equal(f->last_ms, EXPORT_MS - 2000);
    assert_string_equal(addr_str(f->next_hop), "10.0.0.254");
    assert_int_equal(f->src_as, 64512);
    assert_int_equal(f->dst_as, 64513);
    assert_int_equal(f->src_mask, 23);
    assert_int_equal(f->dst_mask, 25);
    assert_int_equal(f->vlan, 100);
    assert_int_equal(f->direction, FL0WER_DIR_EGRESS);
    assert_int_equal(f->sampling, 1);
    assert_int_equal(f->flows, 1);
    assert_int_equal(f->flags, 0);
    assert_string_equal(addr_str(c.f[1].src_addr), "10.1.0.2");
    assert_int_equal(c.f[1].bytes, 2000);
    st = get_stats(d, "192.0.2.10", 9999, 77);
    assert_int_equal(st.messages, 2);
    assert_int_equal(st.records, 2);
    assert_int_equal(st.templates, 1);
    assert_int_equal(st.unknown_template, 0);
    assert_int_equal(st.sequence_gaps, 0);
    for (int k = 0; k < FL0WER_DERR__COUNT; k++)
        assert_int_equal(st.errors[k], 0);
    fl0wer_decoder_destroy(d);
}

/* Data set first, its template later in the same packet (ipt_NETFLOW, some Juniper). */
static void test_v9_data_before_template_same_packet(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_decoder_totals t;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.11", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    put_data256(&b, 3);
    put_tpl256(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.f[2].bytes, 3000);
    assert_int_equal(c.f[2].first_ms, EXPORT_MS - 10000);
    fl0wer_decoder_totals(d, &t);
    assert_int_equal(t.held, 1);
    assert_int_equal(t.unknown_template, 0);
    assert_int_equal(t.records, 3);
    fl0wer_decoder_destroy(d);
}

/* Data in one packet, template in a later one: held, decoded when the template comes. */
static void test_v9_hold_across_packets(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_decoder_config cfg = {0};
    struct fl0wer_source s;
    struct fl0wer_decoder_totals t;

    for (int mode = 0; mode < 3; mode++) {
        cfg.flags = mode == 1 ? FL0WER_DECODER_NO_HOLD : 0;
        assert_int_equal(fl0wer_decoder_create(&d, &cfg), 0);
        src_init(&s, "192.0.2.12", 9999, 5);
        pb_reset(&b);
        pb_v9_header(&b, UPTIME, SECS, 1, 0);
        put_data256(&b, 2);
        assert_int_equal(decode(d, &s), 0);
        assert_int_equal(c.n, 0);
        if (mode == 2)
            fl0wer_decoder_flush_held(d);
        pb_reset(&b);
        pb_v9_header(&b, UPTIME + 1000, SECS + 1, 2, 0);
        put_tpl256(&b);
        assert_int_equal(decode(d, &s), 0);
        fl0wer_decoder_totals(d, &t);
        if (mode == 0) { /* held, then decoded with the held packet's own header times */
            assert_int_equal(c.n, 2);
            assert_int_equal(c.f[0].first_ms, EXPORT_MS - 10000);
            assert_int_equal(t.held, 1);
            assert_int_equal(t.unknown_template, 0);
            assert_int_equal(t.records, 2);
        } else { /* not held / given up */
            assert_int_equal(c.n, 0);
            assert_int_equal(t.held, mode == 2 ? 1 : 0);
            assert_int_equal(t.unknown_template, 1);
            assert_int_equal(t.records, 0);
        }
        fl0wer_decoder_destroy(d);
    }
}

/* Options: exporter-wide samplingInterval (34/35) with a system scope. */
static void test_v9_sampling_exporter_wide(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.13", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    pb_set_begin(&b, 1);
    pb_u16(&b, 300);
    pb_u16(&b, 4); /* scope length */
    pb_u16(&b, 8); /* option length */
    pb_u16(&b, 1); /* scope: system */
    pb_u16(&b, 4);
    pb_u16(&b, 34);
    pb_u16(&b, 4);
    pb_u16(&b, 35);
    pb_u16(&b, 1);
    pb_set_end_pad(&b, 2);
    pb_set_begin(&b, 300);
    pb_u32(&b, 0);
    pb_u32(&b, 100);
    pb_u8(&b, 2);
    pb_set_end_pad(&b, 3);
    put_tpl256(&b);
    put_data256(&b, 1);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0].sampling, 100);
    assert_int_equal(c.f[0].bytes, 1000); /* raw counters untouched */
    assert_int_equal(get_stats(d, "192.0.2.13", 9999, 0).sampling, 100);
    fl0wer_decoder_destroy(d);
}

/* Options template 258: samplers 1 -> 10 and 2 -> 1000 (48/49/50). */
static void put_samplers(struct pb *p)
{
    pb_set_begin(p, 1);
    pb_u16(p, 258);
    pb_u16(p, 4);
    pb_u16(p, 12);
    pb_u16(p, 1);
    pb_u16(p, 4);
    pb_u16(p, 48);
    pb_u16(p, 1);
    pb_u16(p, 49);
    pb_u16(p, 1);
    pb_u16(p, 50);
    pb_u16(p, 4);
    pb_set_end_pad(p, 2);
    pb_set_begin(p, 258);
    pb_u32(p, 0);
    pb_u8(p, 1);
    pb_u8(p, 2);
    pb_u32(p, 10);
    pb_u32(p, 0);
    pb_u8(p, 2);
    pb_u8(p, 2);
    pb_u32(p, 1000);
    pb_set_end_pad(p, 0);
}

static void test_v9_sampling_per_sampler(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.14", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    put_tpl256(&b);
    put_data256(&b, 2); /* before the sampler table in this packet: default */
    put_samplers(&b);
    put_data256(&b, 2); /* after: per sampler id */
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.f[0].sampling, 1);
    assert_int_equal(c.f[1].sampling, 1);
    assert_int_equal(c.f[2].sampling, 10);
    assert_int_equal(c.f[3].sampling, 1000);
    /* another exporter with the same sampler ids is not affected */
    src_init(&s, "192.0.2.15", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    put_tpl256(&b);
    put_data256(&b, 2);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.f[1].sampling, 1);
    fl0wer_decoder_destroy(d);
}

struct if_seen {
    int n;
    struct fl0wer_interface_info i[8];
};

static void if_cb(void *arg, const struct fl0wer_interface_info *i)
{
    struct if_seen *s = arg;

    if (s->n < 8)
        s->i[s->n++] = *i;
}

static void put_ifname(struct pb *p, uint32_t ifindex, const char *name, const char *desc)
{
    uint8_t n[16] = {0}, dsc[32] = {0};

    memcpy(n, name, strlen(name));
    memcpy(dsc, desc, strlen(desc));
    pb_u32(p, ifindex);
    pb_bytes(p, n, sizeof(n));
    pb_bytes(p, dsc, sizeof(dsc));
}

static void test_v9_interface_names(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct if_seen seen = {0};

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.16", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 4);
    pb_set_begin(&b, 1);
    pb_u16(&b, 259);
    pb_u16(&b, 4);
    pb_u16(&b, 8);
    pb_u16(&b, 2); /* scope: interface */
    pb_u16(&b, 4);
    pb_u16(&b, 82);
    pb_u16(&b, 16);
    pb_u16(&b, 83);
    pb_u16(&b, 32);
    pb_set_end_pad(&b, 2);
    pb_set_begin(&b, 259);
    put_ifname(&b, 3, "Gi0/0/0/1", "uplink to core");
    put_ifname(&b, 7, "Te0/1/0/0", "customer A");
    pb_set_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(fl0wer_decoder_foreach_interface(d, if_cb, &seen), 2);
    assert_int_equal(seen.i[0].ifindex, 3);
    assert_string_equal(seen.i[0].name, "Gi0/0/0/1");
    assert_string_equal(seen.i[0].description, "uplink to core");
    assert_int_equal(seen.i[0].domain_id, 4);
    assert_string_equal(addr_str(seen.i[0].exporter), "192.0.2.16");
    assert_int_equal(seen.i[1].ifindex, 7);
    assert_string_equal(seen.i[1].name, "Te0/1/0/0");
    assert_string_equal(seen.i[1].description, "customer A");
    fl0wer_decoder_destroy(d);
}

/* Juniper SRX: an options template whose scope field has length 0; also no scope at all. */
static void test_v9_options_scope_zero(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    struct fl0wer_exporter_stats st;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.17", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 142);
    pb_set_begin(&b, 1);
    pb_u16(&b, 256);
    pb_u16(&b, 4);
    pb_u16(&b, 8);
    pb_u16(&b, 1);
    pb_u16(&b, 0); /* scope field of length 0 */
    pb_u16(&b, 35);
    pb_u16(&b, 1);
    pb_u16(&b, 34);
    pb_u16(&b, 4);
    pb_set_end_pad(&b, 2);
    pb_set_begin(&b, 1);
    pb_u16(&b, 257);
    pb_u16(&b, 0); /* no scope at all */
    pb_u16(&b, 4);
    pb_u16(&b, 34);
    pb_u16(&b, 4);
    pb_set_end_pad(&b, 2);
    pb_set_begin(&b, 256);
    pb_u8(&b, 2);
    pb_u32(&b, 50);
    pb_set_end_pad(&b, 3);
    assert_int_equal(decode(d, &s), 0);
    st = get_stats(d, "192.0.2.17", 9999, 142);
    assert_int_equal(st.templates, 2);
    assert_int_equal(st.sampling, 50);
    assert_int_equal(st.errors[FL0WER_DERR_TEMPLATE], 0);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 2, 142);
    pb_set_begin(&b, 257);
    pb_u32(&b, 2000);
    pb_set_end(&b);
    put_tpl256(&b);
    put_data256(&b, 1);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0].sampling, 2000);
    fl0wer_decoder_destroy(d);
}

/* sysUpTime going backwards (with the wall clock going on) = reboot: templates dropped. */
static void test_v9_reboot(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.18", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    put_tpl256(&b);
    assert_int_equal(decode(d, &s), 0);
    /* reordered packet: uptime and wall clock both 1.5 s earlier: not a reboot */
    pb_reset(&b);
    pb_v9_header(&b, UPTIME - 1500, SECS - 1, 0, 0);
    put_data256(&b, 1);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    /* uptime steps back 113 s while the wall clock goes on 17 s, long after boot (a
     * Huawei NetStream exporter does this): not a reboot, the template still applies */
    pb_reset(&b);
    pb_v9_header(&b, UPTIME - 113000, SECS + 16, 2, 0);
    put_data256(&b, 1);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    /* reboot: 10 s later the uptime is 5 s */
    pb_reset(&b);
    pb_v9_header(&b, 5000, SECS + 10, 1, 0);
    put_data256(&b, 1);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 0);
    fl0wer_decoder_flush_held(d);
    assert_int_equal(get_stats(d, "192.0.2.18", 9999, 0).unknown_template, 1);
    /* uptime wrap: from 2^32 - 2000 ms to 3000 ms five seconds later is not a reboot */
    pb_reset(&b);
    pb_v9_header(&b, 0xfffff830u, SECS + 20, 2, 0);
    put_tpl256(&b);
    assert_int_equal(decode(d, &s), 0);
    pb_reset(&b);
    pb_v9_header(&b, 3000, SECS + 25, 3, 0);
    pb_set_begin(&b, 256);
    put_rec256(&b, "10.1.0.9", 1, 1, 1);
    /* FIRST_SWITCHED was before the wrap: patch it to 2^32 - 1000 */
    pb_set_end(&b);
    {
        size_t off = b.len - 49 + 27; /* offset of FIRST_SWITCHED in the record */
        b.buf[off] = 0xff;
        b.buf[off + 1] = 0xff;
        b.buf[off + 2] = 0xfc;
        b.buf[off + 3] = 0x18;
    }
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.f[0].first_ms, (UINT64_C(1700000025) * 1000) - 4000);
    fl0wer_decoder_destroy(d);
}

/* 8-byte FIRST/LAST_SWITCHED (Nexus): absolute ms; 8-byte counters; 3-byte counter. */
static void test_v9_wide_and_narrow_fields(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.19", 9999, 5);
    pb_reset(&b);
    pb_v9_header(&b, UPTIME, SECS, 1, 0);
    pb_set_begin(&b, 0);
    pb_template(&b, 400, 6, 8, 4, 1, 8, 2, 3, 22, 8, 21, 8, 10, 1);
    pb_template(&b, 401, 3, 8, 4, 22, 8, 21, 8);
    pb_set_end(&b);
    pb_set_begin(&b, 400);
    pb_v4(&b, "10.7.7.7");
    pb_u64(&b, UINT64_C(0x123456789a));
    pb_u8(&b, 1);
    pb_u16(&b, 2); /* 3-byte packets: 0x010002 */
    pb_u64(&b, UINT64_C(1699999990123));
    pb_u64(&b, UINT64_C(1699999999456));
    pb_u8(&b, 9);
    pb_set_end(&b);
    pb_set_begin(&b, 401); /* 8 bytes holding a 32-bit uptime value: relative */
    pb_v4(&b, "10.7.7.8");
    pb_u64(&b, UPTIME - 3000);
    pb_u64(&b, UPTIME - 1000);
    pb_set_end(&b);
    assert_int_equal(decode(d, &s), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.f[0].bytes, UINT64_C(0x123456789a));
    assert_int_equal(c.f[0].packets, 0x010002);
    assert_int_equal(c.f[0].first_ms, UINT64_C(1699999990123));
    assert_int_equal(c.f[0].last_ms, UINT64_C(1699999999456));
    assert_int_equal(c.f[0].in_if, 9);
    assert_int_equal(c.f[1].first_ms, EXPORT_MS - 3000);
    assert_int_equal(c.f[1].last_ms, EXPORT_MS - 1000);
    fl0wer_decoder_destroy(d);
}

/* v9 sequence numbers count export packets. */
static void test_v9_sequence(void **state)
{
    struct fl0wer_decoder *d;
    struct fl0wer_source s;
    static const uint32_t seqs[] = {10, 11, 15, 13, 16, 16};
    static const uint64_t gaps[] = {0, 0, 3, 2, 2, 1};

    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    src_init(&s, "192.0.2.20", 9999, 5);
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        pb_reset(&b);
        pb_v9_header(&b, UPTIME, SECS, seqs[i], 3);
        put_tpl256(&b); /* template-only packets count too */
        assert_int_equal(decode(d, &s), 0);
        assert_int_equal(get_stats(d, "192.0.2.20", 9999, 3).sequence_gaps, gaps[i]);
    }
    fl0wer_decoder_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v9_template_then_data),
        cmocka_unit_test(test_v9_data_before_template_same_packet),
        cmocka_unit_test(test_v9_hold_across_packets),
        cmocka_unit_test(test_v9_sampling_exporter_wide),
        cmocka_unit_test(test_v9_sampling_per_sampler),
        cmocka_unit_test(test_v9_interface_names),
        cmocka_unit_test(test_v9_options_scope_zero),
        cmocka_unit_test(test_v9_reboot),
        cmocka_unit_test(test_v9_wide_and_narrow_fields),
        cmocka_unit_test(test_v9_sequence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
