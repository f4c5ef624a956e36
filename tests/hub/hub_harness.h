/*
 * hub_harness.h - helpers for the hub tests: run a real fl0wer-hub process on 127.0.0.1 with a
 * temporary data directory, build signed batches with fl0wer_batch_builder, send them over nng
 * REQ and read back what the store holds after the hub stopped.
 */
#ifndef FL0WER_TESTS_HUB_HARNESS_H
#define FL0WER_TESTS_HUB_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fl0wer/batch.h"
#include "fl0wer/keys.h"
#include "fl0wer/store.h"

struct th_hub {
    char dir[256];       /* temp dir: db/, authorized, hub.log, ready */
    char db[300];
    char auth[300];
    char log[300];
    char ready[300];
    char url[256];       /* first bound listen URL of the running hub */
    char url2[256];      /* second one, when started with another --listen in extra */
    char api[256];       /* "http://127.0.0.1:PORT" when the API runs */
    bool no_api_flag_off; /* true: do not pass --no-api (extra configures the API) */
    pid_t pid;           /* 0 when not running */
    char extra[8][512];  /* extra flags for the next start */
    int n_extra;
};

/* Creates the temp dir (paths filled in); no process yet. */
void th_hub_init(struct th_hub *h);
/* Removes the temp dir (hub must be stopped). */
void th_hub_cleanup(struct th_hub *h);
/* Writes the authorized file with the given keys (authorized-edges lines). */
void th_write_authorized(struct th_hub *h, const struct fl0wer_edge_key *const *keys, size_t n);
/* Starts fl0wer-hub and waits until it listens (h->url set). Fails the test on error. */
void th_hub_start(struct th_hub *h);
/* SIGTERM, waits; returns the exit status (or -1 on signal/timeout). */
int th_hub_stop(struct th_hub *h);
/* SIGKILL and reap. */
void th_hub_kill(struct th_hub *h);
/* Sends a signal to the running hub. */
void th_hub_signal(struct th_hub *h, int sig);
/* Number of occurrences of needle in the hub log. */
int th_log_count(const struct th_hub *h, const char *needle);
/* Waits (up to ms) until the log holds needle at least n times; returns true if it did. */
bool th_log_wait(const struct th_hub *h, const char *needle, int n, int ms);

/* Runs fl0wer-hub with argv (NULL-terminated, argv[0] ignored) to completion; returns exit
 * status and the first line of stderr in err (errlen). */
int th_hub_run(char *const argv[], char *err, size_t errlen);

/* Deterministic test flows: batch `seq` holds `n` flows; flow i has bytes th_bytes(seq, i),
 * packets th_packets(seq, i), and ends at base_ms + i. */
uint64_t th_bytes(uint64_t seq, size_t i);
uint64_t th_packets(uint64_t seq, size_t i);
/* Builds and signs batch seq of n flows with key. Caller frees *out. */
void th_build(const struct fl0wer_edge_key *key, uint64_t seq, size_t n, uint64_t base_ms,
              uint8_t **out, size_t *out_len);

/* Sends one batch on a fresh REQ socket to url; returns the ack status, or -1 on timeout. */
int th_send(const char *url, const uint8_t *buf, size_t len, uint64_t *ack_seq);
/* Same over tls+tcp://, verifying the server against the CA/certificate file ca. */
int th_send_tls(const char *url, const char *ca, const uint8_t *buf, size_t len);

/* Plain HTTP GET of path on api_url ("http://HOST:PORT") with a bearer token. Returns the
 * status code; the body (NUL-terminated, truncated to len) goes to body. */
int th_http_get(const char *api_url, const char *path, const char *token, char *body,
                size_t len);

/* What the store holds, read with fl0wer_store after the hub stopped. */
struct th_totals {
    uint64_t flows;   /* raw flow records */
    uint64_t bytes;
    uint64_t packets;
    uint64_t batches_stored;
    uint64_t flows_stored;
};
void th_store_totals(const char *db, struct th_totals *t);
/* Rollup rows of one level and dimension in the stopped hub's store, over all time. */
size_t th_store_rollup_rows(const char *db, enum fl0wer_rollup_level level, unsigned dim);
/* Last seq and rejects of edge name (0 when absent). */
void th_store_edge(const char *db, const char *name, uint64_t *last_seq, uint64_t *rejects);

#endif
