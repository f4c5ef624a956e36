/*
 * internal.h - types shared by the decoder's files (not installed, not for other components).
 *
 * Data path: a template is compiled once into a list of dec_op. Decoding a data record runs the
 * ops over the record bytes, each op storing one field into a struct dec_rec (the flow plus the
 * raw values that need resolving: times, fallbacks, sampling); the resolve steps of record.c /
 * time.c / sampling.c then finish the fl0wer_flow. Which dec_rec values a template fills is known
 * at compile time (the template's `has` mask), so nothing in dec_rec needs clearing per record
 * except the flow.
 *
 * Fixed-length flow templates (the common case) also get a "fast plan" (fast.c): the ops grouped
 * by kind with precomputed record offsets, decoded straight into the batch slot over a per-set
 * prototype flow, with only the resolve steps the template can need.
 */
#ifndef FL0WER_DECODE_INTERNAL_H
#define FL0WER_DECODE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/decode.h"

#define DEC_MAX_FIELDS 512        /* fields per (options) template */
#define DEC_MAX_SAMPLERS 64       /* sampler / selector ids per exporter */
#define DEC_MAX_INTERFACES 4096   /* interface names per exporter */
#define DEC_HOLD_MAX_SETS 32      /* pending data sets remembered per held packet */
#define DEC_HOLD_MAX_BYTES (32u << 20) /* all held packets together */
#define DEC_BATCH 256             /* flows handed to the callback at once */
#define DEC_VARLEN 0xffffu        /* template length of a variable-length IE */
#define DEC_PEN_REVERSE 29305u    /* RFC 5103 reverse information elements */

/* Time values a record may carry (index into dec_rec.t, bit DEC_HAS_T(i) in the has mask). */
enum dec_time {
    DT_UP_FIRST = 0, /* 22 flowStartSysUpTime (v9: FIRST_SWITCHED) */
    DT_UP_LAST,      /* 21 */
    DT_S_FIRST,      /* 150 flowStartSeconds */
    DT_S_LAST,       /* 151 */
    DT_MS_FIRST,     /* 152 flowStartMilliseconds */
    DT_MS_LAST,      /* 153 */
    DT_US_FIRST,     /* 154 flowStartMicroseconds (NTP format) */
    DT_US_LAST,      /* 155 */
    DT_NS_FIRST,     /* 156 flowStartNanoseconds (NTP format) */
    DT_NS_LAST,      /* 157 */
    DT_DELTA_FIRST,  /* 158 flowStartDeltaMicroseconds */
    DT_DELTA_LAST,   /* 159 */
    DT_SYSINIT,      /* 160 systemInitTimeMilliseconds */
    DT_DUR_MS,       /* 161 flowDurationMilliseconds */
    DT_DUR_US,       /* 162 flowDurationMicroseconds */
    DT_OBS_S,        /* 322 observationTimeSeconds */
    DT_OBS_MS,       /* 323 */
    DT_OBS_US,       /* 324 (NTP format) */
    DT_OBS_NS,       /* 325 (NTP format) */
    DT__COUNT
};

