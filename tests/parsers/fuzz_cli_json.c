/*
 * fuzz_cli_json.c - libFuzzer harness for the `fl0wer` CLI's JSON reader (tools/fl0wer/json.c)
 * against a hostile or broken hub: parses the bytes; a parsed document must print back
 * (json_print) to text that parses again and prints identically, and must render as a table,
 * CSV and NDJSON (tools/fl0wer/output.c) with columns of every kind without failing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cli_col cols[] = {
    {"addr", "ADDR", COL_TEXT, false},   {"n", "N", COL_NUM, false},
    {"bytes", "BYTES", COL_BYTES, false}, {"packets", "PKTS", COL_PACKETS, false},
    {"flows", "FLOWS", COL_COUNT, false}, {"t", "TIME", COL_TIME, false},
    {"bytes", "BPS", COL_BPS, true},      {"packets", "PPS", COL_PPS, true},
};

/* json_print of v into a malloc'd string (*len bytes), or NULL. */
static char *print(const struct jval *v, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    json_print(v, f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    struct jval *doc = NULL, *again = NULL;
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        return 0;
    if (json_parse((const char *)data, size, &doc) != 0)
        return 0;
    if (!(t1 = print(doc, &l1)))
        goto out;
    if (json_parse(t1, l1, &again) != 0 || !(t2 = print(again, &l2)))
        abort();
    if (l1 != l2 || memcmp(t1, t2, l1) != 0)
        abort();
    (void)json_u64(doc);
    (void)json_num(doc);
    (void)json_str(json_get(doc, "error"));
    const struct jval *rows = doc->t == J_OBJ && doc->n ? &doc->items[0] : doc;
    for (int fmt = FMT_TABLE; fmt <= FMT_NDJSON; fmt++)
        out_rows(devnull, (enum cli_format)fmt, cols, sizeof(cols) / sizeof(cols[0]), rows, 60.0);
out:
    free(t1);
    free(t2);
    json_free(again);
    json_free(doc);
    return 0;
}
