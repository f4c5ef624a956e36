/*
 * config.c - option table and the flag / environment / file layers of edge_config (config.h).
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "fl0wer/batch.h"

enum opt_type { OPT_STR, OPT_LISTEN, OPT_U32, OPT_SIZE, OPT_BOOL, OPT_KEY, OPT_LEVEL, OPT_CONF };

struct opt {
    const char *name;
    enum opt_type type;
    size_t off;      /* offset of the field in struct edge_config */
    uint64_t min, max;
    const char *def; /* default as text */
    const char *help;
};

#define OFF(f) offsetof(struct edge_config, f)

static const struct opt opts[] = {
    {"listen", OPT_LISTEN, OFF(listen), 0, 0, "0.0.0.0:2056",
     "UDP address to receive NetFlow/IPFIX on, ADDR:PORT or [V6ADDR]:PORT; repeatable"},
    {"hub", OPT_STR, OFF(hub), 0, 0, "tcp://127.0.0.1:4800",
     "hub URL, tcp://HOST:PORT or tls+tcp://HOST:PORT"},
    {"hub-ca", OPT_STR, OFF(hub_ca), 0, 0, "", "CA certificate file for tls+tcp:// hubs"},
    {"key", OPT_STR, OFF(key_path), 0, 0, "/etc/fl0wer/edge.key",
     "edge secret key file (fl0wer keygen)"},
    {"spool", OPT_STR, OFF(spool_dir), 0, 0, "/var/lib/fl0wer-edge/spool",
     "spool directory for batches awaiting the hub's ack"},
    {"spool-max", OPT_SIZE, OFF(spool_max), 4096, UINT64_C(1) << 50, "1G",
     "spool size limit; the oldest batches are dropped (and counted) past it"},
    {"spool-sync", OPT_U32, OFF(spool_sync_ms), 0, 600000, "1000",
     "fsync a spooled batch only when still unacknowledged after MS ms (a power loss may lose "
     "the unacknowledged batches of the last MS ms; a crash or kill loses nothing); 0 = fsync "
     "each batch before sending it"},
    {"workers", OPT_U32, OFF(workers), 0, 256, "0", "decoder threads (0 = number of cores)"},
    {"rcvbuf", OPT_SIZE, OFF(rcvbuf), 0, UINT64_C(1) << 31, "32M",
     "UDP receive buffer per socket (SO_RCVBUF, SO_RCVBUFFORCE as root)"},
    {"aggregate-key", OPT_KEY, OFF(aggregate_key), 0, 0, "all",
     "comma list of flow fields to aggregate on (fields not listed are zeroed)"},
    {"bucket", OPT_U32, OFF(bucket_s), 1, 3600, "60", "aggregation bucket length in seconds"},
    {"bucket-grace", OPT_U32, OFF(bucket_grace_s), 0, 600, "5",
     "seconds a bucket stays open after its end for late records"},
    {"no-aggregate", OPT_BOOL, OFF(no_aggregate), 0, 0, "false",
     "forward every record as decoded"},
    {"aggregate-min-reduction", OPT_U32, OFF(aggregate_min_reduction), 0, 100, "10",
     "percent of records that must merge for a worker to keep aggregating every key; below it "
     "only 1 key in 16 is aggregated (to keep measuring) and the rest is forwarded unmerged "
     "(exact totals either way); 0 = always aggregate every key"},
    {"max-flows", OPT_SIZE, OFF(max_flows), 1, 100000000, "1000000",
     "aggregation entries per worker before the oldest bucket is flushed early"},
    {"queue-size", OPT_SIZE, OFF(queue_size), UINT64_C(1) << 20, UINT64_C(1) << 36, "128M",
     "record queue between the decoder threads and the batcher (144 bytes a record): absorbs "
     "bursts the batcher cannot follow at once; past --queue-resident, address space faulted in "
     "(2 MiB huge pages) only as a burst fills it and given back 1 s after it drained"},
    {"queue-resident", OPT_SIZE, OFF(queue_resident), UINT64_C(4) << 20, UINT64_C(1) << 36,
     "128M",
     "first part of the record queue (at most --queue-size) faulted in when the edge starts and "
     "never given back, so that a burst does not wait for fresh memory while it holds the queue; "
     "costs that much resident memory (4M: only what steady traffic uses)"},
    {"batch-bytes", OPT_SIZE, OFF(batch_bytes), 1024, FL0WER_BATCH_MAX_LEN / 2, "262144",
     "flush a batch when it reaches this size"},
    {"batch-age-ms", OPT_U32, OFF(batch_age_ms), 10, 600000, "1000",
     "flush a batch when its oldest record is this old"},
    {"inflight", OPT_U32, OFF(inflight), 1, 64, "4",
     "batches sent before their acks (nng contexts); 1 = strictly one at a time"},
    {"ack-timeout-ms", OPT_U32, OFF(ack_timeout_ms), 100, 600000, "5000",
     "resend a batch when its ack has not come in this time"},
    {"stats-interval", OPT_U32, OFF(stats_interval_s), 0, 86400, "60",
     "seconds between counter log lines (0 = never)"},
    {"shutdown-wait-ms", OPT_U32, OFF(shutdown_wait_ms), 0, 600000, "5000",
     "on SIGTERM, how long to wait for acks of spooled batches"},
    {"ready-file", OPT_STR, OFF(ready_file), 0, 0, "",
     "once listening, write the bound UDP addresses there (one 'udp ADDR:PORT' a line)"},
    {"log-level", OPT_LEVEL, OFF(log_level), 0, 0, "info", "error, warn, info or debug"},
    {"config", OPT_CONF, OFF(config_path), 0, 0, "",
     "config file of 'name = value' (or 'name value') lines"},
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

enum { LVL_DEFAULT = 0, LVL_FILE = 1, LVL_ENV = 2, LVL_FLAG = 3 };

struct parse_state {
    struct edge_config *cfg;
    int level[N_OPTS];
    char *err;
    size_t errlen;
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void env_name(const char *name, char *buf, size_t len)
{
    size_t i = snprintf(buf, len, "FL0WER_");
    for (const char *p = name; *p && i + 1 < len; p++)
        buf[i++] = (*p == '-') ? '_' : (char)toupper((unsigned char)*p);
    buf[i] = '\0';
}

/* Parses "ADDR:PORT" or "[V6]:PORT" into l. */
static int parse_listen(const char *text, struct edge_listen *l)
{
    char host[128];
    const char *colon;
    if (strlen(text) >= sizeof(l->text))
        return -1;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof(host) || memchr(text, ':', (size_t)(colon - text)))
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || *end || colon[1] == '\0' || !isdigit((unsigned char)colon[1]) || port > 65535)
        return -1;
    memset(l, 0, sizeof(*l));
    snprintf(l->text, sizeof(l->text), "%s", text);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&l->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&l->addr;
    if (text[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        l->addr_len = sizeof(*v4);
        return 0;
    }
    if (text[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        l->addr_len = sizeof(*v6);
        return 0;
    }
    return -1;
}

/* Parses a non-negative integer with an optional K/M/G/T (binary) suffix when sized. */
static int parse_number(const char *text, bool sized, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno)
        return -1;
    uint64_t mul = 1;
    if (sized && *end) {
        switch (toupper((unsigned char)*end)) {
        case 'K': mul = UINT64_C(1) << 10; break;
        case 'M': mul = UINT64_C(1) << 20; break;
        case 'G': mul = UINT64_C(1) << 30; break;
        case 'T': mul = UINT64_C(1) << 40; break;
        default: return -1;
        }
        end++;
        if (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0)
            end += strlen(end);
    }
    if (*end || (v && mul > UINT64_MAX / v))
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

static int parse_bool(const char *text, bool *out)
{
    if (!strcmp(text, "1") || !strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "on"))
        *out = true;
    else if (!strcmp(text, "0") || !strcmp(text, "false") || !strcmp(text, "no") ||
             !strcmp(text, "off"))
        *out = false;
    else
        return -1;
    return 0;
}

/* Applies one value from a source of the given level. Returns 0 or -1 (err set). */
static int set_opt(struct parse_state *ps, size_t i, const char *value, int level,
                   const char *where)
{
    const struct opt *o = &opts[i];
    void *field = (char *)ps->cfg + o->off;
    if (level < ps->level[i])
        return 0;
    if (o->type == OPT_LISTEN && level > ps->level[i])
        ps->cfg->n_listen = 0;
    ps->level[i] = level;
    uint64_t v;
    bool b;
    switch (o->type) {
    case OPT_STR:
    case OPT_CONF:
        if (strlen(value) >= EDGE_PATH_MAX)
            goto bad;
        snprintf(field, EDGE_PATH_MAX, "%s", value);
        return 0;
    case OPT_LISTEN: {
        char copy[1024];
        if (strlen(value) >= sizeof(copy)) /* never cut: the last address would change */
            goto bad;
        snprintf(copy, sizeof(copy), "%s", value);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            if (ps->cfg->n_listen == EDGE_MAX_LISTEN) {
                snprintf(ps->err, ps->errlen, "too many --listen addresses (at most %d)",
                         EDGE_MAX_LISTEN);
                return -1;
            }
            if (parse_listen(tok, &ps->cfg->listen[ps->cfg->n_listen]) != 0) {
                snprintf(ps->err, ps->errlen,
                         "bad --listen address '%s' from %s (want ADDR:PORT or [V6ADDR]:PORT)",
                         tok, where);
                return -1;
            }
            ps->cfg->n_listen++;
        }
        if (ps->cfg->n_listen == 0)
            goto bad;
        return 0;
    }
    case OPT_U32:
    case OPT_SIZE:
        if (parse_number(value, o->type == OPT_SIZE, &v) != 0 || v < o->min || v > o->max) {
            snprintf(ps->err, ps->errlen,
                     "bad --%s value '%s' from %s (want %s from %" PRIu64 " to %" PRIu64 ")",
                     o->name, value, where, o->type == OPT_SIZE ? "a size" : "a number", o->min,
                     o->max);
            return -1;
        }
        if (o->type == OPT_U32)
            *(uint32_t *)field = (uint32_t)v;
        else
            *(uint64_t *)field = v;
        return 0;
    case OPT_BOOL:
        if (parse_bool(value, &b) != 0)
            goto bad;
        *(bool *)field = b;
        return 0;
    case OPT_KEY: {
        char kerr[256];
        uint32_t mask;
        if (edge_agg_key_parse(value, &mask, kerr) != 0) {
            snprintf(ps->err, ps->errlen, "bad --%s from %s: %s", o->name, where, kerr);
            return -1;
        }
        *(uint32_t *)field = mask;
        return 0;
    }
    case OPT_LEVEL:
        for (int k = 0; k < 4; k++) {
            if (!strcmp(value, level_names[k])) {
                *(enum edge_log_level *)field = (enum edge_log_level)k;
                return 0;
            }
        }
        goto bad;
    }
bad:
    snprintf(ps->err, ps->errlen, "bad --%s value '%s' from %s", o->name, value, where);
    return -1;
}

