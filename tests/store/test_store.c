/*
 * test_store.c - the hub store against a real RocksDB in a temporary directory: batches round
 * trip every field, duplicates are refused (also across reopen and between racing threads),
 * metadata is visible, retention removes exactly what is older than the limit and the disk cap
 * removes the oldest minutes first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>

#include "fl0wer/store.h"
#include "store_testutil.h"
#include "../../hub/store/store_int.h" /* the block codec (block.c) */

#define T0 1700000012345ull /* not minute-aligned */

struct fixture {
    char dir[64];
    struct fl0wer_store *s;
};

static struct fl0wer_store *open_store(const char *dir, uint64_t retention, uint64_t max_disk)
{
    struct fl0wer_store_config cfg = {.path = dir, .retention_ms = retention,
                                      .max_disk_bytes = max_disk, .sync_writes = false};
    struct fl0wer_store *s = NULL;
    char err[256];
    int rc = fl0wer_store_open(&s, &cfg, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    return s;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(tu_tmpdir(fx->dir, sizeof(fx->dir)));
    fx->s = open_store(fx->dir, 0, 0);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    fl0wer_store_close(fx->s);
    tu_rmdir(fx->dir);
    free(fx);
    return 0;
}

struct collect {
    struct fl0wer_flow *flows;
    size_t n, cap;
};

static int collect_cb(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    struct collect *c = arg;
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->flows = realloc(c->flows, c->cap * sizeof(*c->flows));
        assert_non_null(c->flows);
    }
    memcpy(c->flows + c->n, flows, n * sizeof(*flows));
    c->n += n;
    return 0;
}

/* Scans [from, to) and asserts it returns exactly the flows of `all` in that range. */
static void assert_scan_equals(struct fl0wer_store *s, const struct fl0wer_flow *all, size_t n,
                               uint64_t from, uint64_t to)
{
    struct collect c = {0};
    struct fl0wer_flow *want = malloc((n + 1) * sizeof(*want));
    size_t m = 0;

    for (size_t i = 0; i < n; i++)
        if (all[i].last_ms >= from && all[i].last_ms < to)
            want[m++] = all[i];
    assert_int_equal(fl0wer_store_scan_flows(s, from, to, collect_cb, &c), 0);
    assert_int_equal(c.n, m);
    qsort(want, m, sizeof(*want), tu_flow_cmp);
    if (c.n)
        qsort(c.flows, c.n, sizeof(*c.flows), tu_flow_cmp);
    for (size_t i = 0; i < m; i++)
        assert_memory_equal(&want[i], &c.flows[i], sizeof(*want));
    free(want);
    free(c.flows);
}

static size_t count_flows(struct fl0wer_store *s, uint64_t from, uint64_t to)
{
    struct collect c = {0};
    assert_int_equal(fl0wer_store_scan_flows(s, from, to, collect_cb, &c), 0);
    free(c.flows);
    return c.n;
}

static void test_roundtrip(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {1};
    size_t n = 3000;
    struct fl0wer_flow *flows = malloc(n * sizeof(*flows));
    bool dup = true;

    for (size_t i = 0; i < n; i++) {
        tu_flow(&r, &flows[i], T0, 5 * 60000);
        flows[i].reserved[0] = (uint8_t)i; /* even reserved bytes survive */
    }
    struct fl0wer_batch b = tu_batch(flows, n, 1);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b, &dup), 0);
    assert_false(dup);
    assert_scan_equals(fx->s, flows, n, 0, UINT64_MAX);
    assert_scan_equals(fx->s, flows, n, T0 + 61234, T0 + 185001);
    assert_scan_equals(fx->s, flows, n, T0 + 100, T0 + 101);
    assert_int_equal(count_flows(fx->s, T0 + 5 * 60000, UINT64_MAX), 0);

    struct fl0wer_store_status st;
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        lo = flows[i].last_ms < lo ? flows[i].last_ms : lo;
        hi = flows[i].last_ms > hi ? flows[i].last_ms : hi;
    }
    assert_int_equal(st.flows_stored, n);
    assert_int_equal(st.batches_stored, 1);
    assert_int_equal(st.oldest_flow_ms, lo);
    assert_int_equal(st.newest_flow_ms, hi);
    assert_int_equal(st.retention_ms, 30ull * 86400000ull);
    assert_true(st.disk_bytes > 0);
    free(flows);
}

