/*
 * worker.c - receive and decode threads.
 *
 * Each worker owns one SO_REUSEPORT UDP socket per --listen address. The kernel spreads the
 * datagrams of a port over the sockets by a hash of the 4-tuple, so one exporter (source
 * address and port) always reaches the same worker and its templates and sequence numbers stay
 * on one decoder, while many exporters spread over the workers. Datagrams are read with
 * recvmmsg(); SO_RXQ_OVFL gives the kernel's drop counter of each socket.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edge_int.h"

#define RX_VLEN    64
#define RX_BUFLEN  65536
#define TICK_MS    200
#define PUMP_MS    2 /* poll timeout while closed buckets wait for room in the queue */
#define NAP_MIN_US 250  /* naps after a read that found less than one recvmmsg batch: */
#define NAP_MAX_US 8000 /* adapted between these so a wake-up finds half to one batch */
#define SNAP_MS    1000
#define ERR_LOG_MS 10000
#define STOP_DRAIN_MS 3000
#define MODE_LOG_MS 60000 /* at most one aggregation-mode line per worker per minute */

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* Opens, configures and binds one socket for l. Returns the fd or -1 with err set. */
static int open_socket(struct edge_ctx *ctx, const struct edge_listen *l,
                       const struct sockaddr_storage *addr, socklen_t addr_len, bool warn_rcvbuf,
                       char *err, size_t errlen)
{
    int fam = addr->ss_family;
    int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create UDP socket for %s: %s", l->text, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (fam == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (ctx->cfg->rcvbuf) {
        int want = (int)(ctx->cfg->rcvbuf > (1u << 30) ? (1u << 30) : ctx->cfg->rcvbuf);
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) != 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
        int got = 0;
        socklen_t gl = sizeof(got);
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
        if (warn_rcvbuf && (uint64_t)got / 2 < (uint64_t)want)
            edge_warn(&ctx->log,
                      "receive buffer for %s is %d bytes, not the %d asked: the kernel caps it; "
                      "raise the cap with 'sysctl -w net.core.rmem_max=%d' (or run as root)",
                      l->text, got / 2, want, want);
    }
    if (bind(fd, (const struct sockaddr *)addr, addr_len) != 0) {
        snprintf(err, errlen, "cannot bind UDP %s: %s", l->text, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Records the address socket fd of --listen k is bound to (the real port when 0 was asked). */
static void note_bound(struct edge_ctx *ctx, unsigned k, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        ctx->bound[k] = ss;
        ctx->bound_len[k] = len;
    }
    if (ctx->bound[k].ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&ctx->bound[k];
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        snprintf(ctx->bound_text[k], sizeof(ctx->bound_text[k]), "[%s]:%u", host,
                 ntohs(v6->sin6_port));
    } else {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&ctx->bound[k];
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        snprintf(ctx->bound_text[k], sizeof(ctx->bound_text[k]), "%s:%u", host,
                 ntohs(v4->sin_port));
    }
}

int edge_workers_open(struct edge_ctx *ctx, char *err, size_t errlen)
{
    const struct edge_config *cfg = ctx->cfg;
    unsigned n = cfg->workers;
    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (unsigned)c : 1;
    }
    ctx->workers = calloc(n, sizeof(*ctx->workers));
    if (!ctx->workers) {
        snprintf(err, errlen, "cannot allocate workers: out of memory");
        return -1;
    }
    ctx->n_workers = n;
    for (unsigned i = 0; i < n; i++) {
        struct edge_worker *w = &ctx->workers[i];
        w->ctx = ctx;
        w->idx = i;
        pthread_mutex_init(&w->snap_mu, NULL);
        for (unsigned k = 0; k < cfg->n_listen; k++) {
            if (i == 0) {
                ctx->bound[k] = cfg->listen[k].addr;
                ctx->bound_len[k] = cfg->listen[k].addr_len;
            }
            int fd = open_socket(ctx, &cfg->listen[k], &ctx->bound[k], ctx->bound_len[k], i == 0,
                                 err, errlen);
            if (fd < 0)
                return -1;
            if (i == 0)
                note_bound(ctx, k, fd);
            struct stat st;
            w->inodes[w->nfds] = fstat(fd, &st) == 0 ? (unsigned long)st.st_ino : 0;
            w->fds[w->nfds++] = fd;
        }
        if (fl0wer_decoder_create(&w->dec, NULL) != 0) {
            snprintf(err, errlen, "cannot create decoder: out of memory");
            return -1;
        }
    }
    return 0;
}