static ssize_t find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < N_OPTS; i++)
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
            return (ssize_t)i;
    return -1;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

#define EDGE_CONFIG_LINE_MAX 4096 /* longer config lines are an error */

static int load_file(struct parse_state *ps, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(ps->err, ps->errlen, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL, where[EDGE_PATH_MAX + 32];
    size_t line_cap = 0;
    ssize_t line_len;
    int lineno = 0, rc = 0;
    /* Whole lines: reading a long one in pieces would apply a comment's tail as a setting. */
    while ((line_len = getline(&line, &line_cap, f)) >= 0) {
        lineno++;
        if (line_len > EDGE_CONFIG_LINE_MAX || strlen(line) != (size_t)line_len) {
            snprintf(ps->err, ps->errlen, "%s:%d: %s", path, lineno,
                     line_len > EDGE_CONFIG_LINE_MAX ? "line too long" : "NUL byte in line");
            rc = -1;
            break;
        }
        /* A comment starts at a '#' that begins the line or follows a blank. */
        for (char *h = line; *h; h++)
            if (*h == '#' && (h == line || isspace((unsigned char)h[-1]))) {
                *h = '\0';
                break;
            }
        char *s = trim(line);
        if (!*s)
            continue;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        /* "name = value", or "name value" (as the hub's config file) */
        char *sep = strchr(s, '=');
        if (!sep)
            sep = s + strcspn(s, " \t");
        if (sep == s || !*sep) {
            snprintf(ps->err, ps->errlen, "%s: expected 'name = value' or 'name value'", where);
            rc = -1;
            break;
        }
        *sep = '\0';
        char *name = trim(s), *value = trim(sep + 1);
        ssize_t i = find_opt(name, strlen(name));
        if (i < 0 || opts[i].type == OPT_CONF) {
            snprintf(ps->err, ps->errlen, "%s: unknown setting '%s'", where, name);
            rc = -1;
            break;
        }
        if (set_opt(ps, (size_t)i, value, LVL_FILE, where) != 0) {
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, name, n) && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* Sets defaults for every option. */
static void apply_defaults(struct parse_state *ps)
{
    memset(ps->cfg, 0, sizeof(*ps->cfg));
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].def[0] || opts[i].type == OPT_STR)
            set_opt(ps, i, opts[i].def, LVL_DEFAULT, "defaults");
    }
}

