/*
 * config.h - fl0wer-hub's settings: defaults, then the --config file, then FL0WER_* environment
 * variables, then command-line flags (each later source overrides the earlier ones; a
 * repeatable option given in a later source replaces the whole earlier list). docs/hub.md
 * lists every option. Internal to the daemon (and its tests).
 */
#ifndef FL0WER_HUB_CONFIG_H
#define FL0WER_HUB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HUB_MAX_LISTEN 16
#define HUB_ERRLEN     320

struct hub_config {
    char *listen[HUB_MAX_LISTEN];
    size_t listen_count;
    int listen_level; /* source that set the list (0 default, 1 file, 2 env, 3 flag) */
    char *tls_cert;
    char *tls_key;
    char *authorized;
    char *data;
    uint64_t retention_ms;
    uint64_t rollup_retention_ms;
    uint64_t rollup_address_k_hour;   /* 0: the store's default (65536) */
    uint64_t rollup_address_k_minute; /* 0: no minute address arrays */
    uint64_t max_disk_bytes;
    uint64_t block_cache_bytes; /* 0: the store's default, 64 MiB */
    uint64_t gc_interval_ms;
    unsigned contexts;
    unsigned workers;
    unsigned query_threads; /* 0: the number of CPUs, at most 8 */
    uint64_t order_wait_ms;
    char *api;
    char *api_cert;
    char *api_key;
    char *api_tokens;
    bool api_insecure;
    bool no_api;
    char *ready_file;
    /* analyzer and alerts (docs/analyzer.md) */
    bool no_analyzer;
    char *blocklist;      /* comma-separated files */
    char *webhook;
    char *webhook_ca;
    bool alert_syslog;
    uint64_t analyzer_window_ms;
    uint64_t scan_ports;
    uint64_t scan_max_packets;
    uint64_t scan_hosts;
    uint64_t flood_pps;
    uint64_t flood_sources;
    uint64_t silent_after_ms;
    char *config_file;
    bool help;
    bool version;
};

/*
 * Fills *cfg from defaults, the config file (--config or FL0WER_HUB_CONFIG), envp (NULL-ended
 * "NAME=value" strings) and argv. Returns 0, or -1 with a one-line message in err (HUB_ERRLEN)
 * naming the bad option. cfg must be released with hub_config_release() either way.
 */
int hub_config_load(struct hub_config *cfg, int argc, char **argv, char **envp, char *err);
void hub_config_release(struct hub_config *cfg);

/* Writes the --help text. */
void hub_config_usage(FILE *f);

/* Parses "30d", "12h", "90m", "45s", "2w", "500ms" or plain seconds into ms. Returns 0 or -1. */
int hub_parse_duration(const char *text, uint64_t *ms);
/* Parses "10G", "512M", "1T", "64K" (powers of 1024, optional trailing "B"/"iB") or plain
 * bytes. Returns 0 or -1. */
int hub_parse_size(const char *text, uint64_t *bytes);

#endif /* FL0WER_HUB_CONFIG_H */
