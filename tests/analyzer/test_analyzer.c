/*
 * test_analyzer.c - the analyzer against generated traffic: a known port scan, host scan, SYN
 * flood, UDP flood, volume spike and blocklisted host, each mixed into normal traffic, must raise
 * exactly the expected alert with the right addresses; normal traffic alone raises none; memory
 * stays fixed under a flood of random source addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl0wer/analyzer.h"

#define MIN_MS 60000ull
#define T0 1790000040000ull /* a minute boundary */

struct sink {
    struct fl0wer_alert got[256];
    size_t n;
};

static void on_alert(void *arg, const struct fl0wer_alert *a)
{
    struct sink *s = arg;

    if (s->n < 256)
        s->got[s->n++] = *a;
}

struct flows {
    struct fl0wer_flow *v;
    size_t n, cap;
};

static struct fl0wer_flow *add(struct flows *fs, const char *src, const char *dst, uint8_t proto,
                               uint16_t dport, uint8_t flags, uint64_t bytes, uint64_t packets)
{
    if (fs->n == fs->cap) {
        fs->cap = fs->cap ? fs->cap * 2 : 1024;
        fs->v = realloc(fs->v, fs->cap * sizeof(*fs->v));
        assert_non_null(fs->v);
    }
    struct fl0wer_flow *f = &fs->v[fs->n++];
    fl0wer_flow_init(f);
    assert_int_equal(fl0wer_addr_parse("192.0.2.1", f->exporter), 0);
    assert_int_equal(fl0wer_addr_parse(src, f->src_addr), 0);
    assert_int_equal(fl0wer_addr_parse(dst, f->dst_addr), 0);
    f->proto = proto;
    f->src_port = 40000;
    f->dst_port = dport;
    f->tcp_flags = flags;
    f->bytes = bytes;
    f->packets = packets;
    f->in_if = 3;
    f->version = 10;
    return f;
}

/* One minute of ordinary traffic: 300 clients talking to 20 servers over completed TCP
 * connections and DNS; exactly the same volume every minute (10,080,000 bytes). */
static void normal_minute(struct flows *fs)
{
    char src[32], dst[32];

    for (int c = 0; c < 300; c++) {
        snprintf(src, sizeof(src), "10.1.%d.%d", c / 250, c % 250 + 1);
        snprintf(dst, sizeof(dst), "10.2.0.%d", c % 20 + 1);
        add(fs, src, dst, 6, c % 2 ? 443 : 80, 0x1b, 33000, 30);
        add(fs, src, "10.2.0.53", 17, 53, 0, 600, 2);
    }
}

static void feed_minute(struct fl0wer_analyzer *a, struct flows *fs, uint64_t minute)
{
    uint64_t t = T0 + minute * MIN_MS;

    fl0wer_analyzer_observe_flows(a, fs->v, fs->n, t + 1000);
    fl0wer_analyzer_tick(a, t + MIN_MS); /* closes this minute */
    fs->n = 0;
}

static struct fl0wer_analyzer *make(struct sink *s)
{
    struct fl0wer_analyzer_config cfg;
    struct fl0wer_analyzer *a;

    fl0wer_analyzer_config_defaults(&cfg);
    memset(s, 0, sizeof(*s));
    assert_int_equal(fl0wer_analyzer_create(&a, &cfg, on_alert, s), 0);
    return a;
}

/* Runs `warm` normal minutes; returns the next minute index. */
static uint64_t warm_up(struct fl0wer_analyzer *a, struct flows *fs, uint64_t warm)
{
    for (uint64_t m = 0; m < warm; m++) {
        normal_minute(fs);
        feed_minute(a, fs, m);
    }
    return warm;
}

static void assert_addr(const uint8_t *addr, const char *text)
{
    uint8_t want[FL0WER_ADDR_LEN];

    assert_int_equal(fl0wer_addr_parse(text, want), 0);
    assert_memory_equal(addr, want, FL0WER_ADDR_LEN);
}