/* Aggregator output: straight into the batcher's queue; waiting for room only when asked
 * (closed buckets are emitted without waiting, so receiving goes on while the batcher works). */
static size_t agg_emit(void *arg, const struct fl0wer_flow *flows, size_t count, bool wait)
{
    struct edge_worker *w = arg;
    if (!wait)
        return edge_flowq_try_push(&w->ctx->q, flows, count);
    edge_flowq_push(&w->ctx->q, flows, count);
    return count;
}

static int decode_cb(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct edge_worker *w = arg;
    atomic_fetch_add_explicit(&w->ctx->records_decoded, count, memory_order_relaxed);
    edge_agg_add(w->agg, flows, count, w->now_ms);
    return 0;
}

static void log_errslot(struct edge_worker *w, struct edge_errslot *e, uint64_t now)
{
    char a[FL0WER_ADDR_STRLEN];
    fl0wer_addr_format(e->addr, a, sizeof(a));
    edge_warn(&w->ctx->log, "exporter %s port %u: %llu decode error(s) since %llu ms ago "
              "(last: %s)", a, e->port, (unsigned long long)e->pending,
              (unsigned long long)(e->last_log_ms ? now - e->last_log_ms : 0),
              fl0wer_strerror(e->last_rc));
    e->pending = 0;
    e->last_log_ms = now;
}

/* Counts a decode error; logs at once for a new exporter, else at most every ERR_LOG_MS. */
static void note_error(struct edge_worker *w, const struct fl0wer_source *src, int rc)
{
    atomic_fetch_add_explicit(&w->ctx->decode_errors, 1, memory_order_relaxed);
    unsigned h = src->port;
    for (int i = 0; i < FL0WER_ADDR_LEN; i++)
        h = h * 31u + src->addr[i];
    struct edge_errslot *e = &w->errs[h % EDGE_ERRSLOTS];
    if (!e->used || e->port != src->port || memcmp(e->addr, src->addr, FL0WER_ADDR_LEN) != 0) {
        if (e->used && e->pending)
            log_errslot(w, e, src->recv_ms);
        memset(e, 0, sizeof(*e));
        e->used = true;
        memcpy(e->addr, src->addr, FL0WER_ADDR_LEN);
        e->port = src->port;
    }
    e->pending++;
    e->last_rc = rc;
    if (!e->last_log_ms || src->recv_ms - e->last_log_ms >= ERR_LOG_MS)
        log_errslot(w, e, src->recv_ms);
}

static void flush_error_summaries(struct edge_worker *w, uint64_t now, bool force)
{
    for (int i = 0; i < EDGE_ERRSLOTS; i++) {
        struct edge_errslot *e = &w->errs[i];
        if (e->used && e->pending && (force || now - e->last_log_ms >= ERR_LOG_MS))
            log_errslot(w, e, now);
    }
}

static void snap_exporter(void *arg, const struct fl0wer_exporter_stats *s)
{
    struct edge_worker *w = arg;
    if (w->n_exp == w->cap_exp) {
        size_t ncap = w->cap_exp ? w->cap_exp * 2 : 16;
        void *nv = realloc(w->exp, ncap * sizeof(*w->exp));
        if (!nv)
            return;
        w->exp = nv;
        w->cap_exp = ncap;
    }
    w->exp[w->n_exp++] = *s;
}

static void snap_interface(void *arg, const struct fl0wer_interface_info *i)
{
    struct edge_worker *w = arg;
    if (w->n_ifs == w->cap_ifs) {
        size_t ncap = w->cap_ifs ? w->cap_ifs * 2 : 16;
        void *nv = realloc(w->ifs, ncap * sizeof(*w->ifs));
        if (!nv)
            return;
        w->ifs = nv;
        w->cap_ifs = ncap;
    }
    w->ifs[w->n_ifs++] = *i;
}

