/*
 * fuzz_filter.c - libFuzzer harness: compiles arbitrary bytes as a filter expression and, when
 * they compile, matches the filter against a fixed set of IPv4 and IPv6 flows. Any crash,
 * sanitizer report or leak is a bug; a syntax error must say where it is.
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
        for (int i = 0; i < 4; i++)
            (void)fl0wer_filter_match(f, &flows[i]);
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
