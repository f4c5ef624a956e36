/*
 * analyzer_internal.h - the analyzer's state, shared by analyzer.c (feeding, lifecycle) and
 * detect.c (evaluating a finished minute).
 */
#ifndef FL0WER_ANALYZER_INTERNAL_H
#define FL0WER_ANALYZER_INTERNAL_H

#include <pthread.h>

#include "alerts.h"
#include "baseline.h"
#include "blocklist.h"
#include "fl0wer/analyzer.h"
#include "map.h"
#include "topk.h"

#define ANZ_SERIES_MAX 8192
#define ANZ_EXPORTERS_MAX 4096
#define ANZ_EDGES_MAX 1024

/*
 * Key of a volume series: exporter + domain, and interface (0 = the exporter as a whole, the sum
 * of its other series, made when a minute closes; ANZ_SERIES_NO_IF = its flows without an input
 * interface, summed in but never judged itself).
 */
#define ANZ_SERIES_NO_IF 0xffffffffu
struct anz_series_key {
    uint8_t exporter[FL0WER_ADDR_LEN];
    uint32_t domain_id;
    uint32_t ifindex;
};

struct anz_series {
    struct anz_baseline bytes;
    uint64_t cur_bytes; /* this minute */
};

/* One way of the series lookup cache (2^bits sets of 2): the key as three words, its series. */
#define ANZ_SERIES_CACHE_BITS 8
struct anz_series_slot {
    uint64_t w[3]; /* exporter (16 bytes), domain_id | ifindex << 32 */
    struct anz_series *s;
};

/* Per destination packet-rate baselines (flood detection). */
struct anz_dst_baseline {
    struct anz_baseline pps;
    uint64_t last_minute;
};

struct anz_exporter_key {
    uint8_t exporter[FL0WER_ADDR_LEN];
    uint32_t domain_id;
    char edge[FL0WER_EDGE_NAME_MAX];
};

struct anz_exporter {
    uint64_t last_seen_ms;
    uint64_t gaps, errors;           /* last cumulative values reported */
    uint64_t gaps_min, errors_min;   /* increase during the current minute */
};

struct anz_edge {
    uint64_t last_seen_ms;
    uint64_t dropped, kernel_drops;  /* last cumulative values reported */
    uint64_t dropped_min;            /* increase during the current minute */
};

/* Heavy-hitter tables for one minute. */
struct anz_window {
    uint64_t minute; /* start, ms */
    struct anz_topk src, conv, port;        /* talkers by bytes */
    struct anz_topk victim;                 /* destinations by bytes: the destination talkers
                                               and the flood detector's table; distinct srcs;
                                               aux SYN-only packets, aux2 UDP packets, aux3 TCP
                                               packets */
    struct anz_topk scan_pair;              /* (src, dst) by flows; distinct dst ports */
    struct anz_topk scan_port;              /* (src, proto, port) by flows; distinct dsts */
    struct anz_topk listed;                 /* (src, dst) touching a blocklisted address */
    void *arena;                            /* the tables' arrays (window.c) */
    size_t arena_len;
};

#define ANZ_WINDOW_TABLES 7

/* Creates the window's tables of cap entries in one huge-page mapping. Returns 0 or -1; on
 * failure anz_window_release cleans up what was made. */
int anz_window_init(struct anz_window *w, size_t cap);
void anz_window_release(struct anz_window *w);

/* A flow as the heavy-hitter tables need it, staged until a fold (feed.c): one cache line. */
struct anz_staged {
    uint8_t src[FL0WER_ADDR_LEN];
    uint8_t dst[FL0WER_ADDR_LEN];
    uint64_t bytes, packets; /* sampling-scaled */
    uint64_t flows;
    uint16_t dst_port;
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t probe; /* counts toward scans (feed.c: is_probe) */
};

#define ANZ_STAGE_MAX 32768 /* staged flows folded in one run: ~9 of the edge's 256 KiB batches, 2 MiB */

struct fl0wer_analyzer {
    pthread_mutex_t lock;
    struct fl0wer_analyzer_config cfg;
    fl0wer_alert_cb cb;
    void *cb_arg;

    struct anz_window win;
    struct anz_staged *stage; /* ANZ_STAGE_MAX flows of the current minute not yet folded */
    size_t n_staged;
    struct anz_map series;    /* anz_series_key -> anz_series */
    struct anz_series_slot series_cache[2u << ANZ_SERIES_CACHE_BITS];
    struct anz_map dst_base;  /* 16-byte address -> anz_dst_baseline */
    struct anz_map exporters; /* anz_exporter_key -> anz_exporter */
    struct anz_map edges;     /* edge name[64] -> anz_edge */
    struct anz_blocklist blocklist;
    struct anz_alerts *alerts;

    /* Top talkers of the last finished minute. */
    struct fl0wer_talker *last_top[FL0WER_TALKERS__COUNT];
    size_t last_top_n[FL0WER_TALKERS__COUNT];
    uint64_t last_minute;

    uint64_t flows_observed;
    uint64_t minutes_closed;
    uint64_t evictions; /* heavy-hitter evictions over all closed minutes */
    uint64_t memory_bytes;
};

#define ANZ_TOP_KEEP 100

/*
 * Stages n flows of the current minute (feed.c): their volume series and flows_observed are
 * updated now, the heavy-hitter tables when the stage is folded (a full stage folds first).
 * Caller holds the lock.
 */
void anz_stage(struct fl0wer_analyzer *a, const struct fl0wer_flow *flows, size_t n);

/* Folds the staged flows into the current minute's tables, in order. Caller holds the lock. */
void anz_fold(struct fl0wer_analyzer *a);

/* Evaluates the finished window at now_ms: raises alerts, updates baselines, keeps talkers. */
void anz_close_minute(struct fl0wer_analyzer *a, uint64_t now_ms);

/* Health checks (silence) and alert expiry; run when a minute closes. */
void anz_check_health(struct fl0wer_analyzer *a, uint64_t now_ms);

#endif
