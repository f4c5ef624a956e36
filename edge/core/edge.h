/*
 * edge.h - the fl0wer-edge agent as a library (fl0wer_edge_core): the daemon's main() parses an
 * edge_config and calls edge_main(); tests drive the parts (agg.h, spool.h, config.h) directly.
 */
#ifndef EDGE_EDGE_H
#define EDGE_EDGE_H

#include "config.h"

/* Exit codes of edge_main(). */
#define EDGE_EXIT_OK     0
#define EDGE_EXIT_FAIL   1 /* runtime failure (socket bind, spool I/O) */
#define EDGE_EXIT_CONFIG 2 /* bad setting found while starting (e.g. unreadable key file) */

/*
 * Runs the edge until SIGTERM or SIGINT: blocks those signals in every thread it starts and
 * waits for them with sigtimedwait() (no signal handler, no global state), logs counters every
 * stats_interval_s, then stops receiving, flushes the aggregation buckets into batches, spools
 * them, waits up to shutdown_wait_ms for acks and returns EDGE_EXIT_OK.
 */
int edge_main(const struct edge_config *cfg);

#endif /* EDGE_EDGE_H */