static void test_duplicates_and_reopen(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {2};
    struct fl0wer_flow flows[100];
    bool dup = false;
    uint64_t seq = 99;

    for (size_t i = 0; i < 100; i++)
        tu_flow(&r, &flows[i], T0, 120000);
    struct fl0wer_batch b1 = tu_batch(flows, 60, 1), b2 = tu_batch(flows + 60, 40, 2);
    assert_int_equal(fl0wer_store_edge_last_seq(fx->s, "edge-a", &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b1, &dup), 0);
    assert_false(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b1, &dup), 0);
    assert_true(dup);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 60);
    /* another edge has its own sequence */
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-b", &b1, &dup), 0);
    assert_false(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b2, &dup), 0);
    assert_false(dup);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 160);
    assert_true(store_wal_bytes(fx->dir) > 160 * 10); /* the batches are in the WAL ... */

    fl0wer_store_close(fx->s);
    assert_int_equal(store_wal_bytes(fx->dir), 0); /* ... and a clean close flushed them to SSTs */
    fx->s = open_store(fx->dir, 0, 0);
    assert_int_equal(fl0wer_store_edge_last_seq(fx->s, "edge-a", &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b2, &dup), 0);
    assert_true(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-a", &b1, &dup), 0);
    assert_true(dup);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 160);
    struct fl0wer_store_status st;
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    assert_int_equal(st.flows_stored, 160);
    assert_int_equal(st.batches_stored, 3);
}

/*
 * A batch that arrives after later ones (a lost ack, a hub restart with batches in flight) is
 * stored, not taken for a duplicate; a resend of it afterwards is a duplicate, across reopen too.
 */
static void test_out_of_order(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {5};
    struct fl0wer_flow flows[40];
    bool dup = true;
    uint64_t seq = 0;

    for (size_t i = 0; i < 40; i++)
        tu_flow(&r, &flows[i], T0, 120000);
    struct fl0wer_batch b1 = tu_batch(flows, 10, 1), b2 = tu_batch(flows + 10, 10, 2);
    struct fl0wer_batch b3 = tu_batch(flows + 20, 10, 3), b5 = tu_batch(flows + 30, 10, 5);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b1, &dup), 0);
    assert_false(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b3, &dup), 0);
    assert_false(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b5, &dup), 0);
    assert_false(dup);
    assert_int_equal(fl0wer_store_edge_last_seq(fx->s, "edge-o", &seq), 0);
    assert_int_equal(seq, 5);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b2, &dup), 0);
    assert_false(dup); /* late, below the highest stored: still stored */
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 40);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b2, &dup), 0);
    assert_true(dup);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &b3, &dup), 0);
    assert_true(dup);

    fl0wer_store_close(fx->s);
    fx->s = open_store(fx->dir, 0, 0);
    for (uint64_t q = 1; q <= 5; q++) {
        struct fl0wer_batch again = tu_batch(flows, 1, q);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-o", &again, &dup), 0);
        assert_int_equal(dup, q != 4); /* 4 was never sent: the hole is still open */
    }
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 41);
    assert_int_equal(fl0wer_store_edge_last_seq(fx->s, "edge-o", &seq), 0);
    assert_int_equal(seq, 5);
}

struct racer {
    struct fl0wer_store *s;
    struct fl0wer_batch *b;
    bool dup;
    int rc;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    x->rc = fl0wer_store_put_batch(x->s, "edge-r", x->b, &x->dup);
    return NULL;
}

static void test_concurrent_duplicates(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {3};
    struct fl0wer_flow flows[500];

    for (size_t i = 0; i < 500; i++)
        tu_flow(&r, &flows[i], T0, 60000);
    struct fl0wer_batch b = tu_batch(flows, 500, 7);
    for (int round = 0; round < 5; round++) {
        struct racer x[4];
        pthread_t th[4];
        b.seq = 7 + (uint64_t)round;
        for (int i = 0; i < 4; i++) {
            x[i] = (struct racer){fx->s, &b, false, -1};
            pthread_create(&th[i], NULL, race, &x[i]);
        }
        int stored = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(x[i].rc, 0);
            stored += !x[i].dup;
        }
        assert_int_equal(stored, 1);
    }
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 5 * 500);
}

struct meta_seen {
    int edges, exporters, interfaces;
    struct fl0wer_edge_status edge;
    struct fl0wer_exporter_stats exp[2];
    char exp_edge[2][64];
    struct fl0wer_interface_info ifs[2];
};

