/*
 * replay.c - fl0wer-replay: sends the export datagrams of pcap/pcapng or raw payload files to a
 * collector over UDP, optionally rate-limited and looped, keeping each original exporter (source
 * address and port in the capture) distinct: every exporter gets its own socket, bound to an
 * address taken round-robin from --from-addrs (default: the wildcard address) with its own
 * ephemeral port and connected to the collector. --single-source sends everything from one
 * socket instead. Datagrams go out with sendmmsg, one call per exporter for the datagrams due
 * together (up to 64).
 * Prints a JSON summary on stdout, with the CPU the sending itself took (user and system
 * seconds of the send loop, not of loading the files), so a benchmark can tell when the replay
 * rather than the collector is the limit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fl0wer/capture.h"

#define MAX_EXPORTERS 4096
#define MAX_FROM      256

struct datagram {
    uint8_t *payload;
    size_t len;
    unsigned exporter;
};

struct exporter {
    uint8_t addr[FL0WER_ADDR_LEN];
    uint16_t port;
    int fd;
};

struct replay {
    struct sockaddr_storage to;
    socklen_t to_len;
    char *from[MAX_FROM];
    unsigned n_from;
    bool single;
    uint64_t pps, loops;
    uint16_t ports[FL0WER_CAPTURE_MAX_PORTS];
    size_t n_ports;
    struct datagram *dgs;
    size_t n_dgs, cap_dgs;
    struct exporter ex[MAX_EXPORTERS];
    unsigned n_ex;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fl0wer-replay --to HOST:PORT [--pps N] [--loop N] [--port P]...\n"
            "                     [--from-addrs A,B,...] [--keep-sources] [--single-source] "
            "FILE...\n"
            "  --to HOST:PORT     collector address (IPv4 a.b.c.d:p or [v6]:p)\n"
            "  --pps N            datagrams per second (0 or absent: as fast as possible)\n"
            "  --loop N           send the files N times (default 1)\n"
            "  --port P           take only datagrams to UDP port P from pcap files "
            "(repeatable; default all UDP)\n"
            "  --from-addrs LIST  local source addresses, used round-robin per exporter\n"
            "  --keep-sources     one socket (own source port) per original exporter "
            "(the default)\n"
            "  --single-source    send every datagram from one socket\n");
}

static int parse_addr(const char *text, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

static int parse_to(const char *text, struct replay *r)
{
    char host[128];
    const char *colon;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':' || (size_t)(close - text) > sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (!colon || (size_t)(colon - text) >= sizeof(host))
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
    }
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535)
        return -1;
    return parse_addr(host, (uint16_t)port, &r->to, &r->to_len);
}

/* Returns the exporter index of (addr, port), opening its socket on first sight. */
static int exporter_for(struct replay *r, const uint8_t *addr, uint16_t port)
{
    if (r->single && r->n_ex)
        return 0;
    for (unsigned i = 0; i < r->n_ex; i++)
        if (r->ex[i].port == port && !memcmp(r->ex[i].addr, addr, FL0WER_ADDR_LEN))
            return (int)i;
    if (r->n_ex == MAX_EXPORTERS) {
        fprintf(stderr, "fl0wer-replay: more than %d exporters\n", MAX_EXPORTERS);
        return -1;
    }
    struct exporter *e = &r->ex[r->n_ex];
    memcpy(e->addr, addr, FL0WER_ADDR_LEN);
    e->port = port;
    e->fd = socket(r->to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (e->fd < 0) {
        fprintf(stderr, "fl0wer-replay: socket: %s\n", strerror(errno));
        return -1;
    }
    int sz = 4 << 20;
    setsockopt(e->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    if (r->n_from) {
        struct sockaddr_storage ss;
        socklen_t sl;
        const char *a = r->from[r->n_ex % r->n_from];
        if (parse_addr(a, 0, &ss, &sl) != 0 || ss.ss_family != r->to.ss_family ||
            bind(e->fd, (struct sockaddr *)&ss, sl) != 0) {
            fprintf(stderr, "fl0wer-replay: cannot bind source address %s: %s\n", a,
                    errno ? strerror(errno) : "wrong address family");
            close(e->fd);
            return -1;
        }
    }
    /* connected: the route is looked up once, not per datagram, and sends carry no address */
    if (connect(e->fd, (struct sockaddr *)&r->to, r->to_len) != 0) {
        fprintf(stderr, "fl0wer-replay: cannot connect to the collector: %s\n", strerror(errno));
        close(e->fd);
        return -1;
    }
    return (int)r->n_ex++;
}

static int load_file(struct replay *r, const char *path)
{
    char errbuf[256];
    struct fl0wer_capture *c;
    if (fl0wer_capture_open(&c, path, r->ports, r->n_ports, errbuf) != 0) {
        fprintf(stderr, "fl0wer-replay: %s: %s\n", path, errbuf);
        return -1;
    }
    struct fl0wer_datagram dg;
    int rc;
    while ((rc = fl0wer_capture_next(c, &dg, errbuf)) == 1) {
        int ex = exporter_for(r, dg.src_addr, dg.src_port);
        if (ex < 0) {
            rc = -1;
            break;
        }
        if (r->n_dgs == r->cap_dgs) {
            size_t ncap = r->cap_dgs ? r->cap_dgs * 2 : 1024;
            struct datagram *nd = realloc(r->dgs, ncap * sizeof(*nd));
            if (!nd) {
                rc = -1;
                break;
            }
            r->dgs = nd;
            r->cap_dgs = ncap;
        }
        struct datagram *d = &r->dgs[r->n_dgs];
        d->payload = malloc(dg.len ? dg.len : 1);
        if (!d->payload) {
            rc = -1;
            break;
        }
        memcpy(d->payload, dg.payload, dg.len);
        d->len = dg.len;
        d->exporter = (unsigned)ex;
        r->n_dgs++;
    }
    if (rc < 0 && errbuf[0])
        fprintf(stderr, "fl0wer-replay: %s: %s\n", path, errbuf);
    fl0wer_capture_close(c);
    return rc < 0 ? -1 : 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rusage_s(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || !*s || *s == '-')
        return -1;
    *out = v;
    return 0;
}

/* What a run sent: datagrams attempted, bytes of those that went out, and send errors. */
struct send_totals {
    uint64_t sent, bytes, errors;
};

#define BURST_MAX 64 /* datagrams per sendmmsg call */

/*
 * Sends the n datagrams dgs[idx[0..n)] (all of one exporter, in that order) in one sendmmsg
 * call, retrying the rest when the kernel takes only part of it or is out of buffers. The
 * exporter sockets are connected, so a refusal (ECONNREFUSED) reports the ICMP error of an
 * earlier datagram and this one was not sent: it is retried (twice at most), as an unconnected
 * socket would have sent it. Updates *t.
 */
static void send_burst(struct replay *r, const size_t *idx, size_t n, struct send_totals *t)
{
    struct mmsghdr msgs[BURST_MAX];
    struct iovec iov[BURST_MAX];
    int fd = r->ex[r->dgs[idx[0]].exporter].fd, refused = 0;
    for (size_t i = 0; i < n; i++) {
        const struct datagram *d = &r->dgs[idx[i]];
        iov[i] = (struct iovec){.iov_base = d->payload, .iov_len = d->len};
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[i], .msg_iovlen = 1}};
    }
    size_t done = 0;
    while (done < n) {
        int w = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
        if (w < 0 && (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)) {
            if (errno != EINTR)
                usleep(100);
            continue;
        }
        if (w < 0 && errno == ECONNREFUSED && refused++ < 2)
            continue;
        if (w < 0) { /* this datagram cannot be sent at all: count it, go on with the next */
            t->errors++;
            done++;
            refused = 0;
            continue;
        }
        for (int i = 0; i < w; i++)
            t->bytes += msgs[done + (size_t)i].msg_len;
        done += (size_t)w;
        refused = 0;
    }
    t->sent += n;
}