/* Bits of dec_template.has: which dec_rec values the template fills. */
#define DEC_HAS_T(i)         (UINT64_C(1) << (i))
#define DEC_HAS_OUT_BYTES    (UINT64_C(1) << 24)
#define DEC_HAS_OUT_PKTS     (UINT64_C(1) << 25)
#define DEC_HAS_TOT_BYTES    (UINT64_C(1) << 26)
#define DEC_HAS_TOT_PKTS     (UINT64_C(1) << 27)
#define DEC_HAS_REV_BYTES    (UINT64_C(1) << 28)
#define DEC_HAS_REV_PKTS     (UINT64_C(1) << 29)
#define DEC_HAS_REV_FLAGS    (UINT64_C(1) << 30)
#define DEC_HAS_PHYS_IN      (UINT64_C(1) << 31)
#define DEC_HAS_PHYS_OUT     (UINT64_C(1) << 32)
#define DEC_HAS_SAMP_INT     (UINT64_C(1) << 33) /* 34 samplingInterval */
#define DEC_HAS_SAMP_ALGO    (UINT64_C(1) << 34) /* 35 samplingAlgorithm */
#define DEC_HAS_SAMPLER_ID   (UINT64_C(1) << 35) /* 48 */
#define DEC_HAS_SAMPLER_MODE (UINT64_C(1) << 36) /* 49 */
#define DEC_HAS_SAMPLER_INT  (UINT64_C(1) << 37) /* 50 */
#define DEC_HAS_SELECTOR_ID  (UINT64_C(1) << 38) /* 302 */
#define DEC_HAS_PKT_INT      (UINT64_C(1) << 39) /* 305 samplingPacketInterval */
#define DEC_HAS_PKT_SPACE    (UINT64_C(1) << 40) /* 306 samplingPacketSpace */
#define DEC_HAS_VLAN_DST     (UINT64_C(1) << 41)
#define DEC_HAS_ICMP         (UINT64_C(1) << 42) /* 32 / 139 type<<8|code */
#define DEC_HAS_ICMP_TYPE    (UINT64_C(1) << 43)
#define DEC_HAS_ICMP_CODE    (UINT64_C(1) << 44)
#define DEC_HAS_DIRECTION    (UINT64_C(1) << 45)
#define DEC_HAS_BGP_NH       (UINT64_C(1) << 46)
#define DEC_HAS_IFNAME       (UINT64_C(1) << 47)
#define DEC_HAS_IFDESC       (UINT64_C(1) << 48)
#define DEC_HAS_IN_IF        (UINT64_C(1) << 49) /* also v9 options scope "interface" */
#define DEC_HAS_BYTES        (UINT64_C(1) << 50)
#define DEC_HAS_PKTS         (UINT64_C(1) << 51)
#define DEC_HAS_FLOWS        (UINT64_C(1) << 52)
#define DEC_HAS_OUT_IF       (UINT64_C(1) << 53)

#define DEC_HAS_TIMES (DEC_HAS_T(DT__COUNT) - 1)

/* A string field of the record: points into the packet, valid during decoding only. */
struct dec_str {
    const uint8_t *p;
    uint16_t len;
};

/* One decoded data record before resolution into a flow. */
struct dec_rec {
    struct fl0wer_flow f;
    uint64_t out_bytes, out_pkts, tot_bytes, tot_pkts, rev_bytes, rev_pkts;
    uint64_t t[DT__COUNT];
    uint32_t phys_in, phys_out;
    uint32_t samp_int, samp_algo, sampler_id, sampler_mode, sampler_int, selector_id;
    uint32_t pkt_int, pkt_space;
    uint16_t vlan_dst, icmp;
    uint8_t icmp_type, icmp_code, direction, rev_flags;
    uint8_t bgp_nh[FL0WER_ADDR_LEN];
    struct dec_str ifname, ifdesc;
};

/* Op kinds. Each op consumes `len` bytes (or a varlen prefix and its bytes). */
enum dec_op_kind {
    OP_SKIP = 0, /* fixed length, ignored */
    OP_VARSKIP,  /* variable length, ignored */
    OP_U8_1,     /* 1 byte -> uint8 */
    OP_U16_2,    /* 2 bytes -> uint16 */
    OP_U32_4,    /* 4 bytes -> uint32 */
    OP_U64_4,    /* 4 bytes -> uint64 */
    OP_U64_8,    /* 8 bytes -> uint64 */
    OP_U8,       /* 1..8 bytes big-endian -> uint8 (low bits) */
    OP_U16,
    OP_U32,
    OP_U64,
    OP_V4,       /* 4 bytes -> IPv4-mapped address (left untouched when 0.0.0.0) */
    OP_V6,       /* 16 bytes -> address (left untouched when ::) */
    OP_NTP,      /* 8 bytes NTP timestamp -> uint64 ms since the Unix epoch */
    OP_STR,      /* fixed or variable length -> dec_str */
};

struct dec_op {
    uint8_t kind;
    uint8_t pad;
    uint16_t len; /* DEC_VARLEN for variable length */
    uint16_t dst; /* offset into struct dec_rec */
};

/* Fast plan: one field of a fixed-length template (offsets into the record / the target). */
struct dec_fop {
    uint16_t src; /* byte offset in the record */
    uint16_t dst; /* offset in struct dec_rec (flow part: same offset in the batch slot) */
    uint8_t len;  /* bytes in the record (1..16) */
    uint8_t kind; /* enum dec_op_kind */
};

