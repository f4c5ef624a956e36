/*
 * test_batch.c - the signed batch format (batch.h): exact round trips, the frame version 3
 * signature (over the header and a SHA-256 digest of the payload, recomputed here from the
 * documented definition) checked over every byte, version 2 (BLAKE2b-256) still read, frame
 * version 1 refused, truncation, size
 * limits, hand-built schema violations, array reuse across parses, and the ack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "fl0wer/batch.h"
#include "batch_testutil.h"

/* Deterministic PRNG so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    return bt_rnd(&rng_state);
}

/* A random value of random magnitude, so every msgpack integer width is exercised. */
static uint64_t rnd_bits(unsigned maxbits)
{
    unsigned bits = (unsigned)(rnd() % (maxbits + 1));
    uint64_t v = rnd();
    return bits == 64 ? v : v & ((1ull << bits) - 1);
}

static void rnd_addr(uint8_t a[FL0WER_ADDR_LEN])
{
    bt_rnd_addr(&rng_state, a);
}

static void rnd_flow(struct fl0wer_flow *f)
{
    memset(f, 0, sizeof(*f));
    rnd_addr(f->exporter);
    rnd_addr(f->src_addr);
    rnd_addr(f->dst_addr);
    rnd_addr(f->next_hop);
    f->first_ms = rnd_bits(64);
    f->last_ms = rnd_bits(64);
    f->bytes = rnd_bits(64);
    f->packets = rnd_bits(64);
    f->flows = rnd_bits(64);
    f->domain_id = (uint32_t)rnd_bits(32);
    f->in_if = (uint32_t)rnd_bits(32);
    f->out_if = (uint32_t)rnd_bits(32);
    f->src_as = (uint32_t)rnd_bits(32);
    f->dst_as = (uint32_t)rnd_bits(32);
    f->sampling = (uint32_t)rnd_bits(32);
    f->src_port = (uint16_t)rnd_bits(16);
    f->dst_port = (uint16_t)rnd_bits(16);
    f->vlan = (uint16_t)rnd_bits(16);
    f->proto = (uint8_t)rnd_bits(8);
    f->tcp_flags = (uint8_t)rnd_bits(8);
    f->tos = (uint8_t)rnd_bits(8);
    f->src_mask = (uint8_t)rnd_bits(8);
    f->dst_mask = (uint8_t)rnd_bits(8);
    f->direction = (uint8_t)rnd_bits(8);
    f->version = (uint8_t)rnd_bits(8);
    f->flags = (uint8_t)rnd_bits(8);
}

/* Every field at its maximum (addresses all-ones IPv6). */
static void max_flow(struct fl0wer_flow *f)
{
    memset(f, 0xff, sizeof(*f));
    f->reserved[0] = f->reserved[1] = 0;
}

static struct fl0wer_edge_key test_key;
static struct fl0wer_edge_key other_key;

static int setup_keys(void **state)
{
    assert_int_equal(fl0wer_edge_key_generate(&test_key, "edge-test.1"), 0);
    assert_int_equal(fl0wer_edge_key_generate(&other_key, "other"), 0);
    return 0;
}

static const struct fl0wer_edge_report test_report = {
    .started_ms = 1700000000000ull, .packets_received = 123456, .kernel_drops = 7,
    .records_decoded = UINT64_MAX, .records_sent = 99, .records_dropped = 0,
    .spool_batches = 3, .spool_bytes = 1ull << 40,
};

