/*
 * cmd_exporters.c - `fl0wer exporters`: per-exporter counters (records, sequence gaps, errors,
 * sampling, interface names) as stored by the hub, from GET /api/v1/exporters.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void exporters_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer exporters [connection options] [--format FMT]\n\n"
               "Every exporter the edges have seen: address, observation domain, edge, records,\n"
               "messages, sequence gaps, decode errors, sampling interval, interface names\n"
               "(json/ndjson only).\n\n%s", cli_common_help);
}

int cmd_exporters(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const struct cli_col cols[] = {
        {"address", "ADDRESS", COL_TEXT, false},
        {"domain", "DOMAIN", COL_NUM, false},
        {"edge", "EDGE", COL_TEXT, false},
        {"version", "VERSION", COL_NUM, false},
        {"records", "RECORDS", COL_COUNT, false},
        {"messages", "MESSAGES", COL_COUNT, false},
        {"sequence_gaps", "SEQ_GAPS", COL_NUM, false},
        {"errors", "ERRORS", COL_NUM, false},
        {"sampling", "SAMPLING", COL_NUM, false},
        {"last_seen", "LAST_SEEN", COL_TIME, false},
    };
    struct cli c;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "exporters");
    if ((rc = cli_parse(&c, argc, argv, opts, "", NULL, NULL, exporters_usage)) != CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, false)) != CLI_OK)
        goto out;
    if ((rc = cli_get_json(&c, "/api/v1/exporters", &doc, &body)) != CLI_OK)
        goto out;
    rc = cli_print(&c, body, doc, "exporters", cols, sizeof(cols) / sizeof(cols[0]), 0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
