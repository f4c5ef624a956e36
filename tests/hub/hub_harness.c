/*
 * hub_harness.c - implementation of the hub test helpers (see hub_harness.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "fl0wer/store.h"
#include "hub_harness.h"

#define HUB_BIN FL0WER_BINARY_DIR "/hub/daemon/fl0wer-hub"
/* How long th_hub_stop waits after SIGTERM before it prints the hub's stacks and kills it. */
#define TH_HUB_STOP_MS 20000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void th_hub_init(struct th_hub *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/fl0wer-hubtest-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->db, sizeof(h->db), "%s/db", h->dir);
    snprintf(h->auth, sizeof(h->auth), "%s/authorized", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/hub.log", h->dir);
    snprintf(h->ready, sizeof(h->ready), "%s/ready", h->dir);
}

void th_hub_cleanup(struct th_hub *h)
{
    char cmd[400];

    if (h->pid)
        th_hub_kill(h);
    if (getenv("FL0WER_KEEP_TESTDIR")) {
        fprintf(stderr, "kept %s\n", h->dir);
        return;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
    assert_int_equal(system(cmd), 0);
}

void th_write_authorized(struct th_hub *h, const struct fl0wer_edge_key *const *keys, size_t n)
{
    char tmp[320];
    char line[256];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", h->auth);
    f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "# test authorized edges\n");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(fl0wer_edge_key_authorized_line(keys[i], line, sizeof(line)), 0);
        fprintf(f, "%s\n", line);
    }
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, h->auth), 0);
}

void th_hub_start(struct th_hub *h)
{
    char *argv[32];
    int argc = 0;
    FILE *f;

    unlink(h->ready);
    argv[argc++] = (char *)HUB_BIN;
    argv[argc++] = (char *)"--listen";
    argv[argc++] = (char *)"tcp://127.0.0.1:0";
    argv[argc++] = (char *)"--data";
    argv[argc++] = h->db;
    argv[argc++] = (char *)"--authorized-edges";
    argv[argc++] = h->auth;
    argv[argc++] = (char *)"--ready-file";
    argv[argc++] = h->ready;
    if (!h->no_api_flag_off)
        argv[argc++] = (char *)"--no-api";
    for (int i = 0; i < h->n_extra; i++)
        argv[argc++] = h->extra[i];
    argv[argc] = NULL;

    h->pid = fork();
    assert_true(h->pid >= 0);
    if (h->pid == 0) {
        int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

        /* A failed assertion skips th_hub_stop: the hub must not outlive the test program. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execv(HUB_BIN, argv);
        _exit(127);
    }
    for (int waited = 0; waited < 20000; waited += 10) {
        int status;

        f = fopen(h->ready, "r");
        if (f) {
            char line[256];
            int n = 0;

            h->url[0] = h->url2[0] = h->api[0] = '\0';
            while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                if (strncmp(line, "api ", 4) == 0)
                    snprintf(h->api, sizeof(h->api), "%s", line + 4);
                else if (n++ == 0)
                    snprintf(h->url, sizeof(h->url), "%s", line);
                else
                    snprintf(h->url2, sizeof(h->url2), "%s", line);
            }
            fclose(f);
            if (h->url[0])
                return;
        }
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            h->pid = 0;
            fail_msg("fl0wer-hub exited during start (status %d), see %s", status, h->log);
        }
        sleep_ms(10);
    }
    fail_msg("fl0wer-hub did not become ready, see %s", h->log);
}

/* Waits up to ms for the child; returns the waitpid status or -1. */
static int reap(struct th_hub *h, int ms)
{
    int status;

    for (int waited = 0; waited <= ms; waited += 10) {
        if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
            h->pid = 0;
            return status;
        }
        sleep_ms(10);
    }
    return -1;
}

/* Prints the last lines of the hub log to stderr (the test output). */
static void print_log_tail(const struct th_hub *h, int lines)
{
    char cmd[400];

    fprintf(stderr, "---- last %d lines of %s ----\n", lines, h->log);
    fflush(stderr);
    snprintf(cmd, sizeof(cmd), "tail -n %d '%s' 1>&2", lines, h->log);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot read %s)\n", h->log);
}

/* Prints each thread's name, state and kernel wait channel from /proc (the fallback when gdb
 * is absent: shows at least which threads sleep on a futex or in the kernel). */