static void test_normal_traffic_raises_nothing(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    struct fl0wer_analyzer_stats st;

    warm_up(a, &fs, 40);
    assert_int_equal(s.n, 0);
    fl0wer_analyzer_stats(a, &st);
    assert_int_equal(st.flows_observed, 40 * 600);
    assert_int_equal(st.minutes_closed, 40);
    assert_int_equal(st.alerts_open, 0);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_port_scan(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);

    normal_minute(&fs);
    for (int p = 1; p <= 1000; p++)
        add(&fs, "198.51.100.7", "10.2.0.9", 6, (uint16_t)p, 0x02, 44, 1);
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_PORT_SCAN);
    assert_int_equal(s.got[0].state, FL0WER_ALERT_OPEN);
    assert_addr(s.got[0].src, "198.51.100.7");
    assert_addr(s.got[0].dst, "10.2.0.9");
    assert_in_range((long)s.got[0].value, 850, 1150); /* HLL estimate of 1000 ports */

    /* Still scanning next minute: the same alert is updated, not a new one. */
    uint64_t id = s.got[0].id;
    normal_minute(&fs);
    for (int p = 1001; p <= 2000; p++)
        add(&fs, "198.51.100.7", "10.2.0.9", 6, (uint16_t)p, 0x02, 44, 1);
    feed_minute(a, &fs, m + 1);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.got[1].id, id);
    assert_int_equal(s.got[1].updates, 2);

    /* Quiet for resolve_after_min minutes: resolved once. */
    for (uint64_t q = 2; q <= 4; q++) {
        normal_minute(&fs);
        feed_minute(a, &fs, m + q);
    }
    assert_int_equal(s.n, 3);
    assert_int_equal(s.got[2].id, id);
    assert_int_equal(s.got[2].state, FL0WER_ALERT_RESOLVED);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_host_scan(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);
    char dst[32];

    normal_minute(&fs);
    for (int h = 0; h < 400; h++) {
        snprintf(dst, sizeof(dst), "10.3.%d.%d", h / 200, h % 200 + 1);
        add(&fs, "203.0.113.50", dst, 6, 22, 0x02, 60, 1);
    }
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_HOST_SCAN);
    assert_addr(s.got[0].src, "203.0.113.50");
    assert_int_equal(s.got[0].port, 22);
    assert_int_equal(s.got[0].proto, 6);
    assert_in_range((long)s.got[0].value, 340, 460);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_syn_flood(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);
    char src[32];

    normal_minute(&fs);
    for (int i = 0; i < 3000; i++) {
        snprintf(src, sizeof(src), "100.%d.%d.%d", 64 + i / 65536, (i / 256) % 256, i % 256);
        add(&fs, src, "10.2.0.80", 6, 80, 0x02, 400, 10);
    }
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_SYN_FLOOD);
    assert_int_equal(s.got[0].severity, FL0WER_SEV_CRITICAL);
    assert_addr(s.got[0].dst, "10.2.0.80");
    assert_int_equal((long)s.got[0].value, 500); /* 30000 packets / 60 s */
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_udp_flood_by_rate(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);

    normal_minute(&fs);
    for (int i = 0; i < 20; i++) {
        char src[32];
        snprintf(src, sizeof(src), "198.18.0.%d", i + 1);
        add(&fs, src, "10.2.0.99", 17, 123, 0, 9000000, 90000); /* 1.8 M packets: 30 kpps */
    }
    feed_minute(a, &fs, m);
    /* 162 MB in a minute on top of 10 MB is also a volume anomaly of the exporter and its
     * interface; the flood itself is reported once. */
    size_t floods = 0, volume = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.got[i].kind == FL0WER_ALERT_UDP_FLOOD) {
            floods++;
            assert_addr(s.got[i].dst, "10.2.0.99");
            assert_int_equal((long)s.got[i].value, 30000);
        } else {
            assert_int_equal(s.got[i].kind, FL0WER_ALERT_VOLUME_HIGH);
            volume++;
        }
    }
    assert_int_equal(floods, 1);
    assert_int_equal(volume, 2);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_volume_spike_and_drop(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);

    normal_minute(&fs);
    normal_minute(&fs);
    normal_minute(&fs); /* three times the usual volume, nothing else unusual */
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s.got[i].kind, FL0WER_ALERT_VOLUME_HIGH);
        assert_addr(s.got[i].exporter, "192.0.2.1");
        assert_int_equal((long)s.got[i].value, 3 * 10080000);
        assert_int_equal((long)s.got[i].baseline, 10080000);
    }
    assert_true((s.got[0].ifindex == 0 && s.got[1].ifindex == 3) ||
                (s.got[0].ifindex == 3 && s.got[1].ifindex == 0));

    /* A silent minute: far below the baseline. */
    s.n = 0;
    feed_minute(a, &fs, m + 1);
    size_t low = 0;
    for (size_t i = 0; i < s.n; i++)
        low += s.got[i].kind == FL0WER_ALERT_VOLUME_LOW;
    assert_int_equal(low, 2);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_blocklist(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    char path[] = "/tmp/fl0wer-blocklist-XXXXXX";
    int fd = mkstemp(path);
    /* a NUL byte spoils its own line only: the prefix after it still loads */
    static const char text[] = "# test list\n203.0.113.0/28\n198.51.100.0/24\0junk\n"
                               "2001:db8:bad::/48\nnot-a-prefix\n";
    const char *paths[] = {path};
    size_t skipped = 0;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(fl0wer_analyzer_load_blocklists(a, paths, 1, &skipped), 2);
    assert_int_equal(skipped, 2);
    uint64_t m = warm_up(a, &fs, 3);
    normal_minute(&fs);
    add(&fs, "10.1.0.5", "203.0.113.14", 6, 443, 0x1b, 5000, 10);
    add(&fs, "10.1.0.6", "203.0.113.16", 6, 443, 0x1b, 5000, 10); /* just outside the /28 */
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_BLOCKLIST);
    assert_addr(s.got[0].src, "10.1.0.5");
    assert_addr(s.got[0].dst, "203.0.113.14");
    assert_int_equal(s.got[0].port, 443);
    assert_int_equal((long)s.got[0].value, 5000);
    unlink(path);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

