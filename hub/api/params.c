/*
 * params.c - the query string of an API request: splitting and percent-decoding it, then
 * validating each parameter an endpoint accepts (from, to, filter, by, order, limit, step,
 * unscaled). Any problem becomes a 400 with {"error":"...","param":"..."}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define API_DEFAULT_RANGE_MS  3600000ull
#define API_TOP_MAX           10000u
#define API_TOP_DEFAULT       10u
#define API_FLOWS_MAX         1000000u
#define API_FLOWS_DEFAULT     100u
#define API_SERIES_MAX_POINTS 100000u
#define API_SERIES_AUTO_POINTS 360u

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s in place ('+' is a space). Returns -1 on a bad escape or an embedded NUL. */
static int pct_decode(char *s)
{
    char *d = s;
    for (; *s; s++) {
        if (*s == '+') {
            *d++ = ' ';
        } else if (*s == '%') {
            int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *d++ = (char)(hi * 16 + lo);
            s += 2;
        } else {
            *d++ = *s;
        }
    }
    *d = '\0';
    return 0;
}

int api_qs_parse(const char *uri, struct api_qs *qs)
{
    const char *q = strchr(uri, '?');
    memset(qs, 0, sizeof(*qs));
    if (!q || !q[1])
        return 0;
    if (strlen(q) > 16384 || !(qs->storage = strdup(q + 1)))
        return -1;
    char *save = NULL;
    for (char *part = strtok_r(qs->storage, "&", &save); part; part = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(part, '=');
        if (qs->n == API_MAX_PARAMS)
            return -1;
        if (eq)
            *eq = '\0';
        if (pct_decode(part) != 0 || (eq && pct_decode(eq + 1) != 0))
            return -1;
        qs->name[qs->n] = part;
        qs->value[qs->n] = eq ? eq + 1 : part + strlen(part);
        qs->n++;
    }
    return 0;
}

void api_qs_release(struct api_qs *qs)
{
    free(qs->storage);
    memset(qs, 0, sizeof(*qs));
}

void api_error_body(struct api_buf *b, const char *msg, const char *param)
{
    struct jw w;
    b->len = 0;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_kstr(&w, "error", msg);
    if (param)
        jw_kstr(&w, "param", param);
    jw_obj_end(&w);
}

/* Parses a positive decimal of at most 9 digits. Returns 0 or -1. */
static int parse_count(const char *s, size_t *out)
{
    size_t v = 0;
    int n = 0;
    for (; *s; s++, n++) {
        if (*s < '0' || *s > '9' || n >= 9)
            return -1;
        v = v * 10 + (size_t)(*s - '0');
    }
    if (n == 0)
        return -1;
    *out = v;
    return 0;
}

/* Default series step: the smallest whole minute giving at most API_SERIES_AUTO_POINTS points. */
static uint64_t auto_step(uint64_t range_ms)
{
    uint64_t step = (range_ms + API_SERIES_AUTO_POINTS - 1) / API_SERIES_AUTO_POINTS;
    step = (step + 59999) / 60000 * 60000;
    return step < 60000 ? 60000 : step;
}

/* Writes the filter compile error with offset/length as a 400 body. */
static void filter_error_body(struct api_buf *b, const struct fl0wer_filter_error *fe)
{
    struct jw w;
    b->len = 0;
    jw_init(&w, b);
    jw_obj_begin(&w);
    jw_kstr(&w, "error", fe->message[0] ? fe->message : "filter syntax error");
    jw_kstr(&w, "param", "filter");
    jw_ku64(&w, "offset", fe->offset);
    jw_ku64(&w, "length", fe->length);
    jw_obj_end(&w);
}

