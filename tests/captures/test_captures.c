/*
 * test_captures.c - whole-capture tests: decodes every case listed in expected-bundled.tsv (the
 * captures committed under tests/data/captures) and expected-shared.tsv (../shared/testdata/flows,
 * skipped visibly when absent) through fl0wer_capture + fl0wer_decode with ONE decoder per case,
 * and compares messages, records, byte/packet sums, errors and sample records with the values
 * tests/captures/make_expected.py derived from tshark. Prints one PASS / FAIL / KNOWN GAP /
 * NOT SUPPORTED line per case, then fails if any case failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl0wer/capture.h"
#include "fl0wer/decode.h"

#define MAX_COLS    12
#define MAX_FILES   16
#define MAX_FLOWS   8192
#define LINE_MAX_   16384
/* tshark never expires templates; neither do the cases (captures span years of capture time). */
#define NO_EXPIRY_S 3153600000u

enum col { C_CASE, C_STATUS, C_PORTS, C_FILES, C_MESSAGES, C_RECORDS, C_BYTES, C_PACKETS,
           C_ERRORS, C_TSHARK, C_REASON, C_SAMPLES };

struct result {
    uint64_t records, bytes, packets;
    size_t nflows;
    struct fl0wer_flow *flows; /* first MAX_FLOWS flows, in emission order */
};

static int on_flows(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct result *r = arg;
    size_t i;

    for (i = 0; i < count; i++) {
        r->records++;
        r->bytes += flows[i].bytes;
        r->packets += flows[i].packets;
        if (r->nflows < MAX_FLOWS)
            r->flows[r->nflows++] = flows[i];
    }
    return 0;
}

/* Splits s in place at sep into at most max fields (empty fields kept). Returns the count. */
static size_t split(char *s, char sep, char **out, size_t max)
{
    size_t n = 0;

    out[n++] = s;
    for (; *s != '\0' && n < max; s++) {
        if (*s == sep) {
            *s = '\0';
            out[n++] = s + 1;
        }
    }
    return n;
}

/* Decodes the case's files in order. Returns 0, or -1 with a message printed. */
static int decode_case(const char *root, char *files, char *ports_s, struct result *r,
                       struct fl0wer_decoder_totals *t)
{
    struct fl0wer_decoder_config cfg = {.template_timeout_s = NO_EXPIRY_S};
    struct fl0wer_decoder *d;
    char *file[MAX_FILES], *port[FL0WER_CAPTURE_MAX_PORTS];
    uint16_t ports[FL0WER_CAPTURE_MAX_PORTS];
    size_t nf, np, i;
    int rc = 0;

    np = split(ports_s, ',', port, FL0WER_CAPTURE_MAX_PORTS);
    for (i = 0; i < np; i++)
        ports[i] = (uint16_t)atoi(port[i]);
    nf = split(files, ',', file, MAX_FILES);
    if (fl0wer_decoder_create(&d, &cfg) != 0)
        return -1;
    for (i = 0; i < nf && rc == 0; i++) {
        struct fl0wer_capture *c;
        struct fl0wer_datagram dg;
        struct fl0wer_source src;
        char path[1024], err[256];

        snprintf(path, sizeof(path), "%s/%s", root, file[i]);
        if (fl0wer_capture_open(&c, path, ports, np, err) != 0) {
            print_message("  %s\n", err);
            rc = -1;
            break;
        }
        while ((rc = fl0wer_capture_next(c, &dg, err)) == 1) {
            memcpy(src.addr, dg.src_addr, sizeof(src.addr));
            src.port = dg.src_port;
            src.recv_ms = dg.ts_ms;
            fl0wer_decode_packet(d, &src, dg.payload, dg.len, on_flows, r);
        }
        if (rc < 0)
            print_message("  %s: %s\n", path, err);
        fl0wer_capture_close(c);
    }
    fl0wer_decoder_flush_held(d);
    fl0wer_decoder_totals(d, t);
    fl0wer_decoder_destroy(d);
    return rc;
}

/*
 * Compares one expected counter; prints a mismatch line. Returns 1 when it differs. "-" means
 * no independent decoder gives this value (the case's reason says why): not asserted.
 */
static int differs(const char *what, const char *expected, uint64_t got)
{
    uint64_t want = strtoull(expected, NULL, 10);

    if (strcmp(expected, "-") == 0)
        return 0;

    if (want == got)
        return 0;
    print_message("    %s: expected %" PRIu64 ", got %" PRIu64 "\n", what, want, got);
    return 1;
}

static int addr_differs(const char *what, const char *want, const uint8_t addr[FL0WER_ADDR_LEN])
{
    char got[FL0WER_ADDR_STRLEN];

    if (want[0] == '\0' || strcmp(want, "0.0.0.0") == 0 || strcmp(want, "::") == 0) {
        if (fl0wer_addr_is_zero(addr))
            return 0;
    } else if (strcmp(want, fl0wer_addr_format(addr, got, sizeof(got))) == 0) {
        return 0;
    }
    print_message("    %s: expected '%s', got '%s'\n", what, want,
                  fl0wer_addr_format(addr, got, sizeof(got)));
    return 1;
}

