/*
 * cmd_flows.c - `fl0wer flows`: lists matching raw flows, streamed from GET /api/v1/flows
 * (NDJSON) and printed as they arrive. Counters are as stored (raw, with their sampling field).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void flows_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer flows [-n N] [--from TIME] [--to TIME] [--filter EXPR]\n"
               "                    [connection options] [--format FMT]\n\n"
               "Matching flow records, oldest block first, as stored (raw counters plus the\n"
               "sampling interval). ndjson and json print the canonical flow objects.\n"
               "  -n, --limit N   at most N flows, 1-1000000 (default 100)\n\n"
               "%s\n%s", cli_range_help, cli_common_help);
}

/* Columns of --format csv, in order; the table uses a fixed subset. */
static const char *const flow_csv_cols[] = {
    "first_ms", "last_ms", "exporter", "domain_id", "src_addr", "src_port", "dst_addr",
    "dst_port", "proto", "tcp_flags", "tos", "in_if", "out_if", "src_as", "dst_as", "bytes",
    "packets", "flows", "sampling",
};

struct flows_ctx {
    struct cli *c;
    size_t n;
};

static const char *fl_text(const struct jval *o, const char *key, char *buf, size_t len)
{
    const struct jval *v = json_get(o, key);
    if (json_str(v))
        snprintf(buf, len, "%s", json_str(v));
    else if (v && v->t == J_NUM)
        snprintf(buf, len, "%s", v->s);
    else
        snprintf(buf, len, "-");
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    return buf;
}

static void flows_table_row(const struct jval *o)
{
    char last[32], src[64], dst[64], sp[8], dp[8], pr[8], exp[64], b[32], p[32];
    out_time(last, sizeof(last), json_u64(json_get(o, "last_ms")));
    out_human(b, sizeof(b), COL_BYTES, (double)json_u64(json_get(o, "bytes")));
    out_human(p, sizeof(p), COL_PACKETS, (double)json_u64(json_get(o, "packets")));
    printf("%-20s  %5s  %39s %-5s  %39s %-5s  %10s  %8s  %s\n", last,
           fl_text(o, "proto", pr, sizeof(pr)), fl_text(o, "src_addr", src, sizeof(src)),
           fl_text(o, "src_port", sp, sizeof(sp)), fl_text(o, "dst_addr", dst, sizeof(dst)),
           fl_text(o, "dst_port", dp, sizeof(dp)), b, p, fl_text(o, "exporter", exp, sizeof(exp)));
}

static int flows_line(void *arg, char *text)
{
    struct flows_ctx *x = arg;
    struct jval *o = NULL;
    if (json_parse(text, strlen(text), &o) != 0 || o->t != J_OBJ) {
        json_free(o);
        fprintf(stderr, "fl0wer flows: the hub sent a malformed line\n");
        return 1;
    }
    if (json_get(o, "error")) {
        fprintf(stderr, "fl0wer flows: the listing stopped early: %s\n",
                json_str(json_get(o, "error")) ? json_str(json_get(o, "error")) : "error");
        json_free(o);
        return 1;
    }
    switch (x->c->format) {
    case FMT_NDJSON: printf("%s\n", text); break;
    case FMT_JSON: printf("%s%s", x->n ? "," : "[", text); break;
    case FMT_CSV:
        for (size_t i = 0; i < sizeof(flow_csv_cols) / sizeof(flow_csv_cols[0]); i++) {
            const struct jval *v = json_get(o, flow_csv_cols[i]);
            if (i)
                putchar(',');
            if (json_str(v))
                out_csv_field(stdout, json_str(v));
            else if (v && v->t == J_NUM)
                fputs(v->s, stdout);
        }
        putchar('\n');
        break;
    case FMT_TABLE: flows_table_row(o); break;
    }
    x->n++;
    json_free(o);
    return 0;
}

static int flows_opt(void *arg, int code, const char *val)
{
    if (code != 'n')
        return -1;
    *(const char **)arg = val;
    return 0;
}

int cmd_flows(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, CLI_RANGE_OPTIONS,
                                         {"limit", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    const char *limit = NULL;
    struct cli c;
    struct cli_target t;
    struct flows_ctx x = {&c, 0};
    int rc;

    cli_init(&c, "flows");
    if ((rc = cli_parse(&c, argc, argv, opts, "n:", flows_opt, &limit, flows_usage)) !=
        CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, true)) != CLI_OK)
        goto out;
    cli_target_init(&t, "/api/v1/flows");
    cli_target_add_range(&t, &c);
    if (limit)
        cli_target_add(&t, "limit", limit);
    if (c.format == FMT_CSV) {
        for (size_t i = 0; i < sizeof(flow_csv_cols) / sizeof(flow_csv_cols[0]); i++)
            printf("%s%s", i ? "," : "", flow_csv_cols[i]);
        putchar('\n');
    } else if (c.format == FMT_TABLE) {
        printf("%-20s  %5s  %39s %-5s  %39s %-5s  %10s  %8s  %s\n", "LAST", "PROTO", "SRC",
               "SPORT", "DST", "DPORT", "BYTES", "PACKETS", "EXPORTER");
    }
    rc = cli_get_stream(&c, t.buf, flows_line, &x);
    if (c.format == FMT_JSON && rc == CLI_OK)
        printf("%s]\n", x.n ? "" : "[");
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = CLI_EUSAGE;
out:
    cli_release(&c);
    return rc;
}
