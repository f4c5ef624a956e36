/*
 * auth.c - bearer tokens: parses the tokens file ("NAME ROLE TOKEN" per line, ROLE read|admin,
 * '#' comments and blank lines ignored) and checks an Authorization header against it. Tokens
 * are kept only as BLAKE2b hashes and compared with sodium_memcmp over every entry, so neither
 * the token's length nor which entry matched shows in the timing.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api_int.h"

#define AUTH_TOKEN_MAX 512
#define AUTH_LINE_MAX  1023 /* longest tokens file line, without its newline */

static void auth_hash(const char *token, size_t len, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)token, len, NULL, 0);
}

/* Splits line into at most 4 blank-separated fields (in place). Returns the field count. */
static int auth_fields(char *line, char *f[4])
{
    int n = 0;
    char *p = line;
    while (*p && n < 4) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
    return n;
}

static bool auth_valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-' && *s != '@')
            return false;
    return true;
}

static bool auth_valid_token(const char *s)
{
    size_t n = strlen(s);
    if (n < 8 || n > AUTH_TOKEN_MAX)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* Parses one non-comment line into t. Returns 0 or -1 with why set. */
static int auth_parse_line(char *line, struct api_token *t, const char **why)
{
    char *f[4];
    int n = auth_fields(line, f);
    if (n != 3) {
        *why = "expected NAME ROLE TOKEN";
        return -1;
    }
    if (!auth_valid_name(f[0])) {
        *why = "bad name (1-63 of [A-Za-z0-9._@-])";
        return -1;
    }
    if (strcmp(f[1], "read") == 0)
        t->admin = false;
    else if (strcmp(f[1], "admin") == 0)
        t->admin = true;
    else {
        *why = "role must be read or admin";
        return -1;
    }
    if (!auth_valid_token(f[2])) {
        *why = "token must be 8-512 printable characters";
        return -1;
    }
    snprintf(t->name, sizeof(t->name), "%s", f[0]);
    auth_hash(f[2], strlen(f[2]), t->hash);
    sodium_memzero(f[2], strlen(f[2]));
    return 0;
}

/* Appends a slot to t (growing it). Returns the slot, or NULL when out of memory. */
static struct api_token *auth_push(struct api_tokens *t, size_t *cap)
{
    if (t->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct api_token *v = realloc(t->v, ncap * sizeof(*v));
        if (!v)
            return NULL;
        t->v = v;
        *cap = ncap;
    }
    return &t->v[t->n];
}

/*
 * Reads the tokens file line by line (whole lines: an overlong line or a NUL byte is an error,
 * so no part of a line, e.g. a comment's tail, is ever read as an entry of its own).
 */
int api_tokens_load(const char *path, struct api_tokens *out, char *errbuf)
{
    FILE *f;
    char *line = NULL;
    size_t linecap = 0, cap = 0;
    ssize_t len;
    struct api_tokens t = {NULL, 0};
    int lineno = 0, rc = FL0WER_API_ERR_TOKENS;
    const char *why;

    if (!path) {
        snprintf(errbuf, 256, "no tokens file configured (--tokens FILE)");
        return rc;
    }
    if (!(f = fopen(path, "r"))) {
        snprintf(errbuf, 256, "cannot open tokens file %s: %s", path, strerror(errno));
        return rc;
    }
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        if (strlen(line) != (size_t)len) {
            snprintf(errbuf, 256, "tokens file %s line %d: NUL byte in line", path, lineno);
            goto out;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len > AUTH_LINE_MAX) {
            snprintf(errbuf, 256, "tokens file %s line %d: line too long", path, lineno);
            goto out;
        }
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        struct api_token *slot = auth_push(&t, &cap);
        if (!slot) {
            snprintf(errbuf, 256, "tokens file %s: out of memory", path);
            goto out;
        }
        if (auth_parse_line(p, slot, &why) != 0) {
            snprintf(errbuf, 256, "tokens file %s line %d: %s", path, lineno, why);
            goto out;
        }
        t.n++;
    }
    if (ferror(f)) {
        snprintf(errbuf, 256, "cannot read tokens file %s", path);
        goto out;
    }
    if (t.n == 0) {
        snprintf(errbuf, 256, "tokens file %s has no tokens", path);
        goto out;
    }
    *out = t;
    t.v = NULL;
    rc = 0;
out:
    if (line)
        sodium_memzero(line, linecap);
    free(line);
    fclose(f);
    if (t.v)
        sodium_memzero(t.v, cap * sizeof(*t.v));
    free(t.v);
    return rc;
}

void api_tokens_release(struct api_tokens *t)
{
    if (t->v)
        sodium_memzero(t->v, t->n * sizeof(*t->v));
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

int api_tokens_check(const struct api_tokens *t, const char *authorization)
{
    unsigned char h[32];
    const char *tok;
    size_t len;
    int role = -1;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return -1;
    tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    len = strlen(tok);
    while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
        len--;
    if (len == 0 || len > AUTH_TOKEN_MAX)
        return -1;
    auth_hash(tok, len, h);
    /* Visit every entry whatever matches, so timing does not tell which one did. */
    for (size_t i = 0; i < t->n; i++) {
        int eq = sodium_memcmp(h, t->v[i].hash, sizeof(h)) == 0;
        int r = t->v[i].admin ? 1 : 0;
        role = eq && role < r ? r : role;
    }
    sodium_memzero(h, sizeof(h));
    return role;
}