static void on_edge(void *arg, const struct fl0wer_edge_status *e)
{
    struct meta_seen *m = arg;
    if (strcmp(e->name, "edge-m") == 0)
        m->edge = *e;
    m->edges++;
}

static void on_exporter(void *arg, const char *edge, const struct fl0wer_exporter_stats *x)
{
    struct meta_seen *m = arg;
    assert_true(m->exporters < 2);
    snprintf(m->exp_edge[m->exporters], 64, "%s", edge);
    m->exp[m->exporters++] = *x;
}

static void on_interface(void *arg, const struct fl0wer_interface_info *i)
{
    struct meta_seen *m = arg;
    assert_true(m->interfaces < 2);
    m->ifs[m->interfaces++] = *i;
}

static void test_metadata(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {4};
    struct fl0wer_flow flows[10];
    struct fl0wer_exporter_stats x[2];
    struct fl0wer_interface_info ifs[2];
    struct meta_seen m;
    bool dup;

    for (size_t i = 0; i < 10; i++)
        tu_flow(&r, &flows[i], T0, 60000);
    memset(x, 0, sizeof(x));
    memset(ifs, 0, sizeof(ifs));
    for (int i = 0; i < 2; i++) {
        tu_addr(&r, x[i].addr, 100);
        x[i].addr[15] = (uint8_t)i; /* distinct, in key order */
        x[i].port = (uint16_t)(2055 + i);
        x[i].domain_id = (uint32_t)(7 + i);
        x[i].version = 10;
        x[i].messages = 100 + (uint64_t)i;
        x[i].records = 1000;
        x[i].bytes = 123456;
        x[i].sequence_gaps = 3;
        x[i].unknown_template = 4;
        x[i].templates = 5;
        x[i].errors[FL0WER_DERR_RECORD] = 6;
        x[i].last_seen_ms = T0 + 5;
        x[i].sampling = 100;
        memcpy(ifs[i].exporter, x[i].addr, 16);
        ifs[i].domain_id = 7;
        ifs[i].ifindex = (uint32_t)(10 + i);
        snprintf(ifs[i].name, sizeof(ifs[i].name), "ge-0/0/%d", i);
        snprintf(ifs[i].description, sizeof(ifs[i].description), "uplink %d", i);
    }
    struct fl0wer_batch b = tu_batch(flows, 10, 5);
    b.exporters = x;
    b.exporter_count = 2;
    b.interfaces = ifs;
    b.interface_count = 2;
    b.report.records_sent = 77;
    b.report.spool_bytes = 88;
    b.report.kernel_drops = 2;
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-m", &b, &dup), 0);
    assert_int_equal(fl0wer_store_edge_reject(fx->s, "edge-m", "bad signature"), 0);
    assert_int_equal(fl0wer_store_edge_reject(fx->s, NULL, "unknown key"), 0);

    memset(&m, 0, sizeof(m));
    assert_int_equal(fl0wer_store_foreach_edge(fx->s, on_edge, &m), 0);
    assert_int_equal(fl0wer_store_foreach_exporter(fx->s, on_exporter, &m), 0);
    assert_int_equal(fl0wer_store_foreach_interface(fx->s, on_interface, &m), 0);
    assert_int_equal(m.edges, 2); /* edge-m and "unknown" */
    assert_string_equal(m.edge.name, "edge-m");
    assert_int_equal(m.edge.last_seq, 5);
    assert_int_equal(m.edge.batches, 1);
    assert_int_equal(m.edge.records, 10);
    assert_int_equal(m.edge.rejects, 1);
    assert_true(m.edge.last_seen_ms > T0);
    assert_memory_equal(&m.edge.report, &b.report, sizeof(b.report));
    assert_int_equal(m.exporters, 2);
    assert_int_equal(m.interfaces, 2);
    for (int i = 0; i < 2; i++) {
        assert_string_equal(m.exp_edge[i], "edge-m");
        assert_memory_equal(&m.exp[i], &x[i], sizeof(x[i]));
        assert_memory_equal(&m.ifs[i], &ifs[i], sizeof(ifs[i]));
    }
}

/* Retention: exactly the flows older than now - retention go, at an unaligned boundary. */
static int sum_row_flows(void *arg, uint64_t t_ms, const uint8_t *key, size_t klen,
                         const struct fl0wer_rollup_counters *c)
{
    (void)t_ms;
    (void)key;
    (void)klen;
    *(uint64_t *)arg += c->flows;
    return 0;
}