/* Builds a signed batch of n flows copied from flows[]; returns the malloc'd bytes. */
static uint8_t *build(const struct fl0wer_flow *flows, size_t n, uint64_t seq, size_t *len)
{
    struct fl0wer_batch_builder b;
    uint8_t *out;
    assert_int_equal(fl0wer_batch_builder_init(&b, &test_key), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(fl0wer_batch_add_flow(&b, &flows[i]), 0);
    assert_int_equal(fl0wer_batch_finish(&b, seq, 1700000001234ull, &test_report, &out, len), 0);
    fl0wer_batch_builder_release(&b);
    return out;
}

static void test_roundtrip_flows(void **state)
{
    enum { N = 600 };
    struct fl0wer_flow *flows = calloc(N, sizeof(*flows));
    struct fl0wer_batch_builder b;
    struct fl0wer_batch pb;
    uint8_t *out, pk[FL0WER_PUBKEY_LEN];
    size_t len;
    for (size_t i = 0; i < N; i++)
        rnd_flow(&flows[i]);
    max_flow(&flows[0]);
    memset(&flows[1], 0, sizeof(flows[1])); /* all zero: empty bins, fixint zeros */
    fl0wer_flow_init(&flows[2]);

    assert_int_equal(fl0wer_batch_builder_init(&b, &test_key), 0);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(fl0wer_batch_add_flow(&b, &flows[i]), 0);
    assert_int_equal(fl0wer_batch_flow_count(&b), N);
    size_t est = fl0wer_batch_encoded_size(&b);
    assert_int_equal(fl0wer_batch_finish(&b, 42, 1700000001234ull, &test_report, &out, &len), 0);
    /* The estimate is an upper bound and close (only the prefix's worst case is added). */
    assert_true(len <= est);
    assert_true(est - len < 200);

    assert_int_equal(fl0wer_batch_peek_key(out, len, pk), 0);
    assert_memory_equal(pk, test_key.pk, FL0WER_PUBKEY_LEN);
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    assert_memory_equal(pb.edge_pk, test_key.pk, FL0WER_PUBKEY_LEN);
    assert_string_equal(pb.edge_name, "edge-test.1");
    assert_int_equal(pb.seq, 42);
    assert_int_equal(pb.created_ms, 1700000001234ull);
    assert_memory_equal(&pb.report, &test_report, sizeof(test_report));
    assert_int_equal(pb.flow_count, N);
    assert_int_equal(pb.exporter_count, 0);
    assert_int_equal(pb.interface_count, 0);
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(&pb.flows[i], &flows[i], sizeof(flows[i]));
    fl0wer_batch_release(&pb);
    free(out);

    /* Reset reuses the builder: the next batch holds only what was added after it. */
    fl0wer_batch_builder_reset(&b);
    assert_int_equal(fl0wer_batch_flow_count(&b), 0);
    assert_int_equal(fl0wer_batch_add_flow(&b, &flows[5]), 0);
    assert_int_equal(fl0wer_batch_finish(&b, 43, 5, NULL, &out, &len), 0);
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    assert_int_equal(pb.seq, 43);
    assert_int_equal(pb.created_ms, 5);
    assert_int_equal(pb.report.packets_received, 0);
    assert_int_equal(pb.flow_count, 1);
    assert_memory_equal(&pb.flows[0], &flows[5], sizeof(flows[5]));
    fl0wer_batch_release(&pb);
    free(out);
    fl0wer_batch_builder_release(&b);
    free(flows);
}

static void test_roundtrip_address_forms(void **state)
{
    /* IPv4-mapped goes as 4 bytes, zero as 0 bytes, IPv6 as 16: check the exact sizes. */
    struct fl0wer_flow f[3];
    size_t len[3];
    const uint8_t v4[4] = {192, 0, 2, 1};
    for (int i = 0; i < 3; i++)
        fl0wer_flow_init(&f[i]);
    fl0wer_addr_from_v4(f[1].src_addr, v4);
    memset(f[2].src_addr, 0x20, FL0WER_ADDR_LEN);
    for (int i = 0; i < 3; i++)
        free(build(&f[i], 1, 1, &len[i]));
    assert_int_equal(len[1] - len[0], 4);
    assert_int_equal(len[2] - len[0], 16);
}

static void test_roundtrip_exporters_interfaces(void **state)
{
    struct fl0wer_batch_builder b;
    struct fl0wer_batch pb;
    struct fl0wer_exporter_stats es[3];
    struct fl0wer_interface_info ii[3];
    uint8_t *out;
    size_t len;
    memset(es, 0, sizeof(es));
    memset(ii, 0, sizeof(ii));
    for (int i = 0; i < 3; i++) {
        rnd_addr(es[i].addr);
        es[i].port = (uint16_t)rnd();
        es[i].domain_id = (uint32_t)rnd();
        es[i].version = (uint8_t)(i == 0 ? 5 : 10);
        es[i].messages = rnd();
        es[i].records = rnd_bits(64);
        es[i].bytes = rnd_bits(64);
        es[i].sequence_gaps = rnd_bits(64);
        es[i].unknown_template = rnd_bits(64);
        es[i].templates = rnd_bits(64);
        for (int k = 0; k < FL0WER_DERR__COUNT; k++)
            es[i].errors[k] = rnd_bits(64);
        es[i].last_seen_ms = rnd();
        es[i].sampling = (uint32_t)rnd_bits(32);
        rnd_addr(ii[i].exporter);
        ii[i].domain_id = (uint32_t)rnd();
        ii[i].ifindex = (uint32_t)rnd_bits(32);
    }
    memset(ii[0].name, 'n', sizeof(ii[0].name) - 1); /* longest names */
    memset(ii[0].description, 'd', sizeof(ii[0].description) - 1);
    strcpy(ii[1].name, "ge-0/0/1");
    strcpy(ii[1].description, "uplink \xc3\xa9 to isp");
    /* ii[2]: empty strings */

    assert_int_equal(fl0wer_batch_builder_init(&b, &test_key), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fl0wer_batch_add_exporter(&b, &es[i]), 0);
        assert_int_equal(fl0wer_batch_add_interface(&b, &ii[i]), 0);
    }
    assert_int_equal(fl0wer_batch_finish(&b, 7, 8, &test_report, &out, &len), 0);
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    assert_int_equal(pb.flow_count, 0);
    assert_null(pb.flows);
    assert_int_equal(pb.exporter_count, 3);
    assert_int_equal(pb.interface_count, 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(&pb.exporters[i], &es[i], sizeof(es[i]));
        assert_memory_equal(pb.interfaces[i].exporter, ii[i].exporter, FL0WER_ADDR_LEN);
        assert_int_equal(pb.interfaces[i].domain_id, ii[i].domain_id);
        assert_int_equal(pb.interfaces[i].ifindex, ii[i].ifindex);
        assert_string_equal(pb.interfaces[i].name, ii[i].name);
        assert_string_equal(pb.interfaces[i].description, ii[i].description);
    }
    assert_int_equal(strlen(pb.interfaces[0].name), 63);
    assert_int_equal(strlen(pb.interfaces[0].description), 127);
    fl0wer_batch_release(&pb);
    free(out);
    fl0wer_batch_builder_release(&b);
}

/* Flipping any single byte breaks the batch: the frame bytes [0, 8) give MAGIC, except a version
 * byte turned into 2 (a version the reader takes, so the signature check refuses it); every other
 * byte (key, signature, payload) gives SIGNATURE. */