/* Publishes the decoder's exporter counters and interface names for the batcher, flagged as
 * changed when their set changed, or on the final publish (stop) when there are any: the
 * batcher then sends them once more, so the hub ends with the final counters (the periodic
 * metadata may be up to 10 s old). */
static void publish(struct edge_worker *w, bool final)
{
    pthread_mutex_lock(&w->snap_mu);
    size_t old_exp = w->n_exp, old_ifs = w->n_ifs;
    w->n_exp = w->n_ifs = 0;
    fl0wer_decoder_foreach_exporter(w->dec, snap_exporter, w);
    fl0wer_decoder_foreach_interface(w->dec, snap_interface, w);
    if (w->n_exp != old_exp || w->n_ifs != old_ifs || (final && (w->n_exp || w->n_ifs)))
        w->snap_changed = true;
    edge_agg_stats(w->agg, &w->agg_stats);
    pthread_mutex_unlock(&w->snap_mu);
}

static void to_source(const struct sockaddr_storage *ss, struct fl0wer_source *src)
{
    memset(src->addr, 0, sizeof(src->addr));
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
        fl0wer_addr_from_v4(src->addr, (const uint8_t *)&v4->sin_addr);
        src->port = ntohs(v4->sin_port);
    } else {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)ss;
        memcpy(src->addr, &v6->sin6_addr, FL0WER_ADDR_LEN);
        src->port = ntohs(v6->sin6_port);
    }
}

struct rx_bufs {
    struct mmsghdr msgs[RX_VLEN];
    struct iovec iov[RX_VLEN];
    struct sockaddr_storage names[RX_VLEN];
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t)) + 64];
        struct cmsghdr align;
    } ctl[RX_VLEN];
    uint8_t data[RX_VLEN][RX_BUFLEN];
};

/* Reads and decodes what socket k has queued (a bounded number of rounds). Returns the number
 * of datagrams read. */
static size_t drain_socket(struct edge_worker *w, unsigned k, struct rx_bufs *rx)
{
    struct edge_ctx *ctx = w->ctx;
    size_t total = 0;
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < RX_VLEN; i++) {
            rx->iov[i].iov_base = rx->data[i];
            rx->iov[i].iov_len = RX_BUFLEN;
            memset(&rx->msgs[i].msg_hdr, 0, sizeof(rx->msgs[i].msg_hdr));
            rx->msgs[i].msg_hdr.msg_iov = &rx->iov[i];
            rx->msgs[i].msg_hdr.msg_iovlen = 1;
            rx->msgs[i].msg_hdr.msg_name = &rx->names[i];
            rx->msgs[i].msg_hdr.msg_namelen = sizeof(rx->names[i]);
            rx->msgs[i].msg_hdr.msg_control = rx->ctl[i].buf;
            rx->msgs[i].msg_hdr.msg_controllen = sizeof(rx->ctl[i].buf);
        }
        int n = recvmmsg(w->fds[k], rx->msgs, RX_VLEN, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return total;
        total += (size_t)n;
        uint64_t now = edge_now_ms();
        uint64_t bytes = 0;
        for (int i = 0; i < n; i++) {
            struct msghdr *mh = &rx->msgs[i].msg_hdr;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t v;
                    memcpy(&v, CMSG_DATA(c), sizeof(v));
                    if (v != w->ovfl[k]) {
                        atomic_fetch_add(&w->kernel_drops, (uint32_t)(v - w->ovfl[k]));
                        w->ovfl[k] = v;
                    }
                }
            }
            struct fl0wer_source src;
            to_source(&rx->names[i], &src);
            src.recv_ms = now;
            w->now_ms = now;
            bytes += rx->msgs[i].msg_len;
            int rc = fl0wer_decode_packet(w->dec, &src, rx->data[i], rx->msgs[i].msg_len,
                                          decode_cb, w);
            if (rc < 0)
                note_error(w, &src, rc);
        }
        atomic_fetch_add_explicit(&ctx->packets_received, (uint64_t)n, memory_order_relaxed);
        atomic_fetch_add_explicit(&ctx->bytes_received, bytes, memory_order_relaxed);
        if (n < RX_VLEN)
            return total;
    }
    return total;
}

