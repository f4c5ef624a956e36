/*
 * config.c - fl0wer-hub's option table and its three sources (config file, environment,
 * command line). Every option is described once in `options` below; --help is generated from
 * the same table.
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

enum opt_kind { K_STR, K_LIST, K_DUR, K_SIZE, K_UINT, K_U64, K_U64_0 /* 0 allowed */, K_BOOL };

struct opt {
    const char *name; /* flag without "--", also the config-file key */
    const char *env;
    enum opt_kind kind;
    size_t off;
    const char *arg;
    const char *help;
};

#define OFF(f) offsetof(struct hub_config, f)

static const struct opt options[] = {
    {"listen", "FL0WER_HUB_LISTEN", K_LIST, OFF(listen), "URL",
     "nng URL to receive batches on, repeatable (env: comma-separated); tcp://, tls+tcp://, "
     "ipc:// (default tcp://0.0.0.0:4800)"},
    {"tls-cert", "FL0WER_HUB_TLS_CERT", K_STR, OFF(tls_cert), "FILE",
     "PEM certificate for tls+tcp:// listeners"},
    {"tls-key", "FL0WER_HUB_TLS_KEY", K_STR, OFF(tls_key), "FILE",
     "PEM private key for tls+tcp:// listeners"},
    {"authorized-edges", "FL0WER_HUB_AUTHORIZED_EDGES", K_STR, OFF(authorized), "FILE",
     "authorized edges file, re-read on SIGHUP (default /etc/fl0wer/authorized_edges)"},
    {"data", "FL0WER_DATA", K_STR, OFF(data), "DIR",
     "data directory (default /var/lib/fl0wer)"},
    {"retention", "FL0WER_HUB_RETENTION", K_DUR, OFF(retention_ms), "DURATION",
     "keep raw flows this long, e.g. 30d, 12h (default 30d)"},
    {"rollup-retention", "FL0WER_HUB_ROLLUP_RETENTION", K_DUR, OFF(rollup_retention_ms),
     "DURATION", "keep per-minute rollups this long (default: the store's, 90d)"},
    {"rollup-address-k-hour", "FL0WER_HUB_ROLLUP_ADDRESS_K_HOUR", K_U64_0,
     OFF(rollup_address_k_hour), "N",
     "source/destination addresses kept per hour rollup, beyond which an hour is read from raw "
     "flows (default 65536; fixed when the data directory is created)"},
    {"rollup-address-k-minute", "FL0WER_HUB_ROLLUP_ADDRESS_K_MINUTE", K_U64_0,
     OFF(rollup_address_k_minute), "N",
     "addresses kept per minute rollup; 0: no minute address rollups (default 0; fixed when the "
     "data directory is created)"},
    {"max-disk", "FL0WER_HUB_MAX_DISK", K_SIZE, OFF(max_disk_bytes), "SIZE",
     "cap on disk use, e.g. 10G; oldest flows go first (default: no cap)"},
    {"block-cache", "FL0WER_HUB_BLOCK_CACHE", K_SIZE, OFF(block_cache_bytes), "SIZE",
     "memory for decompressed flow and rollup blocks read by queries (default 64M)"},
    {"gc-interval", "FL0WER_HUB_GC_INTERVAL", K_DUR, OFF(gc_interval_ms), "DURATION",
     "how often retention and the disk cap are enforced (default 1m)"},
    {"contexts", "FL0WER_HUB_CONTEXTS", K_UINT, OFF(contexts), "N",
     "batches received concurrently (default 32)"},
    {"workers", "FL0WER_HUB_WORKERS", K_UINT, OFF(workers), "N",
     "verify/store threads (default 4)"},
    {"order-wait", "FL0WER_HUB_ORDER_WAIT", K_DUR, OFF(order_wait_ms), "DURATION",
     "how long a batch waits for a missing earlier batch of its edge (default 1s)"},
    {"query-threads", "FL0WER_HUB_QUERY_THREADS", K_UINT, OFF(query_threads), "N",
     "threads one query's scan of raw flows is split over (default: the CPUs, at most 8)"},
    {"api", "FL0WER_HUB_API", K_STR, OFF(api), "ADDR:PORT",
     "HTTPS API address (default 0.0.0.0:7443)"},
    {"api-cert", "FL0WER_HUB_API_CERT", K_STR, OFF(api_cert), "FILE",
     "API certificate (default: self-signed pair in the data directory)"},
    {"api-key", "FL0WER_HUB_API_KEY", K_STR, OFF(api_key), "FILE", "API private key"},
    {"api-tokens", "FL0WER_HUB_API_TOKENS", K_STR, OFF(api_tokens), "FILE",
     "API bearer tokens file, re-read on SIGHUP (default /etc/fl0wer/api-tokens)"},
    {"api-insecure", "FL0WER_HUB_API_INSECURE", K_BOOL, OFF(api_insecure), NULL,
     "serve the API over plain HTTP"},
    {"no-api", "FL0WER_HUB_NO_API", K_BOOL, OFF(no_api), NULL, "do not start the API"},
    {"ready-file", "FL0WER_HUB_READY_FILE", K_STR, OFF(ready_file), "FILE",
     "once listening, write the bound listen URLs (one a line) to FILE"},
    {"no-analyzer", "FL0WER_HUB_NO_ANALYZER", K_BOOL, OFF(no_analyzer), NULL,
     "do not run the analyzer (no alerts)"},
    {"blocklist", "FL0WER_HUB_BLOCKLIST", K_STR, OFF(blocklist), "FILE[,FILE]",
     "blocklist files of CIDR prefixes; re-read when changed and on SIGHUP"},
    {"webhook", "FL0WER_HUB_WEBHOOK", K_STR, OFF(webhook), "URL",
     "POST each alert as JSON to this http:// or https:// URL"},
    {"webhook-ca", "FL0WER_HUB_WEBHOOK_CA", K_STR, OFF(webhook_ca), "FILE",
     "CA file to verify an https:// webhook"},
    {"alert-syslog", "FL0WER_HUB_ALERT_SYSLOG", K_BOOL, OFF(alert_syslog), NULL,
     "log each alert as one JSON line to syslog (default true)"},
    {"analyzer-window", "FL0WER_HUB_ANALYZER_WINDOW", K_DUR, OFF(analyzer_window_ms),
     "DURATION", "analyzer window (default 1m; thresholds are per window)"},
    {"scan-ports", "FL0WER_HUB_SCAN_PORTS", K_U64, OFF(scan_ports), "N",
     "port scan: distinct ports of one host from one source per window (default 100)"},
    {"scan-hosts", "FL0WER_HUB_SCAN_HOSTS", K_U64, OFF(scan_hosts), "N",
     "host scan: distinct hosts on one port from one source per window (default 100)"},
    {"scan-max-packets", "FL0WER_HUB_SCAN_MAX_PACKETS", K_U64_0, OFF(scan_max_packets), "N",
     "scans count only probes: UDP flows and TCP flows without PSH of at most N packets "
     "(default 3; 0: every TCP/UDP flow)"},
    {"flood-pps", "FL0WER_HUB_FLOOD_PPS", K_U64, OFF(flood_pps), "N",
     "flood: packets/s toward one destination (default 20000)"},
    {"flood-sources", "FL0WER_HUB_FLOOD_SOURCES", K_U64, OFF(flood_sources), "N",
     "flood: distinct sources toward one destination per window (default 500)"},
    {"silent-after", "FL0WER_HUB_SILENT_AFTER", K_DUR, OFF(silent_after_ms), "DURATION",
     "exporter/edge silent alert after this long without data (default 5m)"},
};

