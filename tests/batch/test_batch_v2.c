/*
 * test_batch_v2.c - payload schema 2 (docs/protocol.md): exact round trips of random and extreme
 * flows (every field compared, many sources, time deltas that wrap), the exact bytes of one
 * hand-specified flow, msgpack-c unpacking what the builder writes, and schema 1 payloads still
 * parsed to the same flows (hand-packed here, and the committed fuzz seed). Malformed schema 2
 * payloads: test_batch_v2_bad.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "fl0wer/batch.h"
#include "batch_testutil.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    return bt_rnd(&rng_state);
}

/* A random value of random magnitude (every msgpack width), or half the time the field's
 * default, so trailing-field omission is exercised at every length. */
static uint64_t rnd_val(unsigned maxbits, uint64_t dflt)
{
    if (rnd() % 2)
        return dflt;
    unsigned bits = (unsigned)(rnd() % (maxbits + 1));
    uint64_t v = rnd();
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static void rnd_addr(uint8_t a[FL0WER_ADDR_LEN])
{
    bt_rnd_addr(&rng_state, a);
}

/* A pool of sources (exporter, domain, version), more than the parser's stack table holds. */
#define N_POOL 100
static struct fl0wer_flow pool[N_POOL];

static void rnd_flow(struct fl0wer_flow *f)
{
    const struct fl0wer_flow *s = &pool[rnd() % N_POOL];
    memset(f, 0, sizeof(*f));
    memcpy(f->exporter, s->exporter, FL0WER_ADDR_LEN);
    f->domain_id = s->domain_id;
    f->version = s->version;
    rnd_addr(f->src_addr);
    rnd_addr(f->dst_addr);
    rnd_addr(f->next_hop);
    f->first_ms = rnd() % 4 ? 1700000000000ull + rnd() % 100000 : rnd_val(64, 0);
    f->last_ms = rnd() % 4 ? f->first_ms + rnd() % 70000 - 5000u : rnd_val(64, 0);
    f->bytes = rnd_val(64, 0);
    f->packets = rnd_val(64, 0);
    f->flows = rnd_val(64, 1);
    f->in_if = (uint32_t)rnd_val(32, 0);
    f->out_if = (uint32_t)rnd_val(32, 0);
    f->src_as = (uint32_t)rnd_val(32, 0);
    f->dst_as = (uint32_t)rnd_val(32, 0);
    f->sampling = (uint32_t)rnd_val(32, 1);
    f->src_port = (uint16_t)rnd_val(16, 0);
    f->dst_port = (uint16_t)rnd_val(16, 0);
    f->vlan = (uint16_t)rnd_val(16, 0);
    f->proto = (uint8_t)rnd_val(8, 0);
    f->tcp_flags = (uint8_t)rnd_val(8, 0);
    f->tos = (uint8_t)rnd_val(8, 0);
    f->src_mask = (uint8_t)rnd_val(8, 0);
    f->dst_mask = (uint8_t)rnd_val(8, 0);
    f->direction = (uint8_t)rnd_val(8, 0);
    f->flags = (uint8_t)rnd_val(8, 0);
}

static struct fl0wer_edge_key key;

static int setup(void **state)
{
    (void)state;
    assert_int_equal(fl0wer_edge_key_generate(&key, "edge-v2"), 0);
    for (int i = 0; i < N_POOL; i++) {
        rnd_addr(pool[i].exporter);
        pool[i].domain_id = (uint32_t)rnd_val(32, 0);
        pool[i].version = (uint8_t)(i % 4 ? 5u + 5u * (unsigned)(i % 2) : rnd());
    }
    return 0;
}

/* Builds a signed batch of flows[0, n); returns the malloc'd frame. */
static uint8_t *build(const struct fl0wer_flow *flows, size_t n, size_t *len)
{
    struct fl0wer_batch_builder b;
    uint8_t *out;
    assert_int_equal(fl0wer_batch_builder_init(&b, &key), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fl0wer_batch_add_flow(&b, &flows[i]), 0);
    assert_int_equal(fl0wer_batch_finish(&b, 9, 1700000009999ull, NULL, &out, len), 0);
    fl0wer_batch_builder_release(&b);
    return out;
}

/* Builds, verifies and parses flows[0, n), then compares every field of every flow. */
static void roundtrip(const struct fl0wer_flow *flows, size_t n)
{
    struct fl0wer_batch pb;
    size_t len;
    uint8_t *buf = build(flows, n, &len);
    assert_int_equal(buf[FL0WER_BATCH_HEADER_LEN], 0x9a); /* array of 10 */
    assert_int_equal(buf[FL0WER_BATCH_HEADER_LEN + 1], 2); /* schema 2 */
    assert_int_equal(fl0wer_batch_verify(buf, len, key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(buf, len, &pb), 0);
    assert_int_equal(pb.flow_count, n);
    assert_int_equal(pb.seq, 9);
    for (size_t i = 0; i < n; i++)
        if (memcmp(&pb.flows[i], &flows[i], sizeof(flows[i])) != 0)
            fail_msg("flow %zu of %zu differs after the round trip", i, n);
    fl0wer_batch_release(&pb);
    free(buf);
}

static void test_v2_roundtrip_random(void **state)
{
    enum { N = 3000 };
    struct fl0wer_flow *flows = calloc(N, sizeof(*flows));
    (void)state;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < N; i++)
            rnd_flow(&flows[i]);
        roundtrip(flows, N);
        roundtrip(flows, 1);
    }
    free(flows);
}

