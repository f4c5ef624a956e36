/*
 * config.c - common options of the query commands: command line, then environment, then the
 * per-user config file ("key = value" lines: server, token, fingerprint, cacert, insecure;
 * '#' comments), then defaults. Resolves --from/--to with the API's time syntax, and where the
 * TLS session cache lives (FL0WER_TLS_CACHE, XDG_CACHE_HOME, HOME).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "fl0wer/api.h"

#define CLI_DEFAULT_SERVER "https://127.0.0.1:7443"

const char cli_common_help[] =
    "connection options:\n"
    "  --server URL         hub address (default " CLI_DEFAULT_SERVER "; env FL0WER_SERVER)\n"
    "  --token TOKEN        API token (env FL0WER_TOKEN)\n"
    "  --fingerprint SHA256 pin the hub certificate's SHA-256 fingerprint, as the hub logs it\n"
    "                       (env FL0WER_FINGERPRINT)\n"
    "  --cacert FILE        verify the hub certificate against this CA (env FL0WER_CACERT)\n"
    "  --insecure           do not check the hub certificate at all (prints a warning)\n"
    "  --format FMT         table (default), json, csv or ndjson\n"
    "  --no-tls-cache       neither resume nor keep the TLS session (env FL0WER_TLS_CACHE=off);\n"
    "                       by default it is kept, private, in $XDG_CACHE_HOME/fl0wer or\n"
    "                       ~/.cache/fl0wer (env FL0WER_TLS_CACHE=DIR) for an hour, and the next\n"
    "                       command resumes it without a new key exchange\n"
    "  --verbose            say on stderr how the connection went (tls session resumed or new)\n"
    "  --help               show this help\n"
    "Defaults may also come from ~/.config/fl0wer/config (or $FL0WER_CONFIG): lines\n"
    "\"server = URL\", \"token = T\", \"fingerprint = FP\", \"cacert = FILE\".\n";

const char cli_range_help[] =
    "range and filter:\n"
    "  --from TIME          start: ISO-8601 UTC, unix seconds, -1h, -30m, -7d or now\n"
    "                       (default: one hour before --to)\n"
    "  --to TIME            end (default: now)\n"
    "  --filter EXPR        flow filter, e.g. 'src ip 10.0.0.1 and dst port 443'\n";

void cli_init(struct cli *c, const char *cmd)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->format = FMT_TABLE;
}

void cli_release(struct cli *c)
{
    for (size_t i = 0; i < c->n_owned; i++) {
        memset(c->owned[i], 0, strlen(c->owned[i]));
        free(c->owned[i]);
    }
    c->n_owned = 0;
}

int cli_option(struct cli *c, int code, const char *arg)
{
    switch (code) {
    case OPT_SERVER: c->http.server = arg; return 1;
    case OPT_TOKEN: c->http.token = arg; return 1;
    case OPT_FINGERPRINT: c->http.fingerprint = arg; return 1;
    case OPT_CACERT: c->http.cacert = arg; return 1;
    case OPT_INSECURE: c->http.insecure = true; return 1;
    case OPT_NO_TLS_CACHE: c->no_tls_cache = true; return 1;
    case OPT_VERBOSE: c->verbose = true; return 1;
    case OPT_FROM: c->from_text = arg; return 1;
    case OPT_TO: c->to_text = arg; return 1;
    case OPT_FILTER: c->filter = arg; return 1;
    case OPT_UNSCALED: c->unscaled = true; return 1;
    case OPT_FORMAT:
        if (strcmp(arg, "table") == 0)
            c->format = FMT_TABLE;
        else if (strcmp(arg, "json") == 0)
            c->format = FMT_JSON;
        else if (strcmp(arg, "csv") == 0)
            c->format = FMT_CSV;
        else if (strcmp(arg, "ndjson") == 0)
            c->format = FMT_NDJSON;
        else {
            fprintf(stderr, "fl0wer %s: bad --format '%s' (table, json, csv or ndjson)\n",
                    c->cmd, arg);
            return -1;
        }
        return 1;
    default: return 0;
    }
}

/* Keeps a copy of s for the lifetime of c. */
static const char *cli_keep(struct cli *c, const char *s)
{
    if (c->n_owned == sizeof(c->owned) / sizeof(c->owned[0]))
        return NULL;
    char *d = strdup(s);
    if (d)
        c->owned[c->n_owned++] = d;
    return d;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Keeps v in *slot unless something set it already. Returns 0, or -1 when out of room. */
static int cli_keep_unset(struct cli *c, const char **slot, const char *v)
{
    if (*slot)
        return 0;
    *slot = cli_keep(c, v);
    return *slot ? 0 : -1;
}

/* Applies one "key = value" setting (already trimmed). Returns 0 or -1 with why set. */
static int cli_config_set(struct cli *c, const char *k, const char *v, const char **why)
{
    const char **slot = NULL;
    if (strcmp(k, "server") == 0)
        slot = &c->http.server;
    else if (strcmp(k, "token") == 0)
        slot = &c->http.token;
    else if (strcmp(k, "fingerprint") == 0)
        slot = &c->http.fingerprint;
    else if (strcmp(k, "cacert") == 0)
        slot = &c->http.cacert;
    if (slot) {
        *why = "out of memory";
        return cli_keep_unset(c, slot, v);
    }
    if (strcmp(k, "insecure") == 0) {
        bool on = strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
        *why = "insecure must be true, false, 1 or 0";
        if (!on && strcmp(v, "false") != 0 && strcmp(v, "0") != 0)
            return -1;
        c->http.insecure = c->http.insecure || on;
        return 0;
    }
    *why = "unknown key";
    return -1;
}

int cli_config_read(struct cli *c, FILE *f, const char *path, FILE *errf)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, rc = 0;
    const char *why = NULL;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        /* An overlong line or a NUL byte is an error: never read a line's tail as a setting. */
        size_t body = (size_t)len - (len > 0 && line[len - 1] == '\n');
        if (body > CLI_CONFIG_LINE_MAX || strlen(line) != (size_t)len) {
            why = body > CLI_CONFIG_LINE_MAX ? "line too long" : "NUL byte in line";
            rc = -1;
            break;
        }
        char *s = trim(line), *eq;
        if (!*s || *s == '#')
            continue;
        if (!(eq = strchr(s, '='))) {
            why = "expected key = value";
            rc = -1;
            break;
        }
        *eq = '\0';
        char *k = trim(s), *v = trim(eq + 1);
        rc = cli_config_set(c, k, v, &why);
        if (rc != 0 && strcmp(why, "unknown key") == 0)
            fprintf(errf, "fl0wer %s: %s line %d: unknown key '%.60s'\n", c->cmd, path, lineno,
                    k);
        else if (rc != 0)
            fprintf(errf, "fl0wer %s: %s line %d: %s\n", c->cmd, path, lineno, why);
        why = NULL;
    }
    if (rc == 0 && ferror(f)) {
        why = "read error";
        rc = -1;
    }
    if (why)
        fprintf(errf, "fl0wer %s: %s line %d: %s\n", c->cmd, path, lineno, why);
    if (line)
        memset(line, 0, cap);
    free(line);
    return rc;
}

