/*
 * capture.h - reading export packets back from files: pcap/pcapng captures (libpcap) and raw UDP
 * payload files. Used by fl0wer-decode, fl0wer-replay and the tests.
 *
 * A capture yields UDP payloads with their source address and port and the capture timestamp.
 * For pcap/pcapng files only datagrams whose UDP destination port is in the reader's port list
 * are returned (Ethernet, Linux cooked SLL/SLL2, raw IP and loopback link types; IPv4 and IPv6;
 * IPv4 fragments and non-UDP packets are skipped and counted). A raw file is one or more
 * concatenated export datagrams, split by the NetFlow v5/v9 count or IPFIX length fields.
 */
#ifndef FL0WER_CAPTURE_H
#define FL0WER_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

#define FL0WER_CAPTURE_MAX_PORTS 32

/* One datagram read from a capture; pointers valid until the next call on the reader. */
struct fl0wer_datagram {
    const uint8_t *payload;
    size_t len;
    uint8_t src_addr[FL0WER_ADDR_LEN]; /* IPv4-mapped or IPv6; raw files: 127.0.0.1 */
    uint16_t src_port;                 /* raw files: 0 */
    uint8_t dst_addr[FL0WER_ADDR_LEN];
    uint16_t dst_port;
    uint64_t ts_ms; /* capture time; raw files: the file's mtime */
};

struct fl0wer_capture;

/*
 * Opens path, deciding pcap / pcapng / raw from its first bytes. ports lists the UDP destination
 * ports to accept from pcap files (n_ports 0: every UDP datagram). Returns 0 and a reader in *out
 * (free with fl0wer_capture_close), or -errno / -EINVAL with a message in errbuf (256 bytes).
 */
int fl0wer_capture_open(struct fl0wer_capture **out, const char *path, const uint16_t *ports,
                        size_t n_ports, char *errbuf);

/* Reads the next datagram. Returns 1 with *dg filled, 0 at end of file, or -EIO (errbuf set). */
int fl0wer_capture_next(struct fl0wer_capture *c, struct fl0wer_datagram *dg, char *errbuf);

/* Packets passed over because they were not UDP to a chosen port, or were fragments. */
uint64_t fl0wer_capture_skipped(const struct fl0wer_capture *c);

/* Detailed reader counters (fl0wer_capture_skipped() is the sum of the skipped_* fields). */
struct fl0wer_capture_stats {
    uint64_t frames;            /* pcap records read (raw files: datagrams split off) */
    uint64_t datagrams;         /* datagrams returned by fl0wer_capture_next() */
    uint64_t skipped_not_udp;   /* not IPv4/IPv6 UDP (other link protocols, TCP, ICMP...) */
    uint64_t skipped_port;      /* UDP to a port not in the list */
    uint64_t skipped_fragment;  /* IPv4 or IPv6 fragments (never reassembled) */
    uint64_t skipped_truncated; /* frame shorter than a header or a length it states */
};

/* Copies the reader's counters into *out. */
void fl0wer_capture_stats(const struct fl0wer_capture *c, struct fl0wer_capture_stats *out);

/* True when the reader splits a raw payload file (no addresses or ports). */
int fl0wer_capture_is_raw(const struct fl0wer_capture *c);

void fl0wer_capture_close(struct fl0wer_capture *c);

#endif /* FL0WER_CAPTURE_H */