static void print_proc_threads(pid_t pid)
{
    char cmd[512];

    snprintf(cmd, sizeof(cmd),
             "for t in /proc/%d/task/*; do printf '%%s %%s state=%%s wchan=%%s\\n' "
             "\"${t##*/}\" \"$(cat $t/comm)\" \"$(awk '{print $3}' $t/stat)\" "
             "\"$(cat $t/wchan 2>/dev/null)\"; done 1>&2",
             (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot read /proc/%d/task)\n", (int)pid);
}

/*
 * The hub did not exit in time: prints where every thread of it is stuck before the caller
 * kills it, so that a rare hang in CI leaves a diagnosis in the test output. Uses
 * `gdb -batch -ex 'thread apply all bt'` when gdb is installed (bounded by timeout(1)), else the
 * threads' states from /proc, then the end of the hub log.
 */
static void th_dump_stuck(const struct th_hub *h)
{
    char cmd[512];

    fprintf(stderr, "==== fl0wer-hub pid %d did not exit in time; its threads: ====\n",
            (int)h->pid);
    fflush(stderr);
    if (system("command -v gdb >/dev/null 2>&1") == 0) {
        snprintf(cmd, sizeof(cmd),
                 "timeout -k 5 60 gdb -nx -batch -p %d -ex 'set pagination off' "
                 "-ex 'info threads' -ex 'thread apply all bt' </dev/null 1>&2 2>/dev/null",
                 (int)h->pid);
        if (system(cmd) != 0)
            fprintf(stderr, "(gdb failed)\n");
    } else {
        fprintf(stderr, "(gdb not installed: thread states from /proc only)\n");
    }
    print_proc_threads(h->pid);
    print_log_tail(h, 20);
    fprintf(stderr, "==== end of fl0wer-hub pid %d diagnosis ====\n", (int)h->pid);
    fflush(stderr);
}

int th_hub_stop(struct th_hub *h)
{
    int status;

    assert_true(h->pid > 0);
    kill(h->pid, SIGTERM);
    status = reap(h, TH_HUB_STOP_MS);
    if (status == -1) {
        th_dump_stuck(h);
        th_hub_kill(h);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void th_hub_kill(struct th_hub *h)
{
    if (h->pid <= 0)
        return;
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

void th_hub_signal(struct th_hub *h, int sig)
{
    assert_true(h->pid > 0);
    assert_int_equal(kill(h->pid, sig), 0);
}

int th_log_count(const struct th_hub *h, const char *needle)
{
    FILE *f = fopen(h->log, "r");
    char line[2048];
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

bool th_log_wait(const struct th_hub *h, const char *needle, int n, int ms)
{
    for (int waited = 0; waited <= ms; waited += 10) {
        if (th_log_count(h, needle) >= n)
            return true;
        sleep_ms(10);
    }
    return false;
}

int th_hub_run(char *const argv[], char *err, size_t errlen)
{
    int pipefd[2];
    pid_t pid;
    int status;
    ssize_t n;
    size_t got = 0;

    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execv(HUB_BIN, argv);
        _exit(127);
    }
    close(pipefd[1]);
    while (got + 1 < errlen && (n = read(pipefd[0], err + got, errlen - 1 - got)) > 0)
        got += (size_t)n;
    err[got] = '\0';
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

uint64_t th_bytes(uint64_t seq, size_t i) { return seq * 100000u + i * 7u + 40u; }
uint64_t th_packets(uint64_t seq, size_t i) { return seq + i + 1u; }

void th_build(const struct fl0wer_edge_key *key, uint64_t seq, size_t n, uint64_t base_ms,
              uint8_t **out, size_t *out_len)
{
    struct fl0wer_batch_builder b;
    struct fl0wer_edge_report rep = {0};
    struct fl0wer_flow f;
    const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {192, 0, 2, 7}, exp[4] = {127, 0, 0, 1};

    assert_int_equal(fl0wer_batch_builder_init(&b, key), 0);
    for (size_t i = 0; i < n; i++) {
        fl0wer_flow_init(&f);
        fl0wer_addr_from_v4(f.exporter, exp);
        fl0wer_addr_from_v4(f.src_addr, src);
        fl0wer_addr_from_v4(f.dst_addr, dst);
        f.src_addr[15] = (uint8_t)(i + seq);
        f.src_port = (uint16_t)(1024 + i);
        f.dst_port = 443;
        f.proto = 6;
        f.version = FL0WER_EXPORT_IPFIX;
        f.last_ms = base_ms + i;
        f.first_ms = f.last_ms - 1000;
        f.bytes = th_bytes(seq, i);
        f.packets = th_packets(seq, i);
        assert_int_equal(fl0wer_batch_add_flow(&b, &f), 0);
    }
    rep.started_ms = base_ms;
    rep.records_sent = n;
    assert_int_equal(fl0wer_batch_finish(&b, seq, base_ms, &rep, out, out_len), 0);
    fl0wer_batch_builder_release(&b);
}

int th_send(const char *url, const uint8_t *buf, size_t len, uint64_t *ack_seq)
{
    nng_socket s;
    nng_msg *reply = NULL;
    enum fl0wer_ack_status st;
    uint64_t seq = 0;
    int rc = -1;

    assert_int_equal(nng_req0_open(&s), 0);
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 15000);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 15000);
    assert_int_equal(nng_dial(s, url, NULL, 0), 0);
    if (nng_send(s, (void *)buf, len, 0) == 0 && nng_recvmsg(s, &reply, 0) == 0) {
        if (fl0wer_ack_decode(nng_msg_body(reply), nng_msg_len(reply), &st, &seq) == 0)
            rc = (int)st;
        nng_msg_free(reply);
    }
    nng_close(s);
    if (ack_seq)
        *ack_seq = seq;
    return rc;
}

int th_send_tls(const char *url, const char *ca, const uint8_t *buf, size_t len)
{
    nng_socket s;
    nng_dialer d;
    nng_tls_config *tls;
    nng_msg *reply = NULL;
    enum fl0wer_ack_status st;
    uint64_t seq = 0;
    int rc = -1;

    assert_int_equal(nng_req0_open(&s), 0);
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 15000);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 15000);
    assert_int_equal(nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT), 0);
    assert_int_equal(nng_tls_config_ca_file(tls, ca), 0);
    assert_int_equal(nng_tls_config_server_name(tls, "localhost"), 0);
    assert_int_equal(nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED), 0);
    assert_int_equal(nng_dialer_create(&d, s, url), 0);
    assert_int_equal(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls), 0);
    if (nng_dialer_start(d, 0) == 0 && nng_send(s, (void *)buf, len, 0) == 0 &&
        nng_recvmsg(s, &reply, 0) == 0) {
        if (fl0wer_ack_decode(nng_msg_body(reply), nng_msg_len(reply), &st, &seq) == 0)
            rc = (int)st;
        nng_msg_free(reply);
    }
    nng_close(s);
    nng_tls_config_free(tls);
    return rc;
}

