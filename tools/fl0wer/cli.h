/*
 * cli.h - what the query subcommands of `fl0wer` share: common options (server, token,
 * certificate checks, range, filter, format) resolved from the command line, the environment
 * (FL0WER_SERVER, FL0WER_TOKEN, FL0WER_FINGERPRINT, FL0WER_CACERT) and the per-user config file
 * (~/.config/fl0wer/config, or FL0WER_CONFIG), requests to the hub with one-line error reports
 * (the TLS session kept for the next command: FL0WER_TLS_CACHE, --no-tls-cache; tls_session.h),
 * and table/json/csv/ndjson output.
 *
 * Exit status: 0 ok, 1 usage or local error, 2 hub unreachable or TLS/certificate failure,
 * 3 authentication/authorization refused (401/403), 4 bad request (400: parameter, filter,
 * time), 5 hub-side failure (5xx).
 */
#ifndef FL0WER_CLI_H
#define FL0WER_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "http_client.h"
#include "json.h"

enum cli_exit { CLI_OK = 0, CLI_EUSAGE = 1, CLI_ENET = 2, CLI_EAUTH = 3, CLI_EBADREQ = 4,
                CLI_EHUB = 5 };

enum cli_format { FMT_TABLE = 0, FMT_JSON, FMT_CSV, FMT_NDJSON };

/* Long options every query command accepts; getopt codes from 1000 up. */
enum {
    OPT_SERVER = 1000, OPT_TOKEN, OPT_FINGERPRINT, OPT_CACERT, OPT_INSECURE, OPT_FORMAT,
    OPT_FROM, OPT_TO, OPT_FILTER, OPT_UNSCALED, OPT_HELP, OPT_NO_TLS_CACHE, OPT_VERBOSE
};
#define CLI_COMMON_OPTIONS                                                                      \
    {"server", required_argument, NULL, OPT_SERVER},                                            \
    {"token", required_argument, NULL, OPT_TOKEN},                                              \
    {"fingerprint", required_argument, NULL, OPT_FINGERPRINT},                                  \
    {"cacert", required_argument, NULL, OPT_CACERT},                                            \
    {"insecure", no_argument, NULL, OPT_INSECURE},                                              \
    {"format", required_argument, NULL, OPT_FORMAT},                                            \
    {"no-tls-cache", no_argument, NULL, OPT_NO_TLS_CACHE},                                      \
    {"verbose", no_argument, NULL, OPT_VERBOSE},                                                \
    {"help", no_argument, NULL, OPT_HELP}
#define CLI_RANGE_OPTIONS                                                                       \
    {"from", required_argument, NULL, OPT_FROM},                                                \
    {"to", required_argument, NULL, OPT_TO},                                                    \
    {"filter", required_argument, NULL, OPT_FILTER}

/* Help text for the common options (printed by each command's --help). */
extern const char cli_common_help[];
extern const char cli_range_help[];

struct cli {
    const char *cmd;           /* "summary", ... for messages */
    struct httpc_opts http;
    enum cli_format format;
    const char *from_text, *to_text, *filter;
    uint64_t from_ms, to_ms;   /* resolved by cli_finish when the command takes a range */
    bool unscaled;
    bool no_tls_cache;         /* --no-tls-cache */
    bool verbose;              /* --verbose: how the connection went, on stderr */
    char tls_cache_dir[4096];  /* resolved by cli_finish; http.tls_cache_dir points here */
    char *owned[8];            /* strings read from the config file */
    size_t n_owned;
};

void cli_init(struct cli *c, const char *cmd);
void cli_release(struct cli *c);
/* Handles a common option. Returns 1 if handled, 0 if not common, -1 on a bad value. */
int cli_option(struct cli *c, int code, const char *arg);
/*
 * Applies environment and config-file defaults, resolves --from/--to (default: the last hour)
 * when with_range, and warns on stderr about --insecure. Returns CLI_OK or an exit status.
 */
int cli_finish(struct cli *c, bool with_range);

/* Longest config file line (without its newline); longer lines are an error, not cut. */
#define CLI_CONFIG_LINE_MAX 4096
/*
 * Reads config file lines ("key = value": server, token, fingerprint, cacert, insecure; '#'
 * comments) from f, filling only what is still unset in c (copies owned by c). path names the
 * file in messages, written to errf. Returns 0, or -1 at the first bad line (reported).
 */
int cli_config_read(struct cli *c, FILE *f, const char *path, FILE *errf);

#define CLI_CONTINUE (-1)
/*
 * Parses argv with opts (common options are handled here; others go to extra, which returns 0
 * when handled, 1 on a bad value (already reported), -1 when unknown). Returns CLI_CONTINUE
 * to go on, or the exit status (--help printed: CLI_OK).
 */
int cli_parse(struct cli *c, int argc, char **argv, const struct option *opts,
              const char *shortopts, int (*extra)(void *arg, int code, const char *val),
              void *arg, void (*usage)(FILE *f));

/* A growing query string: path?a=b&c=d with values percent-encoded. */
struct cli_target {
    char buf[8192];
    size_t len;
    bool has_query;
    bool overflow;
};
void cli_target_init(struct cli_target *t, const char *path);
void cli_target_add(struct cli_target *t, const char *name, const char *value);
/* Adds from, to (as ISO-8601 with ms), filter and unscaled from c. */
void cli_target_add_range(struct cli_target *t, const struct cli *c);

/*
 * GETs target and parses the JSON answer into *out. On any failure prints one error report on
 * stderr and returns the exit status (never CLI_OK); *body_out (if not NULL) gets the raw body.
 */
int cli_get_json(struct cli *c, const char *target, struct jval **out, char **body_out);
/*
 * Streams target's body to fn (NDJSON lines for /flows). Error statuses are reported like
 * cli_get_json. Returns CLI_OK or an exit status.
 */
int cli_get_stream(struct cli *c, const char *target, int (*line)(void *arg, char *text),
                   void *arg);
/* Reports an error JSON body with status (400 filter caret, 401, ...). Returns the exit status. */
int cli_report_http_error(struct cli *c, int status, const char *body, size_t len);

/* ---- output.c ---- */
enum col_kind { COL_TEXT, COL_NUM, COL_BYTES, COL_PACKETS, COL_COUNT, COL_TIME, COL_BPS,
                COL_PPS };
struct cli_col {
    const char *key;    /* JSON member (bytes/packets for the rate columns) */
    const char *header;
    enum col_kind kind;
    bool table_only;    /* derived (rates): not in csv/ndjson */
};
/*
 * Prints an array of objects as a table (human units, aligned), CSV (raw values) or NDJSON
 * (each object compact, as received). seconds is the span rates are computed over.
 */
void out_rows(FILE *f, enum cli_format fmt, const struct cli_col *cols, size_t ncols,
              const struct jval *rows, double seconds);
/* Human forms: "1.2 GB", "3.4 M", "12.3 Mbps", "2024-01-02T03:04:05Z". */
void out_human(char *buf, size_t len, enum col_kind kind, double v);
void out_time(char *buf, size_t len, uint64_t ms);
void out_csv_field(FILE *f, const char *s);
/* Prints a JSON document compactly with a newline (the --format json output). */
void out_json(FILE *f, const struct jval *v);

/*
 * Prints a response: --format json prints body exactly as the hub sent it; otherwise the array
 * doc[member] (or doc itself as one row when member is NULL) through out_rows.
 */
int cli_print(struct cli *c, const char *body, const struct jval *doc, const char *member,
              const struct cli_col *cols, size_t ncols, double seconds);

#endif /* FL0WER_CLI_H */
