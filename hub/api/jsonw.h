/*
 * jsonw.h - a growing output buffer and a small JSON writer on top of it (API internal). The
 * writer tracks commas itself; strings are escaped per RFC 8259 (control characters as \u00XX,
 * bytes >= 0x80 passed through, invalid UTF-8 replaced by U+FFFD).
 */
#ifndef FL0WER_API_JSONW_H
#define FL0WER_API_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A malloc'd, NUL-terminated byte buffer. failed is set (and stays set) when growing fails. */
struct api_buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

void api_buf_init(struct api_buf *b);
void api_buf_release(struct api_buf *b);
void api_buf_append(struct api_buf *b, const char *s, size_t n);
void api_buf_puts(struct api_buf *b, const char *s);
void api_buf_printf(struct api_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define JW_MAX_DEPTH 16

/* JSON writer appending to a borrowed buffer. */
struct jw {
    struct api_buf *b;
    int depth;
    bool after_key;
    bool has_items[JW_MAX_DEPTH];
};

void jw_init(struct jw *w, struct api_buf *b);
void jw_obj_begin(struct jw *w);
void jw_obj_end(struct jw *w);
void jw_arr_begin(struct jw *w);
void jw_arr_end(struct jw *w);
void jw_key(struct jw *w, const char *key);
void jw_str(struct jw *w, const char *s);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);
void jw_bool(struct jw *w, bool v);
/* A value that is already JSON text (e.g. from fl0wer_flow_to_json). */
void jw_raw(struct jw *w, const char *json);

/* Shorthands for "key":value members. */
void jw_kstr(struct jw *w, const char *key, const char *s);
void jw_ku64(struct jw *w, const char *key, uint64_t v);

/* Appends s escaped as a JSON string (with the quotes). */
void jw_escape(struct api_buf *b, const char *s);

#endif /* FL0WER_API_JSONW_H */