/* Checks "index:src|dst|sport|dport|proto|bytes|packets;..." against the decoded flows. */
static int samples_differ(char *samples, const struct result *r)
{
    char *one[64], *f[8], what[64];
    size_t n, i;
    int bad = 0;

    if (samples[0] == '\0')
        return 0;
    n = split(samples, ';', one, 64);
    for (i = 0; i < n; i++) {
        char *colon = strchr(one[i], ':');
        size_t idx = strtoul(one[i], NULL, 10);
        const struct fl0wer_flow *fl;

        if (colon == NULL || split(colon + 1, '|', f, 8) != 7)
            continue;
        if (idx >= r->nflows) {
            print_message("    flow #%zu: missing (only %zu flows)\n", idx, r->nflows);
            bad = 1;
            continue;
        }
        fl = &r->flows[idx];
        snprintf(what, sizeof(what), "flow #%zu src", idx);
        bad |= addr_differs(what, f[0], fl->src_addr);
        snprintf(what, sizeof(what), "flow #%zu dst", idx);
        bad |= addr_differs(what, f[1], fl->dst_addr);
        snprintf(what, sizeof(what), "flow #%zu src_port", idx);
        bad |= differs(what, f[2], fl->src_port);
        snprintf(what, sizeof(what), "flow #%zu dst_port", idx);
        bad |= differs(what, f[3], fl->dst_port);
        snprintf(what, sizeof(what), "flow #%zu proto", idx);
        bad |= differs(what, f[4], fl->proto);
        snprintf(what, sizeof(what), "flow #%zu bytes", idx);
        bad |= differs(what, f[5], fl->bytes);
        snprintf(what, sizeof(what), "flow #%zu packets", idx);
        bad |= differs(what, f[6], fl->packets);
    }
    return bad;
}

/* Runs one TSV row. Returns 1 when the case failed. */
static int run_case(const char *root, char **col, struct result *r)
{
    struct fl0wer_decoder_totals t;
    int bad = 0;

    if (strcmp(col[C_STATUS], "sflow") == 0) {
        print_message("NOT SUPPORTED   %s (%s)\n", col[C_CASE], col[C_REASON]);
        return 0;
    }
    if (strcmp(col[C_STATUS], "gap") == 0) {
        print_message("KNOWN GAP       %s: %s\n", col[C_CASE], col[C_REASON]);
        return 0;
    }
    memset(r, 0, offsetof(struct result, flows));
    if (decode_case(root, col[C_FILES], col[C_PORTS], r, &t) != 0)
        bad = 1;
    bad |= differs("messages", col[C_MESSAGES], t.messages);
    bad |= differs("records", col[C_RECORDS], r->records);
    bad |= differs("bytes", col[C_BYTES], r->bytes);
    bad |= differs("packets", col[C_PACKETS], r->packets);
    bad |= differs("errors", col[C_ERRORS], t.errors);
    bad |= samples_differ(col[C_SAMPLES], r);
    print_message("%s %s%s%s\n", bad ? "FAIL           " : "PASS           ", col[C_CASE],
                  col[C_REASON][0] ? "  [differs from tshark: " : "", col[C_REASON][0] ? "]" : "");
    if (col[C_REASON][0])
        print_message("                (%s)\n", col[C_REASON]);
    return bad;
}

/* Runs every case of one expected file against root. Returns the number of failed cases. */
static int run_file(const char *tsv, const char *root, int *ncases)
{
    struct result r = {0};
    char *line, *col[MAX_COLS];
    int failed = 0;
    FILE *f = fopen(tsv, "r");

    assert_non_null(f);
    line = malloc(LINE_MAX_);
    r.flows = calloc(MAX_FLOWS, sizeof(*r.flows));
    assert_non_null(line);
    assert_non_null(r.flows);
    while (fgets(line, LINE_MAX_, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || strncmp(line, "case\t", 5) == 0 || line[0] == '\0')
            continue;
        if (split(line, '\t', col, MAX_COLS) != MAX_COLS) {
            print_message("malformed line in %s: %s\n", tsv, line);
            failed++;
            continue;
        }
        (*ncases)++;
        failed += run_case(root, col, &r);
    }
    fclose(f);
    free(r.flows);
    free(line);
    return failed;
}

static void test_bundled_captures(void **state)
{
    char tsv[512], root[512];
    int n = 0, failed;

    snprintf(tsv, sizeof(tsv), "%s/tests/captures/expected-bundled.tsv", FL0WER_SOURCE_DIR);
    snprintf(root, sizeof(root), "%s/tests/data/captures", FL0WER_SOURCE_DIR);
    failed = run_file(tsv, root, &n);
    print_message("bundled captures: %d cases, %d failed\n", n, failed);
    assert_true(n >= 10);
    assert_int_equal(failed, 0);
}

static void test_shared_captures(void **state)
{
    char tsv[512], index[512];
    int n = 0, failed;

    snprintf(index, sizeof(index), "%s/INDEX.md", FL0WER_SHARED_FLOWS);
    if (access(index, R_OK) != 0) {
        print_message("SKIPPED: whole-capture tests over shared captures: "
                      "../shared/testdata/flows absent (%s)\n", FL0WER_SHARED_FLOWS);
        skip();
    }
    snprintf(tsv, sizeof(tsv), "%s/tests/captures/expected-shared.tsv", FL0WER_SOURCE_DIR);
    failed = run_file(tsv, FL0WER_SHARED_FLOWS, &n);
    print_message("shared captures: %d cases, %d failed\n", n, failed);
    assert_true(n >= 50);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bundled_captures),
        cmocka_unit_test(test_shared_captures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
