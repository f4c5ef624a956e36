/*
 * test_batch_v2_bad.c - malformed schema 2 payloads (docs/protocol.md, "Payload (schema version
 * 2)"): a hand-packed valid payload parsed to exact values, then one defect at a time (top-level
 * shape, source table, source index, base, time deltas, flow length, trailing field widths,
 * counts) rejected with FL0WER_BATCH_ERR_SCHEMA or _TOO_LARGE and nothing left to release; and
 * every truncation of a builder-made schema 2 batch rejected, each from an exact-size copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "fl0wer/batch.h"
#include "batch_testutil.h"

static struct fl0wer_edge_key key;

static int setup(void **state)
{
    (void)state;
    return fl0wer_edge_key_generate(&key, "edge-bad");
}

enum bad {
    OK, TOP9, TOP11, TOP10_SCHEMA1, TOP8_SCHEMA2, SCHEMA3,
    IDX_OUT, IDX_HUGE, IDX_NEG, SRC_EMPTY, SRC_ENTRY3, SRC_ENTRY5, SRC_VERSION256,
    SRC_DOMAIN_BIG, SRC_SAMPLING_BIG, SRC_ADDR5, SRC_MAP, SRC_COUNT_UNFILLED,
    BASE_NEG, BASE_STR, FIRST_BIG, LAST_BIG, FIRST_FLOAT, LAST_NIL,
    FLOW6, FLOW24, FLOW_MAP, PROTO256, FLOWS_NEG, NH_LEN5, VLAN_BIG, TRAILING,
    FLOWS_COUNT_UNFILLED,
    SRC_COUNT_HUGE, FLOWS_COUNT_HUGE, /* too large */
    N_BAD
};

static void pack_bin(msgpack_packer *pk, const void *d, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, d, n);
}

static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* Packs the sources and the base (elements 5 and 6) with defect b. */
static void pack_sources(msgpack_packer *pk, enum bad b)
{
    static const uint8_t v4[4] = {10, 0, 0, 1};
    if (b == SRC_MAP) {
        msgpack_pack_map(pk, 0);
    } else if (b == SRC_COUNT_HUGE) {
        msgpack_pack_array(pk, FL0WER_BATCH_MAX_RECORDS + 1);
    } else if (b == SRC_COUNT_UNFILLED) {
        msgpack_pack_array(pk, 1000);
    } else if (b == SRC_EMPTY) {
        msgpack_pack_array(pk, 0);
    } else {
        msgpack_pack_array(pk, 2);
        msgpack_pack_array(pk, b == SRC_ENTRY3 ? 3 : b == SRC_ENTRY5 ? 5 : 4);
        if (b == SRC_ADDR5)
            pack_bin(pk, "12345", 5);
        else
            pack_bin(pk, v4, 4);
        if (b == SRC_DOMAIN_BIG)
            msgpack_pack_uint64(pk, 1ull << 32);
        else
            msgpack_pack_uint32(pk, 3);
        msgpack_pack_uint16(pk, b == SRC_VERSION256 ? 256 : 10);
        if (b != SRC_ENTRY3)
            msgpack_pack_uint64(pk, b == SRC_SAMPLING_BIG ? 1ull << 32 : 1000);
        if (b == SRC_ENTRY5)
            msgpack_pack_uint8(pk, 0);
        msgpack_pack_array(pk, 4);
        pack_bin(pk, v6, 16);
        msgpack_pack_uint8(pk, 0);
        msgpack_pack_uint8(pk, 9);
        msgpack_pack_uint8(pk, 1);
    }
    if (b == BASE_NEG)
        msgpack_pack_int8(pk, -1);
    else if (b == BASE_STR)
        msgpack_pack_str_with_body(pk, "1", 1);
    else
        msgpack_pack_uint64(pk, 1000);
}

