/*
 * batch_internal.h - definitions shared by the batch builder and reader (not public).
 * The payload schema is documented in docs/protocol.md; the counts here follow it.
 */
#ifndef FL0WER_BATCH_INTERNAL_H
#define FL0WER_BATCH_INTERNAL_H

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

#endif /* FL0WER_BATCH_INTERNAL_H */
