/*
 * json.c - the CLI's JSON reader (json.h): recursive descent over a bounds-checked cursor.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define JSON_MAX_DEPTH 32

struct jcur {
    const char *p, *end;
};

static void jskip(struct jcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int jlit(struct jcur *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return -1;
    c->p += n;
    return 0;
}

static void put_utf8(char **o, unsigned cp)
{
    char *d = *o;
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = d;
}

static int jhex4(struct jcur *c, unsigned *out)
{
    unsigned v = 0;
    if (c->end - c->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        char h = c->p[i];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (unsigned)(h - 'A' + 10);
        else
            return -1;
    }
    c->p += 4;
    *out = v;
    return 0;
}

/* Parses a string at c->p (which is '"') into a malloc'd decoded copy. */
static char *jstring(struct jcur *c)
{
    const char *q = ++c->p;
    while (q < c->end && *q != '"')
        q += (*q == '\\' && q + 1 < c->end) ? 2 : 1;
    if (q >= c->end)
        return NULL;
    char *out = malloc((size_t)(q - c->p) + 1), *o = out;
    if (!out)
        return NULL;
    while (c->p < q) {
        char ch = *c->p++;
        if ((unsigned char)ch < 0x20)
            goto out_bad;
        if (ch != '\\') {
            *o++ = ch;
            continue;
        }
        ch = *c->p++;
        switch (ch) {
        case '"': case '\\': case '/': *o++ = ch; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (jhex4(c, &cp) != 0)
                goto out_bad;
            if (cp >= 0xd800 && cp < 0xdc00 && q - c->p >= 6 && c->p[0] == '\\' &&
                c->p[1] == 'u') {
                c->p += 2;
                if (jhex4(c, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                    goto out_bad;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;
            }
            if (cp == 0)
                cp = 0xfffd;
            put_utf8(&o, cp); /* at most 4 bytes for a 6+ byte escape: fits */
            break;
        }
        default: goto out_bad;
        }
    }
    c->p = q + 1;
    *o = '\0';
    return out;
out_bad:
    free(out);
    return NULL;
}

/* Skips the digits at c->p. Returns how many there were. */
static size_t jdigits(struct jcur *c)
{
    const char *s = c->p;
    while (c->p < c->end && isdigit((unsigned char)*c->p))
        c->p++;
    return (size_t)(c->p - s);
}

/*
 * Walks one number of RFC 8259's grammar at c->p: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
 * Returns 0 with c->p after it, or -1 (anything else, including a NUL byte, is not a number).
 */
static int jnumber(struct jcur *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (c->p >= c->end || *c->p < '1' || *c->p > '9' || jdigits(c) == 0)
        return -1;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (jdigits(c) == 0)
            return -1;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (jdigits(c) == 0)
            return -1;
    }
    return 0;
}

static int jvalue(struct jcur *c, struct jval *v, int depth);

/* Appends a slot to an array/object, returning it zeroed (or NULL). */
static struct jval *jpush(struct jval *v, size_t *cap)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct jval *items = realloc(v->items, nc * sizeof(*items));
        if (!items)
            return NULL;
        v->items = items;
        if (v->t == J_OBJ) {
            char **keys = realloc(v->keys, nc * sizeof(*keys));
            if (!keys)
                return NULL;
            v->keys = keys;
        }
        *cap = nc;
    }
    memset(&v->items[v->n], 0, sizeof(v->items[0]));
    if (v->t == J_OBJ)
        v->keys[v->n] = NULL;
    return &v->items[v->n++];
}

static int jcontainer(struct jcur *c, struct jval *v, int depth)
{
    char close = v->t == J_OBJ ? '}' : ']';
    size_t cap = 0;
    c->p++;
    jskip(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        jskip(c);
        if (v->t == J_OBJ) {
            if (c->p >= c->end || *c->p != '"' || !(key = jstring(c)))
                return -1;
            jskip(c);
            if (c->p >= c->end || *c->p != ':') {
                free(key);
                return -1;
            }
            c->p++;
        }
        struct jval *item = jpush(v, &cap);
        if (!item) {
            free(key);
            return -1;
        }
        if (v->t == J_OBJ)
            v->keys[v->n - 1] = key;
        if (jvalue(c, item, depth + 1) != 0)
            return -1;
        jskip(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        return -1;
    }
}

static int jvalue(struct jcur *c, struct jval *v, int depth)
{
    if (depth > JSON_MAX_DEPTH)
        return -1;
    jskip(c);
    if (c->p >= c->end)
        return -1;
    switch (*c->p) {
    case '{': v->t = J_OBJ; return jcontainer(c, v, depth);
    case '[': v->t = J_ARR; return jcontainer(c, v, depth);
    case '"': v->t = J_STR; return (v->s = jstring(c)) ? 0 : -1;
    case 't': v->t = J_BOOL; v->b = true; return jlit(c, "true");
    case 'f': v->t = J_BOOL; return jlit(c, "false");
    case 'n': v->t = J_NULL; return jlit(c, "null");
    default: break;
    }
    const char *s = c->p;
    if (jnumber(c) != 0 || c->p - s > 64)
        return -1;
    v->t = J_NUM;
    if (!(v->s = strndup(s, (size_t)(c->p - s))))
        return -1;
    return 0;
}

static void json_release(struct jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        json_release(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->s);
}

void json_free(struct jval *v)
{
    if (!v)
        return;
    json_release(v);
    free(v);
}

int json_parse(const char *text, size_t len, struct jval **out)
{
    struct jcur c = {text, text + len};
    struct jval *v = calloc(1, sizeof(*v));
    if (!v)
        return -1;
    if (jvalue(&c, v, 0) != 0)
        goto out_bad;
    jskip(&c);
    if (c.p != c.end)
        goto out_bad;
    *out = v;
    return 0;
out_bad:
    json_free(v);
    return -1;
}

const struct jval *json_get(const struct jval *o, const char *key)
{
    if (!o || o->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (o->keys[i] && strcmp(o->keys[i], key) == 0)
            return &o->items[i];
    return NULL;
}

uint64_t json_u64(const struct jval *v)
{
    /* Only plain digits: "1.5", "1e3" or "-1" are not non-negative integers. */
    if (!v || v->t != J_NUM || !v->s[0] || v->s[strspn(v->s, "0123456789")] != '\0')
        return 0;
    return strtoull(v->s, NULL, 10);
}

double json_num(const struct jval *v)
{
    return v && v->t == J_NUM ? strtod(v->s, NULL) : 0.0;
}

const char *json_str(const struct jval *v)
{
    return v && v->t == J_STR ? v->s : NULL;
}

static void json_print_str(const char *s, FILE *f)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void json_print(const struct jval *v, void *file)
{
    FILE *f = file;
    switch (v->t) {
    case J_NULL: fputs("null", f); break;
    case J_BOOL: fputs(v->b ? "true" : "false", f); break;
    case J_NUM: fputs(v->s, f); break;
    case J_STR: json_print_str(v->s, f); break;
    case J_ARR:
    case J_OBJ:
        fputc(v->t == J_ARR ? '[' : '{', f);
        for (size_t i = 0; i < v->n; i++) {
            if (i)
                fputc(',', f);
            if (v->t == J_OBJ) {
                json_print_str(v->keys[i], f);
                fputc(':', f);
            }
            json_print(&v->items[i], f);
        }
        fputc(v->t == J_ARR ? ']' : '}', f);
        break;
    }
}
