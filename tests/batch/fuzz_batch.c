/*
 * fuzz_batch.c - libFuzzer harness for the hub's batch reader. Each input is checked as a whole
 * frame (peek, verify with a fixed test key, parse) and, behind a fixed valid header, as a bare
 * payload for the parser: parse runs without a valid signature too, since a leaked edge key
 * lets an attacker sign anything. Seeds (tests/fuzz/seeds/fuzz_batch/) hold payload schemas 1
 * (flows.bin, meta.bin, wide.bin) and 2 (v2-*.bin), all signed with the key below.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fl0wer/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    static int ready;
    uint8_t peek[FL0WER_PUBKEY_LEN];
    struct fl0wer_batch b;
    if (!ready) {
        uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];
        if (sodium_init() < 0)
            abort();
        memset(seed, 0x42, sizeof(seed)); /* the key the seed corpus is signed with */
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    if (size > FL0WER_BATCH_MAX_LEN)
        return 0;

    (void)fl0wer_batch_peek_key(data, size, peek);
    (void)fl0wer_batch_verify(data, size, pk);
    if (fl0wer_batch_parse(data, size, &b) == 0) {
        if (b.flow_count && !b.flows)
            abort();
        fl0wer_batch_release(&b);
    }

    /* The same bytes as a payload behind a well-formed header. */
    uint8_t *framed = malloc(FL0WER_BATCH_HEADER_LEN + size);
    if (!framed)
        return 0;
    memset(framed, 0, FL0WER_BATCH_HEADER_LEN);
    memcpy(framed, FL0WER_BATCH_MAGIC, 4);
    framed[4] = FL0WER_BATCH_FRAME_VER;
    memcpy(framed + 8, pk, FL0WER_PUBKEY_LEN);
    if (size)
        memcpy(framed + FL0WER_BATCH_HEADER_LEN, data, size);
    if (fl0wer_batch_parse(framed, FL0WER_BATCH_HEADER_LEN + size, &b) == 0)
        fl0wer_batch_release(&b);
    free(framed);
    return 0;
}