static void test_tamper_every_byte(void **state)
{
    struct fl0wer_flow f;
    size_t len;
    rnd_flow(&f);
    uint8_t *out = build(&f, 1, 1, &len);
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit += 7) {
            out[i] ^= (uint8_t)(1u << bit);
            int rc = fl0wer_batch_verify(out, len, test_key.pk);
            bool header = i < 8 && !(i == 4 && out[i] == FL0WER_BATCH_FRAME_V2);
            assert_int_equal(rc, header ? FL0WER_BATCH_ERR_MAGIC : FL0WER_BATCH_ERR_SIGNATURE);
            out[i] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    /* Appending a byte also breaks it. */
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, out, len);
    longer[len] = 0;
    assert_int_equal(fl0wer_batch_verify(longer, len + 1, test_key.pk),
                     FL0WER_BATCH_ERR_SIGNATURE);
    free(longer);
    free(out);
}

static void test_wrong_key(void **state)
{
    struct fl0wer_flow f;
    size_t len;
    rnd_flow(&f);
    uint8_t *out = build(&f, 1, 1, &len);
    assert_int_equal(fl0wer_batch_verify(out, len, other_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    /* A batch re-labelled with another key's pk does not verify under that key either. */
    memcpy(out + 8, other_key.pk, FL0WER_PUBKEY_LEN);
    assert_int_equal(fl0wer_batch_verify(out, len, other_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    free(out);
}

static void test_truncated(void **state)
{
    struct fl0wer_flow f[2];
    struct fl0wer_batch pb;
    size_t len;
    uint8_t pk[FL0WER_PUBKEY_LEN];
    rnd_flow(&f[0]);
    max_flow(&f[1]);
    uint8_t *out = build(f, 2, 9, &len);
    for (size_t n = 0; n < len; n++) {
        /* A fresh copy of exactly n bytes, so ASan catches any read past the end. */
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, out, n);
        int want_short = n < FL0WER_BATCH_HEADER_LEN;
        assert_int_equal(fl0wer_batch_verify(t, n, test_key.pk),
                         want_short ? FL0WER_BATCH_ERR_SHORT : FL0WER_BATCH_ERR_SIGNATURE);
        assert_int_equal(fl0wer_batch_parse(t, n, &pb),
                         want_short ? FL0WER_BATCH_ERR_SHORT : FL0WER_BATCH_ERR_SCHEMA);
        assert_null(pb.flows);
        assert_int_equal(pb.flow_count, 0);
        assert_int_equal(fl0wer_batch_peek_key(t, n, pk),
                         want_short ? FL0WER_BATCH_ERR_SHORT : 0);
        free(t);
    }
    free(out);
}

static void test_oversized(void **state)
{
    struct fl0wer_batch_builder b;
    struct fl0wer_batch pb;
    struct fl0wer_flow f;
    uint8_t *out, pk[FL0WER_PUBKEY_LEN];
    size_t len, n = 0;
    int rc;

    /* A frame over FL0WER_BATCH_MAX_LEN is refused before anything else. */
    size_t big = FL0WER_BATCH_MAX_LEN + 1;
    uint8_t *buf = calloc(1, big);
    memcpy(buf, FL0WER_BATCH_MAGIC, 4);
    buf[4] = FL0WER_BATCH_FRAME_VER;
    assert_int_equal(fl0wer_batch_verify(buf, big, test_key.pk), FL0WER_BATCH_ERR_TOO_LARGE);
    assert_int_equal(fl0wer_batch_parse(buf, big, &pb), FL0WER_BATCH_ERR_TOO_LARGE);
    assert_int_equal(fl0wer_batch_peek_key(buf, big, pk), FL0WER_BATCH_ERR_TOO_LARGE);
    free(buf);

    /* Large flows: the builder stops at the byte limit and the result still fits and parses. */
    max_flow(&f);
    assert_int_equal(fl0wer_batch_builder_init(&b, &test_key), 0);
    while ((rc = fl0wer_batch_add_flow(&b, &f)) == 0)
        n++;
    assert_int_equal(rc, FL0WER_BATCH_ERR_TOO_LARGE);
    assert_true(n < FL0WER_BATCH_MAX_RECORDS);
    assert_int_equal(fl0wer_batch_flow_count(&b), n);
    assert_true(fl0wer_batch_encoded_size(&b) <= FL0WER_BATCH_MAX_LEN);
    assert_int_equal(fl0wer_batch_finish(&b, 1, 1, NULL, &out, &len), 0);
    assert_true(len <= FL0WER_BATCH_MAX_LEN);
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    assert_int_equal(pb.flow_count, n);
    assert_memory_equal(&pb.flows[n - 1], &f, sizeof(f));
    fl0wer_batch_release(&pb);
    free(out);

    /* Small flows: the record limit comes first. */
    fl0wer_batch_builder_reset(&b);
    memset(&f, 0, sizeof(f));
    for (n = 0; n < FL0WER_BATCH_MAX_RECORDS; n++)
        assert_int_equal(fl0wer_batch_add_flow(&b, &f), 0);
    assert_int_equal(fl0wer_batch_add_flow(&b, &f), FL0WER_BATCH_ERR_TOO_LARGE);
    assert_int_equal(fl0wer_batch_flow_count(&b), FL0WER_BATCH_MAX_RECORDS);
    assert_int_equal(fl0wer_batch_finish(&b, 2, 1, NULL, &out, &len), 0);
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    assert_int_equal(pb.flow_count, FL0WER_BATCH_MAX_RECORDS);
    fl0wer_batch_release(&pb);
    free(out);
    fl0wer_batch_builder_release(&b);
}

/* ---- hand-built payloads ---- */

/* Signs a frame as docs/protocol.md defines versions 2 and 3, independently of proto/batch:
 * Ed25519 over header[0, 40) || digest(payload), with secret key sk; the digest is BLAKE2b-256
 * (version 2) or SHA-256 (version 3, libsodium's implementation; proto/batch uses OpenSSL's). */
static void sign_digest(uint8_t *buf, size_t len, const uint8_t *sk, bool sha256)
{
    uint8_t m[40 + 32];
    const uint8_t *payload = buf + FL0WER_BATCH_HEADER_LEN;
    size_t plen = len - FL0WER_BATCH_HEADER_LEN;
    memcpy(m, buf, 40);
    if (sha256)
        crypto_hash_sha256(m + 40, payload, plen);
    else
        crypto_generichash(m + 40, 32, payload, plen, NULL, 0);
    crypto_sign_detached(buf + 40, NULL, m, sizeof(m), sk);
}

/* Signs a frame as version 1 did: Ed25519 over header[0, 40) || payload. */
static void sign_v1(uint8_t *buf, size_t len, const uint8_t *sk)
{
    size_t plen = len - FL0WER_BATCH_HEADER_LEN;
    uint8_t *m = malloc(40 + plen);
    memcpy(m, buf, 40);
    memcpy(m + 40, buf + FL0WER_BATCH_HEADER_LEN, plen);
    crypto_sign_detached(buf + 40, NULL, m, 40 + plen, sk);
    free(m);
}

/* Frames payload with frame version ver and the public key of `as`, signed with sk. */
static uint8_t *frame_with(const void *payload, size_t plen, uint8_t ver,
                           const struct fl0wer_edge_key *as, const uint8_t *sk, size_t *len)
{
    uint8_t *buf = malloc(FL0WER_BATCH_HEADER_LEN + plen);
    memcpy(buf, FL0WER_BATCH_MAGIC, 4);
    buf[4] = ver;
    buf[5] = buf[6] = buf[7] = 0;
    memcpy(buf + 8, as->pk, FL0WER_PUBKEY_LEN);
    memcpy(buf + FL0WER_BATCH_HEADER_LEN, payload, plen);
    *len = FL0WER_BATCH_HEADER_LEN + plen;
    if (ver == 1)
        sign_v1(buf, *len, sk);
    else
        sign_digest(buf, *len, sk, ver != 2);
    return buf;
}

/* Frames and signs payload with test_key, as a (hostile) edge holding the key could. */
static uint8_t *frame(const void *payload, size_t plen, size_t *len)
{
    return frame_with(payload, plen, FL0WER_BATCH_FRAME_VER, &test_key, test_key.sk, len);
}

/* What to break in a hand-built payload. */
enum breakage {
    B_NONE, B_TOP7, B_TOP9, B_SCHEMA2, B_NAME_BIN, B_NAME_LONG, B_NAME_EMPTY, B_NAME_SPACE,
    B_SEQ_STR, B_SEQ_NEG, B_SEQ_NIL, B_REPORT7, B_FLOW25, B_ADDR7, B_ADDR_STR, B_PROTO256,
    B_PORT_65536, B_FLOWS_MAP, B_COUNT_HUGE, B_COUNT_UNFILLED, B_EXPORTER_ERRORS33,
    B_IFNAME_INT, B_TRAILING, B_FLOAT,
};

static void pack_flow_fields(msgpack_packer *pk, enum breakage br)
{
    static const uint8_t v4[4] = {10, 0, 0, 1};
    msgpack_pack_array(pk, br == B_FLOW25 ? 25 : 26);
    msgpack_pack_bin(pk, 4);
    msgpack_pack_bin_body(pk, v4, 4);
    if (br == B_ADDR7) {
        msgpack_pack_bin(pk, 7);
        msgpack_pack_bin_body(pk, "1234567", 7);
    } else if (br == B_ADDR_STR) {
        msgpack_pack_str(pk, 4);
        msgpack_pack_str_body(pk, "abcd", 4);
    } else {
        msgpack_pack_bin(pk, 0);
    }
    msgpack_pack_bin(pk, 0);
    msgpack_pack_bin(pk, 0);
    for (int i = 0; i < 11; i++) /* first_ms .. sampling */
        msgpack_pack_uint64(pk, 1000 + (uint64_t)i);
    msgpack_pack_uint32(pk, br == B_PORT_65536 ? 65536 : 80); /* src_port */
    msgpack_pack_uint16(pk, 443);
    msgpack_pack_uint16(pk, 0);
    msgpack_pack_uint32(pk, br == B_PROTO256 ? 256 : 6); /* proto */
    for (int i = 0; i < (br == B_FLOW25 ? 6 : 7); i++)
        msgpack_pack_uint8(pk, 1);
}

/* Packs a whole payload (one flow, one exporter, one interface) with one defect. */
static void pack_payload(msgpack_sbuffer *sb, enum breakage br)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, br == B_TOP7 ? 7 : br == B_TOP9 ? 9 : 8);
    msgpack_pack_uint8(&pk, br == B_SCHEMA2 ? 2 : 1);
    const char *name = br == B_NAME_LONG ? "0123456789012345678901234567890123456789012345678901234567890123"
                       : br == B_NAME_EMPTY ? "" : br == B_NAME_SPACE ? "a b" : "hand";
    if (br == B_NAME_BIN) {
        msgpack_pack_bin(&pk, 4);
        msgpack_pack_bin_body(&pk, "hand", 4);
    } else {
        msgpack_pack_str(&pk, strlen(name));
        msgpack_pack_str_body(&pk, name, strlen(name));
    }
    if (br == B_SEQ_STR) {
        msgpack_pack_str(&pk, 1);
        msgpack_pack_str_body(&pk, "1", 1);
    } else if (br == B_SEQ_NEG) {
        msgpack_pack_int8(&pk, -1);
    } else if (br == B_SEQ_NIL) {
        msgpack_pack_nil(&pk);
    } else if (br == B_FLOAT) {
        msgpack_pack_double(&pk, 1.0);
    } else {
        msgpack_pack_uint64(&pk, 77);
    }
    msgpack_pack_uint64(&pk, 1700000000000ull);
    int nrep = br == B_REPORT7 ? 7 : 8;
    msgpack_pack_array(&pk, (size_t)nrep);
    for (int i = 0; i < nrep; i++)
        msgpack_pack_uint64(&pk, (uint64_t)i);
    if (br == B_FLOWS_MAP) {
        msgpack_pack_map(&pk, 0);
    } else if (br == B_COUNT_HUGE) {
        msgpack_pack_array(&pk, FL0WER_BATCH_MAX_RECORDS + 1);
    } else if (br == B_COUNT_UNFILLED) {
        msgpack_pack_array(&pk, 1000);
    } else {
        msgpack_pack_array(&pk, 1);
    }
    pack_flow_fields(&pk, br);
    /* One exporter. */
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 13);
    msgpack_pack_bin(&pk, 0);
    for (int i = 0; i < 9; i++) /* port .. templates */
        msgpack_pack_uint8(&pk, 2);
    int nerr = br == B_EXPORTER_ERRORS33 ? 33 : 9; /* longer than ours is accepted (<= 32) */
    msgpack_pack_array(&pk, (size_t)nerr);
    for (int i = 0; i < nerr; i++)
        msgpack_pack_uint8(&pk, (uint8_t)(10 + i));
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_uint8(&pk, 4);
    /* One interface. */
    msgpack_pack_array(&pk, 1);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_bin(&pk, 0);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 2);
    if (br == B_IFNAME_INT)
        msgpack_pack_uint8(&pk, 3);
    else {
        msgpack_pack_str(&pk, 3);
        msgpack_pack_str_body(&pk, "et0", 3);
    }
    msgpack_pack_str(&pk, 0);
    if (br == B_TRAILING)
        msgpack_pack_nil(&pk);
}

