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

    fl0wer_store_close(fx->s);
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
    /* nothing is older than a limit before the data */
    assert_int_equal(fl0wer_store_gc(fx->s, t0 + retention - 1, &res), 0);
    assert_int_equal(res.flow_blocks_removed, 0);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), n);

    assert_int_equal(fl0wer_store_gc(fx->s, cutoff + retention, &res), 0);
    /* 4 batches x 4 whole minutes before the boundary minute, one block each */
    assert_int_equal(res.flow_blocks_removed, 16);
    assert_int_equal(res.oldest_flow_ms, oldest_kept);
    assert_int_equal(count_flows(fx->s, 0, cutoff), 0);
    assert_int_equal(count_flows(fx->s, 0, UINT64_MAX), n - older);
    assert_scan_equals(fx->s, flows, n, cutoff, UINT64_MAX);

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disk_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