/* Fast plan: a run of fields of one op kind (fields whose order matters, scratch fields). */
struct dec_fgroup {
    uint8_t kind; /* enum dec_op_kind */
    uint8_t area; /* 0 = the flow (batch slot), 1 = the scratch dec_rec */
    uint16_t n;   /* fields in the run */
};

/* Fast plan: classes of flow fields, decoded in this order when their order does not matter. */
enum dec_fast_kind {
    FK_U8 = 0, /* OP_U8_1 */
    FK_U16,    /* OP_U16_2 */
    FK_U32,    /* OP_U32_4 */
    FK_U64_4,  /* OP_U64_4 */
    FK_U64_8,  /* OP_U64_8 */
    FK_V4,     /* OP_V4 into a destination nothing else writes */
    FK_V6,     /* OP_V6 */
    FK_OTHER,  /* anything else: one switch per field */
    FK__COUNT
};

/* Fast plan: how first_ms / last_ms are found (dec_template.time_mode). */
enum dec_time_mode {
    DTM_GENERIC = 0, /* dec_resolve_times() every record */
    DTM_CONST,       /* no time field: export or receive time, set once per data set */
    DTM_UPTIME,      /* 22/21 only */
    DTM_ABS,         /* one absolute form for both ends (152/153, 150/151, 154/155, 156/157) */
};

/* Fast plan: which resolve steps apply (dec_template.post). */
#define DEC_POST_FIELDS   0x01u /* dec_resolve_fields(): fallbacks, ICMP, direction */
#define DEC_POST_V6       0x02u /* an IPv6 address op targets src/dst: check for the IPv6 flag */
#define DEC_POST_SAMPLING 0x04u /* the record names its interval or sampler */
#define DEC_POST_REVERSE  0x08u /* RFC 5103 reverse counters */
#define DEC_POST_BGP_NH   0x10u /* bgp_nh is written conditionally: clear it per record */
#define DEC_POST_SCRATCH  0x20u /* the scratch fields are needed for every record */

/* Fast plan of a fixed-length flow template (see fast.c). */
struct dec_fast {
    bool sorted;              /* flow fields in FK_* order, counts in kcount (no conflicts) */
    uint8_t post;             /* DEC_POST_* */
    uint8_t time_mode;        /* enum dec_time_mode */
    bool time_ntp;            /* DTM_ABS: the ends are NTP timestamps */
    uint16_t time_mul;        /* DTM_ABS: 1000 for seconds, else 1 */
    uint16_t time_src[2];     /* DTM_UPTIME / DTM_ABS: record offset of the first / last end */
    uint8_t time_len[2];
    uint16_t nflow;           /* flow fields: fops[0, nflow) */
    uint16_t nscratch;        /* scratch fields: fops[nflow, nflow + nscratch) */
    uint16_t kcount[FK__COUNT];
    uint16_t nfgroups;        /* !sorted: groups[0, nfgroups) run the flow fields in order */
    uint16_t nsgroups;        /* groups[nfgroups, nfgroups + nsgroups): scratch fields */
    struct dec_fgroup *groups; /* in the template's allocation */
    struct dec_fop *fops;      /* in the template's allocation */
};

struct dec_template {
    uint16_t id;
    uint16_t nops;
    uint16_t scope_ops;  /* options templates: how many leading ops are scope fields */
    uint16_t raw_len;    /* bytes of the template definition kept for resend comparison */
    uint32_t min_len;    /* smallest record (varlen fields count 1 byte) */
    bool options;
    bool varlen;
    uint64_t has;        /* DEC_HAS_* */
    uint64_t last_seen_ms;
    uint8_t *raw;        /* points after ops[] in the same allocation */
    bool fast;           /* fixed-length flow template: fp is valid (fast.c) */
    struct dec_fast fp;
    struct dec_op ops[];
};

struct dec_sampler {
    uint32_t id;
    uint32_t interval;
};

/* A packet kept because some of its data sets had no template yet. */
struct dec_held {
    uint8_t *buf;
    size_t len;
    uint64_t recv_ms;
    uint16_t nsets;
    uint16_t set_off[DEC_HOLD_MAX_SETS]; /* offsets of the pending set headers */
};