static int parse_broken(enum breakage br, struct fl0wer_batch *pb)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_payload(&sb, br);
    int rc = bt_parse_framed(&test_key, sb.data, sb.size, pb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_schema_valid_handbuilt(void **state)
{
    struct fl0wer_batch pb;
    assert_int_equal(parse_broken(B_NONE, &pb), 0);
    assert_string_equal(pb.edge_name, "hand");
    assert_int_equal(pb.seq, 77);
    assert_int_equal(pb.report.spool_bytes, 7);
    assert_int_equal(pb.flow_count, 1);
    assert_int_equal(pb.flows[0].exporter[15], 1);
    assert_true(fl0wer_addr_is_v4(pb.flows[0].exporter));
    assert_int_equal(pb.flows[0].first_ms, 1000);
    assert_int_equal(pb.flows[0].sampling, 1010);
    assert_int_equal(pb.flows[0].src_port, 80);
    assert_int_equal(pb.flows[0].dst_port, 443);
    assert_int_equal(pb.flows[0].proto, 6);
    assert_int_equal(pb.flows[0].flags, 1);
    assert_int_equal(pb.exporter_count, 1);
    /* 9 error counters sent, ours are the first FL0WER_DERR__COUNT. */
    for (int i = 0; i < FL0WER_DERR__COUNT; i++)
        assert_int_equal(pb.exporters[0].errors[i], 10 + i);
    assert_int_equal(pb.exporters[0].last_seen_ms, 3);
    assert_int_equal(pb.exporters[0].sampling, 4);
    assert_int_equal(pb.interface_count, 1);
    assert_string_equal(pb.interfaces[0].name, "et0");
    fl0wer_batch_release(&pb);
}

static void test_schema_violations(void **state)
{
    static const enum breakage cases[] = {
        B_TOP7, B_TOP9, B_SCHEMA2, B_NAME_BIN, B_NAME_LONG, B_NAME_EMPTY, B_NAME_SPACE,
        B_SEQ_STR, B_SEQ_NEG, B_SEQ_NIL, B_REPORT7, B_FLOW25, B_ADDR7, B_ADDR_STR, B_PROTO256,
        B_PORT_65536, B_FLOWS_MAP, B_COUNT_UNFILLED, B_EXPORTER_ERRORS33, B_IFNAME_INT,
        B_TRAILING, B_FLOAT,
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fl0wer_batch pb;
        int rc = parse_broken(cases[i], &pb);
        if (rc != FL0WER_BATCH_ERR_SCHEMA)
            fail_msg("breakage %d: got %d, want schema error", (int)cases[i], rc);
        assert_null(pb.flows);
        assert_null(pb.exporters);
        assert_null(pb.interfaces);
    }
    struct fl0wer_batch pb;
    assert_int_equal(parse_broken(B_COUNT_HUGE, &pb), FL0WER_BATCH_ERR_TOO_LARGE);
}

static void test_bad_frames(void **state)
{
    struct fl0wer_flow f;
    struct fl0wer_batch pb;
    size_t len;
    rnd_flow(&f);
    uint8_t *out = build(&f, 1, 1, &len);
    assert_int_equal(out[4], 3);
    out[4] = 4; /* frame version */
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), FL0WER_BATCH_ERR_MAGIC);
    out[4] = 1;
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), FL0WER_BATCH_ERR_MAGIC);
    out[4] = 0;
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), FL0WER_BATCH_ERR_MAGIC);
    out[4] = 2; /* a version the reader takes: parse does not verify, so it reads */
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    fl0wer_batch_release(&pb);
    out[4] = 3;
    out[6] = 1; /* reserved zero */
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), FL0WER_BATCH_ERR_MAGIC);
    out[6] = 0;
    out[0] = 'X';
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), FL0WER_BATCH_ERR_MAGIC);
    out[0] = 'F';
    assert_int_equal(fl0wer_batch_parse(out, len, &pb), 0);
    fl0wer_batch_release(&pb);
    free(out);
}

