/*
 * alerts.c - alert table (raise, refresh, resolve), names, and the JSON form of an alert.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alerts.h"

static const char *const kind_names[FL0WER_ALERT__COUNT] = {
    [FL0WER_ALERT_PORT_SCAN] = "port_scan",
    [FL0WER_ALERT_HOST_SCAN] = "host_scan",
    [FL0WER_ALERT_SYN_FLOOD] = "syn_flood",
    [FL0WER_ALERT_UDP_FLOOD] = "udp_flood",
    [FL0WER_ALERT_VOLUME_HIGH] = "volume_high",
    [FL0WER_ALERT_VOLUME_LOW] = "volume_low",
    [FL0WER_ALERT_BLOCKLIST] = "blocklist",
    [FL0WER_ALERT_EXPORTER_SILENT] = "exporter_silent",
    [FL0WER_ALERT_EXPORTER_LOSS] = "exporter_loss",
    [FL0WER_ALERT_EXPORTER_ERRORS] = "exporter_errors",
    [FL0WER_ALERT_EDGE_SILENT] = "edge_silent",
    [FL0WER_ALERT_EDGE_DROPS] = "edge_drops",
};

const char *fl0wer_alert_kind_name(enum fl0wer_alert_kind k)
{
    return (unsigned)k < FL0WER_ALERT__COUNT ? kind_names[k] : "unknown";
}

int fl0wer_alert_kind_parse(const char *name, enum fl0wer_alert_kind *out)
{
    for (unsigned k = 0; k < FL0WER_ALERT__COUNT; k++) {
        if (strcmp(name, kind_names[k]) == 0) {
            *out = (enum fl0wer_alert_kind)k;
            return 0;
        }
    }
    return -1;
}

const char *fl0wer_alert_severity_name(enum fl0wer_alert_severity s)
{
    switch (s) {
    case FL0WER_SEV_INFO:
        return "info";
    case FL0WER_SEV_WARNING:
        return "warning";
    case FL0WER_SEV_CRITICAL:
        return "critical";
    }
    return "unknown";
}

/* True when a and b describe the same condition (kind and subject). */
static int same_subject(const struct fl0wer_alert *a, const struct fl0wer_alert *b)
{
    return a->kind == b->kind && a->port == b->port && a->proto == b->proto &&
           a->ifindex == b->ifindex && a->domain_id == b->domain_id &&
           memcmp(a->src, b->src, FL0WER_ADDR_LEN) == 0 &&
           memcmp(a->dst, b->dst, FL0WER_ADDR_LEN) == 0 &&
           memcmp(a->exporter, b->exporter, FL0WER_ADDR_LEN) == 0 &&
           strcmp(a->edge, b->edge) == 0;
}

static void queue(struct anz_alerts *t, const struct fl0wer_alert *a)
{
    if (t->n_pending < ANZ_ALERTS_MAX)
        t->pending[t->n_pending++] = *a;
}

/* Index of the oldest resolved alert, or of the oldest alert at all when none is resolved. */
static size_t victim(const struct anz_alerts *t)
{
    size_t best = 0;
    int best_resolved = 0;

    for (size_t i = 0; i < t->count; i++) {
        int resolved = t->items[i].state == FL0WER_ALERT_RESOLVED;
        if ((resolved && !best_resolved) ||
            (resolved == best_resolved && t->items[i].last_ms < t->items[best].last_ms)) {
            best = i;
            best_resolved = resolved;
        }
    }
    return best;
}

