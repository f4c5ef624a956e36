/*
 * agg_sink.h - the aggregator tests' sink: every record the aggregator emits, appended in order
 * to a growing array (the caller frees out). Uses cmocka's asserts: include cmocka.h first.
 */
#ifndef FL0WER_TEST_AGG_SINK_H
#define FL0WER_TEST_AGG_SINK_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/flow.h"

struct sink {
    struct fl0wer_flow *out;
    size_t n, cap;
};

/* An edge_agg emit callback (arg: a struct sink): takes every record, waiting or not. */
static size_t sink_emit(void *arg, const struct fl0wer_flow *flows, size_t count, bool wait)
{
    struct sink *s = arg;
    (void)wait;
    if (s->n + count > s->cap) {
        while (s->n + count > s->cap)
            s->cap = s->cap ? s->cap * 2 : 4096;
        s->out = realloc(s->out, s->cap * sizeof(*s->out));
        assert_non_null(s->out);
    }
    memcpy(s->out + s->n, flows, count * sizeof(*flows));
    s->n += count;
    return count;
}

#endif /* FL0WER_TEST_AGG_SINK_H */