/* Walks argv: with only_config, just picks up --config; else applies every flag. */
static int apply_argv(struct parse_state *ps, int argc, char **argv, FILE *out, bool only_config)
{
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            if (!only_config)
                edge_config_usage(out);
            return 1;
        }
        if (!strcmp(arg, "--version")) {
            if (!only_config)
                fprintf(out, "fl0wer-edge %s\n", FL0WER_VERSION);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(ps->err, ps->errlen, "unexpected argument '%s' (see --help)", arg);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        ssize_t i = find_opt(name, eq ? (size_t)(eq - name) : strlen(name));
        if (i < 0) {
            snprintf(ps->err, ps->errlen, "unknown option '%s' (see --help)", arg);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (opts[i].type == OPT_BOOL)
            value = "true";
        else if (a + 1 < argc)
            value = argv[++a];
        else {
            snprintf(ps->err, ps->errlen, "option %s needs a value", arg);
            return -1;
        }
        if ((opts[i].type == OPT_CONF) != only_config)
            continue;
        if (set_opt(ps, (size_t)i, value, LVL_FLAG, "the command line") != 0)
            return -1;
    }
    return 0;
}

/* Cross-field checks once every layer is applied. */
static int check_config(struct parse_state *ps)
{
    struct edge_config *c = ps->cfg;
    bool tls = !strncmp(c->hub, "tls+tcp://", 10);
    const char *hostport = tls ? c->hub + 10 : (!strncmp(c->hub, "tcp://", 6) ? c->hub + 6 : NULL);
    const char *colon = hostport ? strrchr(hostport, ':') : NULL;
    char *end = NULL;
    unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (!hostport || !colon || colon == hostport || !end || *end || colon[1] == '\0' ||
        port == 0 || port > 65535) {
        snprintf(ps->err, ps->errlen,
                 "bad --hub value '%s' (want tcp://HOST:PORT or tls+tcp://HOST:PORT)", c->hub);
        return -1;
    }
    if (tls && !c->hub_ca[0]) {
        snprintf(ps->err, ps->errlen, "--hub %s uses TLS: give its CA file with --hub-ca", c->hub);
        return -1;
    }
    if (!c->spool_dir[0] || !c->key_path[0]) {
        snprintf(ps->err, ps->errlen, "--spool and --key must not be empty");
        return -1;
    }
    return 0;
}