/* A rollup retention shorter than the flows' is raised to it: gc keeps the minute totals of every
 * flow it keeps, so whole minutes answered from rollups stay complete. */
static void test_rollup_retention_floor(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {8};
    struct fl0wer_flow flows[500];
    uint64_t t0 = T0 - T0 % 60000, hour = 3600000, got = 0;
    struct fl0wer_store_config cfg = {.path = fx->dir, .retention_ms = 2 * hour,
                                      .rollup_retention_ms = hour / 2};
    struct fl0wer_store_status st;
    struct fl0wer_store_gc_result res;
    char err[256];
    bool dup;

    fl0wer_store_close(fx->s);
    assert_int_equal(fl0wer_store_open(&fx->s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    assert_int_equal(st.retention_ms, 2 * hour);
    assert_int_equal(st.rollup_retention_ms, 2 * hour);
    for (size_t i = 0; i < 500; i++)
        tu_flow(&r, &flows[i], t0, 60000);
    struct fl0wer_batch b = tu_batch(flows, 500, 1);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-r", &b, &dup), 0);
    /* an hour later: the flows are kept, and so are their minute totals */
    assert_int_equal(fl0wer_store_gc(fx->s, t0 + hour + 60000, &res), 0);
    assert_int_equal(res.rollup_rows_removed, 0);
    assert_int_equal(fl0wer_store_scan_rollups(fx->s, FL0WER_ROLLUP_MINUTE, FL0WER_ROLLUP_TOTAL,
                                               t0, t0 + 60000, sum_row_flows, &got),
                     0);
    uint64_t want = 0;
    for (size_t i = 0; i < 500; i++)
        want += flows[i].flows;
    assert_int_equal(got, want);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), 500);
}

static void test_retention(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {5};
    size_t n = 4000;
    struct fl0wer_flow *flows = malloc(n * sizeof(*flows));
    uint64_t retention = 3600000, t0 = T0 - T0 % 60000;
    bool dup;

    fl0wer_store_close(fx->s);
    fx->s = open_store(fx->dir, retention, 0);
    for (size_t i = 0; i < n; i++)
        tu_flow(&r, &flows[i], t0, 10 * 60000);
    for (uint64_t seq = 1; seq <= 4; seq++) {
        struct fl0wer_batch b = tu_batch(flows + (seq - 1) * 1000, 1000, seq);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-g", &b, &dup), 0);
    }
    uint64_t cutoff = t0 + 4 * 60000 + 12345;
    size_t older = 0;
    uint64_t oldest_kept = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (flows[i].last_ms < cutoff)
            older++;
        else if (flows[i].last_ms < oldest_kept)
            oldest_kept = flows[i].last_ms;
    }
    assert_true(older > 1000 && older < 3000);
    struct fl0wer_store_gc_result res;
    assert_int_equal(store_raw_cut(fx->s), 0); /* nothing ever removed */
    /* nothing is older than a limit before the data */
    assert_int_equal(fl0wer_store_gc(fx->s, t0 + retention - 1, &res), 0);
    assert_int_equal(store_raw_cut(fx->s), t0 - 1);
    assert_int_equal(res.flow_blocks_removed, 0);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), n);

    assert_int_equal(fl0wer_store_gc(fx->s, cutoff + retention, &res), 0);
    /* 4 batches x 4 whole minutes before the boundary minute, one block each */
    assert_int_equal(res.flow_blocks_removed, 16);
    assert_int_equal(res.oldest_flow_ms, oldest_kept);
    assert_int_equal(count_flows(fx->s, 0, cutoff), 0);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), n - older);
    assert_scan_equals(fx->s, flows, n, cutoff, UINT64_MAX);
    /* the raw cut is the retention limit, kept across a reopen and never lowered */
    assert_int_equal(store_raw_cut(fx->s), cutoff);
    fl0wer_store_close(fx->s);
    fx->s = open_store(fx->dir, retention, 0);
    assert_int_equal(store_raw_cut(fx->s), cutoff);
    assert_int_equal(fl0wer_store_gc(fx->s, t0 + retention, &res), 0);
    assert_int_equal(store_raw_cut(fx->s), cutoff);

    /* the rollups are kept longer: the minute totals still count every flow */
    free(flows);
}

