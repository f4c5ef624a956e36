/*
 * ie_table.c - information elements as data: which dec_rec value each IE feeds and how.
 *
 * One row per supported IANA IE id (NetFlow v9 field types share the numbering for 1..127), plus
 * a few rows for RFC 5103 reverse IEs (PEN 29305). Everything else is skipped by length.
 * dec_compile_field() turns (id, pen, declared length) into one dec_op, honouring reduced-size
 * encoding: unsigned values of any width 1..8 are read big-endian by the declared length.
 */
#include "internal.h"

enum ie_class {
    IE_NONE = 0,
    IE_UINT, /* unsigned integer, any declared width 1..8 */
    IE_V4,   /* 4-byte IPv4 address */
    IE_V6,   /* 16-byte IPv6 address */
    IE_NTP,  /* 8-byte NTP timestamp (dateTimeMicroseconds / Nanoseconds) */
    IE_STR,  /* string, fixed or variable length */
};

struct ie_map {
    uint8_t cls;
    uint8_t width; /* IE_UINT: size of the dec_rec destination (1, 2, 4, 8) */
    uint16_t dst;  /* offsetof(struct dec_rec, ...) */
    uint64_t has;
};

#define R(field) offsetof(struct dec_rec, field)
#define U(w, field, bit) {IE_UINT, w, R(field), bit}
#define TIME(i) {IE_UINT, 8, R(t[i]), DEC_HAS_T(i)}
#define NTP(i) {IE_NTP, 8, R(t[i]), DEC_HAS_T(i)}

#define IE_TABLE_SIZE 326

