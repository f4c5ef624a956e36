/*
 * batch_internal.h - definitions shared by the batch builder and reader (not public).
 * The payload schema is documented in docs/protocol.md; the counts here follow it.
 */
#ifndef FL0WER_BATCH_INTERNAL_H
#define FL0WER_BATCH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Elements of the top-level payload array. Schema 1: schema, name, seq, created, report, flows,
 * exporters, interfaces. Schema 2: schema, name, seq, created, report, sources, base_ms, flows,
 * exporters, interfaces. */
#define BATCH_TOP_FIELDS    8
#define BATCH_TOP_FIELDS_V2 10
/* Elements of the edge report array (struct fl0wer_edge_report, in order). */
#define BATCH_REPORT_FIELDS 8
/* Elements of one flow array (see docs/protocol.md for the order). */
#define BATCH_FLOW_FIELDS 26
/* Schema 2: a flow array has 7 to 23 elements (omitted trailing fields take their defaults);
 * a source (exporter address, domain id, export version, sampling) is an array of 4. */
#define BATCH_FLOW2_MIN      7
#define BATCH_FLOW2_MAX      23
#define BATCH_SOURCE_FIELDS  4
/* Elements of one exporter array; the 11th is itself an array of error counters. */
#define BATCH_EXPORTER_FIELDS 13
/* Longest accepted exporter error-counter array (extra counters are ignored). */
#define BATCH_EXPORTER_ERRORS_MAX 32
/* Elements of one interface array. */
#define BATCH_INTERFACE_FIELDS 5

/* Offsets inside the fixed 104-byte header. */
#define BATCH_OFF_PK  8
#define BATCH_OFF_SIG 40

/* Frame versions 2 and 3 sign header[0, 40) || a 32-byte digest of the payload: 72 bytes
 * (docs/protocol.md); version 2's digest is BLAKE2b-256, version 3's SHA-256. */
#define BATCH_DIGEST_LEN 32
#define BATCH_SIGNED_LEN (BATCH_OFF_SIG + BATCH_DIGEST_LEN)

/*
 * Writes the message that the frame buf of len bytes (len >= 104) is signed over: bytes [0, 40)
 * of the header followed by the payload's digest for the frame's version (buf[4]: SHA-256 for 3,
 * unkeyed BLAKE2b-256 for 2), hashed in place. The caller has checked the header.
 */
void batch_signed_message(const uint8_t *buf, size_t len, uint8_t m[BATCH_SIGNED_LEN]);

/* One entry of a schema 2 batch's source table: what every flow of that source shares. */
struct batch_source {
    uint8_t addr[16];
    uint32_t domain_id;
    uint32_t sampling;
    uint8_t version;
};

struct mp_cur;
struct fl0wer_batch;

/*
 * Reads a list header and makes room for its elements in *arr (capacity *cap elements, grown
 * when too small; the elements are not zeroed). min_elem is the fewest bytes one element can
 * take, so a count the remaining bytes cannot hold is rejected before allocating. Returns 0,
 * FL0WER_BATCH_ERR_SCHEMA, _TOO_LARGE (over FL0WER_BATCH_MAX_RECORDS) or _NOMEM.
 */
int batch_read_list(struct mp_cur *c, size_t elem, size_t min_elem, void **arr, size_t *cap,
                    size_t *count);

/* Reads schema 2's source table, base_ms and flow list into b (batch_read_v2.c). */
int batch_read_flows_v2(struct mp_cur *c, struct fl0wer_batch *b);

#endif /* FL0WER_BATCH_INTERNAL_H */
