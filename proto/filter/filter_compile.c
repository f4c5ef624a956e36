/*
 * filter_compile.c - recursive-descent compiler from filter text to the accumulator program of
 * filter_int.h. Precedence: not > and > or; parentheses group. Primitive operands are parsed by
 * filter_operand.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filter_operand.h"

/* Appends op; returns 0 or FL0WER_FILTER_ERR_NOMEM. */
int flt_emit(struct flt_parser *p, const struct flt_op *op)
{
    if (p->n_ops == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        struct flt_op *n = realloc(p->ops, cap * sizeof(*n));

        if (n == NULL)
            return FL0WER_FILTER_ERR_NOMEM;
        p->ops = n;
        p->cap = cap;
    }
    p->ops[p->n_ops++] = *op;
    return 0;
}

const struct flt_token *flt_peek(const struct flt_parser *p)
{
    return &p->toks[p->pos];
}

const struct flt_token *flt_next(struct flt_parser *p)
{
    const struct flt_token *t = &p->toks[p->pos];

    if (t->kind != FLT_T_END)
        p->pos++;
    return t;
}

bool flt_is_word(const struct flt_parser *p, const struct flt_token *t, const char *word)
{
    size_t n = strlen(word);

    return t->kind == FLT_T_WORD && t->length == n &&
           strncasecmp(p->expr + t->offset, word, n) == 0;
}

/* Quotes a token for a message: 'text' (cut at 48 bytes) or "end of expression". */
const char *flt_describe(const struct flt_parser *p, const struct flt_token *t, char *buf,
                         size_t len)
{
    int n = t->length > 48 ? 48 : (int)t->length;

    if (t->kind == FLT_T_END)
        snprintf(buf, len, "end of expression");
    else
        snprintf(buf, len, "'%.*s%s'", n, p->expr + t->offset, t->length > 48 ? "..." : "");
    return buf;
}

static int parse_or(struct flt_parser *p);

/* Emits a forward jump with an unknown target; *at receives its index for patching. */
static int emit_jump(struct flt_parser *p, uint8_t code, size_t *at)
{
    struct flt_op op = {.code = code};

    *at = p->n_ops;
    return flt_emit(p, &op);
}

static bool is_and(const struct flt_parser *p, const struct flt_token *t)
{
    return t->kind == FLT_T_AND || flt_is_word(p, t, "and");
}

static bool is_or(const struct flt_parser *p, const struct flt_token *t)
{
    return t->kind == FLT_T_OR || flt_is_word(p, t, "or");
}

/* unary := ("not" | "!") unary | "(" or ")" | primitive */
static int parse_unary(struct flt_parser *p)
{
    const struct flt_token *t = flt_peek(p);
    char d[64];
    int rc;

    if (t->kind == FLT_T_NOT || flt_is_word(p, t, "not") || t->kind == FLT_T_LPAREN) {
        if (p->depth >= FLT_MAX_DEPTH)
            return flt_error(p->err, t->offset, t->length, "nesting deeper than %d at %s",
                             FLT_MAX_DEPTH, flt_describe(p, t, d, sizeof(d)));
        p->depth++;
        flt_next(p);
        if (t->kind == FLT_T_LPAREN) {
            const struct flt_token *close;

            rc = parse_or(p);
            if (rc != 0)
                return rc;
            close = flt_peek(p);
            if (close->kind == FLT_T_END)
                return flt_error(p->err, t->offset, t->length, "unbalanced parenthesis");
            if (close->kind != FLT_T_RPAREN)
                return flt_error(p->err, close->offset, close->length,
                                 "expected 'and', 'or' or ')', got %s",
                                 flt_describe(p, close, d, sizeof(d)));
            flt_next(p);
        } else {
            struct flt_op op = {.code = FLT_NOT};

            rc = parse_unary(p);
            if (rc != 0)
                return rc;
            rc = flt_emit(p, &op);
            if (rc != 0)
                return rc;
        }
        p->depth--;
        return 0;
    }
    return flt_parse_primitive(p);
}

/*
 * and_level: unary { and unary }, else: and-chain { or and-chain }. After each left operand a
 * forward jump (JF for and, JT for or) skips the right operand when the result is known.
 */
static int parse_chain(struct flt_parser *p, bool and_level)
{
    int rc = and_level ? parse_unary(p) : parse_chain(p, true);

    while (rc == 0) {
        const struct flt_token *t = flt_peek(p);
        size_t at;

        if (and_level ? !is_and(p, t) : !is_or(p, t))
            break;
        flt_next(p);
        rc = emit_jump(p, and_level ? FLT_JF : FLT_JT, &at);
        if (rc == 0)
            rc = and_level ? parse_unary(p) : parse_chain(p, true);
        if (rc == 0)
            p->ops[at].target = (uint32_t)p->n_ops;
    }
    return rc;
}

static int parse_or(struct flt_parser *p)
{
    return parse_chain(p, false);
}

/* Builds the final filter object from the parser's ops. */
static int finish(struct flt_parser *p, struct fl0wer_filter **out)
{
    struct fl0wer_filter *f = malloc(sizeof(*f) + p->n_ops * sizeof(struct flt_op));

    if (f == NULL)
        return FL0WER_FILTER_ERR_NOMEM;
    f->n_ops = p->n_ops;
    if (p->n_ops > 0)
        memcpy(f->ops, p->ops, p->n_ops * sizeof(struct flt_op));
    *out = f;
    return 0;
}

int fl0wer_filter_compile(const char *expr, struct fl0wer_filter **out,
                          struct fl0wer_filter_error *err)
{
    struct flt_parser p = {.expr = expr, .err = err};
    size_t len = expr ? strlen(expr) : 0;
    const struct flt_token *t;
    char d[64];
    int rc;

    if (out == NULL)
        return FL0WER_FILTER_ERR_SYNTAX;
    *out = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (len > FLT_MAX_EXPR)
        return flt_error(err, FLT_MAX_EXPR, len - FLT_MAX_EXPR,
                         "expression longer than %d bytes (%zu)", FLT_MAX_EXPR, len);
    rc = flt_lex(expr ? expr : "", len, &p.toks, &p.n_toks, err);
    if (rc != 0)
        return rc;
    if (p.toks[0].kind != FLT_T_END) {
        rc = parse_or(&p);
        if (rc != 0)
            goto out_free;
        t = flt_peek(&p);
        if (t->kind == FLT_T_RPAREN) {
            rc = flt_error(err, t->offset, t->length, "unbalanced parenthesis");
            goto out_free;
        }
        if (t->kind != FLT_T_END) {
            rc = flt_error(err, t->offset, t->length,
                           "expected 'and', 'or' or end of expression, got %s",
                           flt_describe(&p, t, d, sizeof(d)));
            goto out_free;
        }
    }
    rc = finish(&p, out);
out_free:
    free(p.ops);
    free(p.toks);
    return rc;
}

void fl0wer_filter_destroy(struct fl0wer_filter *f)
{
    free(f);
}

bool fl0wer_filter_is_all(const struct fl0wer_filter *f)
{
    return f == NULL || f->n_ops == 0 || (f->n_ops == 1 && f->ops[0].code == FLT_TRUE);
}