/* Packs the two flows (element 7) with defect b: a full 23-element one, a 7-element one. */
static void pack_flows(msgpack_packer *pk, enum bad b)
{
    static const uint8_t src[4] = {192, 0, 2, 1};
    if (b == FLOWS_COUNT_HUGE) {
        msgpack_pack_array(pk, FL0WER_BATCH_MAX_RECORDS + 1);
        return;
    }
    msgpack_pack_array(pk, b == FLOWS_COUNT_UNFILLED ? 300 : 2);
    if (b == FLOW_MAP)
        msgpack_pack_map(pk, 23);
    else
        msgpack_pack_array(pk, b == FLOW24 ? 24 : 23);
    if (b == IDX_OUT)
        msgpack_pack_uint8(pk, 2);
    else if (b == IDX_HUGE)
        msgpack_pack_uint64(pk, UINT64_MAX);
    else if (b == IDX_NEG)
        msgpack_pack_int8(pk, -1);
    else
        msgpack_pack_uint8(pk, 0);
    pack_bin(pk, src, 4);
    pack_bin(pk, v6, 16);
    if (b == FIRST_BIG)
        msgpack_pack_uint64(pk, (uint64_t)INT64_MAX + 1);
    else if (b == FIRST_FLOAT)
        msgpack_pack_double(pk, 1.0);
    else
        msgpack_pack_uint16(pk, 500); /* first 1500 */
    if (b == LAST_BIG)
        msgpack_pack_uint64(pk, UINT64_MAX);
    else if (b == LAST_NIL)
        msgpack_pack_nil(pk);
    else
        msgpack_pack_int16(pk, -1000); /* last 500 */
    msgpack_pack_uint64(pk, UINT64_MAX); /* bytes */
    msgpack_pack_uint8(pk, 2);           /* packets */
    msgpack_pack_uint16(pk, b == PROTO256 ? 256 : 17);
    msgpack_pack_uint16(pk, 53);
    msgpack_pack_uint16(pk, 40000);
    msgpack_pack_uint8(pk, 0x12);
    msgpack_pack_uint32(pk, 7);          /* in_if */
    msgpack_pack_uint32(pk, UINT32_MAX); /* out_if */
    msgpack_pack_uint8(pk, 24);
    msgpack_pack_uint8(pk, 32);
    if (b == FLOWS_NEG)
        msgpack_pack_int8(pk, -2);
    else
        msgpack_pack_uint8(pk, 0); /* flows 0: explicit */
    msgpack_pack_uint32(pk, 65000); /* src_as */
    msgpack_pack_uint32(pk, 64512);
    msgpack_pack_uint8(pk, 0xb8); /* tos */
    msgpack_pack_uint8(pk, 2);    /* direction */
    msgpack_pack_uint8(pk, 1);    /* flags */
    if (b == NH_LEN5)
        pack_bin(pk, "12345", 5);
    else
        pack_bin(pk, v6, 16);
    msgpack_pack_uint32(pk, b == VLAN_BIG ? 65536 : 4095);
    if (b == FLOW24)
        msgpack_pack_uint8(pk, 0);
    /* The second flow: 7 elements (6 with FLOW6), source 1, the rest defaults. */
    msgpack_pack_array(pk, b == FLOW6 ? 6 : 7);
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_bin(pk, 0);
    msgpack_pack_bin(pk, 0);
    msgpack_pack_int8(pk, -3);         /* first 997 */
    msgpack_pack_int64(pk, INT64_MIN); /* last 997 + 2^63 (mod 2^64) */
    msgpack_pack_uint8(pk, 0);
    if (b != FLOW6)
        msgpack_pack_uint8(pk, 0);
}

static void pack_payload(msgpack_sbuffer *sb, enum bad b)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, b == TOP9 ? 9 : b == TOP11 ? 11 : b == TOP8_SCHEMA2 ? 8 : 10);
    msgpack_pack_uint8(&pk, b == TOP10_SCHEMA1 ? 1 : b == SCHEMA3 ? 3 : 2);
    msgpack_pack_str_with_body(&pk, "bad", 3);
    msgpack_pack_uint8(&pk, 5); /* seq */
    msgpack_pack_uint8(&pk, 6); /* created */
    msgpack_pack_array(&pk, 8);
    for (int i = 0; i < 8; i++)
        msgpack_pack_uint8(&pk, 0);
    pack_sources(&pk, b);
    pack_flows(&pk, b);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_array(&pk, 0);
    if (b == TRAILING)
        msgpack_pack_nil(&pk);
}