/* Logs the aggregator's mode when it changed since the last line, at most once per
 * MODE_LOG_MS (the first change at once), with the changes in between. */
static void log_mode(struct edge_worker *w, uint64_t now)
{
    struct edge_agg_stats st;
    edge_agg_stats(w->agg, &st);
    if (st.mode_switches == w->mode_logged ||
        (w->mode_log_ms && now - w->mode_log_ms < MODE_LOG_MS))
        return;
    edge_info(&w->ctx->log,
              "worker %u: aggregation %s (%u.%u%% of the last window's %s records merged; "
              "threshold %u%%; %llu mode change(s) since the last line; %llu records forwarded "
              "unmerged so far)",
              w->idx, st.sampled ? "sampled: 1 key in 16 aggregated, the rest forwarded unmerged"
                                 : "of every key resumed",
              st.last_share_pm / 10, st.last_share_pm % 10, st.sampled ? "aggregated" : "subset",
              w->ctx->cfg->aggregate_min_reduction,
              (unsigned long long)(st.mode_switches - w->mode_logged),
              (unsigned long long)st.bypassed);
    w->mode_logged = st.mode_switches;
    w->mode_log_ms = now;
}

static void *worker_main(void *arg)
{
    struct edge_worker *w = arg;
    struct edge_ctx *ctx = w->ctx;
    char name[16];
    snprintf(name, sizeof(name), "edge-rx%u", w->idx % 1000u);
    pthread_setname_np(pthread_self(), name);
    struct rx_bufs *rx = malloc(sizeof(*rx));
    struct pollfd pfd[EDGE_MAX_LISTEN];
    uint64_t last_tick = 0, last_snap = 0;
    size_t pending = 0; /* records of closed buckets the queue did not take yet */
    if (!rx) {
        edge_err(&ctx->log, "worker %u: out of memory", w->idx);
        goto out_done;
    }
    for (unsigned k = 0; k < w->nfds; k++) {
        pfd[k].fd = w->fds[k];
        pfd[k].events = POLLIN;
    }
    unsigned nap_us = 1000;
    bool napped = false;
    while (!atomic_load(&ctx->stop_rx)) {
        size_t got = 0;
        if (napped) { /* just slept on purpose: read without asking poll() first */
            for (unsigned k = 0; k < w->nfds; k++)
                got += drain_socket(w, k, rx);
            napped = false;
        } else if (poll(pfd, w->nfds, pending ? PUMP_MS : TICK_MS) > 0) {
            for (unsigned k = 0; k < w->nfds; k++)
                if (pfd[k].revents & POLLIN)
                    got += drain_socket(w, k, rx);
        }
        if (got && got < RX_VLEN) {
            /* Light traffic: let datagrams gather in the socket for a moment rather than
             * waking up for each one (a wake-up costs more than reading a datagram, and the
             * caches are cold after other threads ran). The nap doubles while a wake-up finds
             * less than half a batch and halves once one finds a full batch (below), at most
             * 8 ms: a burst arriving meanwhile waits in the receive buffer. A read that finds
             * nothing falls back to poll(). */
            if (got < RX_VLEN / 2 && nap_us < NAP_MAX_US)
                nap_us *= 2;
            struct timespec nap = {0, (long)nap_us * 1000L};
            nanosleep(&nap, NULL);
            napped = true;
        } else if (got >= RX_VLEN && nap_us > NAP_MIN_US) {
            nap_us /= 2;
        }
        if (pending)
            pending = edge_agg_pump(w->agg);
        uint64_t now = edge_now_ms();
        if (now - last_tick >= TICK_MS) {
            edge_agg_tick(w->agg, now);
            pending = edge_agg_pump(w->agg);
            flush_error_summaries(w, now, false);
            log_mode(w, now);
            last_tick = now;
        }
        if (now - last_snap >= SNAP_MS) {
            publish(w, false);
            last_snap = now;
        }
    }
    /* Stop: take what the sockets already hold (for at most STOP_DRAIN_MS), then flush every
     * bucket. */
    uint64_t until = edge_mono_ms() + STOP_DRAIN_MS;
    for (size_t got = 1; got && edge_mono_ms() < until;) {
        got = 0;
        for (unsigned k = 0; k < w->nfds; k++)
            got += drain_socket(w, k, rx);
    }
    edge_agg_flush_all(w->agg);
    flush_error_summaries(w, edge_now_ms(), true);
    publish(w, true);
    free(rx);
out_done:
    edge_flowq_producer_done(&ctx->q);
    return NULL;
}

