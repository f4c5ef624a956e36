/*
 * fuzz_block.c - libFuzzer harness for the flow block decoder (hub/store/block_decode.c): the
 * bytes of a stored block come from disk, so a damaged file must give FL0WER_STORE_ERR_CORRUPT,
 * never a crash or a read out of bounds. Both decodings must agree: into records
 * (store_block_decode_cols) and into columns side by side (store_block_decode_soa) accept and
 * refuse the same bytes for the same columns, and hold the same values, also when a few
 * columns are decoded first and the others after (store_block_decode_soa_more).
 */
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether every column of mask holds the same values in f and s. */
static bool same(const struct fl0wer_flow *f, const struct store_flow_soa *s, size_t n,
                 uint32_t mask)
{
    for (size_t i = 0; i < n; i++) {
#define EQ(bit, a, b) (!(mask & (bit)) || (a) == (b))
        if (!EQ(STORE_COL_LAST, f[i].last_ms, s->last_ms[i]) ||
            !EQ(STORE_COL_FIRST, f[i].first_ms, s->first_ms[i]) ||
            !EQ(STORE_COL_BYTES, f[i].bytes, s->bytes[i]) ||
            !EQ(STORE_COL_PACKETS, f[i].packets, s->packets[i]) ||
            !EQ(STORE_COL_FLOWS, f[i].flows, s->flows[i]) ||
            !EQ(STORE_COL_IN_IF, f[i].in_if, s->in_if[i]) ||
            !EQ(STORE_COL_OUT_IF, f[i].out_if, s->out_if[i]) ||
            !EQ(STORE_COL_SRC_AS, f[i].src_as, s->src_as[i]) ||
            !EQ(STORE_COL_DST_AS, f[i].dst_as, s->dst_as[i]) ||
            !EQ(STORE_COL_SAMPLING, f[i].sampling, s->sampling[i]) ||
            !EQ(STORE_COL_SRC_PORT, f[i].src_port, s->src_port[i]) ||
            !EQ(STORE_COL_DST_PORT, f[i].dst_port, s->dst_port[i]) ||
            !EQ(STORE_COL_VLAN, f[i].vlan, s->vlan[i]) ||
            !EQ(STORE_COL_PROTO, f[i].proto, s->proto[i]) ||
            !EQ(STORE_COL_TCP_FLAGS, f[i].tcp_flags, s->tcp_flags[i]) ||
            !EQ(STORE_COL_TOS, f[i].tos, s->tos[i]) ||
            !EQ(STORE_COL_FLOW_FLAGS, f[i].flags, s->flags[i]))
            return false;
#undef EQ
        if (((mask & STORE_COL_EXPORTER) && memcmp(f[i].exporter, s->exporter[i], 16)) ||
            ((mask & STORE_COL_SRC_ADDR) && memcmp(f[i].src_addr, s->src_addr[i], 16)) ||
            ((mask & STORE_COL_DST_ADDR) && memcmp(f[i].dst_addr, s->dst_addr[i], 16)))
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fl0wer_flow flows[STORE_MAX_BLOCK_FLOWS];
    static struct store_flow_soa soa;
    uint32_t mask = STORE_SOA_COLS;
    size_t n = 0, n_hdr;
    uint64_t lo, hi;
    int rc_rows, rc_cols;

    /* a leading byte picks a narrower set of columns: bit k of it adds the kth group */
    if (size > 0 && data[0] == 0xc5 && size > 1) {
        static const uint32_t groups[8] = {
            STORE_COL_LAST | STORE_COL_FIRST,
            STORE_COL_BYTES | STORE_COL_PACKETS,
            STORE_COL_FLOWS | STORE_COL_SAMPLING,
            STORE_COL_IN_IF | STORE_COL_OUT_IF,
            STORE_COL_SRC_AS | STORE_COL_DST_AS,
            STORE_COL_SRC_PORT | STORE_COL_DST_PORT,
            STORE_COL_PROTO | STORE_COL_TCP_FLAGS | STORE_COL_TOS | STORE_COL_FLOW_FLAGS,
            STORE_COL_EXPORTER | STORE_COL_SRC_ADDR | STORE_COL_DST_ADDR | STORE_COL_VLAN};
        mask = 0;
        for (int k = 0; k < 8; k++)
            if (data[1] >> k & 1)
                mask |= groups[k];
        data += 2;
        size -= 2;
    }
    rc_rows = store_block_decode_cols(data, size, flows, STORE_MAX_BLOCK_FLOWS, &n, mask);
    rc_cols = store_block_decode_soa(data, size, mask, &soa);
    if (rc_rows != rc_cols)
        abort(); /* the two decodings disagree on whether the block is sound */
    if (rc_rows == 0) {
        if (soa.view.n != n || store_block_header(data, size, &n_hdr, &lo, &hi) != 0 ||
            n_hdr != n ||
            !same(flows, &soa, n, mask | ((mask & STORE_COL_FIRST) ? STORE_COL_LAST : 0)))
            abort();
    }
    /* a few columns first, the rest after (as a filtered scan does): the same verdict */
    uint32_t few = mask & (STORE_COL_PROTO | STORE_COL_SRC_ADDR | STORE_COL_LAST);
    int rc_few = store_block_decode_soa(data, size, few, &soa);
    if (rc_few == 0)
        rc_few = store_block_decode_soa_more(&soa, mask);
    if (rc_few != rc_rows || (rc_few == 0 && !same(flows, &soa, n, mask)))
        abort();
    (void)store_block_decode(data, size, flows, STORE_MAX_BLOCK_FLOWS, &n);
    return 0;
}