/* The disk cap: the oldest minutes go first, the newest stay. */
static void test_disk_cap(void **state)
{
    struct fixture *fx = *state;
    struct tu_rng r = {6};
    size_t per = 3000, minutes = 10;
    struct fl0wer_flow *flows = malloc(per * sizeof(*flows));
    uint64_t t0 = T0 - T0 % 60000;
    bool dup;

    for (size_t m = 0; m < minutes; m++) {
        for (size_t i = 0; i < per; i++) {
            tu_flow(&r, &flows[i], t0 + m * 60000, 60000);
            flows[i].bytes = tu_next(&r); /* incompressible enough to take space */
        }
        struct fl0wer_batch b = tu_batch(flows, per, m + 1);
        assert_int_equal(fl0wer_store_put_batch(fx->s, "edge-d", &b, &dup), 0);
    }
    struct fl0wer_store_gc_result res;
    assert_int_equal(fl0wer_store_gc(fx->s, t0, &res), 0); /* no cap: nothing goes */
    assert_int_equal(store_raw_cut(fx->s), t0 - 30ull * 86400000ull); /* default retention */
    /* reopen first so the measured size is the flushed, compressed one */
    fl0wer_store_close(fx->s);
    fx->s = open_store(fx->dir, 0, 0);
    struct fl0wer_store_status st;
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    uint64_t full = st.disk_bytes;
    fl0wer_store_close(fx->s);
    fx->s = open_store(fx->dir, 0, full * 6 / 10);
    assert_int_equal(fl0wer_store_gc(fx->s, t0, &res), 0);
    assert_int_equal(fl0wer_store_status(fx->s, &st), 0);
    assert_true(st.disk_bytes <= full * 6 / 10);
    assert_true(res.flow_blocks_removed >= 1);
    uint64_t first = res.oldest_flow_ms / 60000 - t0 / 60000;
    assert_true(first >= 1 && first < minutes - 1);
    assert_int_equal(store_raw_cut(fx->s), t0 + first * 60000); /* the first minute kept */
    /* everything before the first kept minute is gone, everything from it on is intact */
    assert_int_equal(count_flows(fx->s, 0, t0 + first * 60000), 0);
    assert_int_equal(count_flows(fx->s, t0 + first * 60000, UINT64_MAX), (minutes - first) * per);
    free(flows);
    fprintf(stderr, "disk cap: %llu bytes full, cap %llu, now %llu, kept minutes %llu..\n",
            (unsigned long long)full, (unsigned long long)(full * 6 / 10),
            (unsigned long long)st.disk_bytes, (unsigned long long)first);
}

static int alert_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    int *n = arg;
    assert_int_equal(klen, 4);
    assert_memory_equal(key, "a/", 2);
    assert_int_equal(vlen, 3);
    (*n)++;
    return 0;
}

static void test_alerts(void **state)
{
    struct fixture *fx = *state;
    int n = 0;
    assert_int_equal(fl0wer_store_alert_put(fx->s, "a/01", 4, "one", 3), 0);
    assert_int_equal(fl0wer_store_alert_put(fx->s, "a/02", 4, "two", 3), 0);
    assert_int_equal(fl0wer_store_alert_put(fx->s, "b/01", 4, "three", 5), 0);
    assert_int_equal(fl0wer_store_alert_foreach(fx->s, "a/", 2, alert_cb, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(fl0wer_store_alert_delete(fx->s, "a/01", 4), 0);
    n = 0;
    assert_int_equal(fl0wer_store_alert_foreach(fx->s, "a/", 2, alert_cb, &n), 0);
    assert_int_equal(n, 1);
}

static void test_invalid(void **state)
{
    struct fixture *fx = *state;
    struct fl0wer_batch b = tu_batch(NULL, 3, 1);
    bool dup;
    char err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {0};
    assert_int_equal(fl0wer_store_put_batch(fx->s, "e", &b, &dup), FL0WER_STORE_ERR_INVAL);
    assert_int_equal(fl0wer_store_put_batch(fx->s, "", &b, &dup), FL0WER_STORE_ERR_INVAL);
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), FL0WER_STORE_ERR_INVAL);
    assert_true(strlen(err) > 0);
}


/* ---- the flow block codec, version 3 (hub/store/block.c) ---- */

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void v4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    const uint8_t ip[4] = {a, b, c, d};
    fl0wer_addr_from_v4(out, ip);
}

