/*
 * fuzz_filter.c - libFuzzer harness: compiles arbitrary bytes as a filter expression and, when
 * they compile, matches the filter against a fixed set of IPv4 and IPv6 flows. Any crash,
 * sanitizer report or leak is a bug; a syntax error must say where it is. And
 * fl0wer_filter_uses() must name every field the filter reads: a flow whose other fields are
 * overwritten (as a reader that decodes only the used columns leaves them) matches the same.
 * The column evaluator (fl0wer_filter_match_cols), given only the used columns (the others NULL,
 * so reading one crashes), must answer as fl0wer_filter_match for 68 rows (a whole 64-row step
 * and a partial one).
 */
#include <stdlib.h>
#include <string.h>

#include "fl0wer/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void make_flows(struct fl0wer_flow flows[4])
{
    static const char *addrs[8] = {"10.0.0.1", "192.0.2.80", "2001:db8::1", "2001:db8:1::2",
                                   "0.0.0.0", "255.255.255.255", "::", "ff02::1"};

    for (int i = 0; i < 4; i++) {
        fl0wer_flow_init(&flows[i]);
        fl0wer_addr_parse(addrs[2 * i], flows[i].src_addr);
        fl0wer_addr_parse(addrs[2 * i + 1], flows[i].dst_addr);
        fl0wer_addr_parse(addrs[i], flows[i].exporter);
        flows[i].src_port = (uint16_t)(i * 20000);
        flows[i].dst_port = (uint16_t)(443 + i);
        flows[i].proto = (uint8_t)(i == 0 ? 6 : i == 1 ? 17 : i == 2 ? 58 : 255);
        flows[i].tcp_flags = (uint8_t)(0x12 << i);
        flows[i].bytes = i == 3 ? UINT64_MAX : 1500u * (uint64_t)i;
        flows[i].packets = (uint64_t)i * 3;
        flows[i].first_ms = 1000;
        flows[i].last_ms = i == 3 ? 0 : 1000 + 500u * (uint64_t)i;
        flows[i].flags = i == 1 || i == 2 ? FL0WER_FLOW_F_IPV6 : 0;
        flows[i].src_as = flows[i].dst_as = (uint32_t)i * 65000u;
        flows[i].in_if = (uint32_t)i;
        flows[i].out_if = UINT32_MAX - (uint32_t)i;
    }
}

/* Overwrites every field of f that the bit set uses says the filter does not read. */
static void scramble_unused(struct fl0wer_flow *f, uint32_t uses)
{
    if (!(uses & FL0WER_FILTER_USES_SRC_ADDR))
        memset(f->src_addr, 0xa5, sizeof(f->src_addr));
    if (!(uses & FL0WER_FILTER_USES_DST_ADDR))
        memset(f->dst_addr, 0x5a, sizeof(f->dst_addr));
    if (!(uses & FL0WER_FILTER_USES_EXPORTER))
        memset(f->exporter, 0x11, sizeof(f->exporter));
    if (!(uses & FL0WER_FILTER_USES_SRC_PORT))
        f->src_port = 7;
    if (!(uses & FL0WER_FILTER_USES_DST_PORT))
        f->dst_port = 9;
    if (!(uses & FL0WER_FILTER_USES_SRC_AS))
        f->src_as = 77;
    if (!(uses & FL0WER_FILTER_USES_DST_AS))
        f->dst_as = 99;
    if (!(uses & FL0WER_FILTER_USES_IN_IF))
        f->in_if = 3;
    if (!(uses & FL0WER_FILTER_USES_OUT_IF))
        f->out_if = 4;
    if (!(uses & FL0WER_FILTER_USES_PROTO))
        f->proto = 47;
    if (!(uses & FL0WER_FILTER_USES_TCP_FLAGS))
        f->tcp_flags = 0xff;
    if (!(uses & FL0WER_FILTER_USES_TOS))
        f->tos = 0xb8;
    if (!(uses & FL0WER_FILTER_USES_VLAN))
        f->vlan = 4094;
    if (!(uses & FL0WER_FILTER_USES_BYTES))
        f->bytes = 123456789;
    if (!(uses & FL0WER_FILTER_USES_PACKETS))
        f->packets = 98765;
    if (!(uses & FL0WER_FILTER_USES_FLOWS))
        f->flows = 42;
    if (!(uses & FL0WER_FILTER_USES_TIMES)) {
        f->first_ms = 5;
        f->last_ms = 999999;
    }
    if (!(uses & FL0WER_FILTER_USES_FLOW_FLAGS))
        f->flags ^= FL0WER_FLOW_F_IPV6;
}

#define ROWS 68