/* Reads the config file, filling only what is still unset. Returns 0 or -1 (reported). */
static int cli_read_config(struct cli *c)
{
    char path[4096];
    const char *explicit_path = getenv("FL0WER_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    FILE *f;
    int rc;
    if (explicit_path)
        snprintf(path, sizeof(path), "%s", explicit_path);
    else if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/fl0wer/config", xdg);
    else if (home && *home)
        snprintf(path, sizeof(path), "%s/.config/fl0wer/config", home);
    else
        return 0;
    if (!(f = fopen(path, "r"))) {
        if (errno == ENOENT && !explicit_path)
            return 0;
        fprintf(stderr, "fl0wer %s: cannot read config file %s: %s\n", c->cmd, path,
                strerror(errno));
        return -1;
    }
    rc = cli_config_read(c, f, path, stderr);
    fclose(f);
    return rc;
}

/*
 * Where TLS sessions are kept: --no-tls-cache or FL0WER_TLS_CACHE=off: nowhere; else
 * FL0WER_TLS_CACHE, $XDG_CACHE_HOME/fl0wer or $HOME/.cache/fl0wer, the first that is set.
 */
static void cli_tls_cache(struct cli *c)
{
    const char *env = getenv("FL0WER_TLS_CACHE"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int n = -1;

    c->http.tls_cache_dir = NULL;
    if (c->no_tls_cache || (env && strcmp(env, "off") == 0))
        return;
    if (env && *env)
        n = snprintf(c->tls_cache_dir, sizeof(c->tls_cache_dir), "%s", env);
    else if (xdg && *xdg)
        n = snprintf(c->tls_cache_dir, sizeof(c->tls_cache_dir), "%s/fl0wer", xdg);
    else if (home && *home)
        n = snprintf(c->tls_cache_dir, sizeof(c->tls_cache_dir), "%s/.cache/fl0wer", home);
    if (n > 0 && (size_t)n < sizeof(c->tls_cache_dir))
        c->http.tls_cache_dir = c->tls_cache_dir;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cli_finish(struct cli *c, bool with_range)
{
    const char *e;
    if (!c->http.server && (e = getenv("FL0WER_SERVER")) && *e)
        c->http.server = e;
    if (!c->http.token && (e = getenv("FL0WER_TOKEN")) && *e)
        c->http.token = e;
    if (!c->http.fingerprint && !c->http.cacert && (e = getenv("FL0WER_FINGERPRINT")) && *e)
        c->http.fingerprint = e;
    if (!c->http.cacert && !c->http.fingerprint && (e = getenv("FL0WER_CACERT")) && *e)
        c->http.cacert = e;
    if (cli_read_config(c) != 0)
        return CLI_EUSAGE;
    if (!c->http.server)
        c->http.server = CLI_DEFAULT_SERVER;
    cli_tls_cache(c);
    if (!c->http.token) {
        fprintf(stderr, "fl0wer %s: no API token: use --token, FL0WER_TOKEN or the config "
                        "file\n", c->cmd);
        return CLI_EUSAGE;
    }
    if (c->http.insecure)
        fprintf(stderr, "fl0wer %s: warning: --insecure: the hub's certificate is NOT checked; "
                        "the token can be stolen by anyone on the path\n", c->cmd);
    if (!with_range)
        return CLI_OK;
    uint64_t now = now_ms();
    if (c->to_text) {
        if (fl0wer_time_parse(c->to_text, now, &c->to_ms) != 0) {
            fprintf(stderr, "fl0wer %s: bad time for --to: '%s' (use ISO-8601 UTC like "
                            "2024-01-02T03:04:05Z, unix seconds, -1h, -30m, -7d or now)\n",
                    c->cmd, c->to_text);
            return CLI_EBADREQ;
        }
    } else {
        c->to_ms = now;
    }
    if (c->from_text) {
        if (fl0wer_time_parse(c->from_text, now, &c->from_ms) != 0) {
            fprintf(stderr, "fl0wer %s: bad time for --from: '%s' (use ISO-8601 UTC like "
                            "2024-01-02T03:04:05Z, unix seconds, -1h, -30m, -7d or now)\n",
                    c->cmd, c->from_text);
            return CLI_EBADREQ;
        }
    } else {
        c->from_ms = c->to_ms > 3600000u ? c->to_ms - 3600000u : 0;
    }
    if (c->from_ms >= c->to_ms) {
        fprintf(stderr, "fl0wer %s: bad time range: --from must be before --to\n", c->cmd);
        return CLI_EBADREQ;
    }
    return CLI_OK;
}

int cli_parse(struct cli *c, int argc, char **argv, const struct option *opts,
              const char *shortopts, int (*extra)(void *arg, int code, const char *val),
              void *arg, void (*usage)(FILE *f))
{
    int code;
    optind = 1;
    opterr = 1;
    while ((code = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        if (code == OPT_HELP) {
            usage(stdout);
            return CLI_OK;
        }
        int r = cli_option(c, code, optarg);
        if (r < 0)
            return CLI_EUSAGE;
        if (r > 0)
            continue;
        if (code != '?' && extra && (r = extra(arg, code, optarg)) >= 0) {
            if (r > 0)
                return CLI_EUSAGE;
            continue;
        }
        fprintf(stderr, "fl0wer %s: see 'fl0wer %s --help'\n", c->cmd, c->cmd);
        return CLI_EUSAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "fl0wer %s: unexpected argument '%s'\n", c->cmd, argv[optind]);
        return CLI_EUSAGE;
    }
    return CLI_CONTINUE;
}

int cli_print(struct cli *c, const char *body, const struct jval *doc, const char *member,
              const struct cli_col *cols, size_t ncols, double seconds)
{
    if (c->format == FMT_JSON) {
        fputs(body, stdout);
        fputc('\n', stdout);
    } else if (!member) {
        struct jval one = {.t = J_ARR, .n = 1, .items = (struct jval *)doc};
        if (c->format == FMT_NDJSON)
            out_json(stdout, doc);
        else
            out_rows(stdout, c->format, cols, ncols, &one, seconds);
    } else {
        out_rows(stdout, c->format, cols, ncols, json_get(doc, member), seconds);
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_EUSAGE;
}
