/*
 * flow.h - the canonical flow record.
 *
 * Every decoder (NetFlow v5, v9, IPFIX) produces this one fixed-size record, and every later
 * stage (edge aggregation, batches, hub storage, queries) consumes it. docs/flow-record.md lists
 * each field with the information elements that feed it.
 *
 * Addresses are 16 bytes. IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d, RFC 4291
 * 2.5.5.2) so one comparison serves both families; fl0wer_addr_is_v4() tells them apart. An
 * all-zero address means "not present".
 */
#ifndef FL0WER_FLOW_H
#define FL0WER_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FL0WER_ADDR_LEN 16

/* Export protocol that carried the record (fl0wer_flow.version). */
enum fl0wer_export_version {
    FL0WER_EXPORT_NETFLOW5 = 5,
    FL0WER_EXPORT_NETFLOW9 = 9,
    FL0WER_EXPORT_IPFIX = 10,
};

/* fl0wer_flow.direction: flowDirection (IE 61) where the exporter said so. */
enum fl0wer_direction {
    FL0WER_DIR_UNKNOWN = 0,
    FL0WER_DIR_INGRESS = 1,
    FL0WER_DIR_EGRESS = 2,
};

/* fl0wer_flow.flags bits. */
#define FL0WER_FLOW_F_IPV6      0x01u /* src/dst are IPv6 (else IPv4-mapped) */
#define FL0WER_FLOW_F_REVERSE   0x02u /* built from RFC 5103 reverse counters (PEN 29305) */
#define FL0WER_FLOW_F_TIME_RECV 0x04u /* exporter gave no usable time; receive time used */

/*
 * One flow. Fixed size and plain data: copy with memcpy or assignment, compare fields directly.
 * Counters are the raw counters the exporter sent; `sampling` is the interval that applies
 * (1 = unsampled), so a query scales bytes and packets by it and reports raw values on request.
 */
struct fl0wer_flow {
    uint8_t exporter[FL0WER_ADDR_LEN]; /* address the export packet came from */
    uint8_t src_addr[FL0WER_ADDR_LEN];
    uint8_t dst_addr[FL0WER_ADDR_LEN];
    uint8_t next_hop[FL0WER_ADDR_LEN];

    uint64_t first_ms; /* flow start, ms since the Unix epoch */
    uint64_t last_ms;  /* flow end, ms since the Unix epoch */
    uint64_t bytes;    /* raw octet count */
    uint64_t packets;  /* raw packet count */
    uint64_t flows;    /* flows merged into this record (1 from a decoder) */

    uint32_t domain_id; /* IPFIX observation domain / v9 source id / v5 engine type<<8|id */
    uint32_t in_if;     /* ingress interface (ifIndex) */
    uint32_t out_if;    /* egress interface (ifIndex) */
    uint32_t src_as;
    uint32_t dst_as;
    uint32_t sampling; /* packet sampling interval, 1 = every packet */

    uint16_t src_port; /* for ICMP: 0; dst_port carries type<<8|code */
    uint16_t dst_port;
    uint16_t vlan;       /* VLAN id (src VLAN where both are given) */
    uint8_t proto;       /* IP protocol number */
    uint8_t tcp_flags;   /* OR of TCP flags seen */
    uint8_t tos;         /* IP ToS byte (DSCP << 2 | ECN) */
    uint8_t src_mask;    /* source prefix length */
    uint8_t dst_mask;    /* destination prefix length */
    uint8_t direction;   /* enum fl0wer_direction */
    uint8_t version;     /* enum fl0wer_export_version */
    uint8_t flags;       /* FL0WER_FLOW_F_* */
    uint8_t reserved[2]; /* zero; keeps the size a multiple of 8 */
};

_Static_assert(sizeof(struct fl0wer_flow) == 144, "fl0wer_flow layout changed");

/* Sets *f to a zero record with flows = 1 and sampling = 1. */
static inline void fl0wer_flow_init(struct fl0wer_flow *f)
{
    memset(f, 0, sizeof(*f));
    f->flows = 1;
    f->sampling = 1;
}

/* Writes the IPv4-mapped form of a network-order IPv4 address (4 bytes at v4) to dst. */
static inline void fl0wer_addr_from_v4(uint8_t dst[FL0WER_ADDR_LEN], const uint8_t v4[4])
{
    memset(dst, 0, 10);
    dst[10] = 0xff;
    dst[11] = 0xff;
    memcpy(dst + 12, v4, 4);
}

/* True when addr is IPv4-mapped (the unset all-zero address is not). */
static inline bool fl0wer_addr_is_v4(const uint8_t addr[FL0WER_ADDR_LEN])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(addr, prefix, 12) == 0;
}

/* True when every byte of addr is zero. */
static inline bool fl0wer_addr_is_zero(const uint8_t addr[FL0WER_ADDR_LEN])
{
    static const uint8_t zero[FL0WER_ADDR_LEN];
    return memcmp(addr, zero, FL0WER_ADDR_LEN) == 0;
}

/* Longest text fl0wer_addr_format() writes, with its NUL. */
#define FL0WER_ADDR_STRLEN 46

/*
 * Formats addr as dotted IPv4 (when IPv4-mapped) or RFC 5952 IPv6 text into buf (at least
 * FL0WER_ADDR_STRLEN bytes). Returns buf.
 */
char *fl0wer_addr_format(const uint8_t addr[FL0WER_ADDR_LEN], char *buf, size_t len);

/*
 * Parses dotted IPv4 or IPv6 text into addr (IPv4 stored mapped). Returns 0, or -1 when text is
 * not an address.
 */
int fl0wer_addr_parse(const char *text, uint8_t addr[FL0WER_ADDR_LEN]);

/*
 * Writes one flow as a single-line JSON object (no newline) with the canonical field names of
 * docs/flow-record.md into buf. Returns the length written (excluding the NUL), or -1 when buf is
 * too small. FL0WER_FLOW_JSON_MAX bytes are always enough.
 */
#define FL0WER_FLOW_JSON_MAX 1024
int fl0wer_flow_to_json(const struct fl0wer_flow *f, char *buf, size_t len);

#endif /* FL0WER_FLOW_H */
