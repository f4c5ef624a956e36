/*
 * notify.h - where alerts go besides storage: one JSON line to syslog, and an HTTP(S) POST of the
 * same JSON to a webhook URL. Sending never blocks the caller: alerts are queued (bounded; when
 * the queue is full the oldest is dropped and counted) and a worker thread delivers them, with
 * a few retries for the webhook.
 */
#ifndef FL0WER_ANALYZER_NOTIFY_H
#define FL0WER_ANALYZER_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "fl0wer/analyzer.h"

struct fl0wer_notifier_config {
    bool syslog;             /* openlog("fl0wer-hub") and LOG_WARNING/LOG_CRIT per alert */
    const char *webhook_url; /* http:// or https:// URL, NULL for none */
    const char *webhook_ca;  /* CA file for https (NULL: system CAs are not used; the URL's
                                certificate is then not verified, and a warning is logged) */
    uint32_t queue_max;      /* queued alerts (default 1024) */
};

struct fl0wer_notifier_stats {
    uint64_t queued;
    uint64_t posted;  /* webhook POSTs answered 2xx */
    uint64_t failed;  /* webhook POSTs given up after retries */
    uint64_t dropped; /* queue overflow */
    uint64_t logged;  /* syslog lines */
};

struct fl0wer_notifier;

/* Creates the notifier and its worker. Returns 0, or -EINVAL (bad URL, message in errbuf
 * of 256 bytes) / -ENOMEM. */
int fl0wer_notifier_create(struct fl0wer_notifier **out, const struct fl0wer_notifier_config *cfg,
                           char *errbuf);

/* Queues one alert (copied). Never blocks on the network. */
void fl0wer_notifier_send(struct fl0wer_notifier *n, const struct fl0wer_alert *a);

void fl0wer_notifier_stats(struct fl0wer_notifier *n, struct fl0wer_notifier_stats *out);

/* Delivers what is queued (one webhook try each, no more retries), stops the worker, frees n. */
void fl0wer_notifier_destroy(struct fl0wer_notifier *n);

#endif
