/*
 * test_api_params.c - the API's query string and parameters (hub/api/params.c) and the shared
 * time syntax (hub/api/timeparse.c) with exact values: every time form and its limits (expected
 * epochs computed independently), durations, %-decoding, parameter counts, defaults, limits,
 * the series step and point cap, and the exact 400 bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define NOW 1700000000000ull /* 2023-11-14T22:13:20Z */

static void test_times(void **state)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {
        {"now", NOW},
        {"-1h", NOW - 3600000},
        {"-30m", NOW - 1800000},
        {"-90s", NOW - 90000},
        {"-2w", NOW - 1209600000},
        {"-0", NOW},
        {"1700000000", 1700000000000ull},
        {"0", 0},
        {"253402300799", 253402300799000ull},
        {"2024-02-29T12:34:56.789Z", 1709210096789ull},
        {"2024-02-29 12:34:56.789+00:00", 1709210096789ull},
        {"2024-01-02", 1704153600000ull},
        {"2024-01-02T03:04", 1704164640000ull},
        {"2024-01-02t03:04z", 1704164640000ull},
        {"2024-01-02T03:04:00.5-00:00", 1704164640500ull},
        {"2024-01-02T03:04:00.123456789+0000", 1704164640123ull},
        {"1970-01-01T00:00:00Z", 0},
        {"9999-12-31T23:59:59.999Z", 253402300799999ull},
    };
    static const char *const bad[] = {
        "", "-", "yesterday", "1e3", "-1y", "-5M", "--1h", "253402300800", "1234567890123456",
        "2023-02-29", "2024-02-30", "2024-13-01", "2024-00-10", "2024-01-32", "1969-12-31",
        "2024-01-02T24:00", "2024-01-02T03:60", "2024-01-02T03", "2024-01-02T03:04:05.",
        "2024-01-02T03:04:05.1234567890Z", "2024-01-02T03:04:05+01:00", "2024-01-02Z ",
        "2024-1-02", "-99999999999h",
    };
    uint64_t ms;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = 1;
        if (fl0wer_time_parse(good[i].text, NOW, &ms) != 0 || ms != good[i].ms)
            fail_msg("'%s': got %llu, want %llu", good[i].text, (unsigned long long)ms,
                     (unsigned long long)good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fl0wer_time_parse(bad[i], NOW, &ms) == 0)
            fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)ms);
    assert_int_equal(fl0wer_time_parse(NULL, NOW, &ms), -1);
}

static void test_durations(void **state)
{
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {{"90s", 90000},       {"5m", 300000},       {"5min", 300000}, {"1h", 3600000},
                {"1d", 86400000},     {"1w", 604800000},    {"250ms", 250},   {"60", 60000},
                {"0", 0},             {"999999999999999ms", 999999999999999ull}};
    static const char *const bad[] = {"", "m", "5M", "1.5h", "-5m", "5 m", "5mm", "1000000000000000"};
    uint64_t ms;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = 1;
        assert_int_equal(fl0wer_duration_parse(good[i].text, &ms), 0);
        assert_true(ms == good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (fl0wer_duration_parse(bad[i], &ms) == 0)
            fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)ms);
}

