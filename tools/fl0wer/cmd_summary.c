/*
 * cmd_summary.c - `fl0wer summary`: total flows, bytes and packets in a time range (and filter),
 * from GET /api/v1/summary.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void summary_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer summary [--from TIME] [--to TIME] [--filter EXPR] [--unscaled]\n"
               "                      [connection options] [--format FMT]\n\n"
               "Totals of the flows in the range: flows, bytes, packets, average rates.\n"
               "Bytes and packets are scaled by the sampling interval unless --unscaled.\n\n"
               "%s\n%s", cli_range_help, cli_common_help);
}

int cmd_summary(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, CLI_RANGE_OPTIONS,
                                         {"unscaled", no_argument, NULL, OPT_UNSCALED},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_col cols[] = {
        {"from", "FROM", COL_TIME, false},      {"to", "TO", COL_TIME, false},
        {"flows", "FLOWS", COL_COUNT, false},   {"bytes", "BYTES", COL_BYTES, false},
        {"packets", "PACKETS", COL_PACKETS, false},
        {"bytes", "BITRATE", COL_BPS, true},    {"packets", "PKTRATE", COL_PPS, true},
    };
    struct cli c;
    struct cli_target t;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "summary");
    if ((rc = cli_parse(&c, argc, argv, opts, "", NULL, NULL, summary_usage)) != CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, true)) != CLI_OK)
        goto out;
    cli_target_init(&t, "/api/v1/summary");
    cli_target_add_range(&t, &c);
    if ((rc = cli_get_json(&c, t.buf, &doc, &body)) != CLI_OK)
        goto out;
    rc = cli_print(&c, body, doc, NULL, cols, sizeof(cols) / sizeof(cols[0]),
                   (double)(c.to_ms - c.from_ms) / 1000.0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
