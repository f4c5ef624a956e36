/*
 * gen_walk.h - a small, independent walker over generated export packets for the tests: checks
 * header and set lengths, set ids, header counts and sequence numbers per RFC, learns templates,
 * and sums the octet counters it finds in data records.
 */
#ifndef GEN_WALK_H
#define GEN_WALK_H

#include <stddef.h>
#include <stdint.h>

struct walk_tpl {
    uint16_t id;
    uint16_t len;       /* record length */
    int bytes_off;      /* offset of IE 1 (octets) or -1 */
    uint16_t bytes_len;
};

struct walk_exporter {
    int seen;
    uint32_t next_seq;
    uint64_t packets;
    struct walk_tpl tpl[8];
    size_t n_tpl;
};

struct walk_sum {
    uint64_t packets, records, options_records, templates, bytes;
    uint64_t template_packets; /* packets that carried a template set */
};

/* Checks one packet of exporter state e. Returns NULL when well-formed, else what is wrong. */
const char *walk_packet(struct walk_exporter *e, const uint8_t *p, size_t len,
                        struct walk_sum *sum);

#endif