/* State of one (exporter address, port, observation domain / source id). */
struct dec_exporter {
    struct fl0wer_exporter_stats st; /* addr, port, domain_id are the key */
    struct dec_template **tmpl;      /* sorted by template id (binary search) */
    uint32_t tmpl_cap, tmpl_count;
    bool have_seq;
    uint32_t next_seq;
    bool have_uptime;
    uint32_t last_uptime, last_unix_secs;
    uint64_t sysinit_ms;             /* from IPFIX options data (IE 160), 0 = unknown */
    uint32_t wide_sampling;          /* exporter-wide interval announced, 0 = none */
    uint32_t last_sampler_int;       /* interval of the last sampler/selector announced */
    uint32_t nsamplers;
    struct dec_sampler samplers[DEC_MAX_SAMPLERS];
    struct fl0wer_interface_info *ifs;
    uint32_t nifs, ifs_cap;
    struct dec_held *held;           /* ring of up to cfg.hold_packets */
    uint32_t nheld;
};

struct fl0wer_decoder {
    struct fl0wer_decoder_config cfg;
    struct dec_exporter **ex;        /* open addressing on (addr, port, domain) */
    uint32_t ex_cap, ex_count;
    struct dec_exporter *last_ex;    /* one-entry lookup cache */
    uint64_t ntemplates;
    uint64_t held_total;             /* packets ever held */
    size_t held_bytes;               /* bytes currently held */
    uint64_t last_expire_ms;
    uint64_t orphan_errors;          /* errors that could not be attributed (exporter cap) */
    size_t nbatch;
    struct fl0wer_flow batch[DEC_BATCH];
};

/* Per-packet context while decoding one export packet. */
struct dec_pkt {
    struct fl0wer_decoder *d;
    struct dec_exporter *ex;
    const struct fl0wer_source *src;
    fl0wer_flow_cb cb;
    void *arg;
    uint8_t version;
    uint32_t sys_uptime;    /* v5/v9 header */
    uint64_t export_ms;     /* header time in ms since the epoch (0 = none) */
    uint32_t data_records;  /* data records decoded from this packet */
    uint32_t held_sets;     /* data sets set aside for a later template */
    bool unknown_sets;      /* some data set had no template */
    bool cb_failed;
    bool new_templates;     /* a template was learnt: retry held packets */
    bool replaying;         /* decoding a held packet */
    struct dec_held *hold;  /* packet being held, when set */
};

/* ie_table.c */
int dec_compile_field(struct dec_op *op, uint64_t *has, uint16_t id, uint32_t pen, uint16_t len);
int dec_compile_v9_scope(struct dec_op *op, uint64_t *has, uint16_t type, uint16_t len);

/* template_cache.c */
struct dec_template *dec_template_find(struct fl0wer_decoder *d, struct dec_exporter *ex,
                                       uint16_t id, uint64_t now_ms);
int dec_template_store(struct fl0wer_decoder *d, struct dec_exporter *ex,
                       struct dec_template *t, bool *changed);
void dec_template_remove(struct fl0wer_decoder *d, struct dec_exporter *ex, uint16_t id);
void dec_template_remove_all(struct fl0wer_decoder *d, struct dec_exporter *ex, int options);
void dec_template_expire(struct fl0wer_decoder *d, struct dec_exporter *ex, uint64_t now_ms);
struct dec_template *dec_template_alloc(uint16_t nops, uint16_t raw_len);
void dec_template_free(struct dec_template *t);
int dec_template_finish(struct dec_template *t);

/* exporter_stats.c */
struct dec_exporter *dec_exporter_get(struct fl0wer_decoder *d, const struct fl0wer_source *src,
                                      uint32_t domain, uint8_t version);
void dec_exporter_free(struct fl0wer_decoder *d, struct dec_exporter *ex);
struct dec_exporter *dec_message_begin(struct dec_pkt *pk, uint32_t domain, uint8_t version,
                                       size_t len);
void dec_count_error(struct fl0wer_decoder *d, struct dec_exporter *ex,
                     enum fl0wer_decode_error kind);
void dec_sequence(struct dec_exporter *ex, uint32_t seq, uint32_t count, uint32_t reset_window);
void dec_set_interface(struct dec_exporter *ex, uint32_t ifindex, const struct dec_str *name,
                       const struct dec_str *desc);