static void test_v2_roundtrip_extremes(void **state)
{
    struct fl0wer_flow f[12];
    (void)state;
    memset(f, 0, sizeof(f)); /* flows 0 and sampling 0: not the defaults, must be sent */
    memset(&f[0], 0xff, sizeof(f[0]));
    f[0].reserved[0] = f[0].reserved[1] = 0; /* base UINT64_MAX */
    f[1].first_ms = 0; /* delta from the base wraps */
    f[1].last_ms = UINT64_MAX;
    f[2].first_ms = UINT64_MAX;
    f[2].last_ms = 0; /* last < first by the whole range */
    f[3].first_ms = 1000;
    f[3].last_ms = 999; /* a broken exporter's last < first */
    f[4].first_ms = (uint64_t)INT64_MAX + 1; /* deltas of exactly -2^63 / 2^63 */
    f[4].last_ms = 0;
    f[5].first_ms = 1ull << 63;
    f[5].last_ms = UINT64_MAX;
    fl0wer_flow_init(&f[6]); /* every trailing field default: the 7-element form */
    fl0wer_flow_init(&f[7]);
    f[7].vlan = 1; /* only the last field set: all 23 elements */
    for (int i = 0; i < FL0WER_ADDR_LEN; i++)
        f[8].exporter[i] = (uint8_t)(0xa0 + i); /* IPv6 exporter, unset addresses */
    f[8].bytes = f[8].packets = f[8].flows = UINT64_MAX;
    f[8].sampling = f[8].in_if = f[8].out_if = f[8].src_as = f[8].dst_as = UINT32_MAX;
    memcpy(&f[9], &f[0], sizeof(f[0]));
    f[9].first_ms = 0;
    f[9].last_ms = 0;
    fl0wer_flow_init(&f[10]);
    f[10].first_ms = f[10].last_ms = 1700000000000ull;
    f[10].flows = 2;
    fl0wer_flow_init(&f[11]);
    f[11].first_ms = 5;
    f[11].last_ms = 5 - 33; /* wraps below zero */
    for (size_t start = 0; start < 12; start++) /* each one as the batch's base */
        roundtrip(f + start, 12 - start);
    struct fl0wer_flow g[2] = {f[1], f[0]}; /* base 0, then UINT64_MAX */
    roundtrip(g, 2);
}

/* Network-order v4 address as the builder sees it. */
static void v4(uint8_t a[FL0WER_ADDR_LEN], uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
    const uint8_t x[4] = {b0, b1, b2, b3};
    fl0wer_addr_from_v4(a, x);
}

/* One flow written out by hand from docs/protocol.md: the payload from the source table on is
 * exactly these bytes. */