/* The builder's signature is exactly Ed25519 over header[0, 40) || SHA-256(payload) (frame
 * version 3), and only that: the same payload signed the version 1 way is refused as a bad
 * version; signed the version 2 way (BLAKE2b-256, what older edges spooled) it verifies and
 * parses to the same flows; and a frame relabelled to the other digest's version fails. */
static void test_signature_definition(void **state)
{
    struct fl0wer_flow f[3];
    struct fl0wer_batch pb;
    size_t len, len2;
    uint8_t pk[FL0WER_PUBKEY_LEN];
    for (int i = 0; i < 3; i++)
        rnd_flow(&f[i]);
    uint8_t *out = build(f, 3, 11, &len);
    assert_memory_equal(out, "FLWB\x03\0\0\0", 8);
    /* Ed25519 is deterministic: re-signing the documented message gives the same bytes. */
    uint8_t *again = frame_with(out + FL0WER_BATCH_HEADER_LEN, len - FL0WER_BATCH_HEADER_LEN, 3,
                                &test_key, test_key.sk, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, out, len);
    free(again);

    /* The same payload as an edge of the previous release framed it (version 2, BLAKE2b-256):
     * verifies and parses to the same flows. Relabelled 3 (or a version 3 frame relabelled 2),
     * the digest no longer matches what was signed. */
    uint8_t *v2 = frame_with(out + FL0WER_BATCH_HEADER_LEN, len - FL0WER_BATCH_HEADER_LEN, 2,
                             &test_key, test_key.sk, &len2);
    assert_int_equal(fl0wer_batch_verify(v2, len2, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(v2, len2, &pb), 0);
    assert_int_equal(pb.flow_count, 3);
    assert_memory_equal(pb.flows, f, sizeof(f));
    fl0wer_batch_release(&pb);
    v2[4] = 3;
    assert_int_equal(fl0wer_batch_verify(v2, len2, test_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    free(v2);
    out[4] = 2;
    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    out[4] = 3;

    /* The payload signed as version 1 (over the whole payload), marked 1, 2 or 3: refused. */
    uint8_t *v1 = frame_with(out + FL0WER_BATCH_HEADER_LEN, len - FL0WER_BATCH_HEADER_LEN, 1,
                             &test_key, test_key.sk, &len2);
    assert_int_equal(fl0wer_batch_peek_key(v1, len2, pk), FL0WER_BATCH_ERR_MAGIC);
    assert_int_equal(fl0wer_batch_verify(v1, len2, test_key.pk), FL0WER_BATCH_ERR_MAGIC);
    assert_int_equal(fl0wer_batch_parse(v1, len2, &pb), FL0WER_BATCH_ERR_MAGIC);
    assert_null(pb.flows);
    v1[4] = 2;
    assert_int_equal(fl0wer_batch_verify(v1, len2, test_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    v1[4] = 3;
    assert_int_equal(fl0wer_batch_verify(v1, len2, test_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
    free(v1);

    /* One payload byte flipped (the digest changes): bad signature, whichever byte. */
    for (size_t i = FL0WER_BATCH_HEADER_LEN; i < len; i += 7) {
        out[i] ^= 0x20;
        assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), FL0WER_BATCH_ERR_SIGNATURE);
        out[i] ^= 0x20;
    }

    /* Re-signed with another key, header still naming test_key: under test_key's public key
     * (the one the hub looks up from the header) it fails. */
    uint8_t *resigned = frame_with(out + FL0WER_BATCH_HEADER_LEN, len - FL0WER_BATCH_HEADER_LEN,
                                   3, &test_key, other_key.sk, &len2);
    assert_int_equal(fl0wer_batch_verify(resigned, len2, test_key.pk),
                     FL0WER_BATCH_ERR_SIGNATURE);
    assert_int_equal(fl0wer_batch_peek_key(resigned, len2, pk), 0);
    assert_memory_equal(pk, test_key.pk, FL0WER_PUBKEY_LEN);
    free(resigned);
    /* Re-framed and re-signed as the other edge: valid for that key only. */
    resigned = frame_with(out + FL0WER_BATCH_HEADER_LEN, len - FL0WER_BATCH_HEADER_LEN, 3,
                          &other_key, other_key.sk, &len2);
    assert_int_equal(fl0wer_batch_verify(resigned, len2, other_key.pk), 0);
    assert_int_equal(fl0wer_batch_verify(resigned, len2, test_key.pk),
                     FL0WER_BATCH_ERR_SIGNATURE);
    free(resigned);

    assert_int_equal(fl0wer_batch_verify(out, len, test_key.pk), 0);
    free(out);
}

/* fl0wer_batch_parse_reuse keeps and grows the arrays across batches, holds exactly each
 * batch's records, and leaves no records (but its arrays) after a failed parse. */
static void test_parse_reuse(void **state)
{
    enum { BIG = 300, SMALL = 5 };
    struct fl0wer_flow *flows = calloc(BIG, sizeof(*flows));
    struct fl0wer_batch pb;
    struct fl0wer_exporter_stats es;
    struct fl0wer_batch_builder b;
    size_t len_big, len_small, len_meta;
    uint8_t *meta;
    for (size_t i = 0; i < BIG; i++)
        rnd_flow(&flows[i]);
    uint8_t *big = build(flows, BIG, 1, &len_big);
    uint8_t *small = build(flows + 100, SMALL, 2, &len_small);
    memset(&es, 0, sizeof(es));
    es.errors[0] = 5;
    es.records = 9;
    assert_int_equal(fl0wer_batch_builder_init(&b, &test_key), 0);
    assert_int_equal(fl0wer_batch_add_exporter(&b, &es), 0);
    assert_int_equal(fl0wer_batch_finish(&b, 3, 3, NULL, &meta, &len_meta), 0);
    fl0wer_batch_builder_release(&b);

    memset(&pb, 0, sizeof(pb));
    assert_int_equal(fl0wer_batch_parse_reuse(small, len_small, &pb), 0);
    assert_int_equal(pb.flow_count, SMALL);
    assert_int_equal(pb.flow_cap, SMALL);
    assert_int_equal(fl0wer_batch_parse_reuse(big, len_big, &pb), 0);
    assert_int_equal(pb.seq, 1);
    assert_int_equal(pb.flow_count, BIG);
    assert_int_equal(pb.flow_cap, BIG);
    for (size_t i = 0; i < BIG; i++)
        assert_memory_equal(&pb.flows[i], &flows[i], sizeof(flows[i]));
    struct fl0wer_flow *kept = pb.flows;
    assert_int_equal(fl0wer_batch_parse_reuse(small, len_small, &pb), 0);
    assert_ptr_equal(pb.flows, kept); /* no new allocation for a smaller batch */
    assert_int_equal(pb.seq, 2);
    assert_int_equal(pb.flow_count, SMALL);
    assert_int_equal(pb.flow_cap, BIG);
    for (size_t i = 0; i < SMALL; i++)
        assert_memory_equal(&pb.flows[i], &flows[100 + i], sizeof(flows[i]));
    /* Exporters are rewritten whole (no stale counters from garbage). */
    assert_int_equal(fl0wer_batch_parse_reuse(meta, len_meta, &pb), 0);
    assert_int_equal(pb.flow_count, 0);
    assert_int_equal(pb.exporter_count, 1);
    assert_memory_equal(&pb.exporters[0], &es, sizeof(es));
    /* A truncated batch: an error, no records, the arrays kept for the next one. */
    assert_int_equal(fl0wer_batch_parse_reuse(big, len_big - 1, &pb), FL0WER_BATCH_ERR_SCHEMA);
    assert_int_equal(pb.flow_count, 0);
    assert_int_equal(pb.exporter_count, 0);
    assert_ptr_equal(pb.flows, kept);
    assert_int_equal(fl0wer_batch_parse_reuse(big, len_big, &pb), 0);
    assert_int_equal(pb.flow_count, BIG);
    assert_memory_equal(&pb.flows[BIG - 1], &flows[BIG - 1], sizeof(flows[0]));
    fl0wer_batch_release(&pb);
    assert_null(pb.flows);
    assert_int_equal(pb.flow_cap, 0);
    free(big);
    free(small);
    free(meta);
    free(flows);
}

/* Big-endian writer for the hand-built widest flow. */
static uint8_t *put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

/* One flow in the widest forms the reader accepts (array 32 header, bin 32 addresses of 16
 * bytes, every integer as uint 64), as the last flow of a payload: parsed exactly; then every
 * truncation, each from an exact-size heap copy, so ASan sees any read past the end. */
static void test_widest_flow_encoding(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct fl0wer_batch pb;
    struct fl0wer_flow want;
    uint8_t flow[5 + 4 * 21 + 22 * 9], *w = flow;
    uint64_t ints[22];
    size_t len;

    memset(&want, 0, sizeof(want));
    w = put_be(w, 0xdd, 1);
    w = put_be(w, 26, 4);
    uint8_t *addrs[4] = {want.exporter, want.src_addr, want.dst_addr, want.next_hop};
    for (int a = 0; a < 4; a++) {
        w = put_be(w, 0xc6, 1);
        w = put_be(w, 16, 4);
        for (int i = 0; i < 16; i++)
            addrs[a][i] = (uint8_t)(0x20 + a * 16 + i);
        memcpy(w, addrs[a], 16);
        w += 16;
    }
    for (int i = 0; i < 22; i++) /* u64 x5, u32 x6, u16 x3, u8 x8: each field's largest */
        ints[i] = i < 5 ? UINT64_MAX - (uint64_t)i : i < 11 ? UINT32_MAX - (uint64_t)i
                  : i < 14 ? UINT16_MAX - (uint64_t)i : UINT8_MAX - (uint64_t)i;
    for (int i = 0; i < 22; i++) {
        w = put_be(w, 0xcf, 1);
        w = put_be(w, ints[i], 8);
    }
    assert_int_equal(w - flow, sizeof(flow));
    want.first_ms = ints[0], want.last_ms = ints[1], want.bytes = ints[2];
    want.packets = ints[3], want.flows = ints[4];
    want.domain_id = (uint32_t)ints[5], want.in_if = (uint32_t)ints[6];
    want.out_if = (uint32_t)ints[7], want.src_as = (uint32_t)ints[8];
    want.dst_as = (uint32_t)ints[9], want.sampling = (uint32_t)ints[10];
    want.src_port = (uint16_t)ints[11], want.dst_port = (uint16_t)ints[12];
    want.vlan = (uint16_t)ints[13];
    want.proto = (uint8_t)ints[14], want.tcp_flags = (uint8_t)ints[15];
    want.tos = (uint8_t)ints[16], want.src_mask = (uint8_t)ints[17];
    want.dst_mask = (uint8_t)ints[18], want.direction = (uint8_t)ints[19];
    want.version = (uint8_t)ints[20], want.flags = (uint8_t)ints[21];

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "wide", 4);
    msgpack_pack_uint64(&pk, 5);
    msgpack_pack_uint64(&pk, 6);
    msgpack_pack_array(&pk, 8);
    for (int i = 0; i < 8; i++)
        msgpack_pack_uint8(&pk, 0);
    msgpack_pack_array(&pk, 2);
    msgpack_sbuffer_write(&sb, (const char *)flow, sizeof(flow));
    msgpack_sbuffer_write(&sb, (const char *)flow, sizeof(flow));
    msgpack_pack_array(&pk, 0);
    msgpack_pack_array(&pk, 0);
    uint8_t *buf = frame(sb.data, sb.size, &len);
    msgpack_sbuffer_destroy(&sb);

    assert_int_equal(fl0wer_batch_verify(buf, len, test_key.pk), 0);
    assert_int_equal(fl0wer_batch_parse(buf, len, &pb), 0);
    assert_int_equal(pb.flow_count, 2);
    assert_memory_equal(&pb.flows[0], &want, sizeof(want));
    assert_memory_equal(&pb.flows[1], &want, sizeof(want));
    fl0wer_batch_release(&pb);
    for (size_t n = FL0WER_BATCH_HEADER_LEN; n < len; n++) {
        uint8_t *t = malloc(n);
        memcpy(t, buf, n);
        assert_int_equal(fl0wer_batch_parse(t, n, &pb), FL0WER_BATCH_ERR_SCHEMA);
        free(t);
    }
    free(buf);
}

static void test_ack(void **state)
{
    uint8_t buf[FL0WER_ACK_LEN + 1];
    enum fl0wer_ack_status st;
    uint64_t seq;
    static const enum fl0wer_ack_status all[] = {FL0WER_ACK_STORED, FL0WER_ACK_DUPLICATE,
                                                 FL0WER_ACK_REJECTED, FL0WER_ACK_RETRY};
    for (int i = 0; i < 4; i++) {
        fl0wer_ack_encode(buf, all[i], 0x0102030405060708ull + (uint64_t)i);
        assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN, &st, &seq), 0);
        assert_int_equal(st, all[i]);
        assert_int_equal(seq, 0x0102030405060708ull + (uint64_t)i);
    }
    /* Exact wire bytes: magic, status, zero, big-endian seq. */
    fl0wer_ack_encode(buf, FL0WER_ACK_RETRY, 0x1122334455667788ull);
    static const uint8_t want[FL0WER_ACK_LEN] = {'F', 'L', 'W', 'A', 3, 0, 0, 0, 0x11, 0x22,
                                                 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    assert_memory_equal(buf, want, FL0WER_ACK_LEN);
    fl0wer_ack_encode(buf, FL0WER_ACK_STORED, UINT64_MAX);
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN, &st, &seq), 0);
    assert_int_equal(seq, UINT64_MAX);
    /* Bad acks. */
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN - 1, &st, &seq),
                     FL0WER_BATCH_ERR_SHORT);
    assert_int_equal(fl0wer_ack_decode(buf, 0, &st, &seq), FL0WER_BATCH_ERR_SHORT);
    buf[FL0WER_ACK_LEN] = 0;
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN + 1, &st, &seq),
                     FL0WER_BATCH_ERR_MAGIC);
    buf[3] = 'B';
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN, &st, &seq), FL0WER_BATCH_ERR_MAGIC);
    buf[3] = 'A';
    buf[4] = 4; /* unknown status */
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN, &st, &seq), FL0WER_BATCH_ERR_MAGIC);
    buf[4] = 0;
    buf[7] = 1;
    assert_int_equal(fl0wer_ack_decode(buf, FL0WER_ACK_LEN, &st, &seq), FL0WER_BATCH_ERR_MAGIC);
}