/*
 * Flows are staged and folded into the tables in runs (hub/analyzer/feed.c). Flows staged before
 * a blocklist change are judged by the list they arrived under: .14 is listed when it arrives,
 * then the list is replaced by one without it, and .5 arrives unlisted: one alert, for .14.
 */
static void test_blocklist_change_with_staged_flows(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    char p1[] = "/tmp/fl0wer-blocklist-XXXXXX", p2[] = "/tmp/fl0wer-blocklist-XXXXXX";
    int fd1 = mkstemp(p1), fd2 = mkstemp(p2);
    static const char t1[] = "203.0.113.0/28\n", t2[] = "# nothing listed now\n";
    const char *l1[] = {p1}, *l2[] = {p2};

    assert_true(fd1 >= 0 && fd2 >= 0);
    assert_int_equal(write(fd1, t1, sizeof(t1) - 1), (ssize_t)(sizeof(t1) - 1));
    assert_int_equal(write(fd2, t2, sizeof(t2) - 1), (ssize_t)(sizeof(t2) - 1));
    close(fd1);
    close(fd2);
    assert_int_equal(fl0wer_analyzer_load_blocklists(a, l1, 1, NULL), 1);
    add(&fs, "10.1.0.5", "203.0.113.14", 6, 443, 0x1b, 5000, 10);
    fl0wer_analyzer_observe_flows(a, fs.v, fs.n, T0 + 1000);
    fs.n = 0;
    assert_int_equal(fl0wer_analyzer_load_blocklists(a, l2, 1, NULL), 0);
    add(&fs, "10.1.0.6", "203.0.113.5", 6, 443, 0x1b, 7000, 10);
    fl0wer_analyzer_observe_flows(a, fs.v, fs.n, T0 + 2000);
    fl0wer_analyzer_tick(a, T0 + MIN_MS);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_BLOCKLIST);
    assert_addr(s.got[0].dst, "203.0.113.14");
    assert_int_equal((long)s.got[0].value, 5000);
    unlink(p1);
    unlink(p2);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

/*
 * Many more flows in one minute than one staged run holds (ANZ_STAGE_MAX, 32768: three folds
 * before the close), fed in uneven batches: none is lost or counted twice. One source sends 100
 * bytes to each of 98,315 destinations; the source's totals are exact and flows are counted as
 * they arrive.
 */