static const struct ie_map ie_table[IE_TABLE_SIZE] = {
    [1] = U(8, f.bytes, DEC_HAS_BYTES),           /* octetDeltaCount / IN_BYTES */
    [2] = U(8, f.packets, DEC_HAS_PKTS),          /* packetDeltaCount / IN_PKTS */
    [3] = U(8, f.flows, DEC_HAS_FLOWS),           /* deltaFlowCount / FLOWS */
    [4] = U(1, f.proto, 0),                       /* protocolIdentifier */
    [5] = U(1, f.tos, 0),                         /* ipClassOfService */
    [6] = U(1, f.tcp_flags, 0),                   /* tcpControlBits (low 8 bits) */
    [7] = U(2, f.src_port, 0),                    /* sourceTransportPort */
    [8] = {IE_V4, 4, R(f.src_addr), 0},           /* sourceIPv4Address */
    [9] = U(1, f.src_mask, 0),                    /* sourceIPv4PrefixLength */
    [10] = U(4, f.in_if, DEC_HAS_IN_IF),          /* ingressInterface */
    [11] = U(2, f.dst_port, 0),                   /* destinationTransportPort */
    [12] = {IE_V4, 4, R(f.dst_addr), 0},          /* destinationIPv4Address */
    [13] = U(1, f.dst_mask, 0),                   /* destinationIPv4PrefixLength */
    [14] = U(4, f.out_if, DEC_HAS_OUT_IF),        /* egressInterface */
    [15] = {IE_V4, 4, R(f.next_hop), 0},          /* ipNextHopIPv4Address */
    [16] = U(4, f.src_as, 0),                     /* bgpSourceAsNumber */
    [17] = U(4, f.dst_as, 0),                     /* bgpDestinationAsNumber */
    [18] = {IE_V4, 4, R(bgp_nh), DEC_HAS_BGP_NH}, /* bgpNextHopIPv4Address */
    [21] = TIME(DT_UP_LAST),                      /* flowEndSysUpTime / LAST_SWITCHED */
    [22] = TIME(DT_UP_FIRST),                     /* flowStartSysUpTime / FIRST_SWITCHED */
    [23] = U(8, out_bytes, DEC_HAS_OUT_BYTES),    /* postOctetDeltaCount / OUT_BYTES */
    [24] = U(8, out_pkts, DEC_HAS_OUT_PKTS),      /* postPacketDeltaCount / OUT_PKTS */
    [27] = {IE_V6, 16, R(f.src_addr), 0},         /* sourceIPv6Address */
    [28] = {IE_V6, 16, R(f.dst_addr), 0},         /* destinationIPv6Address */
    [29] = U(1, f.src_mask, 0),                   /* sourceIPv6PrefixLength */
    [30] = U(1, f.dst_mask, 0),                   /* destinationIPv6PrefixLength */
    [32] = U(2, icmp, DEC_HAS_ICMP),              /* icmpTypeCodeIPv4 */
    [34] = U(4, samp_int, DEC_HAS_SAMP_INT),      /* samplingInterval */
    [35] = U(4, samp_algo, DEC_HAS_SAMP_ALGO),    /* samplingAlgorithm */
    [48] = U(4, sampler_id, DEC_HAS_SAMPLER_ID),  /* samplerId / FLOW_SAMPLER_ID */
    [49] = U(4, sampler_mode, DEC_HAS_SAMPLER_MODE),  /* samplerMode */
    [50] = U(4, sampler_int, DEC_HAS_SAMPLER_INT),    /* samplerRandomInterval */
    [58] = U(2, f.vlan, 0),                       /* vlanId / SRC_VLAN */
    [59] = U(2, vlan_dst, DEC_HAS_VLAN_DST),      /* postVlanId / DST_VLAN */
    [61] = U(1, direction, DEC_HAS_DIRECTION),    /* flowDirection */
    [62] = {IE_V6, 16, R(f.next_hop), 0},         /* ipNextHopIPv6Address */
    [63] = {IE_V6, 16, R(bgp_nh), DEC_HAS_BGP_NH}, /* bgpNextHopIPv6Address */
    [82] = {IE_STR, 0, R(ifname), DEC_HAS_IFNAME}, /* interfaceName */
    [83] = {IE_STR, 0, R(ifdesc), DEC_HAS_IFDESC}, /* interfaceDescription */
    [85] = U(8, tot_bytes, DEC_HAS_TOT_BYTES),    /* octetTotalCount */
    [86] = U(8, tot_pkts, DEC_HAS_TOT_PKTS),      /* packetTotalCount */
    [139] = U(2, icmp, DEC_HAS_ICMP),             /* icmpTypeCodeIPv6 */
    [150] = TIME(DT_S_FIRST),                     /* flowStartSeconds */
    [151] = TIME(DT_S_LAST),                      /* flowEndSeconds */
    [152] = TIME(DT_MS_FIRST),                    /* flowStartMilliseconds */
    [153] = TIME(DT_MS_LAST),                     /* flowEndMilliseconds */
    [154] = NTP(DT_US_FIRST),                     /* flowStartMicroseconds */
    [155] = NTP(DT_US_LAST),                      /* flowEndMicroseconds */
    [156] = NTP(DT_NS_FIRST),                     /* flowStartNanoseconds */
    [157] = NTP(DT_NS_LAST),                      /* flowEndNanoseconds */
    [158] = TIME(DT_DELTA_FIRST),                 /* flowStartDeltaMicroseconds */
    [159] = TIME(DT_DELTA_LAST),                  /* flowEndDeltaMicroseconds */
    [160] = TIME(DT_SYSINIT),                     /* systemInitTimeMilliseconds */
    [161] = TIME(DT_DUR_MS),                      /* flowDurationMilliseconds */
    [162] = TIME(DT_DUR_US),                      /* flowDurationMicroseconds */
    [176] = U(1, icmp_type, DEC_HAS_ICMP_TYPE),   /* icmpTypeIPv4 */
    [177] = U(1, icmp_code, DEC_HAS_ICMP_CODE),   /* icmpCodeIPv4 */
    [178] = U(1, icmp_type, DEC_HAS_ICMP_TYPE),   /* icmpTypeIPv6 */
    [179] = U(1, icmp_code, DEC_HAS_ICMP_CODE),   /* icmpCodeIPv6 */
    [252] = U(4, phys_in, DEC_HAS_PHYS_IN),       /* ingressPhysicalInterface */
    [253] = U(4, phys_out, DEC_HAS_PHYS_OUT),     /* egressPhysicalInterface */
    [302] = U(4, selector_id, DEC_HAS_SELECTOR_ID), /* selectorId (low 32 bits) */
    [305] = U(4, pkt_int, DEC_HAS_PKT_INT),       /* samplingPacketInterval */
    [306] = U(4, pkt_space, DEC_HAS_PKT_SPACE),   /* samplingPacketSpace */
    [322] = TIME(DT_OBS_S),                       /* observationTimeSeconds */
    [323] = TIME(DT_OBS_MS),                      /* observationTimeMilliseconds */
    [324] = NTP(DT_OBS_US),                       /* observationTimeMicroseconds */
    [325] = NTP(DT_OBS_NS),                       /* observationTimeNanoseconds */
};

