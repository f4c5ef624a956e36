/*
 * seqset.h - the set of batch sequence numbers the hub has stored for one edge, kept as sorted,
 * disjoint, non-adjacent ranges [lo, hi].
 *
 * Why a set and not "the highest stored": an edge keeps several batches in flight, so after a
 * hub restart or a lost ack a lower sequence number can arrive after higher ones were stored.
 * With only a maximum, that late batch would be taken for a duplicate and its flows lost. With
 * the set, it is stored, and a real resend (a number inside a range) is still a duplicate.
 *
 * Holes that never fill (numbers an edge skipped after a restart, batches it dropped when its
 * spool was full, rejected batches) leave one range each. The set keeps at most SEQSET_MAX_RANGES
 * ranges: adding a new hole beyond that fills the OLDEST hole (merges the two lowest ranges), so
 * a batch from that hole would then count as a duplicate. Edges resend in sequence order, so a
 * batch can be late by a few in-flight batches, never by dozens of holes.
 *
 * Plain data, no allocation; encoded for storage as a count and 16 bytes per range, big-endian.
 */
#ifndef FL0WER_SEQSET_H
#define FL0WER_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEQSET_MAX_RANGES 64
#define SEQSET_ENCODED_MAX (4 + 16 * SEQSET_MAX_RANGES)

struct seqset_range {
    uint64_t lo, hi;
};

struct seqset {
    uint32_t n;
    struct seqset_range r[SEQSET_MAX_RANGES];
};

static inline void seqset_init(struct seqset *s)
{
    s->n = 0;
}

/* True when seq was added before (or lies in a hole that was filled for space). */
bool seqset_contains(const struct seqset *s, uint64_t seq);

/* Adds seq (0 is not a valid sequence number and is ignored). */
void seqset_add(struct seqset *s, uint64_t seq);

/* The highest number in the set, 0 when empty. */
uint64_t seqset_max(const struct seqset *s);

/* Writes the set into buf (SEQSET_ENCODED_MAX bytes are enough). Returns the length. */
size_t seqset_encode(const struct seqset *s, uint8_t *buf);

/*
 * Reads an encoded set. An 8-byte value is read as the older "highest stored" form: the range
 * [1, value]. Returns 0, or -1 when buf is not a valid encoding (s is then empty).
 */
int seqset_decode(struct seqset *s, const uint8_t *buf, size_t len);

#endif
