/*
 * cmd_edges.c - `fl0wer edges`: every edge the hub has heard from, with its last contact, batch
 * and record counts, rejects, and the spool/drop counters the edge reports, from
 * GET /api/v1/edges.
 */
#include <stdlib.h>

#include "cli.h"
#include "commands.h"

static void edges_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer edges [connection options] [--format FMT]\n\n"
               "Every edge: last seen, batches and records stored, rejected batches, batches\n"
               "waiting in its spool and records it dropped.\n\n%s", cli_common_help);
}

int cmd_edges(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    static const struct cli_col cols[] = {
        {"name", "EDGE", COL_TEXT, false},
        {"last_seen", "LAST_SEEN", COL_TIME, false},
        {"batches", "BATCHES", COL_NUM, false},
        {"records", "RECORDS", COL_NUM, false},
        {"rejects", "REJECTS", COL_NUM, false},
        {"spool_batches", "SPOOLED", COL_NUM, false},
        {"records_dropped", "DROPPED", COL_NUM, false},
        {"kernel_drops", "KERNEL_DROPS", COL_NUM, false},
    };
    struct cli c;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "edges");
    if ((rc = cli_parse(&c, argc, argv, opts, "", NULL, NULL, edges_usage)) != CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, false)) != CLI_OK)
        goto out;
    if ((rc = cli_get_json(&c, "/api/v1/edges", &doc, &body)) != CLI_OK)
        goto out;
    rc = cli_print(&c, body, doc, "edges", cols, sizeof(cols) / sizeof(cols[0]), 0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
