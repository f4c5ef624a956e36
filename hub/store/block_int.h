/*
 * block_int.h - what the flow block encoder (block.c) and decoder (block_decode.c) share: the
 * column counts, the zigzag coding of times, where each byte and address column lives in struct
 * fl0wer_flow, and the move-to-front list of recently used addresses that both must keep equal.
 */
#ifndef FL0WER_BLOCK_INT_H
#define FL0WER_BLOCK_INT_H

#include <stddef.h>
#include <string.h>

#include "store_int.h"

#define BLOCK_VERSION 3
#define N_VARINT_COLS 14 /* last, duration and the 12 plain varint columns */
#define ADDR_HIST 4      /* most recently used distinct addresses per address column (v3) */
#define N_BYTE_COLS 10
#define N_ADDR_COLS 4
#define N_LEN_COLS (N_VARINT_COLS + N_ADDR_COLS)

static inline uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Where each byte and address column lives in struct fl0wer_flow, in column order (a table of
 * offsets: an array of member pointers built per call cost ~20 instructions a flow and column). */
static const size_t byte_col_off[N_BYTE_COLS] = {
    offsetof(struct fl0wer_flow, proto),     offsetof(struct fl0wer_flow, tcp_flags),
    offsetof(struct fl0wer_flow, tos),       offsetof(struct fl0wer_flow, src_mask),
    offsetof(struct fl0wer_flow, dst_mask),  offsetof(struct fl0wer_flow, direction),
    offsetof(struct fl0wer_flow, version),   offsetof(struct fl0wer_flow, flags),
    offsetof(struct fl0wer_flow, reserved),  offsetof(struct fl0wer_flow, reserved) + 1};
static const size_t addr_col_off[N_ADDR_COLS] = {
    offsetof(struct fl0wer_flow, exporter), offsetof(struct fl0wer_flow, src_addr),
    offsetof(struct fl0wer_flow, dst_addr), offsetof(struct fl0wer_flow, next_hop)};

static inline uint8_t *byte_col(struct fl0wer_flow *f, int i)
{
    return (uint8_t *)f + byte_col_off[i];
}

static inline uint8_t *addr_col(struct fl0wer_flow *f, int i)
{
    return (uint8_t *)f + addr_col_off[i];
}

/* An address as two 64-bit words (memory order), for cheap comparisons. */
static inline void addr_words(const uint8_t *a, uint64_t w[2])
{
    memcpy(w, a, 16);
}

/* The move-to-front list of an address column's recently used distinct addresses. */
struct addr_hist {
    uint64_t w[ADDR_HIST][2];
    int n;
};

/* Index of w in h, or -1. */
static inline int hist_find(const struct addr_hist *h, const uint64_t w[2])
{
    for (int k = 0; k < h->n; k++)
        if (h->w[k][0] == w[0] && h->w[k][1] == w[1])
            return k;
    return -1;
}

/* Moves w (found at k, or -1: new) to the front of h; the encoder and decoder both call it
 * once per record, so their lists stay equal. */
static inline void hist_use(struct addr_hist *h, const uint64_t w[2], int k)
{
    int from = k >= 0 ? k : (h->n < ADDR_HIST ? h->n++ : ADDR_HIST - 1);

    for (int j = from; j > 0; j--) {
        h->w[j][0] = h->w[j - 1][0];
        h->w[j][1] = h->w[j - 1][1];
    }
    h->w[0][0] = w[0];
    h->w[0][1] = w[1];
}

#endif /* FL0WER_BLOCK_INT_H */