int edge_workers_start(struct edge_ctx *ctx)
{
    const struct edge_config *cfg = ctx->cfg;
    struct edge_agg_config acfg = {
        .key_mask = cfg->aggregate_key,
        .bucket_s = cfg->bucket_s,
        .grace_s = cfg->bucket_grace_s,
        .max_flows = cfg->max_flows,
        .disabled = cfg->no_aggregate,
        .min_reduction_pct = cfg->aggregate_min_reduction,
    };
    for (unsigned i = 0; i < ctx->n_workers; i++) {
        struct edge_worker *w = &ctx->workers[i];
        if (edge_agg_create(&w->agg, &acfg, agg_emit, w) != 0 ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            for (unsigned k = i; k < ctx->n_workers; k++)
                edge_flowq_producer_done(&ctx->q); /* never started: counts as finished */
            return -1;
        }
        w->started = true;
    }
    return 0;
}

void edge_workers_join(struct edge_ctx *ctx)
{
    for (unsigned i = 0; i < ctx->n_workers; i++) {
        if (ctx->workers[i].started)
            pthread_join(ctx->workers[i].thread, NULL);
        ctx->workers[i].started = false;
    }
}

void edge_workers_close(struct edge_ctx *ctx)
{
    for (unsigned i = 0; ctx->workers && i < ctx->n_workers; i++) {
        struct edge_worker *w = &ctx->workers[i];
        for (unsigned k = 0; k < w->nfds; k++)
            close(w->fds[k]);
        fl0wer_decoder_destroy(w->dec);
        edge_agg_destroy(w->agg);
        pthread_mutex_destroy(&w->snap_mu);
        free(w->exp);
        free(w->ifs);
    }
    free(ctx->workers);
    ctx->workers = NULL;
}

/* Adds the drops column of the lines of path (/proc/net/udp or udp6) whose inode is ours. */
static uint64_t proc_udp_drops(struct edge_ctx *ctx, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    char line[512];
    uint64_t sum = 0;
    while (fgets(line, sizeof(line), f)) {
        char *tok[16], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " \t\n", &save); t && n < 16; t = strtok_r(NULL, " \t\n", &save))
            tok[n++] = t;
        if (n < 13)
            continue;
        unsigned long ino = strtoul(tok[9], NULL, 10);
        for (unsigned i = 0; ino && i < ctx->n_workers; i++)
            for (unsigned k = 0; k < ctx->workers[i].nfds; k++)
                if (ctx->workers[i].inodes[k] == ino)
                    sum += strtoull(tok[n - 1], NULL, 10);
    }
    fclose(f);
    return sum;
}

/* Kernel drops of our sockets: the larger of the SO_RXQ_OVFL counts (seen only with the next
 * datagram read) and the drops column of /proc/net/udp{,6} (read at most every 500 ms). */
uint64_t edge_kernel_drops(struct edge_ctx *ctx)
{
    uint64_t sum = 0;
    for (unsigned i = 0; i < ctx->n_workers; i++)
        sum += atomic_load(&ctx->workers[i].kernel_drops);
    pthread_mutex_lock(&ctx->drops_mu);
    uint64_t now = edge_mono_ms();
    if (now - ctx->proc_drops_at >= 500) {
        ctx->proc_drops = proc_udp_drops(ctx, "/proc/net/udp") +
                          proc_udp_drops(ctx, "/proc/net/udp6");
        ctx->proc_drops_at = now;
    }
    if (ctx->proc_drops > sum)
        sum = ctx->proc_drops;
    pthread_mutex_unlock(&ctx->drops_mu);
    return sum;
}