void anz_alerts_raise(struct anz_alerts *t, const struct fl0wer_alert *cond, uint64_t now_ms)
{
    struct fl0wer_alert *a = NULL;

    for (size_t i = 0; i < t->count; i++) {
        if (t->items[i].state == FL0WER_ALERT_OPEN && same_subject(&t->items[i], cond)) {
            a = &t->items[i];
            break;
        }
    }
    if (a == NULL) {
        a = t->count < ANZ_ALERTS_MAX ? &t->items[t->count++] : &t->items[victim(t)];
        *a = *cond;
        a->id = now_ms * 1024u + (++t->next_seq & 1023u); /* unique, fits a JSON double */
        a->first_ms = now_ms;
        a->updates = 0;
        a->state = FL0WER_ALERT_OPEN;
        if (cond->kind < FL0WER_ALERT__COUNT)
            t->raised[cond->kind]++;
    } else {
        a->value = cond->value;
        a->threshold = cond->threshold;
        a->baseline = cond->baseline;
        if (cond->severity > a->severity)
            a->severity = cond->severity;
    }
    a->last_ms = now_ms;
    a->updates++;
    queue(t, a);
}

void anz_alerts_expire(struct anz_alerts *t, uint64_t now_ms, uint64_t quiet_ms)
{
    size_t kept = 0;

    for (size_t i = 0; i < t->count; i++) {
        struct fl0wer_alert *a = &t->items[i];
        if (a->state == FL0WER_ALERT_OPEN && now_ms >= a->last_ms + quiet_ms) {
            a->state = FL0WER_ALERT_RESOLVED;
            a->last_ms = now_ms;
            queue(t, a);
        }
        if (a->state == FL0WER_ALERT_RESOLVED && now_ms >= a->last_ms + ANZ_ALERTS_KEEP_RESOLVED_MS)
            continue;
        t->items[kept++] = *a;
    }
    t->count = kept;
}

size_t anz_alerts_open(const struct anz_alerts *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->count; i++)
        n += t->items[i].state == FL0WER_ALERT_OPEN;
    return n;
}

int fl0wer_alert_to_json(const struct fl0wer_alert *a, char *buf, size_t len)
{
    char src[FL0WER_ADDR_STRLEN] = "", dst[FL0WER_ADDR_STRLEN] = "";
    char exp[FL0WER_ADDR_STRLEN] = "", edge[2 * FL0WER_EDGE_NAME_MAX];
    size_t j = 0;
    int n;

    if (!fl0wer_addr_is_zero(a->src))
        fl0wer_addr_format(a->src, src, sizeof(src));
    if (!fl0wer_addr_is_zero(a->dst))
        fl0wer_addr_format(a->dst, dst, sizeof(dst));
    if (!fl0wer_addr_is_zero(a->exporter))
        fl0wer_addr_format(a->exporter, exp, sizeof(exp));
    /* Edge names are [A-Za-z0-9._-] when they come from keys; escape anything else anyway. */
    for (size_t i = 0; a->edge[i] && i < FL0WER_EDGE_NAME_MAX && j + 2 < sizeof(edge); i++) {
        unsigned char c = (unsigned char)a->edge[i];
        if (c == '"' || c == '\\') {
            edge[j++] = '\\';
            edge[j++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            edge[j++] = (char)c;
        }
    }
    edge[j] = '\0';
    n = snprintf(buf, len,
                 "{\"id\":%" PRIu64 ",\"kind\":\"%s\",\"severity\":\"%s\",\"state\":\"%s\""
                 ",\"first\":%" PRIu64 ",\"last\":%" PRIu64 ",\"src\":\"%s\",\"dst\":\"%s\""
                 ",\"proto\":%u,\"port\":%u,\"exporter\":\"%s\",\"domain\":%" PRIu32
                 ",\"ifindex\":%" PRIu32 ",\"edge\":\"%s\",\"value\":%.0f,\"threshold\":%.0f"
                 ",\"baseline\":%.0f,\"updates\":%" PRIu64 "}",
                 a->id, fl0wer_alert_kind_name((enum fl0wer_alert_kind)a->kind),
                 fl0wer_alert_severity_name((enum fl0wer_alert_severity)a->severity),
                 a->state == FL0WER_ALERT_OPEN ? "open" : "resolved", a->first_ms, a->last_ms, src,
                 dst, a->proto, a->port, exp, a->domain_id, a->ifindex, edge, a->value,
                 a->threshold, a->baseline, a->updates);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return n;
}