static void test_staged_runs_count_every_flow(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    struct fl0wer_analyzer_stats st;
    struct fl0wer_talker top[2];
    const uint32_t n = 3 * 32768 + 11;
    char dst[32];

    for (uint32_t i = 0; i < n; i++) {
        snprintf(dst, sizeof(dst), "10.%u.%u.%u", 100 + i / 65536, (i >> 8) & 255, i & 255);
        add(&fs, "10.9.0.1", dst, 6, 443, 0x1b, 100, 2);
    }
    for (size_t at = 0; at < fs.n; at += 997)
        fl0wer_analyzer_observe_flows(a, fs.v + at, fs.n - at < 997 ? fs.n - at : 997,
                                      T0 + 1000 + at / 100); /* all in one minute */
    fl0wer_analyzer_stats(a, &st);
    assert_int_equal(st.flows_observed, n);
    fl0wer_analyzer_tick(a, T0 + MIN_MS);
    assert_int_equal(fl0wer_analyzer_top_talkers(a, FL0WER_TALKERS_SRC, top, 2, NULL), 1);
    assert_addr(top[0].src, "10.9.0.1");
    assert_int_equal(top[0].bytes, 100ull * n);
    assert_int_equal(top[0].packets, 2ull * n);
    assert_int_equal(top[0].flows, n);
    assert_int_equal(top[0].error, 0);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

static void test_exporter_and_edge_health(void **state)
{
    struct sink s;
    struct fl0wer_analyzer *a = make(&s);
    struct fl0wer_exporter_stats x;
    struct fl0wer_batch b;

    memset(&x, 0, sizeof(x));
    memset(&b, 0, sizeof(b));
    assert_int_equal(fl0wer_addr_parse("192.0.2.77", x.addr), 0);
    x.domain_id = 5;
    x.last_seen_ms = 1;
    b.exporters = &x;
    b.exporter_count = 1;
    fl0wer_analyzer_observe(a, "site-a", &b, T0 + 1000);
    /* Next minute: 50 export packets lost and 12 decode errors; the edge dropped 7 records. */
    x.sequence_gaps = 50;
    x.errors[FL0WER_DERR_RECORD] = 12;
    x.last_seen_ms = 2;
    b.report.records_dropped = 7;
    fl0wer_analyzer_observe(a, "site-a", &b, T0 + MIN_MS + 1000);
    fl0wer_analyzer_tick(a, T0 + 2 * MIN_MS);
    assert_int_equal(s.n, 3);
    int seen_loss = 0, seen_err = 0, seen_drop = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.got[i].kind == FL0WER_ALERT_EXPORTER_LOSS) {
            seen_loss = 1;
            assert_int_equal((long)s.got[i].value, 50);
            assert_addr(s.got[i].exporter, "192.0.2.77");
            assert_int_equal(s.got[i].domain_id, 5);
            assert_string_equal(s.got[i].edge, "site-a");
        } else if (s.got[i].kind == FL0WER_ALERT_EXPORTER_ERRORS) {
            seen_err = 1;
            assert_int_equal((long)s.got[i].value, 12);
        } else if (s.got[i].kind == FL0WER_ALERT_EDGE_DROPS) {
            seen_drop = 1;
            assert_int_equal((long)s.got[i].value, 7);
        }
    }
    assert_true(seen_loss && seen_err && seen_drop);
    /* Then nothing for 6 minutes: exporter and edge silent. */
    s.n = 0;
    fl0wer_analyzer_tick(a, T0 + 7 * MIN_MS + 1000);
    int silent_x = 0, silent_e = 0;
    for (size_t i = 0; i < s.n; i++) {
        silent_x += s.got[i].kind == FL0WER_ALERT_EXPORTER_SILENT;
        silent_e += s.got[i].kind == FL0WER_ALERT_EDGE_SILENT;
    }
    assert_int_equal(silent_x, 1);
    assert_int_equal(silent_e, 1);
    fl0wer_analyzer_destroy(a);
}