/* record.c */
int dec_data_set(struct dec_pkt *pk, const struct dec_template *t, const uint8_t *p,
                 const uint8_t *end);
int dec_emit(struct dec_pkt *pk, const struct fl0wer_flow *f);
int dec_flush(struct dec_pkt *pk);
void dec_resolve_fields(const struct dec_template *t, struct fl0wer_flow *f,
                        const struct dec_rec *r);
bool dec_flow_is_v6(const struct fl0wer_flow *f);
void dec_reverse(const struct dec_template *t, const struct fl0wer_flow *f,
                 const struct dec_rec *r, struct fl0wer_flow *rev);

/* True when r carries non-zero RFC 5103 reverse octets or packets. */
static inline bool dec_has_reverse(const struct dec_template *t, const struct dec_rec *r)
{
    return ((t->has & DEC_HAS_REV_BYTES) && r->rev_bytes != 0) ||
           ((t->has & DEC_HAS_REV_PKTS) && r->rev_pkts != 0);
}

/* fast.c */
void dec_fast_compile(struct dec_template *t);
int dec_fast_data_set(struct dec_pkt *pk, const struct dec_template *t, const uint8_t *p,
                      const uint8_t *end);

/* time.c */
void dec_resolve_times(const struct dec_pkt *pk, const struct dec_template *t,
                       const struct dec_rec *r, struct fl0wer_flow *f);
uint64_t dec_ntp_to_ms(uint64_t ntp);

/*
 * Absolute time of a sysUpTime-relative field (v5/v9 FIRST/LAST_SWITCHED): the header says the
 * exporter's clock read export_ms at uptime `uptime`; the difference is taken in 32-bit
 * arithmetic so that the ~49.7-day wrap of either value works. Some exporters (Nexus) send these
 * fields as 8 bytes: a value beyond 32 bits is taken as absolute ms since the epoch.
 */
static inline uint64_t dec_from_uptime(uint64_t export_ms, uint32_t uptime, uint64_t field)
{
    uint32_t ago;

    if (field > UINT32_MAX)
        return field;
    ago = uptime - (uint32_t)field;
    if (export_ms < ago)
        return 0;
    return export_ms - ago;
}
bool dec_v9_rebooted(const struct dec_exporter *ex, uint32_t uptime, uint32_t unix_secs);

/* sampling.c */
void dec_options_record(struct dec_pkt *pk, const struct dec_template *t, struct dec_rec *r);
uint32_t dec_record_sampling(const struct dec_pkt *pk, const struct dec_template *t,
                             const struct dec_rec *r);
uint32_t dec_packet_sampling(const struct dec_pkt *pk);
void dec_set_sampler(struct dec_exporter *ex, uint32_t id, uint32_t interval);

/* hold.c */
int dec_hold_begin(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off);
void dec_hold_retry(struct dec_pkt *pk);
void dec_hold_drop_all(struct fl0wer_decoder *d, struct dec_exporter *ex);
void dec_hold_expire(struct fl0wer_decoder *d, struct dec_exporter *ex, uint64_t now_ms,
                     uint64_t max_age_ms);
void dec_hold_free(struct fl0wer_decoder *d, struct dec_held *h);

/* v9.c: the set walk shared by v9 and IPFIX */
typedef int (*dec_set_fn)(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t off,
                          uint16_t id, const uint8_t *body, const uint8_t *end);
int dec_walk_sets(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t off,
                  dec_set_fn fn);
int dec_handle_data_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off,
                        uint16_t id, const uint8_t *body, const uint8_t *end);
int dec_learn_template(struct dec_pkt *pk, struct dec_template *t);

/* v5.c, v9.c, ipfix.c: decode one whole packet (the version is already checked). */
int dec_v5(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len);
int dec_v9(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len);
int dec_ipfix(struct fl0wer_decoder *d, struct dec_pkt *pk, const uint8_t *buf, size_t len);
/* Decodes the data set at set_off of a held packet (v9 or IPFIX) with its header's context. */
int dec_replay_set(struct dec_pkt *pk, const uint8_t *buf, size_t len, size_t set_off,
                   bool *still_unknown);

#endif /* FL0WER_DECODE_INTERNAL_H */