static void test_v2_exact_bytes(void **state)
{
    struct fl0wer_flow f;
    size_t len;
    (void)state;
    fl0wer_flow_init(&f);
    v4(f.exporter, 10, 0, 0, 1);
    f.version = 9;
    v4(f.src_addr, 10, 1, 2, 3);
    v4(f.dst_addr, 192, 168, 0, 1);
    f.first_ms = 1700000000000ull;
    f.last_ms = f.first_ms + 1500;
    f.bytes = 1234;
    f.packets = 3;
    f.proto = 6;
    f.src_port = 443;
    f.dst_port = 51000;
    f.tcp_flags = 0x1b;
    f.in_if = 2;
    static const uint8_t want[] = {
        0x91, 0x94, 0xc4, 4, 10, 0, 0, 1, 0x00, 0x09, 0x01, /* sources: [[10.0.0.1, 0, 9, 1]] */
        0xcf, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,     /* base_ms 1700000000000 */
        0x91, 0x9c, 0x00,                                   /* 1 flow of 12 elements, source 0 */
        0xc4, 4, 10, 1, 2, 3, 0xc4, 4, 192, 168, 0, 1,      /* src, dst */
        0x00, 0xcd, 0x05, 0xdc, 0xcd, 0x04, 0xd2, 0x03,     /* first +0, last +1500, 1234, 3 */
        0x06, 0xcd, 0x01, 0xbb, 0xcd, 0xc7, 0x38, 0x1b, 0x02, /* 6, 443, 51000, 0x1b, in_if 2 */
        0x90, 0x90,                                         /* no exporters, no interfaces */
    };
    uint8_t *buf = build(&f, 1, &len);
    assert_true(len > sizeof(want));
    assert_memory_equal(buf + len - sizeof(want), want, sizeof(want));
    free(buf);
}

/* What the builder writes is ordinary msgpack: msgpack-c unpacks the payload to one array of
 * 10 with the documented elements, and a negative last_ms delta as a negative integer. */