#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

void hub_config_usage(FILE *f)
{
    size_t i;
    char left[64];

    fprintf(f, "usage: fl0wer-hub [OPTION]...\n"
               "Receives signed flow batches from fl0wer-edge, stores them, serves the API.\n\n"
               "  --config FILE                 read options from FILE (\"name value\" lines, "
               "env FL0WER_HUB_CONFIG)\n");
    for (i = 0; i < N_OPTIONS; i++) {
        snprintf(left, sizeof(left), "--%s%s%s", options[i].name, options[i].arg ? " " : "",
                 options[i].arg ? options[i].arg : "");
        fprintf(f, "  %-29s %s [%s]\n", left, options[i].help, options[i].env);
    }
    fprintf(f, "  --help                        this text\n"
               "  --version                     print the version\n\n"
               "Precedence: flags > environment > config file > defaults.\n"
               "Signals: SIGHUP reloads the authorized edges, API tokens and blocklists; SIGTERM/SIGINT stop "
               "cleanly.\n");
}

int hub_parse_duration(const char *text, uint64_t *ms)
{
    char *end;
    unsigned long long v;
    uint64_t unit;

    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0)
        return -1;
    if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else if (strcmp(end, "d") == 0)
        unit = 86400000;
    else if (strcmp(end, "w") == 0)
        unit = 7 * 86400000ull;
    else
        return -1;
    if (v > UINT64_MAX / unit)
        return -1;
    *ms = v * unit;
    return 0;
}

