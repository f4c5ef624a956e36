/*
 * output.c - rendering of the hub's JSON for people and tools: aligned tables with human units
 * (1.2 GB, 3.4 Mpps, 12.3 Mbps), CSV with the raw values (RFC 4180 quoting), NDJSON and JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

void out_time(char *buf, size_t len, uint64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (ms == 0) {
        snprintf(buf, len, "-");
        return;
    }
    gmtime_r(&s, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* v scaled by 1000s with a prefix: "999", "1.2 k", "3.4 M" ... */
static void si(char *buf, size_t len, double v, const char *unit, bool space_always)
{
    static const char *const pfx[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    while (v >= 999.95 && i < 6) {
        v /= 1000.0;
        i++;
    }
    if (i == 0 && v == (double)(uint64_t)v)
        snprintf(buf, len, "%llu%s%s", (unsigned long long)v, *unit || space_always ? " " : "",
                 unit);
    else
        snprintf(buf, len, "%.1f %s%s", v, pfx[i], unit);
}

void out_human(char *buf, size_t len, enum col_kind kind, double v)
{
    switch (kind) {
    case COL_BYTES: si(buf, len, v, "B", true); break;
    case COL_PACKETS: si(buf, len, v, "", false); break;
    case COL_COUNT: si(buf, len, v, "", false); break;
    case COL_BPS: si(buf, len, v, "bps", true); break;
    case COL_PPS: si(buf, len, v, "pps", true); break;
    default: snprintf(buf, len, "%.0f", v); break;
    }
}

/* Text of one cell as the table shows it. */
static void cell_table(char *buf, size_t len, const struct cli_col *col, const struct jval *row,
                       double seconds)
{
    const struct jval *v = json_get(row, col->key);
    switch (col->kind) {
    case COL_TEXT:
        if (json_str(v))
            snprintf(buf, len, "%s", json_str(v));
        else if (v && v->t == J_NUM)
            snprintf(buf, len, "%s", v->s);
        else
            snprintf(buf, len, "-");
        break;
    case COL_NUM: snprintf(buf, len, "%llu", (unsigned long long)json_u64(v)); break;
    case COL_TIME: out_time(buf, len, json_u64(v)); break;
    case COL_BPS:
        out_human(buf, len, COL_BPS, seconds > 0 ? (double)json_u64(v) * 8.0 / seconds : 0);
        break;
    case COL_PPS:
        out_human(buf, len, COL_PPS, seconds > 0 ? (double)json_u64(v) / seconds : 0);
        break;
    default: out_human(buf, len, col->kind, (double)json_u64(v)); break;
    }
    /* Control characters from names never reach the terminal. */
    for (char *p = buf; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

void out_csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void out_table(FILE *f, const struct cli_col *cols, size_t ncols, const struct jval *rows,
                      double seconds)
{
    size_t w[32];
    char cell[256];
    ncols = ncols > 32 ? 32 : ncols;
    for (size_t c = 0; c < ncols; c++)
        w[c] = strlen(cols[c].header);
    for (size_t r = 0; r < rows->n; r++)
        for (size_t c = 0; c < ncols; c++) {
            cell_table(cell, sizeof(cell), &cols[c], &rows->items[r], seconds);
            size_t n = strlen(cell);
            w[c] = n > w[c] ? n : w[c];
        }
    for (int pass = -1; pass < (int)rows->n; pass++) {
        for (size_t c = 0; c < ncols; c++) {
            bool left = cols[c].kind == COL_TEXT || cols[c].kind == COL_TIME;
            if (pass < 0)
                snprintf(cell, sizeof(cell), "%s", cols[c].header);
            else
                cell_table(cell, sizeof(cell), &cols[c], &rows->items[pass], seconds);
            const char *sep = c + 1 < ncols ? "  " : "";
            if (left && c + 1 == ncols)
                fprintf(f, "%s", cell);
            else
                fprintf(f, left ? "%-*s%s" : "%*s%s", (int)w[c], cell, sep);
        }
        fputc('\n', f);
    }
}

static void out_csv(FILE *f, const struct cli_col *cols, size_t ncols, const struct jval *rows)
{
    bool first = true;
    for (size_t c = 0; c < ncols; c++) {
        if (cols[c].table_only)
            continue;
        if (!first)
            fputc(',', f);
        first = false;
        out_csv_field(f, cols[c].key);
    }
    fputc('\n', f);
    for (size_t r = 0; r < rows->n; r++) {
        first = true;
        for (size_t c = 0; c < ncols; c++) {
            if (cols[c].table_only)
                continue;
            const struct jval *v = json_get(&rows->items[r], cols[c].key);
            if (!first)
                fputc(',', f);
            first = false;
            if (json_str(v))
                out_csv_field(f, json_str(v));
            else if (v && v->t == J_NUM)
                fputs(v->s, f);
            else if (v && v->t == J_BOOL)
                fputs(v->b ? "true" : "false", f);
        }
        fputc('\n', f);
    }
}

void out_json(FILE *f, const struct jval *v)
{
    json_print(v, f);
    fputc('\n', f);
}

void out_rows(FILE *f, enum cli_format fmt, const struct cli_col *cols, size_t ncols,
              const struct jval *rows, double seconds)
{
    static const struct jval empty = {.t = J_ARR};
    if (!rows || rows->t != J_ARR)
        rows = &empty;
    switch (fmt) {
    case FMT_TABLE: out_table(f, cols, ncols, rows, seconds); break;
    case FMT_CSV: out_csv(f, cols, ncols, rows); break;
    case FMT_NDJSON:
        for (size_t r = 0; r < rows->n; r++)
            out_json(f, &rows->items[r]);
        break;
    case FMT_JSON: out_json(f, rows); break;
    }
}