static void test_query_string(void **state)
{
    struct api_qs qs;
    assert_int_equal(api_qs_parse("/api/v1/top", &qs), 0);
    assert_int_equal(qs.n, 0);
    api_qs_release(&qs);
    assert_int_equal(api_qs_parse("/api/v1/top?", &qs), 0);
    assert_int_equal(qs.n, 0);
    api_qs_release(&qs);
    assert_int_equal(api_qs_parse("/x?a=1&&b+c=%41%2b%2F+z&flag&=v&e=", &qs), 0);
    assert_int_equal(qs.n, 5);
    assert_string_equal(qs.name[0], "a");
    assert_string_equal(qs.value[0], "1");
    assert_string_equal(qs.name[1], "b c");
    assert_string_equal(qs.value[1], "A+/ z");
    assert_string_equal(qs.name[2], "flag");
    assert_string_equal(qs.value[2], "");
    assert_string_equal(qs.name[3], "");
    assert_string_equal(qs.value[3], "v");
    assert_string_equal(qs.name[4], "e");
    assert_string_equal(qs.value[4], "");
    api_qs_release(&qs);
    static const char *const bad[] = {"/x?a=%4", "/x?a=%", "/x?a=%zz", "/x?a=%00", "/x?%4g=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(api_qs_parse(bad[i], &qs), -1);
        api_qs_release(&qs);
    }
    /* 16 parameters are fine, 17 are not. */
    char uri[256] = "/x?";
    for (int i = 0; i < 16; i++)
        snprintf(uri + strlen(uri), sizeof(uri) - strlen(uri), "%sp%d=1", i ? "&" : "", i);
    assert_int_equal(api_qs_parse(uri, &qs), 0);
    assert_int_equal(qs.n, 16);
    api_qs_release(&qs);
    strcat(uri, "&p16=1");
    assert_int_equal(api_qs_parse(uri, &qs), -1);
    api_qs_release(&qs);
}

/* Parses uri's parameters for ep (accepting acc); *body gets the error. Returns the status. */
static int params(const char *uri, unsigned acc, enum api_endpoint ep, struct api_params *p,
                  char *body, size_t len)
{
    struct api_qs qs;
    struct api_buf err;
    api_buf_init(&err);
    assert_int_equal(api_qs_parse(uri, &qs), 0);
    int rc = api_params_parse(&qs, acc, ep, NOW, p, &err);
    snprintf(body, len, "%s", rc ? err.data : "");
    api_params_release(p);
    api_qs_release(&qs);
    api_buf_release(&err);
    return rc;
}

#define TOP (API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_TOP)
#define SERIES (API_P_RANGE | API_P_FILTER | API_P_UNSCALED | API_P_STEP)
#define FLOWS (API_P_RANGE | API_P_FILTER | API_P_LIMIT)
#define ALERTS (API_P_RANGE | API_P_FILTER | API_P_ALERT | API_P_LIMIT)

static void test_defaults_and_values(void **state)
{
    struct api_params p;
    char body[512];
    assert_int_equal(params("/api/v1/top", TOP, API_EP_TOP, &p, body, sizeof(body)), 0);
    assert_true(p.to_ms == NOW && p.from_ms == NOW - 3600000);
    assert_int_equal(p.limit, 10);
    assert_int_equal(p.by, FL0WER_DIM_SRCIP);
    assert_int_equal(p.order, FL0WER_ORDER_BYTES);
    assert_false(p.unscaled);
    assert_int_equal(params("/api/v1/flows", FLOWS, API_EP_FLOWS, &p, body, sizeof(body)), 0);
    assert_int_equal(p.limit, 100);
    assert_int_equal(params("/api/v1/top?from=2024-01-02&to=2024-01-02T03:04&by=dstport&"
                            "order=packets&limit=10000&unscaled",
                            TOP, API_EP_TOP, &p, body, sizeof(body)), 0);
    assert_true(p.from_ms == 1704153600000ull && p.to_ms == 1704164640000ull);
    assert_int_equal(p.by, FL0WER_DIM_DSTPORT);
    assert_int_equal(p.order, FL0WER_ORDER_PACKETS);
    assert_int_equal(p.limit, 10000);
    assert_true(p.unscaled);
    assert_int_equal(params("/api/v1/flows?limit=1000000", FLOWS, API_EP_FLOWS, &p, body,
                            sizeof(body)), 0);
    assert_int_equal(p.limit, 1000000);
    assert_int_equal(params("/api/v1/alerts?kind=port_scan&state=resolved", ALERTS,
                            API_EP_ALERTS, &p, body, sizeof(body)), 0);
    assert_int_equal(p.alert_kind, FL0WER_ALERT_PORT_SCAN);
    assert_int_equal(p.alert_state, FL0WER_ALERT_RESOLVED);
    /* Series: 1 h -> one-minute steps; 7 d -> 28 min (at most 360 points); 5m as given. */
    assert_int_equal(params("/api/v1/series", SERIES, API_EP_SERIES, &p, body, sizeof(body)), 0);
    assert_int_equal(p.step_ms, 60000);
    assert_int_equal(params("/api/v1/series?from=-7d", SERIES, API_EP_SERIES, &p, body,
                            sizeof(body)), 0);
    assert_int_equal(p.step_ms, 1680000);
    assert_int_equal(params("/api/v1/series?from=-69d&step=1m", SERIES, API_EP_SERIES, &p, body,
                            sizeof(body)), 0); /* 99,360 points */
    assert_int_equal(p.step_ms, 60000);
}

