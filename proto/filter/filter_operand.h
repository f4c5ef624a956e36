/*
 * filter_operand.h - the parser state shared by filter_compile.c (operators, grouping) and
 * filter_operand.c (primitives and their operands).
 */
#ifndef FL0WER_FILTER_OPERAND_H
#define FL0WER_FILTER_OPERAND_H

#include <stdbool.h>
#include <stdio.h>

#include "filter_int.h"

struct flt_parser {
    const char *expr;
    struct flt_token *toks;
    size_t n_toks;
    size_t pos;
    struct flt_op *ops;
    size_t n_ops;
    size_t cap;
    int depth;
    struct fl0wer_filter_error *err;
};

int flt_emit(struct flt_parser *p, const struct flt_op *op);
const struct flt_token *flt_peek(const struct flt_parser *p);
/* Returns the current token and advances (never past the end token). */
const struct flt_token *flt_next(struct flt_parser *p);
/* True when t is a word equal to `word`, ignoring case. */
bool flt_is_word(const struct flt_parser *p, const struct flt_token *t, const char *word);
const char *flt_describe(const struct flt_parser *p, const struct flt_token *t, char *buf,
                         size_t len);

/* Parses one primitive ("src ip 10.0.0.1", "port in [80 443]", ...) and emits its ops. */
int flt_parse_primitive(struct flt_parser *p);

#endif /* FL0WER_FILTER_OPERAND_H */