/* Handles one name=value. Returns 0 or 400 (err filled). */
static int param_one(const char *name, const char *v, unsigned acc, enum api_endpoint ep,
                     uint64_t now_ms, struct api_params *p, bool *seen_from, bool *seen_to,
                     bool *seen_step, struct api_buf *err)
{
    char msg[200];
    if ((acc & API_P_RANGE) && (strcmp(name, "from") == 0 || strcmp(name, "to") == 0)) {
        uint64_t t;
        if (fl0wer_time_parse(v, now_ms, &t) != 0) {
            snprintf(msg, sizeof(msg),
                     "bad time '%.60s' (use ISO-8601 UTC, unix seconds, -1h, -30m, -7d or now)",
                     v);
            api_error_body(err, msg, name);
            return 400;
        }
        if (name[0] == 'f') {
            p->from_ms = t;
            *seen_from = true;
        } else {
            p->to_ms = t;
            *seen_to = true;
        }
        return 0;
    }
    if ((acc & API_P_FILTER) && strcmp(name, "filter") == 0) {
        struct fl0wer_filter_error fe;
        memset(&fe, 0, sizeof(fe));
        if (p->filter) {
            api_error_body(err, "filter given twice", "filter");
            return 400;
        }
        int rc = fl0wer_filter_compile(v, &p->filter, &fe);
        if (rc == FL0WER_FILTER_ERR_SYNTAX) {
            p->filter = NULL;
            filter_error_body(err, &fe);
            return 400;
        }
        if (rc != 0) {
            p->filter = NULL;
            api_error_body(err, "cannot compile filter: out of memory", "filter");
            return 503;
        }
        p->filter_text = v;
        return 0;
    }
    if ((acc & API_P_UNSCALED) && strcmp(name, "unscaled") == 0) {
        if (!*v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            p->unscaled = true;
        else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
            p->unscaled = false;
        else {
            api_error_body(err, "unscaled must be true, false, 1 or 0", name);
            return 400;
        }
        return 0;
    }
    if ((acc & API_P_TOP) && strcmp(name, "by") == 0) {
        if (fl0wer_dimension_parse(v, &p->by) != 0) {
            api_error_body(err, "by must be one of srcip, dstip, srcport, dstport, proto, "
                                "exporter, srcas, dstas, inif, outif", name);
            return 400;
        }
        return 0;
    }
    if ((acc & API_P_TOP) && strcmp(name, "order") == 0) {
        if (fl0wer_order_parse(v, &p->order) != 0) {
            api_error_body(err, "order must be bytes, packets or flows", name);
            return 400;
        }
        return 0;
    }
    if ((acc & (API_P_TOP | API_P_LIMIT)) && strcmp(name, "limit") == 0) {
        size_t max = ep == API_EP_FLOWS ? API_FLOWS_MAX : API_TOP_MAX;
        if (parse_count(v, &p->limit) != 0 || p->limit < 1 || p->limit > max) {
            snprintf(msg, sizeof(msg), "limit must be a number from 1 to %zu", max);
            api_error_body(err, msg, name);
            return 400;
        }
        return 0;
    }
    if ((acc & API_P_ALERT) && strcmp(name, "kind") == 0) {
        enum fl0wer_alert_kind k;
        if (strcmp(v, "any") == 0) {
            p->alert_kind = -1;
            return 0;
        }
        if (fl0wer_alert_kind_parse(v, &k) != 0) {
            api_error_body(err, "kind must be any, port_scan, host_scan, syn_flood, udp_flood, "
                                "volume_high, volume_low, blocklist, exporter_silent, "
                                "exporter_loss, exporter_errors, edge_silent or edge_drops",
                           name);
            return 400;
        }
        p->alert_kind = (int)k;
        return 0;
    }
    if ((acc & API_P_ALERT) && strcmp(name, "state") == 0) {
        if (strcmp(v, "any") == 0)
            p->alert_state = -1;
        else if (strcmp(v, "open") == 0)
            p->alert_state = FL0WER_ALERT_OPEN;
        else if (strcmp(v, "resolved") == 0)
            p->alert_state = FL0WER_ALERT_RESOLVED;
        else {
            api_error_body(err, "state must be open, resolved or any", name);
            return 400;
        }
        return 0;
    }
    if ((acc & API_P_STEP) && strcmp(name, "step") == 0) {
        if (fl0wer_duration_parse(v, &p->step_ms) != 0 || p->step_ms < 60000 ||
            p->step_ms % 60000 != 0) {
            api_error_body(err, "step must be a whole number of minutes (60, 5m, 1h)", name);
            return 400;
        }
        *seen_step = true;
        return 0;
    }
    snprintf(msg, sizeof(msg), "unknown parameter '%.60s'", name);
    api_error_body(err, msg, name);
    return 400;
}

int api_params_parse(const struct api_qs *qs, unsigned accepted, enum api_endpoint ep,
                     uint64_t now_ms, struct api_params *p, struct api_buf *err)
{
    bool seen_from = false, seen_to = false, seen_step = false;
    int rc;
    memset(p, 0, sizeof(*p));
    p->by = FL0WER_DIM_SRCIP;
    p->order = FL0WER_ORDER_BYTES;
    p->limit = ep == API_EP_FLOWS ? API_FLOWS_DEFAULT : API_TOP_DEFAULT;
    p->alert_kind = -1;
    p->alert_state = -1;
    for (size_t i = 0; i < qs->n; i++) {
        rc = param_one(qs->name[i], qs->value[i], accepted, ep, now_ms, p, &seen_from, &seen_to,
                       &seen_step, err);
        if (rc != 0)
            return rc;
    }
    if (accepted & API_P_RANGE) {
        if (!seen_to)
            p->to_ms = now_ms;
        if (!seen_from)
            p->from_ms = p->to_ms > API_DEFAULT_RANGE_MS ? p->to_ms - API_DEFAULT_RANGE_MS : 0;
        if (p->from_ms >= p->to_ms) {
            api_error_body(err, "from must be before to", seen_from ? "from" : "to");
            return 400;
        }
    }
    if (accepted & API_P_STEP) {
        if (!seen_step)
            p->step_ms = auto_step(p->to_ms - p->from_ms);
        if ((p->to_ms - p->from_ms) / p->step_ms > API_SERIES_MAX_POINTS) {
            api_error_body(err, "too many points: use a larger step or a shorter range", "step");
            return 400;
        }
    }
    return 0;
}

void api_params_release(struct api_params *p)
{
    if (p->filter)
        fl0wer_filter_destroy(p->filter);
    p->filter = NULL;
}