static void test_errors(void **state)
{
    static const struct {
        const char *uri;
        unsigned acc;
        enum api_endpoint ep;
        const char *body;
    } cases[] = {
        {"/x?from=yesterday", TOP, API_EP_TOP,
         "{\"error\":\"bad time 'yesterday' (use ISO-8601 UTC, unix seconds, -1h, -30m, -7d or "
         "now)\",\"param\":\"from\"}"},
        {"/x?from=now&to=-1h", TOP, API_EP_TOP,
         "{\"error\":\"from must be before to\",\"param\":\"from\"}"},
        {"/x?to=0", TOP, API_EP_TOP, "{\"error\":\"from must be before to\",\"param\":\"to\"}"},
        {"/x?limit=10001", TOP, API_EP_TOP,
         "{\"error\":\"limit must be a number from 1 to 10000\",\"param\":\"limit\"}"},
        {"/x?limit=0", FLOWS, API_EP_FLOWS,
         "{\"error\":\"limit must be a number from 1 to 1000000\",\"param\":\"limit\"}"},
        {"/x?limit=1234567890", FLOWS, API_EP_FLOWS,
         "{\"error\":\"limit must be a number from 1 to 1000000\",\"param\":\"limit\"}"},
        {"/x?by=src", TOP, API_EP_TOP,
         "{\"error\":\"by must be one of srcip, dstip, srcport, dstport, proto, exporter, srcas, "
         "dstas, inif, outif\",\"param\":\"by\"}"},
        {"/x?unscaled=yes", TOP, API_EP_TOP,
         "{\"error\":\"unscaled must be true, false, 1 or 0\",\"param\":\"unscaled\"}"},
        {"/x?by=dstip", FLOWS, API_EP_FLOWS,
         "{\"error\":\"unknown parameter 'by'\",\"param\":\"by\"}"},
        {"/x?step=90s", SERIES, API_EP_SERIES,
         "{\"error\":\"step must be a whole number of minutes (60, 5m, 1h)\",\"param\":\"step\"}"},
        {"/x?from=-70d&step=1m", SERIES, API_EP_SERIES,
         "{\"error\":\"too many points: use a larger step or a shorter range\",\"param\":\"step\"}"},
        {"/x?state=closed", ALERTS, API_EP_ALERTS,
         "{\"error\":\"state must be open, resolved or any\",\"param\":\"state\"}"},
        {"/x?filter=proto+tcp&filter=proto+udp", TOP, API_EP_TOP,
         "{\"error\":\"filter given twice\",\"param\":\"filter\"}"},
        {"/x?%e9%01=1", TOP, API_EP_TOP,
         "{\"error\":\"unknown parameter '\xef\xbf\xbd\\u0001'\",\"param\":\"\xef\xbf\xbd\\u0001\"}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct api_params p;
        char body[512];
        int rc = params(cases[i].uri, cases[i].acc, cases[i].ep, &p, body, sizeof(body));
        if (rc != 400 || strcmp(body, cases[i].body) != 0)
            fail_msg("%s: %d %s", cases[i].uri, rc, body);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times),        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_query_string), cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
