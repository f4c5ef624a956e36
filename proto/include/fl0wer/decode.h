/*
 * decode.h - NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding.
 *
 * A decoder owns the template cache and the per-exporter counters of one stream of export
 * packets. It is not thread-safe: give each worker thread its own decoder and keep each exporter
 * on one worker (templates and sequence numbers are per exporter).
 *
 * Lifecycle: fl0wer_decoder_create() / fl0wer_decoder_destroy(). Feed each UDP payload to
 * fl0wer_decode_packet(); flows come out through the caller's callback in batches. The decoder
 * never keeps a pointer to the caller's packet after the call returns.
 */
#ifndef FL0WER_DECODE_H
#define FL0WER_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "fl0wer/flow.h"

/* Return codes (0 = ok, negative = error). */
#define FL0WER_OK             0
#define FL0WER_ERR_NOMEM      (-1)  /* allocation failed */
#define FL0WER_ERR_INVAL      (-2)  /* bad argument from the caller */
#define FL0WER_ERR_SHORT      (-3)  /* packet shorter than its header or a length it states */
#define FL0WER_ERR_VERSION    (-4)  /* not NetFlow v5/v9 or IPFIX */
#define FL0WER_ERR_FORMAT     (-5)  /* a length, count or id that the RFC forbids */
#define FL0WER_ERR_TEMPLATE   (-6)  /* malformed template or options template */
#define FL0WER_ERR_CALLBACK   (-7)  /* the flow callback returned non-zero; decoding stopped */
#define FL0WER_ERR_LIMIT      (-8)  /* a configured cap (exporters, templates) was reached */

/* Decode error kinds, counted per exporter (fl0wer_exporter_stats.errors[]). */
enum fl0wer_decode_error {
    FL0WER_DERR_SHORT = 0,     /* truncated header, set or record */
    FL0WER_DERR_VERSION,       /* unknown version */
    FL0WER_DERR_LENGTH,        /* header/set length inconsistent with the datagram */
    FL0WER_DERR_SET_ID,        /* reserved set id */
    FL0WER_DERR_TEMPLATE,      /* malformed (options) template */
    FL0WER_DERR_RECORD,        /* data record that does not fit its template */
    FL0WER_DERR_V5_COUNT,      /* v5 count disagrees with the datagram length */
    FL0WER_DERR_LIMIT,         /* template dropped: the max_templates cap was reached */
    FL0WER_DERR__COUNT
};

/* Returns a short lowercase name for an error kind ("short", "template", ...). */
const char *fl0wer_decode_error_name(enum fl0wer_decode_error kind);

/* Returns a fixed lowercase message for a FL0WER_ERR_* code. */
const char *fl0wer_strerror(int rc);

/* Where a packet came from. The exporter identity is (addr, port, domain). */
struct fl0wer_source {
    uint8_t addr[FL0WER_ADDR_LEN]; /* IPv4-mapped or IPv6, as in fl0wer_flow */
    uint16_t port;                 /* exporter UDP source port */
    uint64_t recv_ms;              /* receive time, ms since the epoch (used when the packet
                                      carries no usable time, and for template expiry) */
};

/* Decoder settings. Zero-initialise, then set what you need; zero means the default. */
struct fl0wer_decoder_config {
    uint32_t template_timeout_s; /* UDP template lifetime; default 1800 */
    uint32_t max_templates;      /* cap on cached templates over all exporters; default 65536 */
    uint32_t max_exporters;      /* cap on tracked (exporter, domain) pairs; default 65536 */
    uint32_t default_sampling;   /* interval used when nothing was announced; default 1 */
    uint32_t hold_packets;       /* per exporter: packets with unknown-template data kept and
                                    re-decoded when the template arrives; default 4, 0 disables
                                    via FL0WER_DECODER_NO_HOLD in flags */
    uint32_t flags;              /* FL0WER_DECODER_* */
};

#define FL0WER_DECODER_NO_HOLD 0x01u /* never hold data that arrives before its template */
#define FL0WER_DECODER_GENERIC 0x02u /* decode every template through the general path, never
                                        the fixed-length fast path (same output, slower; for
                                        comparison tests and benchmarks) */

/*
 * Flow sink. Called with up to a few hundred flows at a time, valid only during the call.
 * Return 0 to go on; non-zero stops decoding of this packet with FL0WER_ERR_CALLBACK.
 */
