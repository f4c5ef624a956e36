/*
 * filter_lex.c - splits a filter expression into tokens (words, parentheses, brackets, commas,
 * &&, ||, !, comparison operators), each remembering where it sits in the text for error
 * messages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "filter_int.h"

int flt_error(struct fl0wer_filter_error *err, size_t offset, size_t length, const char *fmt,
              ...)
{
    va_list ap;

    if (err == NULL)
        return FL0WER_FILTER_ERR_SYNTAX;
    err->offset = offset;
    err->length = length;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return FL0WER_FILTER_ERR_SYNTAX;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Characters that end a word: blanks and the single-character punctuation of the grammar. */
static int ends_word(char c)
{
    switch (c) {
    case '(': case ')': case '[': case ']': case ',': case '&': case '|': case '!':
    case '<': case '>': case '=':
        return 1;
    default:
        return is_blank(c) || c == '\0';
    }
}

/* Word characters: what keywords, numbers, addresses, prefixes and flags are made of. */
static int is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == ':' || c == '/' || c == '_' || c == '-' || c == '+';
}

/*
 * Reads one punctuation token at expr[i]. Returns its length (0 when expr[i] starts none) and
 * fills kind/cmp.
 */
static size_t lex_punct(const char *expr, size_t i, size_t len, uint8_t *kind, uint8_t *cmp)
{
    char c = expr[i];
    char n = i + 1 < len ? expr[i + 1] : '\0';

    *cmp = FLT_EQ;
    switch (c) {
    case '(': *kind = FLT_T_LPAREN; return 1;
    case ')': *kind = FLT_T_RPAREN; return 1;
    case '[': *kind = FLT_T_LBRACK; return 1;
    case ']': *kind = FLT_T_RBRACK; return 1;
    case ',': *kind = FLT_T_COMMA; return 1;
    case '&': *kind = FLT_T_AND; return n == '&' ? 2 : 0;
    case '|': *kind = FLT_T_OR; return n == '|' ? 2 : 0;
    case '!':
        if (n == '=') {
            *kind = FLT_T_CMP;
            *cmp = FLT_NE;
            return 2;
        }
        *kind = FLT_T_NOT;
        return 1;
    case '<':
    case '>':
        *kind = FLT_T_CMP;
        if (n == '=') {
            *cmp = c == '<' ? FLT_LE : FLT_GE;
            return 2;
        }
        *cmp = c == '<' ? FLT_LT : FLT_GT;
        return 1;
    case '=':
        *kind = FLT_T_CMP;
        *cmp = FLT_EQ;
        return n == '=' ? 2 : 1;
    default:
        return 0;
    }
}

int flt_lex(const char *expr, size_t len, struct flt_token **toks, size_t *n_toks,
            struct fl0wer_filter_error *err)
{
    struct flt_token *t;
    size_t n = 0, i = 0;
    int rc = 0;

    /* Every token is at least one byte, plus the end marker. */
    t = calloc(len + 1, sizeof(*t));
    if (t == NULL)
        return FL0WER_FILTER_ERR_NOMEM;
    while (i < len) {
        uint8_t kind, cmp;
        size_t plen, start = i;

        if (is_blank(expr[i])) {
            i++;
            continue;
        }
        plen = lex_punct(expr, i, len, &kind, &cmp);
        if (plen > 0) {
            t[n++] = (struct flt_token){kind, cmp, (uint32_t)i, (uint32_t)plen};
            i += plen;
            continue;
        }
        if (expr[i] == '&' || expr[i] == '|') {
            rc = flt_error(err, i, 1, "single '%c', use '%c%c' or '%s'", expr[i], expr[i],
                           expr[i], expr[i] == '&' ? "and" : "or");
            goto out_free;
        }
        if (!is_word_char(expr[i])) {
            rc = flt_error(err, i, 1, "invalid character 0x%02x", (unsigned)(uint8_t)expr[i]);
            goto out_free;
        }
        while (i < len && !ends_word(expr[i])) {
            if (!is_word_char(expr[i])) {
                rc = flt_error(err, i, 1, "invalid character 0x%02x",
                               (unsigned)(uint8_t)expr[i]);
                goto out_free;
            }
            i++;
        }
        t[n++] = (struct flt_token){FLT_T_WORD, FLT_EQ, (uint32_t)start, (uint32_t)(i - start)};
    }
    t[n++] = (struct flt_token){FLT_T_END, FLT_EQ, (uint32_t)len, 0};
    *toks = t;
    *n_toks = n;
    return 0;

out_free:
    free(t);
    return rc;
}
