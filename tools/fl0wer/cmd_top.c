/*
 * cmd_top.c - `fl0wer top --by DIM --order KEY -n N`: the top-N talkers/ports/... in a range,
 * from GET /api/v1/top.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void top_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer top [--by DIM] [--order bytes|packets|flows] [-n N]\n"
               "                  [--from TIME] [--to TIME] [--filter EXPR] [--unscaled]\n"
               "                  [connection options] [--format FMT]\n\n"
               "The N largest values of a dimension (default: 10 source addresses by bytes).\n"
               "  --by DIM        srcip, dstip, srcport, dstport, proto, exporter, srcas, dstas,\n"
               "                  inif or outif\n"
               "  --order KEY     bytes (default), packets or flows\n"
               "  -n, --limit N   rows, 1-10000 (default 10)\n"
               "  --unscaled      raw counters, not scaled by sampling\n\n"
               "%s\n%s", cli_range_help, cli_common_help);
}

struct top_args {
    const char *by, *order, *limit;
};

static int top_opt(void *arg, int code, const char *val)
{
    struct top_args *a = arg;
    switch (code) {
    case 'b': a->by = val; return 0;
    case 'o': a->order = val; return 0;
    case 'n': a->limit = val; return 0;
    default: return -1;
    }
}

int cmd_top(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, CLI_RANGE_OPTIONS,
                                         {"unscaled", no_argument, NULL, OPT_UNSCALED},
                                         {"by", required_argument, NULL, 'b'},
                                         {"order", required_argument, NULL, 'o'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {NULL, 0, NULL, 0}};
    struct cli_col cols[] = {
        {"key", "SRCIP", COL_TEXT, false},    {"flows", "FLOWS", COL_COUNT, false},
        {"bytes", "BYTES", COL_BYTES, false}, {"packets", "PACKETS", COL_PACKETS, false},
        {"bytes", "BITRATE", COL_BPS, true},  {"packets", "PKTRATE", COL_PPS, true},
    };
    struct top_args a = {"srcip", "bytes", NULL};
    struct cli c;
    struct cli_target t;
    struct jval *doc = NULL;
    char *body = NULL, header[32];
    int rc;

    cli_init(&c, "top");
    if ((rc = cli_parse(&c, argc, argv, opts, "n:", top_opt, &a, top_usage)) != CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, true)) != CLI_OK)
        goto out;
    cli_target_init(&t, "/api/v1/top");
    cli_target_add_range(&t, &c);
    cli_target_add(&t, "by", a.by);
    cli_target_add(&t, "order", a.order);
    if (a.limit)
        cli_target_add(&t, "limit", a.limit);
    if ((rc = cli_get_json(&c, t.buf, &doc, &body)) != CLI_OK)
        goto out;
    size_t i = 0;
    for (const char *p = a.by; *p && i + 1 < sizeof(header); p++)
        header[i++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    header[i] = '\0';
    cols[0].header = header;
    rc = cli_print(&c, body, doc, "rows", cols, sizeof(cols) / sizeof(cols[0]),
                   (double)(c.to_ms - c.from_ms) / 1000.0);
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
