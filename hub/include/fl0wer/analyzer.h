/*
 * analyzer.h - the hub's global analyzer: top talkers per minute across every site, baselines
 * per exporter and interface, and detectors (port scan, host scan, SYN/UDP flood, volume anomaly,
 * blocklist, exporter and edge health) that raise alerts.
 *
 * The hub feeds every stored batch to fl0wer_analyzer_observe() and calls fl0wer_analyzer_tick()
 * every few seconds with the wall clock. Windows are minutes of arrival time: when a tick crosses
 * a minute boundary the finished minute is evaluated and its top talkers are kept for queries.
 * Memory is fixed at creation (heavy-hitter tables with eviction), so a flood of distinct
 * addresses cannot exhaust the hub.
 *
 * Alerts: an ongoing condition (same kind and subject) updates one alert, which is resolved after
 * `resolve_after_min` quiet minutes. Every new, updated or resolved alert goes to the alert
 * callback (the hub stores it, logs it as one JSON line to syslog and posts it to a webhook).
 *
 * Thread safety: all functions lock an internal mutex; observe() is called by ingest threads,
 * tick() and the getters by others.
 */
#ifndef FL0WER_ANALYZER_H
#define FL0WER_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/batch.h"
#include "fl0wer/flow.h"

enum fl0wer_alert_kind {
    FL0WER_ALERT_PORT_SCAN = 0, /* one source, many ports of one host */
    FL0WER_ALERT_HOST_SCAN,     /* one source, one port across many hosts */
    FL0WER_ALERT_SYN_FLOOD,     /* many sources / SYN-only packets toward one destination */
    FL0WER_ALERT_UDP_FLOOD,     /* many sources / UDP packets toward one destination */
    FL0WER_ALERT_VOLUME_HIGH,   /* exporter or interface far above its baseline */
    FL0WER_ALERT_VOLUME_LOW,    /* exporter or interface far below its baseline */
    FL0WER_ALERT_BLOCKLIST,     /* traffic to or from a listed address */
    FL0WER_ALERT_EXPORTER_SILENT,
    FL0WER_ALERT_EXPORTER_LOSS,   /* sequence gaps: export packets lost */
    FL0WER_ALERT_EXPORTER_ERRORS, /* decode errors or unknown templates rising */
    FL0WER_ALERT_EDGE_SILENT,
    FL0WER_ALERT_EDGE_DROPS, /* an edge dropped records (spool full) or the kernel dropped */
    FL0WER_ALERT__COUNT
};

enum fl0wer_alert_severity { FL0WER_SEV_INFO = 1, FL0WER_SEV_WARNING = 2, FL0WER_SEV_CRITICAL = 3 };
enum fl0wer_alert_state { FL0WER_ALERT_OPEN = 0, FL0WER_ALERT_RESOLVED = 1 };

struct fl0wer_alert {
    uint64_t id;          /* stable for one ongoing condition */
    uint8_t kind;         /* enum fl0wer_alert_kind */
    uint8_t severity;     /* enum fl0wer_alert_severity */
    uint8_t state;        /* enum fl0wer_alert_state */
    uint8_t proto;        /* IP protocol involved, 0 if none */
    uint16_t port;        /* port involved, 0 if none */
    uint32_t ifindex;     /* interface involved, 0 if none */
    uint64_t first_ms;    /* condition first seen */
    uint64_t last_ms;     /* condition last seen */
    uint8_t src[FL0WER_ADDR_LEN];      /* zero when not applicable */
    uint8_t dst[FL0WER_ADDR_LEN];
    uint8_t exporter[FL0WER_ADDR_LEN];
    uint32_t domain_id;
    char edge[FL0WER_EDGE_NAME_MAX];
    double value;     /* the number that triggered it (distinct ports, pps, bytes/min, ...) */
    double threshold; /* what it was compared with */
    double baseline;  /* baseline mean where one applies */
    uint64_t updates; /* minutes the condition was seen */
};

const char *fl0wer_alert_kind_name(enum fl0wer_alert_kind k);
int fl0wer_alert_kind_parse(const char *name, enum fl0wer_alert_kind *out);
const char *fl0wer_alert_severity_name(enum fl0wer_alert_severity s);

/* Writes an alert as one JSON object (no newline). Returns the length or -1 if len is short. */
#define FL0WER_ALERT_JSON_MAX 1024
int fl0wer_alert_to_json(const struct fl0wer_alert *a, char *buf, size_t len);