static void test_top_talkers_exact_and_memory_bounded(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    struct fl0wer_analyzer_stats before, after;
    struct fl0wer_talker top[10];
    uint64_t minute;
    char src[32];

    fl0wer_analyzer_stats(a, &before);
    normal_minute(&fs);
    feed_minute(a, &fs, 0);
    assert_int_equal(fl0wer_analyzer_top_talkers(a, FL0WER_TALKERS_DST, top, 10, &minute), 10);
    assert_int_equal(minute, T0);
    /* Each web server: 15 clients x 33000 bytes (ties ordered by address); the DNS server,
     * 300 clients x 600 bytes, comes after all 20 of them. */
    assert_addr(top[0].dst, "10.2.0.1");
    assert_int_equal(top[0].bytes, 15 * 33000);
    assert_int_equal(top[0].packets, 15 * 30);
    assert_int_equal(top[0].flows, 15);
    assert_int_equal(top[0].error, 0);
    assert_addr(top[1].dst, "10.2.0.2");
    struct fl0wer_talker all[30];
    assert_int_equal(fl0wer_analyzer_top_talkers(a, FL0WER_TALKERS_DST, all, 30, NULL), 21);
    assert_addr(all[20].dst, "10.2.0.53");
    assert_int_equal(all[20].bytes, 300 * 600);
    assert_int_equal(all[20].flows, 300);

    /* A flood of 400,000 distinct random sources within one minute. */
    for (uint32_t i = 0; i < 400000; i++) {
        snprintf(src, sizeof(src), "%u.%u.%u.%u", 1 + (i * 2654435761u >> 24) % 223,
                 (i >> 16) & 255, (i >> 8) & 255, i & 255);
        add(&fs, src, "10.2.0.200", 6, 443, 0x02, 40, 1);
    }
    add(&fs, "10.1.0.1", "10.2.0.7", 6, 443, 0x1b, 50000000, 40000); /* the real top talker */
    feed_minute(a, &fs, 1);
    fl0wer_analyzer_stats(a, &after);
    assert_int_equal(after.memory_bytes, before.memory_bytes);
    assert_true(after.sketch_evictions > 300000);
    assert_int_equal(fl0wer_analyzer_top_talkers(a, FL0WER_TALKERS_SRC, top, 1, NULL), 1);
    assert_addr(top[0].src, "10.1.0.1");
    assert_true(top[0].bytes >= 50000000);
    /* The flood's victim is found despite the evictions. */
    int flood = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.got[i].kind == FL0WER_ALERT_SYN_FLOOD) {
            assert_addr(s.got[i].dst, "10.2.0.200");
            flood++;
        }
    assert_int_equal(flood, 1);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

/*
 * Scans count probes only: flows of at most scan_max_packets raw packets per merged flow (default
 * 3) and, for TCP, without PSH (no data pushed). Three sources reach 1000 ports of one host:
 * .7 with SYN-only single packets (a scan), .8 with 2-packet TCP flows that pushed data (a
 * client, not a scan), .9 with 4-packet UDP flows, half of them 2 merged flows of 2 packets (so
 * only that half, 500 ports, counts). With scan_max_packets = 0 every flow counts.
 */
static void test_scan_counts_probes_only(void **state)
{
    static const char *const who[] = {"198.51.100.7", "198.51.100.8", "198.51.100.9"};
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer_config cfg;
    struct fl0wer_analyzer *a;

    for (int limit_off = 0; limit_off < 2; limit_off++) {
        fl0wer_analyzer_config_defaults(&cfg);
        assert_int_equal(cfg.scan_max_packets, 3);
        if (limit_off)
            cfg.scan_max_packets = 0;
        memset(&s, 0, sizeof(s));
        assert_int_equal(fl0wer_analyzer_create(&a, &cfg, on_alert, &s), 0);
        uint64_t m = warm_up(a, &fs, 3);
        normal_minute(&fs);
        for (int p = 1; p <= 1000; p++) {
            add(&fs, who[0], "10.2.0.9", 6, (uint16_t)p, 0x02, 44, 1);
            add(&fs, who[1], "10.2.0.9", 6, (uint16_t)(1000 + p), 0x1b, 900, 2);
            struct fl0wer_flow *f =
                add(&fs, who[2], "10.2.0.9", 17, (uint16_t)(2000 + p), 0, 400, 4);
            if (p > 500)
                f->flows = 2; /* 4 packets in 2 merged flows: probe-sized */
        }
        feed_minute(a, &fs, m);
        int seen[3] = {0, 0, 0};
        for (size_t i = 0; i < s.n; i++) {
            assert_int_equal(s.got[i].kind, FL0WER_ALERT_PORT_SCAN);
            assert_addr(s.got[i].dst, "10.2.0.9");
            for (int k = 0; k < 3; k++) {
                uint8_t want[FL0WER_ADDR_LEN];
                assert_int_equal(fl0wer_addr_parse(who[k], want), 0);
                if (memcmp(s.got[i].src, want, FL0WER_ADDR_LEN) != 0)
                    continue;
                seen[k]++;
                if (k == 2 && !limit_off) /* .9: only its 500 merged flows count */
                    assert_in_range((long)s.got[i].value, 420, 580);
                else
                    assert_in_range((long)s.got[i].value, 850, 1150);
            }
        }
        assert_int_equal(seen[0], 1);
        assert_int_equal(seen[1], limit_off ? 1 : 0);
        assert_int_equal(seen[2], 1);
        assert_int_equal(s.n, limit_off ? 3 : 2);
        fl0wer_analyzer_destroy(a);
    }
    free(fs.v);
}

