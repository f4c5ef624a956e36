/*
 * receiver.c - fl0wer-test-receiver: plays the hub for the edge's end-to-end tests.
 *
 * Listens with an nng REP socket, checks each batch like the hub does (key from the header must
 * be the expected edge key, signature verified, payload parsed), de-duplicates by sequence number
 * with the hub's rule (a seq not above the last stored one is a duplicate: acked, not counted),
 * and keeps running totals in a JSON state file (rewritten atomically after every batch, read
 * back at start so a restarted receiver keeps its de-duplication state; written to FILE.tmp,
 * then swapped with FILE by renameat2(RENAME_EXCHANGE), so the next save rewrites the previous
 * state's file rather than creating one per batch, which cost the receiver about a fifth of its
 * CPU on ext4). A seq at or below the
 * last stored one that was never stored is counted in "lost_out_of_order": with the hub's rule,
 * those records would be lost, so the tests assert it stays 0.
 *
 * Failure modes for the tests: --no-ack-every N (every Nth request gets no reply, as if the hub
 * hung), --store-no-ack-every N (stores every Nth request but does not reply, as if the ack
 * was lost), --retry-every N (every Nth request gets RETRY), --exit-after N (exit after storing N
 * batches, as if the hub died).
 *
 * Also: fl0wer-test-receiver --keygen FILE NAME writes a new edge key (test setup).
 *
 * usage: fl0wer-test-receiver --url tcp://127.0.0.1:PORT --key EDGE_KEY_FILE --state FILE
 *        [--tls-cert-key PEM] [--no-ack-every N] [--store-no-ack-every N] [--retry-every N] [--exit-after N]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <nng/supplemental/util/platform.h>

#include "fl0wer/batch.h"
#include "fl0wer/keys.h"

struct totals {
    uint64_t batches, records, bytes, packets, flows, scaled_bytes, scaled_packets;
    uint64_t duplicates, lost_out_of_order, rejected, requests, last_seq, exporter_rows;
    uint64_t interface_rows, report_records_dropped, report_records_sent, report_packets;
};

struct receiver {
    const char *state_path;
    uint8_t pk[FL0WER_PUBKEY_LEN];
    struct totals t;
    uint8_t *seen; /* seen[seq] = 1 once stored (bounded by max_seq) */
    size_t seen_cap;
};

#define FIELDS(X)                                                                                 \
    X(batches) X(records) X(bytes) X(packets) X(flows) X(scaled_bytes) X(scaled_packets)          \
    X(duplicates) X(lost_out_of_order) X(rejected) X(requests) X(last_seq) X(exporter_rows)       \
    X(interface_rows) X(report_records_dropped) X(report_records_sent) X(report_packets)

static int save_state(const struct receiver *r)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", r->state_path);
    /* "r+": rewrite the swapped-out file without truncating it to 0 first (ext4 starts
     * writeback at close after such a truncate); cut to the new length below. */
    FILE *f = fopen(tmp, "r+");
    if (!f)
        f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "{");
    const char *sep = "";
#define X(name)                                                                                   \
    fprintf(f, "%s\"" #name "\":%" PRIu64, sep, r->t.name);                                       \
    sep = ",";
    FIELDS(X)
#undef X
    fprintf(f, ",\"seen\":[");
    sep = "";
    for (size_t i = 0; i < r->seen_cap; i++) {
        if (r->seen[i]) {
            fprintf(f, "%s%zu", sep, i);
            sep = ",";
        }
    }
    fprintf(f, "]}\n");
    long end = ftell(f);
    if (fflush(f) != 0 || end < 0 || ftruncate(fileno(f), (off_t)end) != 0) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0)
        return -1;
    /* Swap: FILE gets the new state at once, FILE.tmp keeps the old one's inode for the next
     * save. Before FILE exists (ENOENT) or where swapping is not supported: a plain rename. */
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, r->state_path, RENAME_EXCHANGE) == 0)
        return 0;
    return rename(tmp, r->state_path);
}