/* RFC 5103 reverse IEs (enterprise 29305) that fl0wer uses for the reverse record. */
static const struct ie_map rev_bytes = U(8, rev_bytes, DEC_HAS_REV_BYTES);
static const struct ie_map rev_pkts = U(8, rev_pkts, DEC_HAS_REV_PKTS);
static const struct ie_map rev_flags = U(1, rev_flags, DEC_HAS_REV_FLAGS);

static uint8_t uint_kind(unsigned width, uint16_t len)
{
    switch (width) {
    case 1:
        return len == 1 ? OP_U8_1 : OP_U8;
    case 2:
        return len == 2 ? OP_U16_2 : OP_U16;
    case 4:
        return len == 4 ? OP_U32_4 : OP_U32;
    default:
        return len == 8 ? OP_U64_8 : len == 4 ? OP_U64_4 : OP_U64;
    }
}

/* Fills op from a table row, or makes it a skip when the declared length does not fit. */
static void compile_map(struct dec_op *op, uint64_t *has, const struct ie_map *m, uint16_t len)
{
    op->kind = len == DEC_VARLEN ? OP_VARSKIP : OP_SKIP;
    op->pad = 0;
    op->len = len;
    op->dst = 0;
    if (m == NULL || m->cls == IE_NONE)
        return;
    switch (m->cls) {
    case IE_UINT:
        if (len < 1 || len > 8)
            return;
        op->kind = uint_kind(m->width, len);
        op->pad = m->width;
        break;
    case IE_V4:
        if (len != 4)
            return;
        op->kind = OP_V4;
        break;
    case IE_V6:
        if (len != 16)
            return;
        op->kind = OP_V6;
        break;
    case IE_NTP:
        if (len != 8)
            return;
        op->kind = OP_NTP;
        break;
    case IE_STR:
        op->kind = OP_STR;
        break;
    default:
        return;
    }
    op->dst = m->dst;
    *has |= m->has;
}

/*
 * Compiles one template field (IE id without the enterprise bit, its PEN or 0, declared length)
 * into *op and adds what it fills to *has. Unknown IEs and IEs whose declared length does not
 * suit their type become skips. Always returns 0.
 */
int dec_compile_field(struct dec_op *op, uint64_t *has, uint16_t id, uint32_t pen, uint16_t len)
{
    const struct ie_map *m = NULL;

    if (pen == 0 && id < IE_TABLE_SIZE)
        m = &ie_table[id];
    else if (pen == DEC_PEN_REVERSE && id == 1)
        m = &rev_bytes;
    else if (pen == DEC_PEN_REVERSE && id == 2)
        m = &rev_pkts;
    else if (pen == DEC_PEN_REVERSE && id == 6)
        m = &rev_flags;
    compile_map(op, has, m, len);
    return 0;
}

/*
 * Compiles a NetFlow v9 options scope field (RFC 3954 §6.1: 1 system, 2 interface, 3 line card,
 * 4 cache, 5 template). Only the interface scope is kept (as the ifIndex the options describe).
 */
int dec_compile_v9_scope(struct dec_op *op, uint64_t *has, uint16_t type, uint16_t len)
{
    static const struct ie_map scope_if = U(4, f.in_if, DEC_HAS_IN_IF);

    compile_map(op, has, type == 2 ? &scope_if : NULL, len);
    return 0;
}