/*
 * Sends dgs[from, from + n): one sendmmsg call per exporter among them, each exporter's
 * datagrams in their order (the order between exporters may change within these n).
 */
static void send_window(struct replay *r, size_t from, size_t n, struct send_totals *t)
{
    bool taken[BURST_MAX] = {false};
    size_t idx[BURST_MAX];
    for (size_t k = 0; k < n; k++) {
        if (taken[k])
            continue;
        unsigned ex = r->dgs[from + k].exporter;
        size_t m = 0;
        for (size_t j = k; j < n; j++) {
            if (!taken[j] && r->dgs[from + j].exporter == ex) {
                taken[j] = true;
                idx[m++] = from + j;
            }
        }
        send_burst(r, idx, m, t);
    }
}

/*
 * One pass over every loaded datagram. With --pps the datagrams due by now (start + sent/pps)
 * go out together, up to BURST_MAX of them, then the loop sleeps until the next one is due; so a
 * paced run costs one sleep per burst rather than per datagram and the replay leaves more of
 * the CPU to the collector under test. Without --pps every window is BURST_MAX datagrams.
 */
static void send_pass(struct replay *r, uint64_t start, struct send_totals *t)
{
    size_t i = 0;
    while (i < r->n_dgs) {
        size_t n = BURST_MAX;
        if (r->pps) {
            uint64_t now = mono_ns();
            uint64_t due = start + (t->sent * 1000000000ull) / r->pps;
            if (due > now) {
                struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull),
                                      .tv_nsec = (long)(due % 1000000000ull)};
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
                now = mono_ns();
            }
            uint64_t target = (now - start) * r->pps / 1000000000ull + 1;
            uint64_t owed = target > t->sent ? target - t->sent : 1;
            n = owed < BURST_MAX ? (size_t)owed : BURST_MAX;
        }
        if (n > r->n_dgs - i)
            n = r->n_dgs - i;
        send_window(r, i, n, t);
        i += n;
    }
}

