/*
 * main.c - fl0wer-gen: generates NetFlow v5 / v9 / IPFIX export packets from a seed, sends them
 * over UDP (--send HOST:PORT, paced with --pps) and/or writes them to a pcap file (--pcap), then
 * prints on stdout, as JSON, the totals a lossless collector must report. See README.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

static const char usage[] =
    "usage: fl0wer-gen [options]\n"
    "Generates NetFlow v5/v9/IPFIX export packets deterministically from a seed and prints\n"
    "the totals a lossless collector must report as JSON on stdout.\n"
    "  --seed N                 model seed (default 1)\n"
    "  --flows N                flow records over all exporters (default 1000)\n"
    "  --exporters N            exporters, 1..256 (default 1)\n"
    "  --versions LIST          e.g. 5,9,10; exporter i uses entry i %% count (default 9)\n"
    "  --ipv6-share F           share of IPv6 flows on v9/IPFIX exporters, 0..1 (default 0)\n"
    "  --sampling N             announce 1-in-N packet sampling, 1..16383 (default 1 = none)\n"
    "  --start UNIX_MS          end time of the first flow (default now)\n"
    "  --window MS              flow end times spread over this span (default 60000)\n"
    "  --records-per-packet N   records per packet, 1..1000 (default: what fits 1400 bytes;\n"
    "                           v5 at most 30)\n"
    "  --template-refresh N     templates in the first and every N-th packet (default 20)\n"
    "  --hosts N                addresses in each Zipf pool (default 1000)\n"
    "  --send HOST:PORT         send over UDP ([v6addr]:port for IPv6)\n"
    "  --bind ADDR[,ADDR...]    local source addresses, one per exporter round-robin\n"
    "                           (e.g. 127.0.0.1,127.0.0.2); with --pcap, the IPv4 sources\n"
    "  --pps N                  packets per second when sending (default 0 = fast as possible)\n"
    "  --pcap FILE              write Ethernet/IPv4/UDP (dst port 2056) packets to FILE\n"
    "  --help                   this text\n"
    "Output keys: packets, packet_bytes, records (flow records), options_records, templates,\n"
    "flows, bytes, packets_counted (raw), bytes_scaled, packets_scaled (x sampling),\n"
    "ipv6_flows, sampling, top.{srcip,dstip,dstport,proto} (10 rows by scaled bytes:\n"
    "key, flows, bytes, packets) and exporters[] (addr, port, domain_id, version, packets,\n"
    "packet_bytes, records, templates, bytes, packets_counted).\n";

struct run {
    struct gen_config cfg;
    const char *pcap_path;
    const char *send_to;
    uint64_t pps;
    int fds[GEN_MAX_EXPORTERS];
    uint64_t send_errors;
};

static int parse_u64(const char *s, uint64_t *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 10);
    return (errno != 0 || end == s || *end != '\0' || s[0] == '-') ? -1 : 0;
}

static int parse_list(struct run *r, int which, char *arg)
{
    char *save = NULL;

    for (char *t = strtok_r(arg, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        uint64_t v;
        uint8_t v4[4];

        if (which == 'V') {
            if (r->cfg.n_versions >= 3 || parse_u64(t, &v) != 0 || (v != 5 && v != 9 && v != 10))
                return -1;
            r->cfg.versions[r->cfg.n_versions++] = (uint8_t)v;
        } else {
            if (r->cfg.n_bind >= GEN_MAX_EXPORTERS || inet_pton(AF_INET, t, v4) != 1)
                return -1;
            fl0wer_addr_from_v4(r->cfg.bind_addr[r->cfg.n_bind++], v4);
        }
    }
    return 0;
}

/* Parses argv into r. Returns 0, 1 (help printed) or -1 (message printed). */
static int parse_args(struct run *r, int argc, char **argv)
{
    static const struct option opts[] = {
        {"seed", 1, 0, 's'}, {"flows", 1, 0, 'f'}, {"exporters", 1, 0, 'e'},
        {"versions", 1, 0, 'V'}, {"ipv6-share", 1, 0, '6'}, {"sampling", 1, 0, 'S'},
        {"start", 1, 0, 't'}, {"window", 1, 0, 'w'}, {"records-per-packet", 1, 0, 'r'},
        {"template-refresh", 1, 0, 'T'}, {"hosts", 1, 0, 'H'}, {"send", 1, 0, 'd'},
        {"bind", 1, 0, 'b'}, {"pps", 1, 0, 'p'}, {"pcap", 1, 0, 'o'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    bool versions_set = false;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint64_t v = 0;
        char *end;

        if (c == 'h') {
            fputs(usage, stdout);
            return 1;
        }
        if (c == '?')
            goto bad;
        if (c == 'V' || c == 'b') {
            if (c == 'V' && !versions_set) {
                r->cfg.n_versions = 0;
                versions_set = true;
            }
            if (parse_list(r, c, optarg) != 0)
                goto bad;
            continue;
        }
        if (c == '6') {
            r->cfg.ipv6_share = strtod(optarg, &end);
            if (end == optarg || *end != '\0')
                goto bad;
            continue;
        }
        if (c == 'd' || c == 'o') {
            *(c == 'd' ? &r->send_to : &r->pcap_path) = optarg;
            continue;
        }
        if (parse_u64(optarg, &v) != 0)
            goto bad;
        switch (c) {
        case 's': r->cfg.seed = v; break;
        case 'f': r->cfg.flows = v; break;
        case 'e': r->cfg.exporters = v > GEN_MAX_EXPORTERS ? 0 : (uint32_t)v; break;
        case 'S': r->cfg.sampling = v > 16383 ? 0 : (uint32_t)v; break;
        case 't': r->cfg.start_ms = v; break;
        case 'w': r->cfg.window_ms = v; break;
        case 'r': r->cfg.records_per_packet = v > GEN_MAX_RPP ? GEN_MAX_RPP + 1 : (uint32_t)v; break;
        case 'T': r->cfg.template_refresh = v > UINT32_MAX ? 0 : (uint32_t)v; break;
        case 'H': r->cfg.hosts = v > 1000000 ? 0 : (uint32_t)v; break;
        case 'p': r->pps = v; break;
        default: goto bad;
        }
    }
    if (optind != argc)
        goto bad;
    return 0;
bad:
    fprintf(stderr, "fl0wer-gen: bad option or value near '%s'\n%s",
            optind - 1 < argc && optind > 0 ? argv[optind - 1] : "", usage);
    return -1;
}

/* Opens one connected UDP socket per exporter; records its real source address and port. */
static int open_sockets(struct run *r, struct gen_ctx *g)
{
    char host[256], *port;
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
    int rc = -1;

    snprintf(host, sizeof(host), "%s", r->send_to);
    port = strrchr(host, ':');
    if (port == NULL) {
        fprintf(stderr, "fl0wer-gen: --send wants HOST:PORT, got '%s'\n", r->send_to);
        return -1;
    }
    *port++ = '\0';
    if (host[0] == '[' && port - host > 2 && port[-2] == ']') {
        port[-2] = '\0';
        memmove(host, host + 1, strlen(host));
    }
    if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
        fprintf(stderr, "fl0wer-gen: cannot resolve '%s'\n", r->send_to);
        return -1;
    }
    for (uint32_t i = 0; i < g->cfg.exporters; i++) {
        struct gen_exporter *ex = &g->ex[i];
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = socket(ai->ai_family, SOCK_DGRAM, 0), sndbuf = 1 << 20;

        r->fds[i] = fd;
        if (fd < 0)
            goto out;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
        if (r->cfg.n_bind > 0) {
            struct sockaddr_in sin = {.sin_family = AF_INET};

            memcpy(&sin.sin_addr, r->cfg.bind_addr[i % r->cfg.n_bind] + 12, 4);
            if (ai->ai_family != AF_INET || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
                fprintf(stderr, "fl0wer-gen: cannot bind exporter %u: %s\n", i,
                        ai->ai_family != AF_INET ? "--bind needs an IPv4 destination"
                                                 : strerror(errno));
                goto out;
            }
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
            getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            fprintf(stderr, "fl0wer-gen: cannot connect to %s: %s\n", r->send_to,
                    strerror(errno));
            goto out;
        }
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

            fl0wer_addr_from_v4(ex->addr, (const uint8_t *)&s4->sin_addr);
            ex->port = ntohs(s4->sin_port);
        } else {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

            memcpy(ex->addr, &s6->sin6_addr, FL0WER_ADDR_LEN);
            ex->port = ntohs(s6->sin6_port);
        }
    }
    rc = 0;
