/*
 * filter.h - the flow filter language shared by the hub's query engine and the CLI: an
 * nfdump-compatible subset (docs/filter.md), e.g.
 *     src ip 10.0.0.1 and dst port 443
 *     net 192.0.2.0/24 and not proto udp
 *     (port 53 or port 853) and bytes > 1000
 * An expression is compiled once per query into a small program that fl0wer_filter_match()
 * evaluates per flow without allocating.
 */
#ifndef FL0WER_FILTER_H
#define FL0WER_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

#define FL0WER_FILTER_ERR_SYNTAX (-60) /* see struct fl0wer_filter_error */
#define FL0WER_FILTER_ERR_NOMEM  (-61)

/* Where and why compilation failed: the offending token is expr[offset, offset + length). */
struct fl0wer_filter_error {
    size_t offset;
    size_t length;
    char message[160]; /* lowercase, names the token, e.g. "expected a port number, got 'abc'" */
};

struct fl0wer_filter;

/*
 * Compiles expr. NULL, empty or all-blank expr compiles to a filter that matches every flow. On
 * success *out owns the compiled filter (free with fl0wer_filter_destroy). On
 * FL0WER_FILTER_ERR_SYNTAX, *err (if not NULL) says where. Expressions longer than 4096 bytes or
 * nested deeper than 64 are syntax errors.
 */
int fl0wer_filter_compile(const char *expr, struct fl0wer_filter **out,
                          struct fl0wer_filter_error *err);

/* True when flow matches. Thread-safe: a compiled filter is read-only. */
bool fl0wer_filter_match(const struct fl0wer_filter *f, const struct fl0wer_flow *flow);

/* True when the filter matches every flow (empty expression). */
bool fl0wer_filter_is_all(const struct fl0wer_filter *f);

/*
 * The fields of struct fl0wer_flow a filter reads, as a bit set of FL0WER_FILTER_USES_*, so a
 * reader of stored flows can decode only those (plus what it needs itself). 0 for a filter that
 * matches everything.
 */
#define FL0WER_FILTER_USES_SRC_ADDR  (1u << 0)
#define FL0WER_FILTER_USES_DST_ADDR  (1u << 1)
#define FL0WER_FILTER_USES_EXPORTER  (1u << 2)
#define FL0WER_FILTER_USES_SRC_PORT  (1u << 3)
#define FL0WER_FILTER_USES_DST_PORT  (1u << 4)
#define FL0WER_FILTER_USES_SRC_AS    (1u << 5)
#define FL0WER_FILTER_USES_DST_AS    (1u << 6)
#define FL0WER_FILTER_USES_IN_IF     (1u << 7)
#define FL0WER_FILTER_USES_OUT_IF    (1u << 8)
#define FL0WER_FILTER_USES_PROTO     (1u << 9)
#define FL0WER_FILTER_USES_TCP_FLAGS (1u << 10)
#define FL0WER_FILTER_USES_TOS       (1u << 11)
#define FL0WER_FILTER_USES_VLAN      (1u << 12)
#define FL0WER_FILTER_USES_BYTES     (1u << 13)
#define FL0WER_FILTER_USES_PACKETS   (1u << 14)
#define FL0WER_FILTER_USES_FLOWS     (1u << 15)
#define FL0WER_FILTER_USES_TIMES     (1u << 16) /* first_ms and last_ms (duration) */
#define FL0WER_FILTER_USES_FLOW_FLAGS (1u << 17) /* struct fl0wer_flow.flags (IPv6 bit) */
uint32_t fl0wer_filter_uses(const struct fl0wer_filter *f);

/*
 * Flows column by column (a struct of arrays), for fl0wer_filter_match_cols: row i of each
 * array belongs to the same flow. Only the columns the filter reads (fl0wer_filter_uses) must be
 * set; the others may be NULL. The arrays are borrowed.
 */
struct fl0wer_flow_cols {
    size_t n; /* rows */
    const uint64_t *first_ms, *last_ms, *bytes, *packets, *flows;
    const uint32_t *src_as, *dst_as, *in_if, *out_if;
    const uint16_t *src_port, *dst_port, *vlan;
    const uint8_t *proto, *tcp_flags, *tos, *flags;
    const uint8_t (*exporter)[FL0WER_ADDR_LEN];
    const uint8_t (*src_addr)[FL0WER_ADDR_LEN];
    const uint8_t (*dst_addr)[FL0WER_ADDR_LEN];
};

#define FL0WER_FILTER_ERR_COLS (-62) /* a column the filter reads is NULL */

/*
 * Evaluates f over every row of cols at once, 64 rows per step (the same answers as
 * fl0wer_filter_match on each row, at a fraction of its cost per flow). sel is a bitmap of
 * (cols->n + 63) / 64 words, bit i % 64 of word i / 64 standing for row i: on entry the rows to
 * test, on return those of them that match (bits past n are cleared). Returns 0,
 * FL0WER_FILTER_ERR_COLS or FL0WER_FILTER_ERR_NOMEM (a program of over 255 ops needs a
 * scratch allocation). A NULL filter keeps sel as it is.
 */
int fl0wer_filter_match_cols(const struct fl0wer_filter *f, const struct fl0wer_flow_cols *cols,
                             uint64_t *sel);

void fl0wer_filter_destroy(struct fl0wer_filter *f);

#endif /* FL0WER_FILTER_H */
