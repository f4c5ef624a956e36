/*
 * filter_int.h - internals shared by the filter's lexer, compiler and evaluator.
 *
 * A compiled filter is a linear program over one boolean register (the accumulator). Primitive
 * ops overwrite it with their test result, FLT_NOT inverts it, and FLT_JT / FLT_JF jump forward
 * when it is true / false, which gives short-circuit and/or without a stack or recursion.
 */
#ifndef FL0WER_FILTER_INT_H
#define FL0WER_FILTER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fl0wer/filter.h"

#define FLT_MAX_EXPR  4096
#define FLT_MAX_DEPTH 64

enum flt_tok_kind {
    FLT_T_WORD = 0, /* keyword, number, address, prefix, flag letters */
    FLT_T_LPAREN,
    FLT_T_RPAREN,
    FLT_T_LBRACK,
    FLT_T_RBRACK,
    FLT_T_COMMA,
    FLT_T_AND,  /* && */
    FLT_T_OR,   /* || */
    FLT_T_NOT,  /* ! */
    FLT_T_CMP,  /* < <= > >= = == != */
    FLT_T_END,
};

struct flt_token {
    uint8_t kind;
    uint8_t cmp; /* enum flt_cmp for FLT_T_CMP */
    uint32_t offset;
    uint32_t length;
};

enum flt_cmp { FLT_EQ = 0, FLT_NE, FLT_LT, FLT_LE, FLT_GT, FLT_GE };

enum flt_code {
    FLT_TRUE = 0,
    FLT_NOT,
    FLT_JT,
    FLT_JF,
    FLT_ADDR,     /* src/dst address within addr/plen */
    FLT_EXPORTER, /* exporter address within addr/plen */
    FLT_PORT,
    FLT_AS,
    FLT_IF,
    FLT_PROTO,
    FLT_FLAGS, /* all bits of value set in tcp_flags */
    FLT_TOS,
    FLT_VLAN,
    FLT_BYTES,
    FLT_PACKETS,
    FLT_DURATION,
    FLT_FLOWS,
    FLT_IPV4,
    FLT_IPV6,
};

/* Which side a two-sided primitive looks at. For FLT_IF: SRC = in, DST = out. */
enum flt_dir { FLT_DIR_ANY = 0, FLT_DIR_SRC, FLT_DIR_DST, FLT_DIR_BOTH };

struct flt_op {
    uint8_t code;
    uint8_t dir;
    uint8_t cmp;
    uint8_t plen; /* prefix length in bits over the 16-byte address */
    uint32_t target; /* FLT_JT / FLT_JF: index of the next op when jumping */
    uint64_t value;
    uint8_t addr[FL0WER_ADDR_LEN]; /* already masked to plen */
    uint8_t mask[FL0WER_ADDR_LEN]; /* FLT_ADDR, FLT_EXPORTER: the first plen bits set */
};

/* Whether the first op->plen bits of a equal op->addr's: two masked 64-bit comparisons, the
 * address, op->addr and op->mask all loaded in memory order (no byte swap needed for a
 * byte-wise mask). Both evaluators use it: per flow and 64 rows at a time. */
static inline bool flt_in_prefix(const uint8_t a[FL0WER_ADDR_LEN], const struct flt_op *op)
{
    uint64_t w[2], net[2], mask[2];

    memcpy(w, a, sizeof(w));
    memcpy(net, op->addr, sizeof(net));
    memcpy(mask, op->mask, sizeof(mask));
    return (((w[0] ^ net[0]) & mask[0]) | ((w[1] ^ net[1]) & mask[1])) == 0;
}

struct fl0wer_filter {
    size_t n_ops;
    struct flt_op ops[]; /* n_ops entries */
};

/*
 * Splits expr[0, len) into tokens. On success *toks is a malloc'd array (caller frees) ending
 * with an FLT_T_END token at offset len, and *n_toks counts it. Returns 0,
 * FL0WER_FILTER_ERR_SYNTAX (err filled) or FL0WER_FILTER_ERR_NOMEM.
 */
int flt_lex(const char *expr, size_t len, struct flt_token **toks, size_t *n_toks,
            struct fl0wer_filter_error *err);

/* Fills err with offset/length and a printf-style message. Returns FL0WER_FILTER_ERR_SYNTAX. */
int flt_error(struct fl0wer_filter_error *err, size_t offset, size_t length, const char *fmt,
              ...) __attribute__((format(printf, 4, 5)));

#endif /* FL0WER_FILTER_INT_H */