/* Ten flows equal but for last_ms and three exporters taking turns: every plain varint and byte
 * column is constant (one value each), the exporter column costs 5 bytes for each new exporter
 * and 1 byte a record after that, a repeated source 1 byte, zero next hops 1 byte; the length
 * is counted by hand from the layout and the block decodes back bit for bit. */
static void test_block_v3_layout(void **state)
{
    enum { N = 10 };
    const uint64_t t0 = 1700000000123ull;
    struct fl0wer_flow f[N];
    const struct fl0wer_flow *ptr[N];
    struct fl0wer_flow got[N];
    uint8_t buf[4096];
    size_t n;

    (void)state;
    memset(f, 0, sizeof(f));
    for (size_t i = 0; i < N; i++) {
        f[i].last_ms = t0 + i * 1000;
        f[i].first_ms = f[i].last_ms - 500;
        f[i].bytes = 100;
        f[i].packets = 2;
        f[i].flows = 1;
        f[i].domain_id = 7;
        f[i].sampling = 1;
        f[i].src_port = 53;
        f[i].dst_port = 99;
        f[i].proto = 17;
        f[i].version = 10;
        v4(f[i].exporter, 10, 0, 0, (uint8_t)(1 + i % 3));
        v4(f[i].src_addr, 192, 0, 2, 1);
        for (int k = 0; k < 16; k++)
            f[i].dst_addr[k] = (uint8_t)(0x20 + k); /* IPv6, the same each time */
        ptr[i] = &f[i];
    }
    size_t len = store_block_encode(ptr, N, buf);
    size_t header = 1 + 1 + varint_len(t0) + varint_len(9000) + 18 + varint_len(0xfffffc);
    size_t body = (1 + 9 * varint_len(2000)) /* last_ms: 0, then +1000 zigzagged */
                  + N * varint_len(1000)      /* duration 500 zigzagged */
                  + 12                        /* 12 constant varint columns, values < 128 */
                  + 10                        /* 10 constant byte columns */
                  + 3 * 5 + (N - 3)           /* exporters: 3 new, then list references */
                  + 5 + (N - 1)               /* source: once, then "same as previous" */
                  + 17 + (N - 1)              /* destination: 16 bytes once */
                  + N;                        /* next hop: zero */
    assert_int_equal(len, header + body);
    assert_true(len <= store_block_bound(N));
    memset(got, 0xaa, sizeof(got));
    assert_int_equal(store_block_decode(buf, len, got, N, &n), 0);
    assert_int_equal(n, N);
    assert_memory_equal(got, f, sizeof(f));
}

/* Every column of s equals the field of f it came from. */
static void check_soa_values(const struct fl0wer_flow *f, size_t cnt,
                             const struct store_flow_soa *s)
{
    assert_int_equal(s->view.n, cnt);
    for (size_t i = 0; i < cnt; i++) {
        assert_int_equal(s->view.last_ms[i], f[i].last_ms);
        assert_int_equal(s->view.first_ms[i], f[i].first_ms);
        assert_int_equal(s->view.bytes[i], f[i].bytes);
        assert_int_equal(s->view.packets[i], f[i].packets);
        assert_int_equal(s->view.flows[i], f[i].flows);
        assert_int_equal(s->view.in_if[i], f[i].in_if);
        assert_int_equal(s->view.out_if[i], f[i].out_if);
        assert_int_equal(s->view.src_as[i], f[i].src_as);
        assert_int_equal(s->view.dst_as[i], f[i].dst_as);
        assert_int_equal(s->sampling[i], f[i].sampling);
        assert_int_equal(s->view.src_port[i], f[i].src_port);
        assert_int_equal(s->view.dst_port[i], f[i].dst_port);
        assert_int_equal(s->view.vlan[i], f[i].vlan);
        assert_int_equal(s->view.proto[i], f[i].proto);
        assert_int_equal(s->view.tcp_flags[i], f[i].tcp_flags);
        assert_int_equal(s->view.tos[i], f[i].tos);
        assert_int_equal(s->view.flags[i], f[i].flags);
        assert_memory_equal(s->view.exporter[i], f[i].exporter, 16);
        assert_memory_equal(s->view.src_addr[i], f[i].src_addr, 16);
        assert_memory_equal(s->view.dst_addr[i], f[i].dst_addr, 16);
    }
}