static void test_strerror(void **state)
{
    static const int codes[] = {FL0WER_BATCH_ERR_NOMEM, FL0WER_BATCH_ERR_SHORT,
                                FL0WER_BATCH_ERR_MAGIC, FL0WER_BATCH_ERR_TOO_LARGE,
                                FL0WER_BATCH_ERR_SIGNATURE, FL0WER_BATCH_ERR_SCHEMA};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = 0; j < 6; j++)
            if (i != j)
                assert_string_not_equal(fl0wer_batch_strerror(codes[i]),
                                        fl0wer_batch_strerror(codes[j]));
    assert_string_equal(fl0wer_batch_strerror(FL0WER_BATCH_ERR_SIGNATURE),
                        "batch signature does not verify");
    assert_string_equal(fl0wer_batch_strerror(-999), "unknown batch error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_flows),
        cmocka_unit_test(test_roundtrip_address_forms),
        cmocka_unit_test(test_roundtrip_exporters_interfaces),
        cmocka_unit_test(test_tamper_every_byte),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_schema_valid_handbuilt),
        cmocka_unit_test(test_schema_violations),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_signature_definition),
        cmocka_unit_test(test_parse_reuse),
        cmocka_unit_test(test_widest_flow_encoding),
        cmocka_unit_test(test_ack),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