int hub_parse_size(const char *text, uint64_t *bytes)
{
    static const char units[] = "KMGTP";
    char *end;
    const char *u;
    unsigned long long v;
    uint64_t mul = 1;

    if (!text || !isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0)
        return -1;
    if (*end != '\0') {
        u = strchr(units, toupper((unsigned char)*end));
        if (!u)
            return -1;
        for (ptrdiff_t i = 0; i <= u - units; i++)
            mul *= 1024u;
        end++;
        if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 && strcmp(end, "iB") != 0)
            return -1;
    }
    if (v > UINT64_MAX / mul)
        return -1;
    *bytes = v * mul;
    return 0;
}

/* Replaces the string at *slot with a copy of value. */
static int set_str(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Appends value (a comma-separated list when from_env) to the listen list, replacing what an
 * earlier source set. */
static int add_listen(struct hub_config *cfg, const char *value, int level, bool split,
                      char *err, const char *src)
{
    char *copy;
    char *tok, *save = NULL;
    int rc = 0;

    if (cfg->listen_level != level) {
        for (size_t i = 0; i < cfg->listen_count; i++)
            free(cfg->listen[i]);
        cfg->listen_count = 0;
        cfg->listen_level = level;
    }
    copy = strdup(value);
    if (!copy)
        return -1;
    for (tok = split ? strtok_r(copy, ",", &save) : copy; tok;
         tok = split ? strtok_r(NULL, ",", &save) : NULL) {
        while (*tok == ' ')
            tok++;
        if (cfg->listen_count == HUB_MAX_LISTEN) {
            snprintf(err, HUB_ERRLEN, "%s: more than %d listen URLs", src, HUB_MAX_LISTEN);
            rc = -1;
            break;
        }
        cfg->listen[cfg->listen_count] = strdup(tok);
        if (!cfg->listen[cfg->listen_count]) {
            rc = -1;
            break;
        }
        cfg->listen_count++;
    }
    free(copy);
    return rc;
}

/* Sets option o from text coming from source `src` (for messages) at precedence level. */
static int set_opt(struct hub_config *cfg, const struct opt *o, const char *value, int level,
                   const char *src, char *err)
{
    void *slot = (char *)cfg + o->off;
    uint64_t v;
    char *end;

    switch (o->kind) {
    case K_STR:
        if (value[0] == '\0') {
            snprintf(err, HUB_ERRLEN, "%s: empty value", src);
            return -1;
        }
        return set_str((char **)slot, value);
    case K_LIST:
        return add_listen(cfg, value, level, level == 2, err, src);
    case K_DUR:
        if (hub_parse_duration(value, &v) != 0) {
            snprintf(err, HUB_ERRLEN, "%s: '%s' is not a duration (e.g. 30d, 12h, 90m, 45s)",
                     src, value);
            return -1;
        }
        *(uint64_t *)slot = v;
        return 0;
    case K_SIZE:
        if (hub_parse_size(value, &v) != 0) {
            snprintf(err, HUB_ERRLEN, "%s: '%s' is not a size (e.g. 10G, 512M)", src, value);
            return -1;
        }
        *(uint64_t *)slot = v;
        return 0;
    case K_UINT:
        errno = 0;
        v = strtoull(value, &end, 10);
        if (!isdigit((unsigned char)value[0]) || *end || errno || v < 1 || v > 4096) {
            snprintf(err, HUB_ERRLEN, "%s: '%s' is not a number from 1 to 4096", src, value);
            return -1;
        }
        *(unsigned *)slot = (unsigned)v;
        return 0;
    case K_U64:
    case K_U64_0:
        errno = 0;
        v = strtoull(value, &end, 10);
        if (!isdigit((unsigned char)value[0]) || *end || errno || v < (o->kind == K_U64) ||
            v > 1000000000000ull) {
            snprintf(err, HUB_ERRLEN, "%s: '%s' is not a number from %d to 10^12", src, value,
                     o->kind == K_U64);
            return -1;
        }
        *(uint64_t *)slot = v;
        return 0;
    case K_BOOL:
        if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
            *(bool *)slot = true;
        else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 ||
                 strcmp(value, "no") == 0)
            *(bool *)slot = false;
        else {
            snprintf(err, HUB_ERRLEN, "%s: '%s' is not true or false", src, value);
            return -1;
        }
        return 0;
    }
    return -1;
}

static const struct opt *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
            return &options[i];
    return NULL;
}

#define CONFIG_LINE_MAX 4096 /* longer lines are an error, never split into two settings */

