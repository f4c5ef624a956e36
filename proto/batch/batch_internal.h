/*
 * batch_internal.h - definitions shared by the batch builder and reader (not public).
 * The payload schema is documented in docs/protocol.md; the counts here follow it.
 */
#ifndef FL0WER_BATCH_INTERNAL_H
#define FL0WER_BATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Elements of the top-level payload array: schema, name, seq, created, report, flows,
 * exporters, interfaces. */
#define BATCH_TOP_FIELDS 8
/* Elements of the edge report array (struct fl0wer_edge_report, in order). */
#define BATCH_REPORT_FIELDS 8
/* Elements of one flow array (see docs/protocol.md for the order). */
#define BATCH_FLOW_FIELDS 26
/* Elements of one exporter array; the 11th is itself an array of error counters. */
#define BATCH_EXPORTER_FIELDS 13
/* Longest accepted exporter error-counter array (extra counters are ignored). */
#define BATCH_EXPORTER_ERRORS_MAX 32
/* Elements of one interface array. */
#define BATCH_INTERFACE_FIELDS 5

/* Offsets inside the fixed 104-byte header. */
#define BATCH_OFF_PK  8
#define BATCH_OFF_SIG 40

/* Frame version 2 signs header[0, 40) || BLAKE2b-256(payload): 72 bytes (docs/protocol.md). */
#define BATCH_DIGEST_LEN 32
#define BATCH_SIGNED_LEN (BATCH_OFF_SIG + BATCH_DIGEST_LEN)

/*
 * Writes the message that frame version 2 signs for the frame buf of len bytes (len >= 104):
 * bytes [0, 40) of the header followed by the unkeyed 32-byte BLAKE2b digest of the payload,
 * hashed in place. The caller has checked the header.
 */
void batch_signed_message(const uint8_t *buf, size_t len, uint8_t m[BATCH_SIGNED_LEN]);

#endif /* FL0WER_BATCH_INTERNAL_H */
