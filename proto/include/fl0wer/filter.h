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

void fl0wer_filter_destroy(struct fl0wer_filter *f);

#endif /* FL0WER_FILTER_H */
