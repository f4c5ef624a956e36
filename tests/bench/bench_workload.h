/*
 * bench_workload.h - the flow workload shared by the hub benchmarks (bench_analyzer's "gen"
 * workload and fl0wer-bench-load): fl0wer-gen's model with 3 exporters (NetFlow v5, v9, IPFIX),
 * 10 % IPv6, 20,000 hosts, flows ending within one minute that starts at start_ms.
 */
#ifndef FL0WER_BENCH_WORKLOAD_H
#define FL0WER_BENCH_WORKLOAD_H

#include "gen.h"

static inline void bench_workload_config(struct gen_config *c, uint64_t flows, uint64_t start_ms)
{
    gen_config_default(c);
    c->flows = flows;
    c->exporters = 3;
    c->versions[0] = 5;
    c->versions[1] = 9;
    c->versions[2] = 10;
    c->n_versions = 3;
    c->ipv6_share = 0.1;
    c->hosts = 20000;
    c->window_ms = 60000;
    c->start_ms = start_ms;
}

#endif
