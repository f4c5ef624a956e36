/*
 * test_gen_roundtrip.c - fl0wer-gen output decoded by fl0wer_decode must give exactly the
 * generator's totals, sampling included: in memory, through a pcap file read back with
 * fl0wer_capture, and over real UDP on 127.0.0.1 from the fl0wer-gen binary (run as a child
 * process, two source addresses) into a socket of this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl0wer/capture.h"
#include "fl0wer/decode.h"
#include "gen.h"

struct sums {
    uint64_t flows, records, bytes, packets, bytes_scaled, packets_scaled, v6;
};

static int on_flows(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct sums *s = arg;

    for (size_t i = 0; i < count; i++) {
        s->records++;
        s->flows += flows[i].flows;
        s->bytes += flows[i].bytes;
        s->packets += flows[i].packets;
        s->bytes_scaled += flows[i].bytes * flows[i].sampling;
        s->packets_scaled += flows[i].packets * flows[i].sampling;
        s->v6 += (flows[i].flags & FL0WER_FLOW_F_IPV6) != 0;
    }
    return 0;
}

static void no_gaps(void *arg, const struct fl0wer_exporter_stats *st)
{
    uint64_t *gaps = arg;

    *gaps += st->sequence_gaps + st->unknown_template;
    for (int k = 0; k < FL0WER_DERR__COUNT; k++)
        *gaps += st->errors[k];
}

static void config(struct gen_config *c)
{
    gen_config_default(c);
    c->seed = 2024;
    c->flows = 4000;
    c->exporters = 6;
    c->versions[0] = 5;
    c->versions[1] = 9;
    c->versions[2] = 10;
    c->n_versions = 3;
    c->ipv6_share = 0.4;
    c->sampling = 64;
    c->start_ms = 1700000000000ull;
    c->template_refresh = 5;
}

static void check_decoded(struct fl0wer_decoder *d, const struct sums *s, const struct gen_ctx *g,
                          size_t exporters)
{
    struct fl0wer_decoder_totals dt;
    uint64_t problems = 0;

    fl0wer_decoder_totals(d, &dt);
    assert_int_equal(dt.errors, 0);
    assert_int_equal(dt.unknown_template, 0);
    assert_int_equal(dt.records, g->totals.records);
    assert_int_equal(dt.messages, g->totals.packets);
    assert_int_equal(dt.templates, g->totals.templates);
    assert_int_equal(fl0wer_decoder_foreach_exporter(d, no_gaps, &problems), exporters);
    assert_int_equal(problems, 0);
    assert_int_equal(s->records, g->totals.records);
    assert_int_equal(s->flows, g->totals.flows);
    assert_int_equal(s->bytes, g->totals.bytes);
    assert_int_equal(s->packets, g->totals.packets_counted);
    assert_int_equal(s->bytes_scaled, g->totals.bytes_scaled);
    assert_int_equal(s->packets_scaled, g->totals.packets_scaled);
    assert_int_equal(s->v6, g->totals.ipv6_flows);
}

static void test_memory_and_pcap(void **state)
{
    struct gen_config c;
    struct gen_ctx g;
    struct fl0wer_decoder *d, *d2;
    struct fl0wer_capture *cap;
    struct fl0wer_datagram dg;
    struct sums s = {0}, s2 = {0};
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    char path[] = "/tmp/fl0wer-gen-test-XXXXXX", errbuf[256];
    uint16_t port = 2056;
    FILE *f;
    size_t len;
    uint32_t ex;
    int fd, rc;

    assert_non_null(buf);
    config(&c);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(gen_pcap_header(f), 0);
    assert_int_equal(gen_init(&g, &c, NULL, 0), 0);
    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    while (gen_next_packet(&g, buf, &len, &ex) == 1) {
        struct fl0wer_source src = {.port = g.ex[ex].port, .recv_ms = g.ex[ex].last_export_ms};

        memcpy(src.addr, g.ex[ex].addr, FL0WER_ADDR_LEN);
        assert_int_equal(fl0wer_decode_packet(d, &src, buf, len, on_flows, &s), 0);
        assert_int_equal(gen_pcap_packet(f, &g.ex[ex], g.ex[ex].last_export_ms, buf, len), 0);
    }
    assert_int_equal(fclose(f), 0);
    check_decoded(d, &s, &g, 6);

    /* The same packets read back from the pcap file by the project's capture reader. */
    assert_int_equal(fl0wer_capture_open(&cap, path, &port, 1, errbuf), 0);
    assert_int_equal(fl0wer_decoder_create(&d2, NULL), 0);
    while ((rc = fl0wer_capture_next(cap, &dg, errbuf)) == 1) {
        struct fl0wer_source src = {.port = dg.src_port, .recv_ms = dg.ts_ms};

        memcpy(src.addr, dg.src_addr, FL0WER_ADDR_LEN);
        assert_int_equal(dg.dst_port, 2056);
        assert_int_equal(fl0wer_decode_packet(d2, &src, dg.payload, dg.len, on_flows, &s2), 0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(fl0wer_capture_skipped(cap), 0);
    check_decoded(d2, &s2, &g, 6);
    fl0wer_capture_close(cap);
    fl0wer_decoder_destroy(d2);
    fl0wer_decoder_destroy(d);
    gen_release(&g);
    unlink(path);
    free(buf);
}

/* Pulls "key":N out of the generator's JSON. */
static uint64_t json_u64(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(json, pat);
    assert_non_null(p);
    return strtoull(p + strlen(pat), NULL, 10);
}

static void test_udp(void **state)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sin);
    int rx = socket(AF_INET, SOCK_DGRAM, 0), out[2], rcvbuf = 8 << 20, status;
    char json[16384], gen[512], dest[64], bytes_seen_from[2] = {0, 0};
    size_t json_len = 0;
    uint64_t packets = 0, payload = 0;
    struct fl0wer_decoder *d;
    struct sums s = {0};
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    bool child_done = false;
    pid_t pid;

    assert_non_null(buf);
    assert_true(rx >= 0);
    setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    assert_int_equal(bind(rx, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(rx, (struct sockaddr *)&sin, &sl), 0);
    snprintf(gen, sizeof(gen), "%s/tools/fl0wer-gen/fl0wer-gen", FL0WER_BINARY_DIR);
    snprintf(dest, sizeof(dest), "127.0.0.1:%u", ntohs(sin.sin_port));
    assert_int_equal(pipe(out), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        execl(gen, gen, "--send", dest, "--bind", "127.0.0.1,127.0.0.2", "--exporters", "4",
              "--versions", "9,10", "--flows", "3000", "--sampling", "10", "--ipv6-share",
              "0.5", "--pps", "2000", "--seed", "5", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    assert_int_equal(fl0wer_decoder_create(&d, NULL), 0);
    for (;;) {
        struct pollfd p[2] = {{.fd = rx, .events = POLLIN}, {.fd = out[0], .events = POLLIN}};
        int n = poll(p, child_done ? 1 : 2, child_done ? 300 : 10000);

        assert_true(n >= 0);
        if (n == 0)
            break; /* child finished and the socket stayed quiet for 300 ms */
        if (p[0].revents & POLLIN) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t r = recvfrom(rx, buf, GEN_MAX_PACKET, 0, (struct sockaddr *)&from, &fl);
            struct fl0wer_source src = {.port = ntohs(from.sin_port), .recv_ms = 1};

            assert_true(r > 0);
            fl0wer_addr_from_v4(src.addr, (const uint8_t *)&from.sin_addr);
            bytes_seen_from[src.addr[15] == 2] = 1;
            packets++;
            payload += (uint64_t)r;
            assert_int_equal(fl0wer_decode_packet(d, &src, buf, (size_t)r, on_flows, &s), 0);
        }
        if (!child_done && (p[1].revents & (POLLIN | POLLHUP))) {
            ssize_t r = read(out[0], json + json_len, sizeof(json) - 1 - json_len);

            assert_true(r >= 0);
            json_len += (size_t)r;
            child_done = r == 0;
        }
    }
    json[json_len] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(packets, json_u64(json, "packets"));
    assert_int_equal(payload, json_u64(json, "packet_bytes"));
    assert_int_equal(s.records, 3000);
    assert_int_equal(s.records, json_u64(json, "records"));
    assert_int_equal(s.bytes, json_u64(json, "bytes"));
    assert_int_equal(s.bytes_scaled, json_u64(json, "bytes_scaled"));
    assert_int_equal(s.packets_scaled, json_u64(json, "packets_scaled"));
    assert_true(bytes_seen_from[0] && bytes_seen_from[1]); /* 127.0.0.1 and 127.0.0.2 */
    assert_non_null(strstr(json, "\"addr\":\"127.0.0.2\""));
    fl0wer_decoder_destroy(d);
    close(out[0]);
    close(rx);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_memory_and_pcap),
                                       cmocka_unit_test(test_udp)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
