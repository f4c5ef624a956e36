/*
 * test_blocklist_lines.c - a regression in hub/analyzer/blocklist.c found while fuzzing it
 * (fuzz_blocklist): anz_blocklist_parse copied each line into 128 bytes and skipped any longer
 * line whole, so a listed prefix followed by a long '#' comment was dropped (and never alerted
 * on). Fixed in d3dad65; also counted: lines that are not a prefix, and lookups at the edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocklist.h"

static void test_prefix_with_long_comment(void **state)
{
    struct anz_range *ranges = NULL;
    struct anz_blocklist bl = {NULL, 0};
    size_t count = 0, cap = 0;
    char text[400], comment[201];
    uint8_t addr[FL0WER_ADDR_LEN];
    memset(comment, 'x', sizeof(comment) - 1);
    comment[sizeof(comment) - 1] = '\0';
    snprintf(text, sizeof(text), "198.51.100.0/24   # %s\n203.0.113.7\n", comment);
    assert_int_equal(anz_blocklist_parse(text, 0, &ranges, &count, &cap), 0); /* was 1 */
    assert_int_equal(count, 2);                                               /* was 1 */
    anz_blocklist_build(&bl, ranges, count);
    assert_int_equal(fl0wer_addr_parse("198.51.100.77", addr), 0);
    assert_non_null(anz_blocklist_find(&bl, addr));
    anz_blocklist_release(&bl);
}

/* Skipped lines are counted; lookups hold at the first and last address of a prefix. */
static void test_skipped_and_edges(void **state)
{
    struct anz_range *ranges = NULL;
    struct anz_blocklist bl = {NULL, 0};
    size_t count = 0, cap = 0;
    uint8_t addr[FL0WER_ADDR_LEN];
    static const char text[] = "# list\n10.0.0.0/8\n10.1.0.0/16 # inside\nnot-a-prefix\n"
                               "192.0.2.0/33\n2001:db8::/32\n\n  \t\n203.0.113.9";
    assert_int_equal(anz_blocklist_parse(text, 3, &ranges, &count, &cap), 2);
    assert_int_equal(count, 4);
    assert_int_equal(ranges[3].list, 3);
    anz_blocklist_build(&bl, ranges, count);
    static const struct {
        const char *a;
        bool listed;
    } probes[] = {{"9.255.255.255", false}, {"10.0.0.0", true},     {"10.255.255.255", true},
                  {"11.0.0.0", false},      {"203.0.113.9", true},  {"203.0.113.10", false},
                  {"2001:db8::", true},     {"2001:db9::", false},
                  {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true}};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        assert_int_equal(fl0wer_addr_parse(probes[i].a, addr), 0);
        if ((anz_blocklist_find(&bl, addr) != NULL) != probes[i].listed)
            fail_msg("%s: want listed=%d", probes[i].a, probes[i].listed);
    }
    anz_blocklist_release(&bl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_with_long_comment),
        cmocka_unit_test(test_skipped_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