/* The block decoded as columns (store_block_decode_soa) holds every field of f in its arrays,
 * also when a few columns come first and the rest after (store_block_decode_soa_more); a
 * narrower mask sets only its columns in the view, no mask still gives the count, and every
 * truncation is refused. */
static void check_soa(const uint8_t *buf, size_t len, const struct fl0wer_flow *f, size_t cnt,
                      struct store_flow_soa *s)
{
    const uint32_t first = STORE_COL_PROTO | STORE_COL_LAST;

    memset(s, 0, sizeof(*s));
    assert_int_equal(store_block_decode_soa(buf, len, STORE_SOA_COLS, s), 0);
    check_soa_values(f, cnt, s);
    memset(s, 0, sizeof(*s));
    assert_int_equal(store_block_decode_soa(buf, len, first, s), 0);
    assert_null(s->view.bytes);
    assert_int_equal(store_block_decode_soa_more(s, STORE_SOA_COLS), 0);
    check_soa_values(f, cnt, s);
    assert_int_equal(store_block_decode_soa(buf, len, 0, s), 0);
    assert_int_equal(s->view.n, cnt);
    assert_null(s->view.last_ms);
    assert_int_equal(store_block_decode_soa(buf, len, STORE_COL_SRC_ADDR | STORE_COL_BYTES, s), 0);
    assert_non_null(s->view.src_addr);
    assert_null(s->view.last_ms);
    assert_null(s->view.dst_addr);
    assert_null(s->view.proto);
    assert_null(s->view.first_ms);
    assert_int_equal(store_block_decode_soa(buf, len, STORE_COL_NEXT_HOP, s),
                     FL0WER_STORE_ERR_INVAL);
    for (size_t cut = 0; cut < len; cut += 1 + cut / 16) {
        assert_int_equal(store_block_decode_soa(buf, cut, STORE_SOA_COLS, s),
                         FL0WER_STORE_ERR_CORRUPT);
        assert_int_equal(store_block_decode_soa(buf, cut, 0, s), FL0WER_STORE_ERR_CORRUPT);
    }
}

/* Random blocks over a small pool of addresses (history references of every depth, v4, v6,
 * zero) and columns that are constant or not decode back exactly, whole, by column and as
 * columns side by side; every truncation is refused. */
static void test_block_v3_random(void **state)
{
    enum { N = 600 };
    struct tu_rng r = {77};
    struct fl0wer_flow *f = calloc(N, sizeof(*f)), *got = calloc(N, sizeof(*f));
    const struct fl0wer_flow *ptr[N];
    uint8_t *buf = malloc(store_block_bound(N));
    struct store_flow_soa *soa = malloc(sizeof(*soa));
    size_t n;

    (void)state;
    assert_non_null(soa);
    assert_non_null(f);
    assert_non_null(got);
    assert_non_null(buf);
    for (int round = 0; round < 20; round++) {
        size_t cnt = 1 + tu_below(&r, N);
        for (size_t i = 0; i < cnt; i++) {
            tu_flow(&r, &f[i], 1700000000000ull, 120000);
            tu_addr(&r, f[i].exporter, 2 + (unsigned)(round % 6));
            if (round % 3 == 0)
                memset(f[i].next_hop, 0, 16);
            f[i].reserved[1] = round % 2 ? (uint8_t)i : 0;
            f[i].vlan = round % 4 ? 0 : (uint16_t)tu_below(&r, 3);
            ptr[i] = &f[i];
        }
        size_t len = store_block_encode(ptr, cnt, buf);
        assert_int_equal(buf[0], 3);
        memset(got, 0, N * sizeof(*got));
        assert_int_equal(store_block_decode(buf, len, got, N, &n), 0);
        assert_int_equal(n, cnt);
        assert_memory_equal(got, f, cnt * sizeof(*f));
        memset(got, 0, N * sizeof(*got));
        uint32_t mask = STORE_COL_EXPORTER | STORE_COL_BYTECOLS;
        assert_int_equal(store_block_decode_cols(buf, len, got, N, &n, mask), 0);
        for (size_t i = 0; i < cnt; i++) {
            assert_memory_equal(got[i].exporter, f[i].exporter, 16);
            assert_int_equal(got[i].reserved[1], f[i].reserved[1]);
            assert_int_equal(got[i].proto, f[i].proto);
            assert_int_equal(got[i].bytes, 0);
        }
        for (size_t cut = 0; cut < len; cut += 1 + cut / 16)
            assert_int_equal(store_block_decode(buf, cut, got, N, &n), FL0WER_STORE_ERR_CORRUPT);
        check_soa(buf, len, f, cnt, soa);
    }
    free(soa);
    free(buf);
    free(got);
    free(f);
}

