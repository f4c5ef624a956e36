/*
 * batch_testutil.h - helpers shared by the batch tests: a deterministic xorshift generator, random
 * addresses of every kind the wire carries, and framing a payload as an edge holding a key would
 * (frame version 3, docs/protocol.md "Batch frame": SHA-256 computed with libsodium, independently
 * of proto/batch's OpenSSL call), then parsing it.
 */
#ifndef FL0WER_BATCH_TESTUTIL_H
#define FL0WER_BATCH_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fl0wer/batch.h"
#include "fl0wer/flow.h"

/* xorshift64: the next value of *state (never 0 when seeded non-zero). */
static inline uint64_t bt_rnd(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* An unset, an IPv4-mapped or a random IPv6 address, a third of the time each. */
static inline void bt_rnd_addr(uint64_t *state, uint8_t a[FL0WER_ADDR_LEN])
{
    switch (bt_rnd(state) % 3) {
    case 0: memset(a, 0, FL0WER_ADDR_LEN); break;
    case 1: {
        uint8_t v4[4];
        for (int i = 0; i < 4; i++)
            v4[i] = (uint8_t)bt_rnd(state);
        fl0wer_addr_from_v4(a, v4);
        break;
    }
    default:
        for (int i = 0; i < FL0WER_ADDR_LEN; i++)
            a[i] = (uint8_t)bt_rnd(state);
        a[0] = 0x20; /* never accidentally IPv4-mapped or zero */
    }
}

/* payload framed and signed with key; *len gets the frame's length. The caller frees it. */
static inline uint8_t *bt_frame(const struct fl0wer_edge_key *key, const void *payload,
                                size_t plen, size_t *len)
{
    uint8_t *buf = malloc(FL0WER_BATCH_HEADER_LEN + plen), m[72];
    memcpy(buf, FL0WER_BATCH_MAGIC, 4);
    buf[4] = 3;
    buf[5] = buf[6] = buf[7] = 0;
    memcpy(buf + 8, key->pk, FL0WER_PUBKEY_LEN);
    memcpy(buf + FL0WER_BATCH_HEADER_LEN, payload, plen);
    *len = FL0WER_BATCH_HEADER_LEN + plen;
    memcpy(m, buf, 40);
    crypto_hash_sha256(m + 40, buf + FL0WER_BATCH_HEADER_LEN, plen); /* libsodium's SHA-256 */
    crypto_sign_detached(buf + 40, NULL, m, sizeof(m), key->sk);
    return buf;
}

/*
 * payload framed and signed with key (bt_frame), asserted to verify, then parsed into *pb.
 * Returns fl0wer_batch_parse's value; on 0 the caller releases *pb. Uses cmocka's asserts:
 * include cmocka.h before this header.
 */
static inline int bt_parse_framed(const struct fl0wer_edge_key *key, const void *payload,
                                  size_t plen, struct fl0wer_batch *pb)
{
    size_t len;
    uint8_t *buf = bt_frame(key, payload, plen, &len);
    assert_int_equal(fl0wer_batch_verify(buf, len, key->pk), 0);
    int rc = fl0wer_batch_parse(buf, len, pb);
    free(buf);
    return rc;
}

#endif /* FL0WER_BATCH_TESTUTIL_H */
