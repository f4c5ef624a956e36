/*
 * alerts.h - the analyzer's table of alerts: one entry per ongoing condition (kind + subject),
 * updated while the condition lasts, resolved after quiet minutes, kept an hour after that.
 */
#ifndef FL0WER_ANALYZER_ALERTS_H
#define FL0WER_ANALYZER_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/analyzer.h"

#define ANZ_ALERTS_MAX 2048
#define ANZ_ALERTS_KEEP_RESOLVED_MS (3600u * 1000u)

struct anz_alerts {
    struct fl0wer_alert items[ANZ_ALERTS_MAX];
    size_t count;
    uint64_t next_seq;
    /* Alerts created, updated or resolved since the last drain, for the callback. */
    struct fl0wer_alert pending[ANZ_ALERTS_MAX];
    size_t n_pending;
    uint64_t raised[FL0WER_ALERT__COUNT];
};

/*
 * Raises or refreshes the alert whose kind and subject (src, dst, exporter, domain, port, proto,
 * ifindex, edge) equal those of cond, at now_ms. cond's value/threshold/baseline/severity replace
 * the stored ones. Queues the result for the callback.
 */
void anz_alerts_raise(struct anz_alerts *t, const struct fl0wer_alert *cond, uint64_t now_ms);

/* Resolves open alerts not refreshed within quiet_ms, and forgets old resolved ones. */
void anz_alerts_expire(struct anz_alerts *t, uint64_t now_ms, uint64_t quiet_ms);

size_t anz_alerts_open(const struct anz_alerts *t);

#endif