static int parse_bad(enum bad b, struct fl0wer_batch *pb)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_payload(&sb, b);
    int rc = bt_parse_framed(&key, sb.data, sb.size, pb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_valid_handbuilt(void **state)
{
    struct fl0wer_batch pb;
    (void)state;
    assert_int_equal(parse_bad(OK, &pb), 0);
    assert_int_equal(pb.flow_count, 2);
    const struct fl0wer_flow *f = &pb.flows[0], *g = &pb.flows[1];
    assert_true(fl0wer_addr_is_v4(f->exporter));
    assert_int_equal(f->exporter[15], 1);
    assert_int_equal(f->domain_id, 3);
    assert_int_equal(f->version, 10);
    assert_int_equal(f->src_addr[12], 192);
    assert_memory_equal(f->dst_addr, v6, 16);
    assert_int_equal(f->first_ms, 1500);
    assert_int_equal(f->last_ms, 500);
    assert_true(f->bytes == UINT64_MAX);
    assert_int_equal(f->packets, 2);
    assert_int_equal(f->proto, 17);
    assert_int_equal(f->src_port, 53);
    assert_int_equal(f->dst_port, 40000);
    assert_int_equal(f->tcp_flags, 0x12);
    assert_int_equal(f->in_if, 7);
    assert_int_equal(f->out_if, UINT32_MAX);
    assert_int_equal(f->src_mask, 24);
    assert_int_equal(f->dst_mask, 32);
    assert_int_equal(f->src_as, 65000);
    assert_int_equal(f->dst_as, 64512);
    assert_int_equal(f->tos, 0xb8);
    assert_int_equal(f->direction, 2);
    assert_int_equal(f->flags, 1);
    assert_memory_equal(f->next_hop, v6, 16);
    assert_int_equal(f->flows, 0);
    assert_int_equal(f->sampling, 1000);
    assert_int_equal(f->vlan, 4095);
    /* The short flow: source 1, defaults for everything after packets. */
    struct fl0wer_flow want;
    fl0wer_flow_init(&want);
    memcpy(want.exporter, v6, 16);
    want.version = 9;
    want.sampling = 1;
    want.first_ms = 997;
    want.last_ms = 997 + (1ull << 63);
    assert_memory_equal(g, &want, sizeof(want));
    fl0wer_batch_release(&pb);
}

static void test_malformed(void **state)
{
    (void)state;
    for (int b = OK + 1; b < N_BAD; b++) {
        struct fl0wer_batch pb;
        int want = b >= SRC_COUNT_HUGE ? FL0WER_BATCH_ERR_TOO_LARGE : FL0WER_BATCH_ERR_SCHEMA;
        int rc = parse_bad((enum bad)b, &pb);
        if (rc != want)
            fail_msg("defect %d: got %d, want %d", b, rc, want);
        assert_null(pb.flows);
        assert_int_equal(pb.flow_count, 0);
    }
}

/* Every truncation of a builder-made schema 2 batch (flows of every length and address form)
 * is a schema error, each parsed from an exact-size heap copy so ASan sees any overread. */
static void test_truncated(void **state)
{
    struct fl0wer_batch_builder bld;
    struct fl0wer_flow f[4];
    struct fl0wer_batch pb;
    uint8_t *buf;
    size_t len;
    (void)state;
    for (int i = 0; i < 4; i++) {
        fl0wer_flow_init(&f[i]);
        memcpy(f[i].exporter, v6, 16);
        f[i].exporter[15] = (uint8_t)i;
        f[i].first_ms = 1700000000000ull - 77u * (unsigned)i;
        f[i].last_ms = f[i].first_ms + 10;
    }
    memset(&f[1], 0xff, sizeof(f[1]));
    f[1].reserved[0] = f[1].reserved[1] = 0;
    f[2].vlan = 3;
    assert_int_equal(fl0wer_batch_builder_init(&bld, &key), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(fl0wer_batch_add_flow(&bld, &f[i]), 0);
    assert_int_equal(fl0wer_batch_finish(&bld, 1, 2, NULL, &buf, &len), 0);
    fl0wer_batch_builder_release(&bld);
    assert_int_equal(fl0wer_batch_parse(buf, len, &pb), 0);
    assert_int_equal(pb.flow_count, 4);
    for (int i = 0; i < 4; i++)
        assert_memory_equal(&pb.flows[i], &f[i], sizeof(f[i]));
    fl0wer_batch_release(&pb);
    for (size_t n = FL0WER_BATCH_HEADER_LEN; n < len; n++) {
        uint8_t *t = malloc(n);
        memcpy(t, buf, n);
        if (fl0wer_batch_parse(t, n, &pb) != FL0WER_BATCH_ERR_SCHEMA)
            fail_msg("truncated to %zu of %zu bytes: not a schema error", n, len);
        free(t);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_handbuilt),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_truncated),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