/* The flows repeated over ROWS rows as columns, only those in uses set; then every row's
 * answer from fl0wer_filter_match_cols must equal fl0wer_filter_match's. */
static void check_cols(const struct fl0wer_filter *f, const struct fl0wer_flow flows[4],
                       uint32_t uses)
{
    static uint64_t first[ROWS], last[ROWS], bytes[ROWS], packets[ROWS], nflows[ROWS];
    static uint32_t src_as[ROWS], dst_as[ROWS], in_if[ROWS], out_if[ROWS];
    static uint16_t src_port[ROWS], dst_port[ROWS], vlan[ROWS];
    static uint8_t proto[ROWS], tcp_flags[ROWS], tos[ROWS], flags[ROWS];
    static uint8_t exporter[ROWS][16], src_addr[ROWS][16], dst_addr[ROWS][16];
    uint64_t sel[2] = {~UINT64_C(0), ~UINT64_C(0)};

    for (int i = 0; i < ROWS; i++) {
        const struct fl0wer_flow *x = &flows[i % 4];
        first[i] = x->first_ms, last[i] = x->last_ms, bytes[i] = x->bytes;
        packets[i] = x->packets, nflows[i] = x->flows, src_as[i] = x->src_as;
        dst_as[i] = x->dst_as, in_if[i] = x->in_if, out_if[i] = x->out_if;
        src_port[i] = x->src_port, dst_port[i] = x->dst_port, vlan[i] = x->vlan;
        proto[i] = x->proto, tcp_flags[i] = x->tcp_flags, tos[i] = x->tos, flags[i] = x->flags;
        memcpy(exporter[i], x->exporter, 16);
        memcpy(src_addr[i], x->src_addr, 16);
        memcpy(dst_addr[i], x->dst_addr, 16);
    }
#define COL(bit, arr) ((uses & FL0WER_FILTER_USES_##bit) ? (arr) : NULL)
    struct fl0wer_flow_cols c = {
        .n = ROWS, .first_ms = COL(TIMES, first), .last_ms = COL(TIMES, last),
        .bytes = COL(BYTES, bytes), .packets = COL(PACKETS, packets),
        .flows = COL(FLOWS, nflows), .src_as = COL(SRC_AS, src_as),
        .dst_as = COL(DST_AS, dst_as), .in_if = COL(IN_IF, in_if), .out_if = COL(OUT_IF, out_if),
        .src_port = COL(SRC_PORT, src_port), .dst_port = COL(DST_PORT, dst_port),
        .vlan = COL(VLAN, vlan), .proto = COL(PROTO, proto), .tcp_flags = COL(TCP_FLAGS, tcp_flags),
        .tos = COL(TOS, tos), .flags = COL(FLOW_FLAGS, flags),
        .exporter = COL(EXPORTER, (const uint8_t(*)[16])exporter),
        .src_addr = COL(SRC_ADDR, (const uint8_t(*)[16])src_addr),
        .dst_addr = COL(DST_ADDR, (const uint8_t(*)[16])dst_addr)};
#undef COL
    if (fl0wer_filter_match_cols(f, &c, sel) != 0)
        abort();
    for (int i = 0; i < ROWS; i++)
        if (((sel[i / 64] >> (i % 64)) & 1) != fl0wer_filter_match(f, &flows[i % 4]))
            abort(); /* the column evaluator disagrees with the per-flow one */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fl0wer_flow flows[4];
    struct fl0wer_filter *f = NULL;
    struct fl0wer_filter_error err;
    char *expr = malloc(size + 1);
    size_t len;
    int rc;

    if (expr == NULL)
        return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';
    len = strlen(expr);
    make_flows(flows);
    rc = fl0wer_filter_compile(expr, &f, &err);
    if (rc == 0) {
        uint32_t uses = fl0wer_filter_uses(f);
        for (int i = 0; i < 4; i++) {
            struct fl0wer_flow other = flows[i];
            scramble_unused(&other, uses);
            if (fl0wer_filter_match(f, &flows[i]) != fl0wer_filter_match(f, &other))
                abort(); /* the filter read a field fl0wer_filter_uses does not name */
        }
        check_cols(f, flows, uses);
        (void)fl0wer_filter_is_all(f);
        fl0wer_filter_destroy(f);
    } else if (rc == FL0WER_FILTER_ERR_SYNTAX) {
        /* The error must point inside the text (or at its end) and say something. */
        if (f != NULL || err.offset > len || err.offset + err.length > len ||
            err.message[0] == '\0' || memchr(err.message, '\0', sizeof(err.message)) == NULL)
            abort();
    }
    free(expr);
    return 0;
}