out:
    freeaddrinfo(ai);
    return rc;
}

static void pace(const struct run *r, const struct timespec *t0, uint64_t k)
{
    struct timespec at;
    uint64_t ns;

    if (r->pps == 0)
        return;
    ns = (uint64_t)t0->tv_nsec + k * 1000000000ull / r->pps;
    at.tv_sec = t0->tv_sec + (time_t)(ns / 1000000000ull);
    at.tv_nsec = (long)(ns % 1000000000ull);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
        ;
}

static void send_packet(struct run *r, int fd, const uint8_t *buf, size_t len)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (send(fd, buf, len, 0) == (ssize_t)len)
            return;
        /* a refusal reports an earlier datagram's ICMP error: this one may go through */
        if (errno != ECONNREFUSED)
            break;
    }
    r->send_errors++;
}

static int generate(struct run *r, struct gen_ctx *g)
{
    uint8_t *buf = malloc(GEN_MAX_PACKET);
    FILE *pcap = NULL;
    struct timespec t0;
    uint64_t k = 0;
    uint32_t exp;
    size_t len;
    int rc = -1, more;

    if (buf == NULL)
        return -1;
    if (r->pcap_path != NULL) {
        pcap = fopen(r->pcap_path, "wb");
        if (pcap == NULL || gen_pcap_header(pcap) != 0) {
            fprintf(stderr, "fl0wer-gen: cannot write '%s': %s\n", r->pcap_path,
                    strerror(errno));
            goto out;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((more = gen_next_packet(g, buf, &len, &exp)) == 1) {
        if (pcap != NULL &&
            gen_pcap_packet(pcap, &g->ex[exp], g->ex[exp].last_export_ms, buf, len) != 0) {
            fprintf(stderr, "fl0wer-gen: cannot write '%s'\n", r->pcap_path);
            goto out;
        }
        if (r->send_to != NULL) {
            pace(r, &t0, k++);
            send_packet(r, r->fds[exp], buf, len);
        }
    }
    rc = more == 0 ? 0 : -1;
out:
    if (pcap != NULL && fclose(pcap) != 0)
        rc = -1;
    free(buf);
    return rc;
}

int main(int argc, char **argv)
{
    struct run r = {.pcap_path = NULL};
    struct gen_ctx g;
    struct timespec now;
    char msg[128];
    int rc;

    gen_config_default(&r.cfg);
    clock_gettime(CLOCK_REALTIME, &now);
    r.cfg.start_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    for (size_t i = 0; i < GEN_MAX_EXPORTERS; i++)
        r.fds[i] = -1;
    rc = parse_args(&r, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    rc = gen_init(&g, &r.cfg, msg, sizeof(msg));
    if (rc != 0) {
        fprintf(stderr, "fl0wer-gen: %s\n", rc == -1 ? msg : "out of memory");
        return 2;
    }
    rc = 1;
    if (r.send_to != NULL && open_sockets(&r, &g) != 0)
        goto out;
    if (generate(&r, &g) != 0)
        goto out;
    gen_totals_json(&g, stdout);
    if (r.send_errors > 0)
        fprintf(stderr, "fl0wer-gen: %" PRIu64 " packets could not be sent\n", r.send_errors);
    rc = r.send_errors > 0 ? 1 : 0;
out:
    for (uint32_t i = 0; i < GEN_MAX_EXPORTERS; i++)
        if (r.fds[i] >= 0)
            close(r.fds[i]);
    gen_release(&g);
    return rc;
}
