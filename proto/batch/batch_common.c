/*
 * batch_common.c - batch error strings, the message a frame's signature covers, the hub's
 * acknowledgement, and fl0wer_batch_release().
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "batch_internal.h"
#include "fl0wer/batch.h"

void batch_signed_message(const uint8_t *buf, size_t len, uint8_t m[BATCH_SIGNED_LEN])
{
    const uint8_t *payload = buf + FL0WER_BATCH_HEADER_LEN;
    size_t plen = len - FL0WER_BATCH_HEADER_LEN;
    memcpy(m, buf, BATCH_OFF_SIG);
    if (buf[4] == FL0WER_BATCH_FRAME_V2)
        crypto_generichash(m + BATCH_OFF_SIG, BATCH_DIGEST_LEN, payload, plen, NULL, 0);
    else
        SHA256(payload, plen, m + BATCH_OFF_SIG);
}

const char *fl0wer_batch_strerror(int rc)
{
    switch (rc) {
    case 0: return "ok";
    case FL0WER_BATCH_ERR_NOMEM: return "out of memory";
    case FL0WER_BATCH_ERR_SHORT: return "batch shorter than its header";
    case FL0WER_BATCH_ERR_MAGIC: return "not a fl0wer batch (bad magic or frame version)";
    case FL0WER_BATCH_ERR_TOO_LARGE: return "batch too large";
    case FL0WER_BATCH_ERR_SIGNATURE: return "batch signature does not verify";
    case FL0WER_BATCH_ERR_SCHEMA: return "batch payload does not match the schema";
    default: return "unknown batch error";
    }
}

void fl0wer_batch_release(struct fl0wer_batch *b)
{
    if (!b)
        return;
    free(b->flows);
    free(b->exporters);
    free(b->interfaces);
    b->flows = NULL;
    b->exporters = NULL;
    b->interfaces = NULL;
    b->flow_count = b->exporter_count = b->interface_count = 0;
    b->flow_cap = b->exporter_cap = b->interface_cap = 0;
}

void fl0wer_ack_encode(uint8_t buf[FL0WER_ACK_LEN], enum fl0wer_ack_status status, uint64_t seq)
{
    memcpy(buf, "FLWA", 4);
    buf[4] = (uint8_t)status;
    buf[5] = buf[6] = buf[7] = 0;
    for (int i = 0; i < 8; i++)
        buf[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

int fl0wer_ack_decode(const uint8_t *buf, size_t len, enum fl0wer_ack_status *status,
                      uint64_t *seq)
{
    if (len < FL0WER_ACK_LEN)
        return FL0WER_BATCH_ERR_SHORT;
    if (len != FL0WER_ACK_LEN || memcmp(buf, "FLWA", 4) != 0 || buf[5] || buf[6] || buf[7] ||
        buf[4] > FL0WER_ACK_RETRY)
        return FL0WER_BATCH_ERR_MAGIC;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | buf[8 + i];
    *status = (enum fl0wer_ack_status)buf[4];
    *seq = v;
    return 0;
}