typedef int (*fl0wer_flow_cb)(void *arg, const struct fl0wer_flow *flows, size_t count);

/* Counters for one (exporter address, observation domain / source id). */
struct fl0wer_exporter_stats {
    uint8_t addr[FL0WER_ADDR_LEN];
    uint16_t port;
    uint32_t domain_id;
    uint8_t version;           /* last export version seen */
    uint64_t messages;         /* export packets (v5/v9) or messages (IPFIX) */
    uint64_t records;          /* data records decoded into flows */
    uint64_t bytes;            /* bytes of export packets received */
    uint64_t sequence_gaps;    /* missing packets (v5/v9) or data records (IPFIX) */
    uint64_t unknown_template; /* data sets whose template was unknown (records lost/held) */
    uint64_t templates;        /* template and options template records received */
    uint64_t errors[FL0WER_DERR__COUNT];
    uint64_t last_seen_ms;
    uint32_t sampling;         /* last announced exporter-wide sampling interval (1 if none) */
    uint64_t template_changes; /* template ids redefined with another layout (an identical
                                  resend only refreshes the template and is not counted) */
};

/* Interface name learned from options data (IE 82 interfaceName, 83 interfaceDescription). */
struct fl0wer_interface_info {
    uint8_t exporter[FL0WER_ADDR_LEN];
    uint32_t domain_id;
    uint32_t ifindex;
    char name[64];
    char description[128];
};

struct fl0wer_decoder;

/*
 * Creates a decoder. cfg may be NULL for defaults. On success *out owns a decoder that the caller
 * frees with fl0wer_decoder_destroy(). Returns 0 or FL0WER_ERR_NOMEM / FL0WER_ERR_INVAL.
 */
int fl0wer_decoder_create(struct fl0wer_decoder **out, const struct fl0wer_decoder_config *cfg);

/* Frees the decoder and everything it caches. NULL is allowed. */
void fl0wer_decoder_destroy(struct fl0wer_decoder *d);

/*
 * Decodes one UDP payload (a NetFlow v5/v9 export packet or an IPFIX message; trailing bytes
 * after an IPFIX message are ignored). Flows go to cb. Templates and options data update the
 * cache; counters of the (exporter, domain) are updated whatever the outcome.
 *
 * Returns 0 when the packet was decoded (some sets may still have been skipped and counted, e.g.
 * data for an unknown template), or a negative FL0WER_ERR_* when the packet (or the rest of it)
 * was malformed: flows already passed to cb stay valid, the error is counted, and the decoder
 * is ready for the next packet. Never reads outside [buf, buf + len).
 */
int fl0wer_decode_packet(struct fl0wer_decoder *d, const struct fl0wer_source *src,
                         const uint8_t *buf, size_t len, fl0wer_flow_cb cb, void *arg);

/*
 * Drops templates not refreshed within the configured lifetime, judged at now_ms. The decoder
 * also does this by itself from packet receive times; call it when the stream is idle.
 */
void fl0wer_decoder_expire(struct fl0wer_decoder *d, uint64_t now_ms);

/*
 * Calls fn once per tracked (exporter, domain) with a snapshot of its counters. The pointer is
 * valid only during the call. Returns the number of exporters visited.
 */
size_t fl0wer_decoder_foreach_exporter(const struct fl0wer_decoder *d,
                                       void (*fn)(void *arg, const struct fl0wer_exporter_stats *s),
                                       void *arg);

/*
 * Calls fn once per interface name learned from options data. The pointer is valid only during
 * the call. Returns the number visited.
 */
size_t fl0wer_decoder_foreach_interface(const struct fl0wer_decoder *d,
                                        void (*fn)(void *arg,
                                                   const struct fl0wer_interface_info *i),
                                        void *arg);

/* Total counters over all exporters (for --summary and tests). */
struct fl0wer_decoder_totals {
    uint64_t messages;
    uint64_t records;
    uint64_t errors;           /* sum of every error kind */
    uint64_t unknown_template; /* data sets skipped for want of a template */
    uint64_t held;             /* packets held for a later template */
    uint64_t templates;
};

void fl0wer_decoder_totals(const struct fl0wer_decoder *d, struct fl0wer_decoder_totals *out);

/*
 * Discards held data whose template never came, counting its sets as unknown_template. Call at
 * the end of an offline capture so the counts are final.
 */
void fl0wer_decoder_flush_held(struct fl0wer_decoder *d);

#endif /* FL0WER_DECODE_H */
