/*
 * cmd_series.c - `fl0wer series [--step DURATION]`: flows, bytes and packets per time step,
 * from GET /api/v1/series.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void series_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer series [--step DURATION] [--from TIME] [--to TIME]\n"
               "                     [--filter EXPR] [--unscaled] [connection options]\n"
               "                     [--format FMT]\n\n"
               "Totals per time step (one row per step, empty steps included).\n"
               "  --step DURATION whole minutes: 60, 5m, 1h, 1d (default: chosen by the hub)\n"
               "  --unscaled      raw counters, not scaled by sampling\n\n"
               "%s\n%s", cli_range_help, cli_common_help);
}

static int series_opt(void *arg, int code, const char *val)
{
    if (code != 's')
        return -1;
    *(const char **)arg = val;
    return 0;
}

int cmd_series(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, CLI_RANGE_OPTIONS,
                                         {"unscaled", no_argument, NULL, OPT_UNSCALED},
                                         {"step", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_col cols[] = {
        {"t", "TIME", COL_TIME, false},       {"flows", "FLOWS", COL_COUNT, false},
        {"bytes", "BYTES", COL_BYTES, false}, {"packets", "PACKETS", COL_PACKETS, false},
        {"bytes", "BITRATE", COL_BPS, true},  {"packets", "PKTRATE", COL_PPS, true},
    };
    const char *step = NULL;
    struct cli c;
    struct cli_target t;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "series");
    if ((rc = cli_parse(&c, argc, argv, opts, "", series_opt, &step, series_usage)) !=
        CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, true)) != CLI_OK)
        goto out;
    cli_target_init(&t, "/api/v1/series");
    cli_target_add_range(&t, &c);
    if (step)
        cli_target_add(&t, "step", step);
    if ((rc = cli_get_json(&c, t.buf, &doc, &body)) != CLI_OK)
        goto out;
    rc = cli_print(&c, body, doc, "points", cols, sizeof(cols) / sizeof(cols[0]),
                   (double)json_u64(json_get(doc, "step")) / 1000.0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