static int mark_seen(struct receiver *r, uint64_t seq)
{
    if (seq >= r->seen_cap) {
        size_t ncap = r->seen_cap ? r->seen_cap : 1024;
        while (ncap <= seq)
            ncap *= 2;
        uint8_t *n = realloc(r->seen, ncap);
        if (!n)
            return -1;
        memset(n + r->seen_cap, 0, ncap - r->seen_cap);
        r->seen = n;
        r->seen_cap = ncap;
    }
    r->seen[seq] = 1;
    return 0;
}

/* Reads a state file written by save_state() (our own format). Absent file: fresh state. */
static void load_state(struct receiver *r)
{
    FILE *f = fopen(r->state_path, "r");
    if (!f)
        return;
    static char text[1 << 22];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
#define X(name)                                                                                   \
    {                                                                                             \
        const char *p = strstr(text, "\"" #name "\":");                                           \
        if (p)                                                                                    \
            r->t.name = strtoull(p + strlen("\"" #name "\":"), NULL, 10);                         \
    }
    FIELDS(X)
#undef X
    const char *p = strstr(text, "\"seen\":[");
    if (!p)
        return;
    p += 8;
    while (*p && *p != ']') {
        char *end;
        uint64_t v = strtoull(p, &end, 10);
        if (end == p)
            break;
        mark_seen(r, v);
        p = (*end == ',') ? end + 1 : end;
    }
}

/* Checks and stores one batch; returns the ack status. */
static enum fl0wer_ack_status handle_batch(struct receiver *r, const uint8_t *buf, size_t len,
                                           uint64_t *seq_out)
{
    uint8_t pk[FL0WER_PUBKEY_LEN];
    struct fl0wer_batch b;
    *seq_out = 0;
    if (fl0wer_batch_peek_key(buf, len, pk) != 0 || memcmp(pk, r->pk, sizeof(pk)) != 0 ||
        fl0wer_batch_verify(buf, len, pk) != 0 || fl0wer_batch_parse(buf, len, &b) != 0) {
        r->t.rejected++;
        fprintf(stderr, "receiver: rejected a batch of %zu bytes\n", len);
        return FL0WER_ACK_REJECTED;
    }
    *seq_out = b.seq;
    if (b.seq <= r->t.last_seq) {
        r->t.duplicates++;
        if (b.seq >= r->seen_cap || !r->seen[b.seq])
            r->t.lost_out_of_order++;
        fl0wer_batch_release(&b);
        return FL0WER_ACK_DUPLICATE;
    }
    r->t.last_seq = b.seq;
    mark_seen(r, b.seq);
    r->t.batches++;
    r->t.records += b.flow_count;
    for (size_t i = 0; i < b.flow_count; i++) {
        const struct fl0wer_flow *f = &b.flows[i];
        uint64_t s = f->sampling ? f->sampling : 1;
        r->t.bytes += f->bytes;
        r->t.packets += f->packets;
        r->t.flows += f->flows;
        r->t.scaled_bytes += f->bytes * s;
        r->t.scaled_packets += f->packets * s;
    }
    r->t.exporter_rows += b.exporter_count;
    r->t.interface_rows += b.interface_count;
    r->t.report_records_dropped = b.report.records_dropped;
    r->t.report_records_sent = b.report.records_sent;
    r->t.report_packets = b.report.packets_received;
    fl0wer_batch_release(&b);
    return FL0WER_ACK_STORED;
}

/* Listens on url; for tls+tcp:// with the server certificate and key from one PEM file. */
static int listen_on(nng_socket sock, const char *url, const char *tls_pem)
{
    nng_listener l;
    nng_tls_config *cfg = NULL;
    int rv = nng_listener_create(&l, sock, url);
    if (rv == 0 && tls_pem) {
        if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) == 0 &&
            (rv = nng_tls_config_cert_key_file(cfg, tls_pem, NULL)) == 0)
            rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg);
        if (cfg)
            nng_tls_config_free(cfg); /* the listener holds its own reference */
    }
    if (rv == 0)
        rv = nng_listener_start(l, 0);
    return rv;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *key_path = NULL, *tls_pem = NULL;
    uint64_t no_ack_every = 0, retry_every = 0, exit_after = 0, store_no_ack_every = 0;
    struct receiver r;
    memset(&r, 0, sizeof(r));
    if (argc == 4 && !strcmp(argv[1], "--keygen")) { /* test setup: write an edge key file */
        struct fl0wer_edge_key k;
        if (fl0wer_edge_key_generate(&k, argv[3]) != 0 || fl0wer_edge_key_save(&k, argv[2]) != 0) {
            fprintf(stderr, "receiver: cannot write key %s\n", argv[2]);
            return 1;
        }
        return 0;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url"))
            url = argv[i + 1];
        else if (!strcmp(argv[i], "--key"))
            key_path = argv[i + 1];
        else if (!strcmp(argv[i], "--state"))
            r.state_path = argv[i + 1];
        else if (!strcmp(argv[i], "--no-ack-every"))
            no_ack_every = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--retry-every"))
            retry_every = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--store-no-ack-every"))
            store_no_ack_every = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--tls-cert-key"))
            tls_pem = argv[i + 1];
        else if (!strcmp(argv[i], "--exit-after"))
            exit_after = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "receiver: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    struct fl0wer_edge_key key;
    if (!url || !key_path || !r.state_path || fl0wer_edge_key_load(&key, key_path) != 0) {
        fprintf(stderr, "usage: fl0wer-test-receiver --url URL --key EDGE_KEY --state FILE\n");
        return 2;
    }
    memcpy(r.pk, key.pk, sizeof(r.pk));
    load_state(&r);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    nng_socket sock;
    int rv;
    if ((rv = nng_rep0_open(&sock)) != 0 ||
        (rv = nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 100)) != 0 ||
        (rv = nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, FL0WER_BATCH_MAX_LEN + 1024)) != 0 ||
        (rv = listen_on(sock, url, tls_pem)) != 0) {
        fprintf(stderr, "receiver: listen %s: %s\n", url, nng_strerror(rv));
        return 1;
    }
    save_state(&r);
    fprintf(stderr, "receiver: listening on %s\n", url);
    uint64_t stored_now = 0;
    for (;;) {
        struct timespec zero = {0, 0};
        if (sigtimedwait(&set, NULL, &zero) > 0)
            break;
        nng_msg *m;
        rv = nng_recvmsg(sock, &m, 0);
        if (rv == NNG_ETIMEDOUT)
            continue;
        if (rv != 0) {
            fprintf(stderr, "receiver: recv: %s\n", nng_strerror(rv));
            break;
        }
        r.t.requests++;
        if (no_ack_every && r.t.requests % no_ack_every == 0) {
            nng_msg_free(m); /* no reply: the edge must time out and resend */
            save_state(&r);
            continue;
        }
        uint64_t seq = 0;
        enum fl0wer_ack_status st;
        if (retry_every && r.t.requests % retry_every == 0) {
            st = FL0WER_ACK_RETRY;
            struct fl0wer_batch b;
            if (fl0wer_batch_parse(nng_msg_body(m), nng_msg_len(m), &b) == 0) {
                seq = b.seq;
                fl0wer_batch_release(&b);
            }
        } else {
            st = handle_batch(&r, nng_msg_body(m), nng_msg_len(m), &seq);
        }
        if (store_no_ack_every && r.t.requests % store_no_ack_every == 0) {
            nng_msg_free(m); /* stored but the ack is "lost": the resend must be a duplicate */
            save_state(&r);
            continue;
        }
        if (save_state(&r) != 0)
            fprintf(stderr, "receiver: cannot write %s: %s\n", r.state_path, strerror(errno));
        nng_msg_clear(m);
        uint8_t ack[FL0WER_ACK_LEN];
        fl0wer_ack_encode(ack, st, seq);
        nng_msg_append(m, ack, sizeof(ack));
        if ((rv = nng_sendmsg(sock, m, 0)) != 0) {
            nng_msg_free(m);
            fprintf(stderr, "receiver: send ack: %s\n", nng_strerror(rv));
        }
        if (st == FL0WER_ACK_STORED && exit_after && ++stored_now >= exit_after) {
            nng_msleep(50);
            break;
        }
    }
    nng_close(sock);
    save_state(&r);
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", r.state_path);
    unlink(tmp); /* the swapped-out previous state */
    free(r.seen);
    return 0;
}