/* Thresholds. Zero-initialise and call fl0wer_analyzer_config_defaults() before changing. */
struct fl0wer_analyzer_config {
    uint32_t window_ms;           /* length of a window, "minute" below (default 60000; tests
                                     shorten it; rates are per second of the window) */
    uint32_t table_size;          /* entries kept per heavy-hitter table (default 2048) */
    uint32_t scan_ports;          /* distinct ports of one host from one source (default 100) */
    uint32_t scan_hosts;          /* distinct hosts on one port from one source (default 100) */
    uint32_t scan_max_packets;    /* only probes count toward scans: flows of at most this many
                                     raw packets per merged flow, TCP ones without PSH (no data
                                     pushed) (default 3; 0 = every TCP/UDP flow counts) */
    uint32_t flood_sources;       /* distinct sources toward one destination (default 500) */
    uint64_t flood_pps;           /* packets/s toward one destination (default 20000) */
    double flood_syn_share;       /* SYN-only share of TCP packets for SYN flood (default 0.7) */
    double flood_baseline_factor; /* pps above k x the destination's baseline (default 10) */
    double volume_k;              /* deviation band in standard deviations (default 4) */
    double volume_min_share;      /* band at least this share of the mean (default 0.5) */
    uint64_t volume_min_bytes;    /* ignore series below this many bytes/minute (default 1 MB) */
    uint32_t volume_warmup_min;   /* minutes before a baseline judges (default 15) */
    double ewma_alpha;            /* baseline smoothing (default 0.1) */
    uint32_t silent_after_min;    /* exporter/edge silent after this many minutes (default 5) */
    uint64_t loss_gaps_per_min;   /* sequence gaps per minute for exporter loss (default 10) */
    uint64_t errors_per_min;      /* decode errors + unknown templates per minute (default 10) */
    uint32_t resolve_after_min;   /* quiet minutes before an alert resolves (default 3) */
};

void fl0wer_analyzer_config_defaults(struct fl0wer_analyzer_config *cfg);

/* Alert sink: called (outside the analyzer's lock) for each new, updated or resolved alert. */
typedef void (*fl0wer_alert_cb)(void *arg, const struct fl0wer_alert *a);

struct fl0wer_analyzer;

/* Creates an analyzer; cfg is copied. Returns 0 or -ENOMEM / -EINVAL. */
int fl0wer_analyzer_create(struct fl0wer_analyzer **out, const struct fl0wer_analyzer_config *cfg,
                           fl0wer_alert_cb cb, void *cb_arg);
void fl0wer_analyzer_destroy(struct fl0wer_analyzer *a);

/*
 * Replaces the blocklists with the files at paths (reading them now). Returns the number of
 * prefixes loaded, or -errno when a file could not be read (the old lists are then kept). When
 * skipped is not NULL it receives the number of lines that were not a prefix (a line with a NUL
 * byte is one of them; the lines after it are read as usual).
 */
int fl0wer_analyzer_load_blocklists(struct fl0wer_analyzer *a, const char *const *paths,
                                    size_t n_paths, size_t *skipped);

/* Feeds the flows, exporter counters and edge report of one stored batch, received at now_ms. */
void fl0wer_analyzer_observe(struct fl0wer_analyzer *a, const char *edge_name,
                             const struct fl0wer_batch *b, uint64_t now_ms);

/* Feeds flows alone (tests, replays). */
void fl0wer_analyzer_observe_flows(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows,
                                   size_t n, uint64_t now_ms);

/* Closes finished minutes and runs the detectors. Call every few seconds. */
void fl0wer_analyzer_tick(struct fl0wer_analyzer *a, uint64_t now_ms);

/* Top talkers of the last finished minute. */
enum fl0wer_talker_kind {
    FL0WER_TALKERS_SRC = 0,
    FL0WER_TALKERS_DST,
    FL0WER_TALKERS_CONV, /* src -> dst pairs */
    FL0WER_TALKERS_PORT, /* protocol + destination port */
    FL0WER_TALKERS__COUNT
};

struct fl0wer_talker {
    uint8_t src[FL0WER_ADDR_LEN]; /* SRC, CONV */
    uint8_t dst[FL0WER_ADDR_LEN]; /* DST, CONV */
    uint8_t proto;                /* PORT */
    uint16_t port;                /* PORT */
    uint64_t bytes;               /* sampling-scaled */
    uint64_t packets;
    uint64_t flows;
    uint64_t error; /* over-count bound of the heavy-hitter sketch, in bytes */
};

/* Copies up to max talkers of kind, heaviest by bytes first, and the minute they belong to. */
size_t fl0wer_analyzer_top_talkers(struct fl0wer_analyzer *a, enum fl0wer_talker_kind kind,
                                   struct fl0wer_talker *out, size_t max, uint64_t *minute_ms);

/* Copies up to max alerts (open ones and those resolved within the last hour), newest first. */
size_t fl0wer_analyzer_alerts(struct fl0wer_analyzer *a, struct fl0wer_alert *out, size_t max);

/* Counters for /metrics: alerts raised by kind, flows observed, sketch evictions. */
struct fl0wer_analyzer_stats {
    uint64_t flows_observed;
    uint64_t minutes_closed;
    uint64_t alerts_raised[FL0WER_ALERT__COUNT];
    uint64_t alerts_open;
    uint64_t sketch_evictions;
    uint64_t memory_bytes; /* fixed at creation */
};
void fl0wer_analyzer_stats(struct fl0wer_analyzer *a, struct fl0wer_analyzer_stats *out);

#endif /* FL0WER_ANALYZER_H */
