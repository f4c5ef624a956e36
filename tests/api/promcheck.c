/*
 * promcheck.c - Prometheus text format line validator for tests/api (see promcheck.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promcheck.h"

#define PC_MAX_FAMILIES 256

static bool name_char(char c, bool first)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':' || (!first && isdigit((unsigned char)c));
}

/* Reads a metric name at *p into out. Returns its length (0 = none). */
static size_t read_name(const char **p, char *out, size_t cap)
{
    size_t n = 0;
    while (name_char((*p)[n], n == 0)) {
        if (n + 1 < cap)
            out[n] = (*p)[n];
        n++;
    }
    out[n < cap ? n : cap - 1] = '\0';
    *p += n;
    return n;
}

static bool valid_value(const char *s)
{
    char *end;
    if (strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0 || strcmp(s, "NaN") == 0)
        return true;
    if (!*s)
        return false;
    strtod(s, &end);
    if (*end == ' ') { /* optional timestamp */
        char *e2;
        strtoll(end + 1, &e2, 10);
        return e2 != end + 1 && *e2 == '\0';
    }
    return *end == '\0';
}

/* Validates {a="b",c="d"} at *p. */
static bool read_labels(const char **p)
{
    const char *s = *p;
    char lname[128];
    if (*s != '{')
        return true;
    s++;
    while (*s != '}') {
        if (read_name(&s, lname, sizeof(lname)) == 0 || strchr(lname, ':') || *s++ != '=' ||
            *s++ != '"')
            return false;
        while (*s && *s != '"') {
            if (*s == '\\') {
                if (s[1] != '\\' && s[1] != '"' && s[1] != 'n')
                    return false;
                s++;
            }
            s++;
        }
        if (*s++ != '"')
            return false;
        if (*s == ',')
            s++;
        else if (*s != '}')
            return false;
    }
    *p = s + 1;
    return true;
}

int promcheck(const char *text, char *msg, size_t msglen)
{
    char families[PC_MAX_FAMILIES][128];
    size_t nfam = 0;
    int lineno = 0;
    const char *line = text;
    snprintf(msg, msglen, "ok");
    while (*line) {
        const char *nl = strchr(line, '\n');
        char buf[2048], name[128];
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        if (!nl) {
            snprintf(msg, msglen, "last line not newline-terminated");
            return lineno;
        }
        if (len >= sizeof(buf)) {
            snprintf(msg, msglen, "line too long");
            return lineno;
        }
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = nl + 1;
        const char *p = buf;
        if (strncmp(p, "# HELP ", 7) == 0) {
            p += 7;
            if (!read_name(&p, name, sizeof(name)) || *p != ' ') {
                snprintf(msg, msglen, "bad HELP line");
                return lineno;
            }
            continue;
        }
        if (strncmp(p, "# TYPE ", 7) == 0) {
            p += 7;
            if (!read_name(&p, name, sizeof(name)) || *p++ != ' ' ||
                (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") &&
                 strcmp(p, "summary") && strcmp(p, "untyped"))) {
                snprintf(msg, msglen, "bad TYPE line");
                return lineno;
            }
            for (size_t i = 0; i < nfam; i++)
                if (strcmp(families[i], name) == 0) {
                    snprintf(msg, msglen, "TYPE for %s given twice", name);
                    return lineno;
                }
            if (nfam < PC_MAX_FAMILIES)
                snprintf(families[nfam++], sizeof(families[0]), "%s", name);
            continue;
        }
        if (*p == '#' || *p == '\0') {
            snprintf(msg, msglen, "unexpected comment or blank line");
            return lineno;
        }
        if (!read_name(&p, name, sizeof(name)) || !read_labels(&p) || *p++ != ' ' ||
            !valid_value(p)) {
            snprintf(msg, msglen, "bad sample line '%s'", buf);
            return lineno;
        }
        if (nfam == 0 || strcmp(families[nfam - 1], name) != 0) {
            snprintf(msg, msglen, "sample %s not directly under its TYPE", name);
            return lineno;
        }
    }
    return 0;
}

int promcheck_value(const char *text, const char *series, double *out)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            *out = strtod(line + n + 1, NULL);
            return 0;
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return -1;
}
