/*
 * timeparse.c - the time and duration syntax shared by the API's query parameters and the CLI's
 * --from/--to: "now", Unix seconds, relative ("-1h"), ISO-8601 UTC. Pure functions, no state.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fl0wer/api.h"

/* Reads exactly n decimal digits at *p into *v, advancing *p. Returns 0 or -1. */
static int tp_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        x = x * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

/* Reads an unsigned decimal of 1..15 digits. Returns the pointer after it, or NULL. */
static const char *tp_uint(const char *p, uint64_t *v)
{
    uint64_t x = 0;
    int n = 0;
    while (isdigit((unsigned char)*p) && n < 16) {
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
        n++;
    }
    if (n == 0 || n > 15)
        return NULL;
    *v = x;
    return p;
}

/* Unit suffix to ms, or 0 when unknown. An empty suffix means seconds. */
static uint64_t tp_unit_ms(const char *u)
{
    if (*u == '\0' || strcmp(u, "s") == 0)
        return 1000;
    if (strcmp(u, "ms") == 0)
        return 1;
    if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
        return 60000;
    if (strcmp(u, "h") == 0)
        return 3600000;
    if (strcmp(u, "d") == 0)
        return 86400000;
    if (strcmp(u, "w") == 0)
        return 7 * 86400000ull;
    return 0;
}

int fl0wer_duration_parse(const char *text, uint64_t *out_ms)
{
    uint64_t v, unit;
    const char *p;
    if (!text || !(p = tp_uint(text, &v)))
        return -1;
    unit = tp_unit_ms(p);
    if (unit == 0 || v > UINT64_MAX / unit / 2)
        return -1;
    *out_ms = v * unit;
    return 0;
}

/* ISO-8601 UTC: YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+00:00|-00:00]. */
static int tp_iso(const char *p, uint64_t *out_ms)
{
    struct tm tm;
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
    memset(&tm, 0, sizeof(tm));
    if (tp_digits(&p, 4, &y) || *p++ != '-' || tp_digits(&p, 2, &mo) || *p++ != '-' ||
        tp_digits(&p, 2, &d))
        return -1;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (tp_digits(&p, 2, &h) || *p++ != ':' || tp_digits(&p, 2, &mi))
            return -1;
        if (*p == ':') {
            p++;
            if (tp_digits(&p, 2, &s))
                return -1;
            if (*p == '.') {
                int scale = 100, n = 0;
                p++;
                while (isdigit((unsigned char)*p) && n < 9) {
                    ms += (*p - '0') * scale;
                    scale /= 10;
                    p++;
                    n++;
                }
                if (n == 0 || isdigit((unsigned char)*p))
                    return -1;
            }
        }
    }
    if (*p == 'Z' || *p == 'z')
        p++;
    else if (strcmp(p, "+00:00") == 0 || strcmp(p, "-00:00") == 0 || strcmp(p, "+0000") == 0)
        p += strlen(p);
    if (*p != '\0')
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    if (t < 0)
        return -1;
    /* timegm normalises 2024-02-31 to March: reject dates that moved. */
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1)
        return -1;
    *out_ms = (uint64_t)t * 1000u + (uint64_t)ms;
    return 0;
}

int fl0wer_time_parse(const char *text, uint64_t now_ms, uint64_t *out_ms)
{
    uint64_t v;
    const char *p;
    if (!text || !*text)
        return -1;
    if (strcmp(text, "now") == 0) {
        *out_ms = now_ms;
        return 0;
    }
    if (text[0] == '-') {
        if (fl0wer_duration_parse(text + 1, &v) != 0 || v > now_ms)
            return -1;
        *out_ms = now_ms - v;
        return 0;
    }
    if (strlen(text) >= 10 && text[4] == '-')
        return tp_iso(text, out_ms);
    p = tp_uint(text, &v);
    if (!p || *p != '\0' || v > 253402300799ull) /* up to 9999-12-31 */
        return -1;
    *out_ms = v * 1000u;
    return 0;
}