int main(int argc, char **argv)
{
    static struct replay r;
    const char *files[1024];
    int n_files = 0, rc = 1;
    bool have_to = false;
    r.loops = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--keep-sources")) {
            r.single = false;
        } else if (!strcmp(a, "--single-source")) {
            r.single = true;
        } else if (!strcmp(a, "--to") && v) {
            if (parse_to(v, &r) != 0) {
                fprintf(stderr, "fl0wer-replay: bad --to '%s' (want HOST:PORT)\n", v);
                return 2;
            }
            have_to = true;
            i++;
        } else if ((!strcmp(a, "--pps") || !strcmp(a, "--loop") || !strcmp(a, "--port")) && v) {
            uint64_t n;
            if (parse_u64(v, &n) != 0 || (!strcmp(a, "--port") && (n == 0 || n > 65535))) {
                fprintf(stderr, "fl0wer-replay: bad %s value '%s'\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--pps"))
                r.pps = n;
            else if (!strcmp(a, "--loop"))
                r.loops = n;
            else if (r.n_ports < FL0WER_CAPTURE_MAX_PORTS)
                r.ports[r.n_ports++] = (uint16_t)n;
            i++;
        } else if (!strcmp(a, "--from-addrs") && v) {
            char *copy = strdup(v), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t && r.n_from < MAX_FROM;
                 t = strtok_r(NULL, ",", &save))
                r.from[r.n_from++] = t;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "fl0wer-replay: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (n_files < 1024) {
            files[n_files++] = a;
        }
    }
    if (!have_to || n_files == 0) {
        usage(stderr);
        return 2;
    }
    for (int f = 0; f < n_files; f++)
        if (load_file(&r, files[f]) != 0)
            goto out;
    struct send_totals t = {0};
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    uint64_t start = mono_ns();
    for (uint64_t l = 0; l < r.loops; l++)
        send_pass(&r, start, &t);
    double secs = (double)(mono_ns() - start) / 1e9;
    getrusage(RUSAGE_SELF, &ru1);
    printf("{\"datagrams\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"send_errors\":%" PRIu64
           ",\"exporters\":%u,\"files\":%d,\"loops\":%" PRIu64
           ",\"seconds\":%.3f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f}\n",
           t.sent - t.errors, t.bytes, t.errors, r.n_ex, n_files, r.loops, secs,
           rusage_s(&ru1.ru_utime) - rusage_s(&ru0.ru_utime),
           rusage_s(&ru1.ru_stime) - rusage_s(&ru0.ru_stime));
    rc = t.errors ? 1 : 0;
out:
    for (unsigned i = 0; i < r.n_ex; i++)
        close(r.ex[i].fd);
    for (size_t i = 0; i < r.n_dgs; i++)
        free(r.dgs[i].payload);
    free(r.dgs);
    if (r.n_from)
        free(r.from[0]);
    return rc;
}
