/*
 * config.h - fl0wer-edge settings from flags, environment variables and a config file.
 *
 * Every setting has a flag (--name VALUE or --name=VALUE), an environment variable
 * (FL0WER_NAME, '-' becoming '_', upper case) and a config file key (name = value, '#' comments).
 * Precedence: flags > environment > config file > defaults. For the repeatable --listen, the
 * highest source that gives any value replaces the lower ones (FL0WER_LISTEN and the file take a
 * comma list or, in the file, repeated lines).
 */
#ifndef EDGE_CONFIG_H
#define EDGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "log.h"

#define EDGE_MAX_LISTEN 16
#define EDGE_PATH_MAX   1024

struct edge_listen {
    char text[128];
    struct sockaddr_storage addr;
    socklen_t addr_len;
};

struct edge_config {
    struct edge_listen listen[EDGE_MAX_LISTEN];
    unsigned n_listen;
    char hub[EDGE_PATH_MAX];      /* tcp://host:port or tls+tcp://host:port */
    char hub_ca[EDGE_PATH_MAX];   /* CA file for tls+tcp */
    char key_path[EDGE_PATH_MAX]; /* edge secret key file */
    char spool_dir[EDGE_PATH_MAX];
    char config_path[EDGE_PATH_MAX];
    char ready_file[EDGE_PATH_MAX]; /* "" = none; bound UDP addresses written once listening */
    uint64_t spool_max;       /* bytes */
    uint32_t spool_sync_ms;   /* group commit period; 0 = fsync each batch before sending */
    uint64_t rcvbuf;          /* bytes per socket */
    uint32_t workers;         /* 0 = number of cores */
    uint32_t aggregate_key;   /* EDGE_KEY_* mask */
    uint32_t bucket_s;
    uint32_t bucket_grace_s;
    bool no_aggregate;
    uint32_t aggregate_min_reduction; /* percent; below it a worker aggregates 1/16 of keys */
    uint64_t max_flows;
    uint64_t queue_size;      /* bytes of the worker -> batcher record queue (virtual) */
    uint64_t queue_resident;  /* bytes of it faulted in at start and never given back */
    uint64_t batch_bytes;
    uint32_t batch_age_ms;
    uint32_t inflight;
    uint32_t ack_timeout_ms;
    uint32_t stats_interval_s; /* 0 = off */
    uint32_t shutdown_wait_ms; /* how long SIGTERM waits for acks */
    enum edge_log_level log_level;
};

/*
 * Fills cfg from defaults, the config file (--config / FL0WER_CONFIG), envp (NULL-terminated
 * "NAME=value" strings; may be NULL) and argv. Returns 0 when the edge should run, 1 when --help
 * or --version was printed to out, or -1 with a one-line message in err (errlen bytes).
 */
int edge_config_parse(struct edge_config *cfg, int argc, char **argv, char **envp, FILE *out,
                      char *err, size_t errlen);

/* Prints the option list with defaults and environment names. */
void edge_config_usage(FILE *out);

#endif /* EDGE_CONFIG_H */
