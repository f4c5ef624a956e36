/*
 * test_pending_blocklist.c - a regression in hub/analyzer/blocklist.c (not owned here), found
 * while fuzzing it (fuzz_blocklist): anz_blocklist_parse copies each line into 128 bytes and
 * skips any longer line whole, so a listed prefix followed by a long '#' comment is dropped
 * (and fl0wer_analyzer_load_blocklists does not report the skipped count): that traffic is
 * never alerted. FAILS until fixed; built only with -DFL0WER_PARSERS_PENDING=ON.
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
    assert_int_equal(anz_blocklist_parse(text, 0, &ranges, &count, &cap), 0); /* today: 1 */
    assert_int_equal(count, 2);                                               /* today: 1 */
    anz_blocklist_build(&bl, ranges, count);
    assert_int_equal(fl0wer_addr_parse("198.51.100.77", addr), 0);
    assert_non_null(anz_blocklist_find(&bl, addr));
    anz_blocklist_release(&bl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_with_long_comment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
