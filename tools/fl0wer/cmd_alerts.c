/*
 * cmd_alerts.c - `fl0wer alerts`: alerts raised by the hub's analyzer (GET /api/v1/alerts),
 * filtered by time range, kind, state and a flow filter applied to their addresses.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void alerts_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer alerts [--from TIME] [--to TIME] [--filter EXPR] [--kind KIND]\n"
               "                     [--state open|resolved|any] [-n N]\n"
               "                     [connection options] [--format FMT]\n\n"
               "Alerts raised by the hub's analyzer whose time overlaps the range, newest first.\n"
               "KIND: port_scan host_scan syn_flood udp_flood volume_high volume_low blocklist\n"
               "      exporter_silent exporter_loss exporter_errors edge_silent edge_drops any\n"
               "--filter matches an alert's addresses, port and exporter as a flow's would.\n"
               "-n, --limit N       at most N alerts (default 10, at most 10000)\n\n%s\n%s",
            cli_range_help, cli_common_help);
}

struct alerts_args {
    const char *kind, *state, *limit;
};

static int alerts_opt(void *arg, int code, const char *val)
{
    struct alerts_args *a = arg;

    switch (code) {
    case 'k':
        a->kind = val;
        return 0;
    case 's':
        a->state = val;
        return 0;
    case 'n':
        a->limit = val;
        return 0;
    default:
        return -1;
    }
}

int cmd_alerts(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, CLI_RANGE_OPTIONS,
                                         {"kind", required_argument, NULL, 'k'},
                                         {"state", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    static const struct cli_col cols[] = {
        {"last", "LAST", COL_TIME, false},       {"kind", "KIND", COL_TEXT, false},
        {"severity", "SEVERITY", COL_TEXT, false}, {"state", "STATE", COL_TEXT, false},
        {"src", "SRC", COL_TEXT, false},         {"dst", "DST", COL_TEXT, false},
        {"port", "PORT", COL_NUM, false},        {"exporter", "EXPORTER", COL_TEXT, false},
        {"edge", "EDGE", COL_TEXT, false},       {"value", "VALUE", COL_NUM, false},
        {"threshold", "THRESHOLD", COL_NUM, false}, {"updates", "WINDOWS", COL_NUM, false},
        {"id", "ID", COL_NUM, false},
    };
    struct alerts_args a = {NULL, NULL, NULL};
    struct cli c;
    struct cli_target t;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "alerts");
    if ((rc = cli_parse(&c, argc, argv, opts, "n:", alerts_opt, &a, alerts_usage)) !=
        CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, true)) != CLI_OK)
        goto out;
    cli_target_init(&t, "/api/v1/alerts");
    cli_target_add_range(&t, &c);
    if (a.kind)
        cli_target_add(&t, "kind", a.kind);
    if (a.state)
        cli_target_add(&t, "state", a.state);
    if (a.limit)
        cli_target_add(&t, "limit", a.limit);
    if ((rc = cli_get_json(&c, t.buf, &doc, &body)) != CLI_OK)
        goto out;
    const struct jval *list = json_get(doc, "alerts");
    if (c.format == FMT_TABLE && (!list || list->t != J_ARR || list->n == 0)) {
        printf("no alerts\n");
        rc = CLI_OK;
        goto out;
    }
    rc = cli_print(&c, body, doc, "alerts", cols, sizeof(cols) / sizeof(cols[0]), 0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