/*
 * Destination talkers and flood victims share one table ranked by bytes: a churn of 100,000
 * one-packet destinations evicts light entries, yet the SYN flood's victim stays, is reported
 * once, and is the heaviest destination talker.
 */
static void test_flood_victim_survives_destination_churn(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    struct fl0wer_analyzer_stats st;
    struct fl0wer_talker top[1];
    char src[32], dst[32];

    for (int i = 0; i < 3000; i++) {
        snprintf(src, sizeof(src), "100.%d.%d.%d", 64 + i / 65536, (i / 256) % 256, i % 256);
        add(&fs, src, "10.2.0.80", 6, 80, 0x02, 400, 10);
    }
    /* The victim entered before any eviction (error 0); the churn comes after. */
    for (uint32_t i = 0; i < 100000; i++) {
        snprintf(src, sizeof(src), "10.9.%u.%u", (i / 2 >> 8) & 255, i / 2 & 255);
        snprintf(dst, sizeof(dst), "172.%u.%u.%u", 16 + (i >> 16), (i >> 8) & 255, i & 255);
        add(&fs, src, dst, 6, 443, 0x1b, 40, 1);
    }
    feed_minute(a, &fs, 0);
    fl0wer_analyzer_stats(a, &st);
    assert_true(st.sketch_evictions > 90000);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_SYN_FLOOD);
    assert_addr(s.got[0].dst, "10.2.0.80");
    assert_int_equal((long)s.got[0].value, 500); /* 30000 packets / 60 s */
    assert_int_equal(fl0wer_analyzer_top_talkers(a, FL0WER_TALKERS_DST, top, 1, NULL), 1);
    assert_addr(top[0].dst, "10.2.0.80");
    assert_int_equal(top[0].bytes, 3000 * 400);
    assert_int_equal(top[0].packets, 30000);
    assert_int_equal(top[0].flows, 3000);
    assert_int_equal(top[0].error, 0);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

/*
 * The exporter's volume is the sum of all its flows, with or without an input interface: twice
 * the usual traffic more, all without one, is one volume_high of the exporter (ifindex 0) and
 * nothing for interface 3, whose traffic did not change.
 */
static void test_volume_counts_flows_without_interface(void **state)
{
    struct sink s;
    struct flows fs = {0};
    struct fl0wer_analyzer *a = make(&s);
    uint64_t m = warm_up(a, &fs, 20);

    normal_minute(&fs);
    size_t usual = fs.n;
    normal_minute(&fs);
    normal_minute(&fs);
    for (size_t i = usual; i < fs.n; i++)
        fs.v[i].in_if = 0;
    feed_minute(a, &fs, m);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0].kind, FL0WER_ALERT_VOLUME_HIGH);
    assert_addr(s.got[0].exporter, "192.0.2.1");
    assert_int_equal(s.got[0].ifindex, 0);
    assert_int_equal((long)s.got[0].value, 3 * 10080000);
    assert_int_equal((long)s.got[0].baseline, 10080000);
    /* Back to normal: nothing more (the flows without interface are no series of their own). */
    normal_minute(&fs);
    feed_minute(a, &fs, m + 1);
    assert_int_equal(s.n, 1);
    fl0wer_analyzer_destroy(a);
    free(fs.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_traffic_raises_nothing),
        cmocka_unit_test(test_port_scan),
        cmocka_unit_test(test_host_scan),
        cmocka_unit_test(test_syn_flood),
        cmocka_unit_test(test_udp_flood_by_rate),
        cmocka_unit_test(test_volume_spike_and_drop),
        cmocka_unit_test(test_volume_counts_flows_without_interface),
        cmocka_unit_test(test_blocklist),
        cmocka_unit_test(test_blocklist_change_with_staged_flows),
        cmocka_unit_test(test_staged_runs_count_every_flow),
        cmocka_unit_test(test_exporter_and_edge_health),
        cmocka_unit_test(test_top_talkers_exact_and_memory_bounded),
        cmocka_unit_test(test_scan_counts_probes_only),
        cmocka_unit_test(test_flood_victim_survives_destination_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