int th_http_get(const char *api_url, const char *path, const char *token, char *body,
                size_t len)
{
    struct sockaddr_in sa = {0};
    char req[1024];
    char *resp;
    size_t got = 0, cap = 1 << 20;
    ssize_t n;
    int port = 0, code = -1, fd;
    const char *p;

    assert_int_equal(strncmp(api_url, "http://", 7), 0);
    p = strrchr(api_url, ':');
    assert_non_null(p);
    port = atoi(p + 1);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                 "Connection: close\r\n\r\n",
                 path, token);
    assert_int_equal(write(fd, req, (size_t)n), n);
    resp = malloc(cap + 1);
    assert_non_null(resp);
    while (got < cap && (n = read(fd, resp + got, cap - got)) > 0)
        got += (size_t)n;
    resp[got] = '\0';
    close(fd);
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        code = -1;
    p = strstr(resp, "\r\n\r\n");
    snprintf(body, len, "%s", p ? p + 4 : "");
    free(resp);
    return code;
}

/* Sums every stored flow. */
static int sum_flows(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    struct th_totals *t = arg;

    for (size_t i = 0; i < n; i++) {
        t->flows++;
        t->bytes += flows[i].bytes;
        t->packets += flows[i].packets;
    }
    return 0;
}

static struct fl0wer_store *open_store(const char *db)
{
    struct fl0wer_store_config cfg = {0};
    struct fl0wer_store *s = NULL;
    char err[256] = "";

    cfg.path = db;
    cfg.sync_writes = true;
    if (fl0wer_store_open(&s, &cfg, err) != 0)
        fail_msg("cannot open store %s: %s", db, err);
    return s;
}

static int count_row(void *arg, uint64_t t_ms, const uint8_t *key, size_t klen,
                     const struct fl0wer_rollup_counters *c)
{
    (void)t_ms;
    (void)key;
    (void)klen;
    (void)c;
    (*(size_t *)arg)++;
    return 0;
}

size_t th_store_rollup_rows(const char *db, enum fl0wer_rollup_level level, unsigned dim)
{
    struct fl0wer_store *s = open_store(db);
    size_t rows = 0;

    /* [1970, 2100): both ends whole hours, as a rollup scan wants */
    assert_int_equal(fl0wer_store_scan_rollups(s, level, dim, 0, 4102444800000ull, count_row,
                                               &rows),
                     0);
    fl0wer_store_close(s);
    return rows;
}

void th_store_totals(const char *db, struct th_totals *t)
{
    struct fl0wer_store *s = open_store(db);
    struct fl0wer_store_status st;

    memset(t, 0, sizeof(*t));
    assert_int_equal(fl0wer_store_scan_flows(s, 0, UINT64_MAX, sum_flows, t), 0);
    assert_int_equal(fl0wer_store_status(s, &st), 0);
    t->batches_stored = st.batches_stored;
    t->flows_stored = st.flows_stored;
    fl0wer_store_close(s);
}

struct edge_find {
    const char *name;
    uint64_t last_seq;
    uint64_t rejects;
};

static void find_edge(void *arg, const struct fl0wer_edge_status *e)
{
    struct edge_find *f = arg;

    if (strcmp(e->name, f->name) == 0) {
        f->last_seq = e->last_seq;
        f->rejects = e->rejects;
    }
}

void th_store_edge(const char *db, const char *name, uint64_t *last_seq, uint64_t *rejects)
{
    struct fl0wer_store *s = open_store(db);
    struct edge_find f = {name, 0, 0};

    assert_int_equal(fl0wer_store_foreach_edge(s, find_edge, &f), 0);
    fl0wer_store_close(s);
    *last_seq = f.last_seq;
    *rejects = f.rejects;
}