static void test_v2_msgpack_c_unpacks(void **state)
{
    struct fl0wer_flow f[3];
    size_t len, off = 0;
    msgpack_unpacked u;
    (void)state;
    for (int i = 0; i < 3; i++) {
        fl0wer_flow_init(&f[i]);
        v4(f[i].exporter, 10, 0, 0, (uint8_t)(1 + i % 2));
        f[i].first_ms = 1700000000000ull + 100u * (unsigned)i;
    }
    f[0].last_ms = f[0].first_ms + 7;
    f[1].last_ms = f[1].first_ms - 5;
    f[2].last_ms = f[2].first_ms;
    f[2].vlan = 4094;
    uint8_t *buf = build(f, 3, &len);
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *)buf + FL0WER_BATCH_HEADER_LEN,
                                         len - FL0WER_BATCH_HEADER_LEN, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, len - FL0WER_BATCH_HEADER_LEN); /* nothing after the array */
    msgpack_object *top = &u.data;
    assert_int_equal(top->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(top->via.array.size, 10);
    msgpack_object *e = top->via.array.ptr;
    assert_int_equal(e[0].via.u64, 2);
    assert_int_equal(e[5].type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(e[5].via.array.size, 2); /* two sources */
    assert_int_equal(e[6].via.u64, 1700000000000ull);
    assert_int_equal(e[7].via.array.size, 3);
    msgpack_object *fl = e[7].via.array.ptr;
    assert_int_equal(fl[0].via.array.size, 7);
    assert_int_equal(fl[0].via.array.ptr[0].via.u64, 0);
    assert_int_equal(fl[0].via.array.ptr[4].via.u64, 7);
    assert_int_equal(fl[1].via.array.ptr[0].via.u64, 1);
    assert_int_equal(fl[1].via.array.ptr[3].via.u64, 100);
    assert_int_equal(fl[1].via.array.ptr[4].type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal(fl[1].via.array.ptr[4].via.i64, -5);
    assert_int_equal(fl[2].via.array.size, 23);
    assert_int_equal(fl[2].via.array.ptr[0].via.u64, 0);
    assert_int_equal(fl[2].via.array.ptr[15].via.u64, 1); /* flows, default written */
    assert_int_equal(fl[2].via.array.ptr[22].via.u64, 4094);
    msgpack_unpacked_destroy(&u);
    free(buf);
}

/* Frames and signs payload with key as the current edge does (bt_frame). */
static uint8_t *frame(const void *payload, size_t plen, size_t *len)
{
    return bt_frame(&key, payload, plen, len);
}

static void pack_addr(msgpack_packer *pk, const uint8_t a[FL0WER_ADDR_LEN])
{
    if (fl0wer_addr_is_zero(a)) {
        msgpack_pack_bin(pk, 0);
    } else if (fl0wer_addr_is_v4(a)) {
        msgpack_pack_bin(pk, 4);
        msgpack_pack_bin_body(pk, a + 12, 4);
    } else {
        msgpack_pack_bin(pk, 16);
        msgpack_pack_bin_body(pk, a, 16);
    }
}

/* Schema 1 payloads, as edges of the previous release spool them, still parse to the same
 * flows: packed here with msgpack-c from the schema 1 table of docs/protocol.md. */
static void test_v1_still_parses(void **state)
{
    enum { N = 500 };
    struct fl0wer_flow flows[N];
    struct fl0wer_batch pb;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t len;
    (void)state;
    for (size_t i = 0; i < N; i++) {
        rnd_flow(&flows[i]);
        rnd_addr(flows[i].exporter);
    }
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str(&pk, 3);
    msgpack_pack_str_body(&pk, "old", 3);
    msgpack_pack_uint64(&pk, 41);
    msgpack_pack_uint64(&pk, 1700000000000ull);
    msgpack_pack_array(&pk, 8);
    for (int i = 0; i < 8; i++)
        msgpack_pack_uint64(&pk, (uint64_t)i * 1000);
    msgpack_pack_array(&pk, N);
    for (size_t i = 0; i < N; i++) {
        const struct fl0wer_flow *f = &flows[i];
        msgpack_pack_array(&pk, 26);
        pack_addr(&pk, f->exporter);
        pack_addr(&pk, f->src_addr);
        pack_addr(&pk, f->dst_addr);
        pack_addr(&pk, f->next_hop);
        const uint64_t v[22] = {f->first_ms, f->last_ms, f->bytes, f->packets, f->flows,
                                f->domain_id, f->in_if, f->out_if, f->src_as, f->dst_as,
                                f->sampling, f->src_port, f->dst_port, f->vlan, f->proto,
                                f->tcp_flags, f->tos, f->src_mask, f->dst_mask, f->direction,
                                f->version, f->flags};
        for (int k = 0; k < 22; k++)
            msgpack_pack_uint64(&pk, v[k]);
    }
    msgpack_pack_array(&pk, 0);
    msgpack_pack_array(&pk, 0);
    uint8_t *buf = frame(sb.data, sb.size, &len);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(fl0wer_batch_parse(buf, len, &pb), 0);
    assert_string_equal(pb.edge_name, "old");
    assert_int_equal(pb.seq, 41);
    assert_int_equal(pb.report.spool_bytes, 7000);
    assert_int_equal(pb.flow_count, N);
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(&pb.flows[i], &flows[i], sizeof(flows[i]));
    fl0wer_batch_release(&pb);
    free(buf);
}

/* Reads a committed fuzz_batch seed (signed by the harness key, seed bytes 0x42), checks its
 * schema byte, verifies and parses it; returns the flow count. */
static size_t seed_flows(const char *name, uint8_t schema)
{
    char path[4096];
    uint8_t buf[4096], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t seed[crypto_sign_SEEDBYTES];
    struct fl0wer_batch pb;
    snprintf(path, sizeof(path), "%s/tests/fuzz/seeds/fuzz_batch/%s", FL0WER_SOURCE_DIR, name);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    size_t len = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    memset(seed, 0x42, sizeof(seed));
    crypto_sign_seed_keypair(pk, sk, seed);
    assert_int_equal(buf[FL0WER_BATCH_HEADER_LEN + 1], schema);
    assert_int_equal(fl0wer_batch_verify(buf, len, pk), 0);
    assert_int_equal(fl0wer_batch_parse(buf, len, &pb), 0);
    assert_string_equal(pb.edge_name, "fuzz-edge");
    assert_true(pb.flow_count == 0 || fl0wer_addr_is_v4(pb.flows[0].exporter));
    size_t n = pb.flow_count;
    fl0wer_batch_release(&pb);
    return n;
}

/* The committed seeds: schema 1 (from the previous release) and schema 2 still parse. */
static void test_seeds_parse(void **state)
{
    (void)state;
    assert_true(seed_flows("flows.bin", 1) > 0);
    assert_int_equal(seed_flows("v2-flows.bin", 2), 6);
    assert_int_equal(seed_flows("v2-meta.bin", 2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_roundtrip_random),
        cmocka_unit_test(test_v2_roundtrip_extremes),
        cmocka_unit_test(test_v2_exact_bytes),
        cmocka_unit_test(test_v2_msgpack_c_unpacks),
        cmocka_unit_test(test_v1_still_parses),
        cmocka_unit_test(test_seeds_parse),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
