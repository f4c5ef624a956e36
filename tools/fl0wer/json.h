/*
 * json.h - a small JSON reader for the CLI's table and CSV output: parses a whole document into
 * a tree (depth <= 32). Numbers keep their text so 64-bit counters print exactly.
 */
#ifndef FL0WER_CLI_JSON_H
#define FL0WER_CLI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
    enum jtype t;
    bool b;
    char *s;            /* J_STR: decoded text; J_NUM: the number's text */
    size_t n;           /* J_ARR/J_OBJ: number of items */
    struct jval *items; /* J_ARR/J_OBJ */
    char **keys;        /* J_OBJ: key of each item */
};

/* Parses text[0, len). Returns 0 with *out (free with json_free), or -1. */
int json_parse(const char *text, size_t len, struct jval **out);
void json_free(struct jval *v);

/* Member of an object, or NULL. */
const struct jval *json_get(const struct jval *o, const char *key);
/* Number as uint64 (0 when not a non-negative integer). */
uint64_t json_u64(const struct jval *v);
double json_num(const struct jval *v);
/* String value, or NULL when v is not a string. */
const char *json_str(const struct jval *v);
/* Writes v back as compact JSON to f. */
void json_print(const struct jval *v, void *file);

#endif /* FL0WER_CLI_JSON_H */
