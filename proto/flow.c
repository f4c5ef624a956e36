/*
 * flow.c - address text conversion and the JSON form of the canonical flow record.
 */
#include "fl0wer/flow.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>

char *fl0wer_addr_format(const uint8_t addr[FL0WER_ADDR_LEN], char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (fl0wer_addr_is_v4(addr)) {
        if (inet_ntop(AF_INET, addr + 12, buf, (socklen_t)len) == NULL)
            buf[0] = '\0';
    } else if (inet_ntop(AF_INET6, addr, buf, (socklen_t)len) == NULL) {
        buf[0] = '\0';
    }
    return buf;
}

int fl0wer_addr_parse(const char *text, uint8_t addr[FL0WER_ADDR_LEN])
{
    uint8_t v4[4];

    if (inet_pton(AF_INET, text, v4) == 1) {
        fl0wer_addr_from_v4(addr, v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, addr) == 1)
        return 0;
    return -1;
}

int fl0wer_flow_to_json(const struct fl0wer_flow *f, char *buf, size_t len)
{
    char exp[FL0WER_ADDR_STRLEN], src[FL0WER_ADDR_STRLEN], dst[FL0WER_ADDR_STRLEN];
    char nh[FL0WER_ADDR_STRLEN];
    int n;

    fl0wer_addr_format(f->exporter, exp, sizeof(exp));
    fl0wer_addr_format(f->src_addr, src, sizeof(src));
    fl0wer_addr_format(f->dst_addr, dst, sizeof(dst));
    fl0wer_addr_format(f->next_hop, nh, sizeof(nh));
    n = snprintf(buf, len,
                 "{\"version\":%u,\"exporter\":\"%s\",\"domain_id\":%" PRIu32
                 ",\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64
                 ",\"src_addr\":\"%s\",\"dst_addr\":\"%s\",\"src_port\":%u,\"dst_port\":%u"
                 ",\"proto\":%u,\"tcp_flags\":%u,\"tos\":%u,\"in_if\":%" PRIu32
                 ",\"out_if\":%" PRIu32 ",\"src_as\":%" PRIu32 ",\"dst_as\":%" PRIu32
                 ",\"next_hop\":\"%s\",\"src_mask\":%u,\"dst_mask\":%u,\"vlan\":%u"
                 ",\"direction\":%u,\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64
                 ",\"flows\":%" PRIu64 ",\"sampling\":%" PRIu32 ",\"flags\":%u}",
                 f->version, exp, f->domain_id, f->first_ms, f->last_ms, src, dst, f->src_port,
                 f->dst_port, f->proto, f->tcp_flags, f->tos, f->in_if, f->out_if, f->src_as,
                 f->dst_as, nh, f->src_mask, f->dst_mask, f->vlan, f->direction, f->bytes,
                 f->packets, f->flows, f->sampling, f->flags);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return n;
}