/*
 * Reads "name value" / "name = value" lines ('#' comments) from the config file. A line over
 * CONFIG_LINE_MAX bytes or with a NUL byte is an error naming the line: reading it in pieces
 * would apply the tail of a long comment as a setting.
 */
static int load_file(struct hub_config *cfg, const char *path, char *err)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t line_len;
    char src[HUB_ERRLEN / 2];
    int lineno = 0;
    int rc = 0;

    if (!f) {
        snprintf(err, HUB_ERRLEN, "--config: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && (line_len = getline(&line, &line_cap, f)) >= 0) {
        char *p = line, *name, *value, *e;
        const struct opt *o;
        size_t nlen;

        lineno++;
        if (line_len > CONFIG_LINE_MAX || strlen(line) != (size_t)line_len) {
            snprintf(err, HUB_ERRLEN, "%.100s line %d: %s", path, lineno,
                     line_len > CONFIG_LINE_MAX ? "line too long" : "NUL byte in line");
            rc = -1;
            break;
        }
        /* A comment starts at a '#' that begins the line or follows a blank, so a value such
         * as a webhook URL with a #fragment is kept whole. */
        for (e = p; *e; e++)
            if (*e == '#' && (e == p || isspace((unsigned char)e[-1]))) {
                *e = '\0';
                break;
            }
        e = p + strlen(p);
        while (e > p && isspace((unsigned char)e[-1]))
            *--e = '\0';
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            continue;
        name = p;
        while (*p && !isspace((unsigned char)*p) && *p != '=')
            p++;
        nlen = (size_t)(p - name);
        while (isspace((unsigned char)*p) || *p == '=')
            p++;
        value = p;
        snprintf(src, sizeof(src), "%.100s line %d", path, lineno);
        o = find_opt(name, nlen);
        if (!o) {
            snprintf(err, HUB_ERRLEN, "%s: unknown option '%.*s'", src, (int)nlen, name);
            rc = -1;
        } else if (*value == '\0' && o->kind == K_BOOL) {
            rc = set_opt(cfg, o, "true", 1, src, err);
        } else if (*value == '\0') {
            snprintf(err, HUB_ERRLEN, "%s: %s needs a value", src, o->name);
            rc = -1;
        } else {
            rc = set_opt(cfg, o, value, 1, src, err);
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Looks NAME up in envp. */
static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);

    for (; envp && *envp; envp++)
        if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* Sets the defaults (strings are copied so release frees uniformly). */
static int set_defaults(struct hub_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->retention_ms = 30 * 86400000ull;
    cfg->gc_interval_ms = 60000;
    cfg->order_wait_ms = 1000;
    cfg->alert_syslog = true;
    cfg->analyzer_window_ms = 60000;
    cfg->scan_ports = 100;
    cfg->scan_max_packets = 3;
    cfg->scan_hosts = 100;
    cfg->flood_pps = 20000;
    cfg->flood_sources = 500;
    cfg->silent_after_ms = 5 * 60000;
    if (set_str(&cfg->authorized, "/etc/fl0wer/authorized_edges") != 0 ||
        set_str(&cfg->data, "/var/lib/fl0wer") != 0 || set_str(&cfg->api, "0.0.0.0:7443") ||
        set_str(&cfg->api_tokens, "/etc/fl0wer/api-tokens") != 0)
        return -1;
    return 0;
}

/* First pass over argv: --config, --help, --version (they decide what else is read). */
static int scan_meta(struct hub_config *cfg, int argc, char **argv, char *err)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            cfg->help = true;
        else if (strcmp(argv[i], "--version") == 0)
            cfg->version = true;
        else if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                snprintf(err, HUB_ERRLEN, "--config needs a value");
                return -1;
            }
            if (set_str(&cfg->config_file, argv[++i]) != 0)
                return -1;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            if (set_str(&cfg->config_file, argv[i] + 9) != 0)
                return -1;
        }
    }
    return 0;
}

/* Applies the command-line flags ("--name value", "--name=value", boolean "--name"). */
static int load_argv(struct hub_config *cfg, int argc, char **argv, char *err)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq;
        const struct opt *o;
        char src[96];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0)
            continue;
        if (strcmp(a, "--config") == 0) {
            i++;
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0)
            continue;
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, HUB_ERRLEN, "unexpected argument '%.200s' (see --help)", a);
            return -1;
        }
        eq = strchr(a + 2, '=');
        o = find_opt(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        if (!o) {
            snprintf(err, HUB_ERRLEN, "unknown option '%.200s' (see --help)", a);
            return -1;
        }
        snprintf(src, sizeof(src), "--%s", o->name);
        if (o->kind == K_BOOL && !eq) {
            if (set_opt(cfg, o, "true", 3, src, err) != 0)
                return -1;
            continue;
        }
        if (!eq && i + 1 >= argc) {
            snprintf(err, HUB_ERRLEN, "%s needs a value", src);
            return -1;
        }
        if (set_opt(cfg, o, eq ? eq + 1 : argv[++i], 3, src, err) != 0)
            return -1;
    }
    return 0;
}