int edge_config_parse(struct edge_config *cfg, int argc, char **argv, char **envp, FILE *out,
                      char *err, size_t errlen)
{
    struct parse_state ps = {.cfg = cfg, .err = err, .errlen = errlen};
    char name[96];
    apply_defaults(&ps);
    for (int a = 1; a < argc; a++) {
        if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
            edge_config_usage(out);
            return 1;
        }
        if (!strcmp(argv[a], "--version")) {
            fprintf(out, "fl0wer-edge %s\n", FL0WER_VERSION);
            return 1;
        }
    }
    int rc = apply_argv(&ps, argc, argv, out, true);
    if (rc != 0)
        return rc;
    if (!cfg->config_path[0]) {
        /* FL0WER_EDGE_CONFIG; the older FL0WER_CONFIG (also the CLI's) still works, warned. */
        const char *env = "FL0WER_EDGE_CONFIG", *p = env_get(envp, env);
        if (!p || !*p) {
            env = "FL0WER_CONFIG";
            p = env_get(envp, env);
            if (p && *p)
                fprintf(stderr, "fl0wer-edge: warning: FL0WER_CONFIG is deprecated for the edge "
                                "(the fl0wer CLI uses it too); use FL0WER_EDGE_CONFIG\n");
        }
        if (p && *p && set_opt(&ps, N_OPTS - 1, p, LVL_ENV, env) != 0)
            return -1;
    }
    if (cfg->config_path[0] && load_file(&ps, cfg->config_path) != 0)
        return -1;
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].type == OPT_CONF)
            continue;
        env_name(opts[i].name, name, sizeof(name));
        const char *v = env_get(envp, name);
        if (v && set_opt(&ps, i, v, LVL_ENV, name) != 0)
            return -1;
    }
    rc = apply_argv(&ps, argc, argv, out, false);
    if (rc != 0)
        return rc;
    return check_config(&ps);
}

void edge_config_usage(FILE *out)
{
    char env[96];
    fprintf(out, "usage: fl0wer-edge [--name VALUE]...\n"
                 "Receives NetFlow v5/v9 and IPFIX over UDP, pre-aggregates, and sends signed "
                 "batches to fl0wer-hub.\n"
                 "Each option may also come from its environment variable or a config file "
                 "line 'name = value' or 'name value';\nprecedence: flags > environment > config file > "
                 "defaults. Sizes take K, M, G suffixes (binary).\n\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        if (opts[i].type == OPT_CONF)
            snprintf(env, sizeof(env), "FL0WER_EDGE_CONFIG");
        else
            env_name(opts[i].name, env, sizeof(env));
        fprintf(out, "  --%-17s %s\n  %19s env %s, default '%s'\n", opts[i].name, opts[i].help,
                "", env, opts[i].def);
    }
    fprintf(out, "  --help              this text\n  --version           print the version\n");
}
