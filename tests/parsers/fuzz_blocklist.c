/*
 * fuzz_blocklist.c - libFuzzer harness for hub/analyzer/blocklist.c: parses the input as two
 * blocklist files (split at the first NUL byte, or the whole input twice), builds the lookup
 * set, and checks anz_blocklist_find against a linear scan of every parsed prefix for the
 * addresses at, just before and just after each prefix's bounds, and a few fixed ones.
 */
#include <stdlib.h>
#include <string.h>

#include "blocklist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool contains(const struct anz_range *r, const uint8_t a[FL0WER_ADDR_LEN])
{
    return memcmp(r->lo, a, FL0WER_ADDR_LEN) <= 0 && memcmp(a, r->hi, FL0WER_ADDR_LEN) <= 0;
}

/* a +/- 1 as a 128-bit big-endian number (wrapping). */
static void step(uint8_t a[FL0WER_ADDR_LEN], int dir)
{
    for (int i = FL0WER_ADDR_LEN - 1; i >= 0; i--) {
        uint8_t old = a[i];
        a[i] = (uint8_t)(a[i] + dir);
        if ((dir > 0 && old != 0xff) || (dir < 0 && old != 0x00))
            break;
    }
}

static void check_addr(const struct anz_blocklist *bl, const struct anz_range *all, size_t n,
                       const uint8_t a[FL0WER_ADDR_LEN])
{
    bool want = false;
    for (size_t i = 0; i < n && !want; i++)
        want = contains(&all[i], a);
    const struct anz_range *got = anz_blocklist_find(bl, a);
    if (want != (got != NULL) || (got && !contains(got, a)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct anz_range *ranges = NULL, *copy = NULL;
    struct anz_blocklist bl = {NULL, 0};
    size_t count = 0, cap = 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *second = memchr(text, '\0', size) ? text + strlen(text) + 1 : text;

    if (anz_blocklist_parse(text, 0, &ranges, &count, &cap) < 0 ||
        anz_blocklist_parse(second, 1, &ranges, &count, &cap) < 0)
        goto out;
    if (count && !(copy = malloc(count * sizeof(*copy))))
        goto out;
    if (count)
        memcpy(copy, ranges, count * sizeof(*copy));
    for (size_t i = 0; i < count; i++)
        if (memcmp(copy[i].lo, copy[i].hi, FL0WER_ADDR_LEN) > 0 || copy[i].list > 1)
            abort();
    anz_blocklist_build(&bl, ranges, count);
    ranges = NULL;
    if (bl.count > count)
        abort();
    for (size_t i = 0; i < count && i < 64; i++) {
        uint8_t a[FL0WER_ADDR_LEN];
        memcpy(a, copy[i].lo, sizeof(a));
        check_addr(&bl, copy, count, a);
        step(a, -1);
        check_addr(&bl, copy, count, a);
        memcpy(a, copy[i].hi, sizeof(a));
        check_addr(&bl, copy, count, a);
        step(a, +1);
        check_addr(&bl, copy, count, a);
    }
    static const char *const fixed[] = {"0.0.0.0", "10.1.2.3", "255.255.255.255", "::",
                                        "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        uint8_t a[FL0WER_ADDR_LEN];
        fl0wer_addr_parse(fixed[i], a);
        check_addr(&bl, copy, count, a);
    }
out:
    anz_blocklist_release(&bl);
    free(ranges);
    free(copy);
    free(text);
    return 0;
}