/* True when url starts with a scheme the ingest can listen on. */
static bool listen_scheme_ok(const char *url, bool *tls)
{
    static const char *const schemes[] = {"tcp://",     "tcp4://",     "tcp6://",
                                          "tls+tcp://", "tls+tcp4://", "tls+tcp6://",
                                          "ipc://"};

    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
        if (strncmp(url, schemes[i], strlen(schemes[i])) == 0 && url[strlen(schemes[i])]) {
            *tls = strncmp(url, "tls+", 4) == 0;
            return true;
        }
    return false;
}

/* Checks the combination of values once every source is applied. */
static int validate(struct hub_config *cfg, char *err)
{
    bool any_tls = false;

    for (size_t i = 0; i < cfg->listen_count; i++) {
        bool tls = false;

        if (!listen_scheme_ok(cfg->listen[i], &tls)) {
            snprintf(err, HUB_ERRLEN,
                     "--listen: '%.200s' is not a tcp://, tls+tcp:// or ipc:// URL",
                     cfg->listen[i]);
            return -1;
        }
        any_tls |= tls;
    }
    if (any_tls && (!cfg->tls_cert || !cfg->tls_key)) {
        snprintf(err, HUB_ERRLEN, "--listen: tls+tcp:// needs --tls-cert and --tls-key");
        return -1;
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, HUB_ERRLEN, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (!cfg->api_cert != !cfg->api_key) {
        snprintf(err, HUB_ERRLEN, "--api-cert and --api-key go together");
        return -1;
    }
    if (cfg->retention_ms < 60000) {
        snprintf(err, HUB_ERRLEN, "--retention: must be at least 1m");
        return -1;
    }
    if (cfg->gc_interval_ms < 1000) {
        snprintf(err, HUB_ERRLEN, "--gc-interval: must be at least 1s");
        return -1;
    }
    if (cfg->analyzer_window_ms < 100 || cfg->analyzer_window_ms > 3600000) {
        snprintf(err, HUB_ERRLEN, "--analyzer-window: must be from 100ms to 1h");
        return -1;
    }
    if (cfg->silent_after_ms < cfg->analyzer_window_ms) {
        snprintf(err, HUB_ERRLEN, "--silent-after: must be at least one analyzer window");
        return -1;
    }
    if (cfg->order_wait_ms < 1 || cfg->order_wait_ms > 60000) {
        snprintf(err, HUB_ERRLEN, "--order-wait: must be from 1ms to 60s");
        return -1;
    }
    return 0;
}

int hub_config_load(struct hub_config *cfg, int argc, char **argv, char **envp, char *err)
{
    const char *file;
    const char *v;
    char src[64];

    err[0] = '\0';
    if (set_defaults(cfg) != 0 || scan_meta(cfg, argc, argv, err) != 0)
        goto out_err;
    if (cfg->help || cfg->version)
        return 0;
    file = cfg->config_file ? cfg->config_file : env_get(envp, "FL0WER_HUB_CONFIG");
    if (file && load_file(cfg, file, err) != 0)
        goto out_err;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        v = env_get(envp, options[i].env);
        if (!v)
            continue;
        snprintf(src, sizeof(src), "%s", options[i].env);
        if (set_opt(cfg, &options[i], v, 2, src, err) != 0)
            goto out_err;
    }
    if (load_argv(cfg, argc, argv, err) != 0 || validate(cfg, err) != 0)
        goto out_err;
    return 0;
out_err:
    if (err[0] == '\0')
        snprintf(err, HUB_ERRLEN, "out of memory reading the configuration");
    return -1;
}

void hub_config_release(struct hub_config *cfg)
{
    char **strs[] = {&cfg->tls_cert, &cfg->tls_key,    &cfg->authorized, &cfg->data,
                     &cfg->api,      &cfg->api_cert,   &cfg->api_key,    &cfg->api_tokens,
                     &cfg->ready_file, &cfg->config_file, &cfg->blocklist, &cfg->webhook,
                     &cfg->webhook_ca};

    for (size_t i = 0; i < cfg->listen_count; i++)
        free(cfg->listen[i]);
    cfg->listen_count = 0;
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
}
