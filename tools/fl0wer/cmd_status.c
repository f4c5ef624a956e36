/*
 * cmd_status.c - `fl0wer status`: the hub's version, uptime, storage and ingest counters from
 * GET /api/v1/status.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

static void status_usage(FILE *f)
{
    fprintf(f, "usage: fl0wer status [connection options] [--format FMT]\n\n"
               "The hub's version, uptime, storage size and retention, ingest counters and\n"
               "rates, and its certificate fingerprint.\n\n%s", cli_common_help);
}

/* Prints doc flattened as "a.b: value" (table) or "a.b,value" (csv) lines. */
static void status_flat(const struct jval *v, const char *prefix, enum cli_format fmt)
{
    char key[128], human[48];
    if (v->t == J_OBJ) {
        for (size_t i = 0; i < v->n; i++) {
            snprintf(key, sizeof(key), "%s%s%s", prefix, *prefix ? "." : "", v->keys[i]);
            status_flat(&v->items[i], key, fmt);
        }
        return;
    }
    const char *text = v->t == J_STR || v->t == J_NUM ? v->s : v->t == J_BOOL
                                                               ? (v->b ? "true" : "false")
                                                               : "null";
    if (fmt == FMT_CSV) {
        out_csv_field(stdout, prefix);
        putchar(',');
        out_csv_field(stdout, text);
        putchar('\n');
        return;
    }
    size_t pl = strlen(prefix);
    bool is_time = strcmp(prefix, "now") == 0 || strcmp(prefix, "started") == 0 ||
                   (pl > 5 && strcmp(prefix + pl - 5, "_flow") == 0);
    human[0] = '\0';
    if (v->t == J_NUM && pl > 5 && strcmp(prefix + pl - 5, "bytes") == 0 &&
        strstr(prefix, "max_disk") == NULL)
        out_human(human, sizeof(human), COL_BYTES, json_num(v));
    else if (v->t == J_NUM && is_time)
        out_time(human, sizeof(human), json_u64(v));
    printf("%-28s %s%s%s%s\n", prefix, text, human[0] ? " (" : "", human, human[0] ? ")" : "");
}

int cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
    struct cli c;
    struct jval *doc = NULL;
    char *body = NULL;
    int rc;

    cli_init(&c, "status");
    if ((rc = cli_parse(&c, argc, argv, opts, "", NULL, NULL, status_usage)) != CLI_CONTINUE)
        goto out;
    if ((rc = cli_finish(&c, false)) != CLI_OK)
        goto out;
    if ((rc = cli_get_json(&c, "/api/v1/status", &doc, &body)) != CLI_OK)
        goto out;
    if (c.format == FMT_JSON)
        printf("%s\n", body);
    else if (c.format == FMT_NDJSON)
        out_json(stdout, doc);
    else {
        if (c.format == FMT_CSV)
            printf("key,value\n");
        status_flat(doc, "", c.format);
    }
    rc = fflush(stdout) == 0 ? CLI_OK : CLI_EUSAGE;
out:
    json_free(doc);
    free(body);
    cli_release(&c);
    return rc;
}
