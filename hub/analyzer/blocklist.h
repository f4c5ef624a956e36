/*
 * blocklist.h - sets of CIDR prefixes loaded from blocklist files (one prefix or address per
 * line, '#' comments), answering "is this address listed" in O(log n). Addresses are the 16-byte
 * form of flow.h, so IPv4 prefixes are stored as ::ffff:0:0/96 + len.
 */
#ifndef FL0WER_ANALYZER_BLOCKLIST_H
#define FL0WER_ANALYZER_BLOCKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

struct anz_range {
    uint8_t lo[FL0WER_ADDR_LEN];
    uint8_t hi[FL0WER_ADDR_LEN];
    uint32_t list; /* index of the file it came from */
};

struct anz_blocklist {
    struct anz_range *ranges; /* sorted by lo, merged where they overlap within one list */
    size_t count;
};

/*
 * Parses the text of one blocklist file and appends its prefixes, tagged with list, to *ranges /
 * *count (a growing malloc'd array owned by the caller). Returns the number of lines that were
 * not a prefix (skipped), or -1 when memory ran out.
 */
int anz_blocklist_parse(const char *text, uint32_t list, struct anz_range **ranges, size_t *count,
                        size_t *cap);

/* Takes ownership of ranges[0..count), sorts them and builds the lookup set into bl. */
void anz_blocklist_build(struct anz_blocklist *bl, struct anz_range *ranges, size_t count);

/* Returns the matching range, or NULL. */
const struct anz_range *anz_blocklist_find(const struct anz_blocklist *bl,
                                           const uint8_t addr[FL0WER_ADDR_LEN]);

void anz_blocklist_release(struct anz_blocklist *bl);

#endif
