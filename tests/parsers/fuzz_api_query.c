/*
 * fuzz_api_query.c - libFuzzer harness for what an authenticated HTTPS client controls in a
 * request's URI: the query string (hub/api/params.c: splitting, %-decoding, every parameter of
 * every endpoint) and the time/duration syntax (hub/api/timeparse.c), also fed the raw bytes
 * directly. Checks the results' invariants: at most API_MAX_PARAMS parameters, a valid range
 * (from < to), bounded limit and series points, and every 400 body is JSON with an "error".
 * Also the CLI-to-hub contract: a range and filter the CLI encodes (tools/fl0wer/client.c,
 * cli_target_add_range) decode on the hub to exactly the same times and text.
 */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "cli.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1700000000000ull /* 2023-11-14T22:13:20Z */

static const struct {
    enum api_endpoint ep;
    unsigned accepted;
} routes[] = {
    {API_EP_SUMMARY, API_P_RANGE | API_P_FILTER | API_P_UNSCALED},
    {API_EP_TOP, API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_TOP},
    {API_EP_FLOWS, API_P_RANGE | API_P_FILTER | API_P_LIMIT},
    {API_EP_SERIES, API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_STEP},
    {API_EP_ALERTS, API_P_RANGE | API_P_FILTER | API_P_ALERT | API_P_LIMIT},
    {API_EP_STATUS, 0},
};

/* True when s[0, n) is valid UTF-8 (RFC 3629: no overlongs, surrogates or values > U+10FFFF). */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
                                : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (len == 0 || n - i < len)
            return false;
        unsigned cp = len == 1 ? c : c & (0x7f >> len);
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        i += len;
    }
    return true;
}

/* An error body must be UTF-8 JSON: an object with a string "error" member. */
static void check_error_body(const struct api_buf *b)
{
    struct jval *doc = NULL;
    if (b->failed)
        return;
    if (!b->data || !utf8_valid((const unsigned char *)b->data, b->len) ||
        json_parse(b->data, b->len, &doc) != 0 || !json_str(json_get(doc, "error")))
        abort();
    json_free(doc);
}

static void check_params(const struct api_qs *qs, unsigned accepted, enum api_endpoint ep)
{
    struct api_params p;
    struct api_buf err;
    api_buf_init(&err);
    int rc = api_params_parse(qs, accepted, ep, NOW_MS, &p, &err);
    if (rc == 0) {
        if ((accepted & API_P_RANGE) && p.from_ms >= p.to_ms)
            abort();
        if ((accepted & API_P_STEP) &&
            (p.step_ms < 60000 || p.step_ms % 60000 || (p.to_ms - p.from_ms) / p.step_ms > 100000))
            abort();
        if (p.limit < 1 || p.limit > (ep == API_EP_FLOWS ? 1000000u : 10000u))
            abort();
        if (!(accepted & API_P_FILTER) && p.filter)
            abort();
    } else if (rc == 400 || rc == 503) {
        check_error_body(&err);
    } else {
        abort();
    }
    api_params_release(&p);
    api_buf_release(&err);
}

static void check_time(const char *text)
{
    uint64_t ms = 0;
    if (fl0wer_time_parse(text, NOW_MS, &ms) == 0) {
        if (text[0] == '-' && ms > NOW_MS)
            abort();
        if (ms > 253402300799999ull && strcmp(text, "now") != 0) /* past 9999-12-31 */
            abort();
    }
    /* A duration is at most 15 digits of weeks: far below the overflow guard. */
    if (fl0wer_duration_parse(text, &ms) == 0 && ms > UINT64_MAX / 2)
        abort();
}

/* Reads 8 bytes as a big-endian number. */
static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* The CLI encodes from/to/filter; the hub must decode exactly those. */
static void check_cli_round_trip(const uint8_t *data, size_t size)
{
    static struct cli_target t; /* 8 KB */
    struct cli c;
    struct api_qs qs;
    char *filter;
    bool seen[3] = {false, false, false};
    if (size < 16 || !(filter = malloc(size - 16 + 1)))
        return;
    memcpy(filter, data + 16, size - 16);
    filter[size - 16] = '\0';
    cli_init(&c, "fuzz");
    c.from_ms = be64(data) % 253402300800000ull; /* up to 9999-12-31T23:59:59.999Z */
    c.to_ms = be64(data + 8) % 253402300800000ull;
    c.filter = filter;
    cli_target_init(&t, "/api/v1/summary");
    cli_target_add_range(&t, &c);
    if (!t.overflow) {
        if (api_qs_parse(t.buf, &qs) != 0)
            abort();
        for (size_t i = 0; i < qs.n; i++) {
            uint64_t ms = 0;
            if (strcmp(qs.name[i], "from") == 0 || strcmp(qs.name[i], "to") == 0) {
                uint64_t want = qs.name[i][0] == 'f' ? c.from_ms : c.to_ms;
                if (fl0wer_time_parse(qs.value[i], NOW_MS, &ms) != 0 || ms != want)
                    abort();
                seen[qs.name[i][0] == 'f' ? 0 : 1] = true;
            } else if (strcmp(qs.name[i], "filter") == 0) {
                if (strcmp(qs.value[i], filter) != 0)
                    abort();
                seen[2] = true;
            } else {
                abort();
            }
        }
        if (!seen[0] || !seen[1] || seen[2] != (filter[0] != '\0'))
            abort();
        api_qs_release(&qs);
    }
    cli_release(&c);
    free(filter);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char prefix[] = "/api/v1/top?";
    struct api_qs qs;
    char *uri = malloc(sizeof(prefix) + size);
    if (!uri)
        return 0;
    memcpy(uri, prefix, sizeof(prefix) - 1);
    memcpy(uri + sizeof(prefix) - 1, data, size);
    uri[sizeof(prefix) - 1 + size] = '\0';

    check_time(uri + sizeof(prefix) - 1);
    if (api_qs_parse(uri, &qs) == 0) {
        if (qs.n > API_MAX_PARAMS)
            abort();
        for (size_t i = 0; i < qs.n; i++)
            if (!qs.name[i] || !qs.value[i])
                abort();
        for (size_t r = 0; r < sizeof(routes) / sizeof(routes[0]); r++)
            check_params(&qs, routes[r].accepted, routes[r].ep);
        for (size_t i = 0; i < qs.n; i++)
            check_time(qs.value[i]);
    }
    api_qs_release(&qs);
    free(uri);
    check_cli_round_trip(data, size);
    return 0;
}
