/*
 * analysis.h - the hub daemon's glue around the analyzer: feeds it each stored batch, ticks it,
 * stores every alert in the store's alerts column family and hands it to the notifier (syslog,
 * webhook), re-reads blocklist files when they change, answers the API's alert listings, and
 * expires stored alerts with the flow retention.
 */
#ifndef FL0WER_HUB_ANALYSIS_H
#define FL0WER_HUB_ANALYSIS_H

#include <stdint.h>
#include <time.h>

#include "config.h"
#include "fl0wer/analyzer.h"
#include "fl0wer/api.h"
#include "fl0wer/notify.h"
#include "fl0wer/store.h"

#define HUB_MAX_BLOCKLISTS 16

struct hub_analysis {
    struct fl0wer_analyzer *an;
    struct fl0wer_notifier *notifier;
    struct fl0wer_store *store; /* borrowed */
    uint64_t retention_ms;
    char *blocklists[HUB_MAX_BLOCKLISTS];
    size_t n_blocklists;
    struct timespec blocklist_mtime[HUB_MAX_BLOCKLISTS];
    uint64_t store_failures;
};

/*
 * Creates the analyzer and notifier from cfg (nothing when cfg->no_analyzer) and loads the
 * blocklists. Returns 0, or -1 with a message in err (HUB_ERRLEN).
 */
int hub_analysis_start(struct hub_analysis *h, const struct hub_config *cfg,
                       struct fl0wer_store *store, char *err);
void hub_analysis_stop(struct hub_analysis *h);

/* Ingest hook: one stored batch. arg is the hub_analysis. */
void hub_analysis_on_stored(void *arg, const char *edge_name, const struct fl0wer_batch *b);

/* Advances the analyzer's windows; re-reads blocklists whose files changed. */
void hub_analysis_tick(struct hub_analysis *h, uint64_t now_ms);

/* SIGHUP: re-reads every blocklist. */
void hub_analysis_reload(struct hub_analysis *h);

/* Deletes stored alerts whose last time is older than the retention. */
void hub_analysis_gc(struct hub_analysis *h, uint64_t now_ms);

/* API hooks (arg is the hub_analysis). */
int hub_analysis_alerts(void *arg, const struct fl0wer_api_alert_query *q,
                        void (*emit)(void *emit_arg, const char *json_object), void *emit_arg);
void hub_analysis_stats(void *arg, struct fl0wer_analyzer_stats *out);

#endif
