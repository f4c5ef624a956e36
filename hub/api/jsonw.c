/*
 * jsonw.c - growing buffer and JSON writer used by every API response (see jsonw.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void api_buf_init(struct api_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void api_buf_release(struct api_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Makes room for extra more bytes plus a NUL. Returns false (and marks failed) on overflow. */
static bool buf_reserve(struct api_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2)
            goto out_fail;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        goto out_fail;
    b->data = p;
    b->cap = cap;
    return true;
out_fail:
    b->failed = true;
    return false;
}

void api_buf_append(struct api_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void api_buf_puts(struct api_buf *b, const char *s)
{
    api_buf_append(b, s, strlen(s));
}

void api_buf_printf(struct api_buf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        api_buf_append(b, small, (size_t)n);
        return;
    }
    if (!buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid UTF-8. */
static size_t utf8_seq_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))
            return 0;
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

void jw_escape(struct api_buf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    api_buf_append(b, "\"", 1);
    while (*p) {
        unsigned char c = *p;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            api_buf_append(b, esc, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;
            if (named)
                api_buf_append(b, named, 2);
            else
                api_buf_printf(b, "\\u%04x", c);
            p++;
        } else {
            size_t n = utf8_seq_len(p);
            if (n == 0) {
                api_buf_append(b, "\xef\xbf\xbd", 3);
                p++;
            } else {
                api_buf_append(b, (const char *)p, n);
                p += n;
            }
        }
    }
    api_buf_append(b, "\"", 1);
}

void jw_init(struct jw *w, struct api_buf *b)
{
    memset(w, 0, sizeof(*w));
    w->b = b;
}

/* Writes the comma before a new value when needed and marks the container non-empty. */
static void jw_sep(struct jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0) {
        if (w->has_items[w->depth - 1])
            api_buf_append(w->b, ",", 1);
        w->has_items[w->depth - 1] = true;
    }
}

static void jw_open(struct jw *w, const char *c)
{
    jw_sep(w);
    api_buf_append(w->b, c, 1);
    if (w->depth >= JW_MAX_DEPTH) {
        w->b->failed = true;
        return;
    }
    w->has_items[w->depth++] = false;
}

static void jw_close(struct jw *w, const char *c)
{
    api_buf_append(w->b, c, 1);
    if (w->depth > 0)
        w->depth--;
}

void jw_obj_begin(struct jw *w) { jw_open(w, "{"); }
void jw_obj_end(struct jw *w) { jw_close(w, "}"); }
void jw_arr_begin(struct jw *w) { jw_open(w, "["); }
void jw_arr_end(struct jw *w) { jw_close(w, "]"); }

void jw_key(struct jw *w, const char *key)
{
    jw_sep(w);
    jw_escape(w->b, key);
    api_buf_append(w->b, ":", 1);
    w->after_key = true;
}

void jw_str(struct jw *w, const char *s)
{
    jw_sep(w);
    jw_escape(w->b, s);
}

void jw_u64(struct jw *w, uint64_t v)
{
    jw_sep(w);
    api_buf_printf(w->b, "%llu", (unsigned long long)v);
}

void jw_i64(struct jw *w, int64_t v)
{
    jw_sep(w);
    api_buf_printf(w->b, "%lld", (long long)v);
}

void jw_double(struct jw *w, double v)
{
    jw_sep(w);
    if (!isfinite(v))
        v = 0;
    api_buf_printf(w->b, "%.3f", v);
}

void jw_bool(struct jw *w, bool v)
{
    jw_sep(w);
    api_buf_puts(w->b, v ? "true" : "false");
}

void jw_raw(struct jw *w, const char *json)
{
    jw_sep(w);
    api_buf_puts(w->b, json);
}

void jw_kstr(struct jw *w, const char *key, const char *s)
{
    jw_key(w, key);
    jw_str(w, s);
}

void jw_ku64(struct jw *w, const char *key, uint64_t v)
{
    jw_key(w, key);
    jw_u64(w, v);
}
