/*
 * batch.h - the signed batch that edges send to the hub (format documented in docs/protocol.md).
 *
 * Wire form of one batch (all integers big-endian):
 *     0   4  magic "FLWB"
 *     4   1  frame version (3; the reader also takes 2)
 *     5   3  zero
 *     8  32  edge Ed25519 public key
 *    40  64  Ed25519 signature (pure, RFC 8032) over the 72 bytes
 *            bytes [0, 40) || SHA-256(payload)       (frame version 3, OpenSSL's SHA256())
 *            bytes [0, 40) || BLAKE2b-256(payload)   (frame version 2, unkeyed, libsodium
 *                                                     crypto_generichash; older edges' spools)
 *   104   -  payload: one msgpack array (docs/protocol.md): the builder writes schema 2 (a
 *            per-batch source table, time deltas, trailing defaults left out); the reader
 *            accepts schemas 1 and 2, both into the same struct fl0wer_batch
 * The hub reads the key from the fixed header, looks it up, and verifies the signature before it
 * parses a single byte of the payload. Frame version 1 (signature over the whole payload) is
 * rejected like any unknown version. The version byte is inside the signed bytes, so a frame
 * signed as one version never verifies as the other.
 *
 * Building (edge): fl0wer_batch_builder_init(), add flows and metadata, fl0wer_batch_finish()
 * returns the signed bytes, fl0wer_batch_builder_reset() starts the next batch reusing memory,
 * fl0wer_batch_builder_release() frees it.
 * Reading (hub): fl0wer_batch_peek_key(), fl0wer_batch_verify(), then fl0wer_batch_parse() into a
 * caller-owned struct fl0wer_batch, released with fl0wer_batch_release(); a reader that parses
 * batch after batch uses fl0wer_batch_parse_reuse() to keep the arrays between them.
 */
#ifndef FL0WER_BATCH_H
#define FL0WER_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/decode.h"
#include "fl0wer/flow.h"
#include "fl0wer/keys.h"

#define FL0WER_BATCH_MAGIC       "FLWB"
#define FL0WER_BATCH_FRAME_VER   3 /* what the builder writes */
#define FL0WER_BATCH_FRAME_V2    2 /* still read: batches spooled by the previous release's edges */
#define FL0WER_BATCH_SCHEMA_VER  2 /* what the builder writes; the reader accepts 1 and 2 */
#define FL0WER_BATCH_HEADER_LEN  104
#define FL0WER_BATCH_MAX_LEN     (16u * 1024u * 1024u) /* larger batches are rejected */
#define FL0WER_BATCH_MAX_RECORDS 200000u

/* Batch errors (negative, distinct from the decoder's). */
#define FL0WER_BATCH_ERR_NOMEM     (-20)
#define FL0WER_BATCH_ERR_SHORT     (-21) /* shorter than the header */
#define FL0WER_BATCH_ERR_MAGIC     (-22) /* wrong magic or frame version */
#define FL0WER_BATCH_ERR_TOO_LARGE (-23) /* over FL0WER_BATCH_MAX_LEN or MAX_RECORDS */
#define FL0WER_BATCH_ERR_SIGNATURE (-24) /* signature does not verify */
#define FL0WER_BATCH_ERR_SCHEMA    (-25) /* payload is not the documented msgpack schema */

/* Returns a fixed lowercase message for a FL0WER_BATCH_ERR_* code. */
const char *fl0wer_batch_strerror(int rc);

/* What the edge reports about itself in every batch (cumulative since the edge started). */
struct fl0wer_edge_report {
    uint64_t started_ms;       /* when the edge process started */
    uint64_t packets_received; /* UDP datagrams received */
    uint64_t kernel_drops;     /* datagrams the kernel dropped (SO_RXQ_OVFL) */
    uint64_t records_decoded;
    uint64_t records_sent;     /* records put into batches */
    uint64_t records_dropped;  /* records dropped because the spool was full */
    uint64_t spool_batches;    /* batches waiting in the spool now */
    uint64_t spool_bytes;
};

/* A parsed batch. Arrays are owned by the struct; release with fl0wer_batch_release(). */
struct fl0wer_batch {
    uint8_t edge_pk[FL0WER_PUBKEY_LEN];
    char edge_name[FL0WER_EDGE_NAME_MAX]; /* as the edge calls itself; the hub trusts its own
                                             authorized-edges name, not this */
    uint64_t seq;                          /* per-edge batch sequence, from 1, survives restarts */
    uint64_t created_ms;
    struct fl0wer_edge_report report;
    struct fl0wer_flow *flows;
    size_t flow_count;
    struct fl0wer_exporter_stats *exporters;
    size_t exporter_count;
    struct fl0wer_interface_info *interfaces;
    size_t interface_count;
    /* Allocated elements of each array (>= the count), kept by fl0wer_batch_parse_reuse(). */
    size_t flow_cap, exporter_cap, interface_cap;
};