/* A version 2 block (no constant mask, tags 0-3 only) still decodes: two flows differing in
 * every field encode with no constant column and no list reference, so the version 2 block is
 * the version 3 one without its zero mask byte. A version 2 block using a version 3 address
 * tag is refused. */
static void test_block_v2_still_read(void **state)
{
    const uint64_t t0 = 1700000000123ull;
    struct fl0wer_flow f[2], got[2];
    const struct fl0wer_flow *ptr[2] = {&f[0], &f[1]};
    uint8_t v3[1024], v2[1024];
    size_t n;

    (void)state;
    memset(f, 0, sizeof(f));
    for (int i = 0; i < 2; i++) {
        struct fl0wer_flow *x = &f[i];
        x->last_ms = t0 + (uint64_t)i;
        x->first_ms = x->last_ms - 10 - (uint64_t)i;
        x->bytes = 100u + (uint64_t)i;
        x->packets = 3u + (uint64_t)i;
        x->flows = 1u + (uint64_t)i;
        x->domain_id = 5u + (uint32_t)i;
        x->in_if = 1u + (uint32_t)i;
        x->out_if = 2u + (uint32_t)i;
        x->src_as = 64500u + (uint32_t)i;
        x->dst_as = 64600u + (uint32_t)i;
        x->sampling = 1u + (uint32_t)i;
        x->src_port = (uint16_t)(1000 + i);
        x->dst_port = (uint16_t)(443 + i);
        x->vlan = (uint16_t)(10 + i);
        uint8_t *bytes[10] = {&x->proto, &x->tcp_flags, &x->tos, &x->src_mask, &x->dst_mask,
                              &x->direction, &x->version, &x->flags, &x->reserved[0],
                              &x->reserved[1]};
        for (int k = 0; k < 10; k++)
            *bytes[k] = (uint8_t)(k + i);
        v4(x->exporter, 10, 0, 0, (uint8_t)(1 + i));
        v4(x->src_addr, 192, 0, 2, (uint8_t)(1 + i));
        v4(x->dst_addr, 198, 51, 100, (uint8_t)(1 + i));
        if (i == 1)
            memset(x->next_hop, 0x20, 16); /* zero, then IPv6 */
    }
    size_t len = store_block_encode(ptr, 2, v3);
    size_t mask_at = 2 + varint_len(t0) + varint_len(1) + 18;
    assert_int_equal(v3[mask_at], 0); /* no constant column */
    memcpy(v2, v3, mask_at);
    memcpy(v2 + mask_at, v3 + mask_at + 1, len - mask_at - 1);
    v2[0] = 2;
    memset(got, 0, sizeof(got));
    assert_int_equal(store_block_decode(v2, len - 1, got, 2, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(got, f, sizeof(f));
    /* as version 3 the same bytes lack their mask: refused */
    v2[0] = 3;
    assert_int_equal(store_block_decode(v2, len - 1, got, 2, &n), FL0WER_STORE_ERR_CORRUPT);

    /* three exporters taking turns use tag 5 in version 3; labelled version 2: refused */
    struct fl0wer_flow g[4];
    const struct fl0wer_flow *gp[4] = {&g[0], &g[1], &g[2], &g[3]};
    memset(g, 0, sizeof(g));
    for (int i = 0; i < 4; i++) {
        g[i] = f[0];
        v4(g[i].exporter, 10, 0, 0, (uint8_t)(1 + i % 3));
    }
    len = store_block_encode(gp, 4, v3);
    assert_int_equal(store_block_decode(v3, len, got, 2, &n), FL0WER_STORE_ERR_CORRUPT); /* cap */
    struct fl0wer_flow g_got[4];
    assert_int_equal(store_block_decode(v3, len, g_got, 4, &n), 0);
    assert_memory_equal(g_got, g, sizeof(g));
    v3[0] = 2;
    assert_int_equal(store_block_decode(v3, len, g_got, 4, &n), FL0WER_STORE_ERR_CORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollup_retention_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test(test_block_v3_layout),
        cmocka_unit_test(test_block_v3_random),
        cmocka_unit_test(test_block_v2_still_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
