/*
 * blocklist.c - CIDR blocklists: parsing, sorting, lookup by binary search.
 *
 * CIDR prefixes are either nested or disjoint, so after sorting by start address the build drops
 * every prefix contained in an earlier one; the rest are disjoint and a binary search for the last
 * start <= address answers exactly.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "blocklist.h"

static int parse_prefix(const char *text, struct anz_range *r)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    long plen;
    unsigned bits;

    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    if (fl0wer_addr_parse(buf, r->lo) != 0)
        return -1;
    bits = fl0wer_addr_is_v4(r->lo) ? 32 : 128;
    plen = bits;
    if (slash) {
        char *end;
        plen = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end != '\0' || plen < 0 || plen > (long)bits)
            return -1;
    }
    if (bits == 32)
        plen += 96;
    memcpy(r->hi, r->lo, FL0WER_ADDR_LEN);
    for (unsigned i = (unsigned)plen; i < 128; i++) {
        r->lo[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
        r->hi[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    }
    return 0;
}

int anz_blocklist_parse(const char *text, uint32_t list, struct anz_range **ranges, size_t *count,
                        size_t *cap)
{
    int skipped = 0;
    const char *p = text;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *hash = memchr(p, '#', len);
        size_t content = hash ? (size_t)(hash - p) : len; /* a comment, however long, is cut */
        char line[128];
        size_t b = 0, e;

        if (content < sizeof(line)) {
            memcpy(line, p, content);
            line[content] = '\0';
            e = strlen(line);
            while (b < e && isspace((unsigned char)line[b]))
                b++;
            while (e > b && isspace((unsigned char)line[e - 1]))
                e--;
            line[e] = '\0';
            if (e > b) {
                struct anz_range r;
                if (parse_prefix(line + b, &r) == 0) {
                    if (*count == *cap) {
                        size_t ncap = *cap ? *cap * 2 : 64;
                        struct anz_range *n = realloc(*ranges, ncap * sizeof(*n));
                        if (n == NULL)
                            return -1;
                        *ranges = n;
                        *cap = ncap;
                    }
                    r.list = list;
                    (*ranges)[(*count)++] = r;
                } else {
                    skipped++;
                }
            }
        } else {
            skipped++;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
    return skipped;
}

static int by_lo(const void *a, const void *b)
{
    const struct anz_range *x = a, *y = b;
    int c = memcmp(x->lo, y->lo, FL0WER_ADDR_LEN);

    return c ? c : memcmp(x->hi, y->hi, FL0WER_ADDR_LEN);
}

void anz_blocklist_build(struct anz_blocklist *bl, struct anz_range *ranges, size_t count)
{
    size_t kept = 0;

    if (count > 1)
        qsort(ranges, count, sizeof(*ranges), by_lo);
    for (size_t i = 0; i < count; i++) {
        if (kept > 0 && memcmp(ranges[i].hi, ranges[kept - 1].hi, FL0WER_ADDR_LEN) <= 0)
            continue; /* inside the previous prefix */
        ranges[kept++] = ranges[i];
    }
    bl->ranges = ranges;
    bl->count = kept;
}

const struct anz_range *anz_blocklist_find(const struct anz_blocklist *bl,
                                           const uint8_t addr[FL0WER_ADDR_LEN])
{
    size_t lo = 0, hi = bl->count;

    /* Last range with lo <= addr. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (memcmp(bl->ranges[mid].lo, addr, FL0WER_ADDR_LEN) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || memcmp(bl->ranges[lo - 1].hi, addr, FL0WER_ADDR_LEN) < 0)
        return NULL;
    return &bl->ranges[lo - 1];
}

void anz_blocklist_release(struct anz_blocklist *bl)
{
    free(bl->ranges);
    bl->ranges = NULL;
    bl->count = 0;
}