/* Frees the arrays and zeroes the counts and capacities. NULL is ignored. */
void fl0wer_batch_release(struct fl0wer_batch *b);

/* Builder state; treat as opaque. */
struct fl0wer_batch_builder {
    void *priv;
};

/* Initialises b for batches signed with key (copied). Returns 0 or FL0WER_BATCH_ERR_NOMEM. */
int fl0wer_batch_builder_init(struct fl0wer_batch_builder *b, const struct fl0wer_edge_key *key);
void fl0wer_batch_builder_release(struct fl0wer_batch_builder *b);
/* Empties b for the next batch, keeping its memory. */
void fl0wer_batch_builder_reset(struct fl0wer_batch_builder *b);

int fl0wer_batch_add_flow(struct fl0wer_batch_builder *b, const struct fl0wer_flow *f);
int fl0wer_batch_add_exporter(struct fl0wer_batch_builder *b,
                              const struct fl0wer_exporter_stats *s);
int fl0wer_batch_add_interface(struct fl0wer_batch_builder *b,
                               const struct fl0wer_interface_info *i);

/* Flows added since the last reset, and the encoded size so far in bytes (header included). */
size_t fl0wer_batch_flow_count(const struct fl0wer_batch_builder *b);
size_t fl0wer_batch_encoded_size(const struct fl0wer_batch_builder *b);

/*
 * Encodes and signs the batch. On success *out is a malloc'd buffer of *out_len bytes that the
 * caller frees; the builder keeps its contents until reset. Returns 0 or a FL0WER_BATCH_ERR_*.
 */
int fl0wer_batch_finish(struct fl0wer_batch_builder *b, uint64_t seq, uint64_t created_ms,
                        const struct fl0wer_edge_report *report, uint8_t **out, size_t *out_len);

/* Copies the edge public key from a received batch's header. Returns 0 or an error. */
int fl0wer_batch_peek_key(const uint8_t *buf, size_t len, uint8_t pk[FL0WER_PUBKEY_LEN]);

/* Verifies the signature of buf against pk: hashes the payload in place (no copy, no
 * allocation). Returns 0 or FL0WER_BATCH_ERR_*. */
int fl0wer_batch_verify(const uint8_t *buf, size_t len, const uint8_t pk[FL0WER_PUBKEY_LEN]);

/*
 * Parses a verified batch into *out (zeroed first). On failure *out holds nothing to release.
 * Every array length and every string is bounds-checked against the payload. Returns 0 or
 * FL0WER_BATCH_ERR_*.
 */
int fl0wer_batch_parse(const uint8_t *buf, size_t len, struct fl0wer_batch *out);

/*
 * Like fl0wer_batch_parse(), but b must be zeroed or come from an earlier parse (successful or
 * not): its arrays are reused when large enough and grown otherwise, so a reader that keeps b
 * allocates nothing per batch. On failure b holds no records (counts 0) but keeps its arrays;
 * either way the caller releases b with fl0wer_batch_release() when done with it.
 */
int fl0wer_batch_parse_reuse(const uint8_t *buf, size_t len, struct fl0wer_batch *b);

/*
 * Acknowledgement, the hub's reply to each batch (nng REQ/REP: the edge's request is the batch,
 * the reply is the ack), 16 bytes:
 *     0  4  magic "FLWA"
 *     4  1  status (enum fl0wer_ack_status)
 *     5  3  zero
 *     8  8  batch sequence number, big-endian
 * STORED and DUPLICATE both mean "durable at the hub: delete it from the spool". REJECTED is
 * final (unknown key, bad signature, malformed): the edge logs it, counts the records as dropped
 * and never resends. RETRY means the hub could not store it now: resend later.
 */
#define FL0WER_ACK_LEN 16
enum fl0wer_ack_status {
    FL0WER_ACK_STORED = 0,
    FL0WER_ACK_DUPLICATE = 1,
    FL0WER_ACK_REJECTED = 2,
    FL0WER_ACK_RETRY = 3,
};

/* Writes an ack into buf (FL0WER_ACK_LEN bytes). */
void fl0wer_ack_encode(uint8_t buf[FL0WER_ACK_LEN], enum fl0wer_ack_status status, uint64_t seq);

/* Parses an ack. Returns 0 with *status and *seq set, or FL0WER_BATCH_ERR_MAGIC / _SHORT. */
int fl0wer_ack_decode(const uint8_t *buf, size_t len, enum fl0wer_ack_status *status,
                      uint64_t *seq);

#endif /* FL0WER_BATCH_H */
