/*
 * fixture.c - tests/api set-up (see fixture.h). The reference functions walk the flow array the
 * test inserted; they share no code with the API or the query engine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "fl0wer/tls_engine.h"

static void v4(uint8_t out[16], int a, int b, int c, int d)
{
    const uint8_t x[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, (uint8_t)d};
    fl0wer_addr_from_v4(out, x);
}

static void mk(struct fl0wer_flow *fl, const char *src, const char *dst, uint16_t dport,
               uint8_t proto, uint64_t bytes, uint64_t pk, uint32_t sampling, uint64_t last_off)
{
    fl0wer_flow_init(fl);
    v4(fl->exporter, 192, 0, 2, 1);
    fl0wer_addr_parse(src, fl->src_addr);
    fl0wer_addr_parse(dst, fl->dst_addr);
    fl->src_port = 40000;
    fl->dst_port = dport;
    fl->proto = proto;
    fl->bytes = bytes;
    fl->packets = pk;
    fl->sampling = sampling;
    fl->last_ms = FX_T0 + last_off;
    fl->first_ms = fl->last_ms - 5000;
    fl->domain_id = 5;
    fl->in_if = 7;
    fl->out_if = 8;
    fl->version = FL0WER_EXPORT_IPFIX;
}

static void fx_flows(struct fx *f)
{
    mk(&f->flows[0], "10.0.0.1", "192.0.2.10", 443, 6, 1000, 10, 1, 10000);
    mk(&f->flows[1], "10.0.0.1", "192.0.2.11", 80, 6, 5000, 20, 1, 70000);
    mk(&f->flows[2], "10.0.0.2", "192.0.2.10", 443, 6, 300, 3, 10, 130000);
    mk(&f->flows[3], "10.0.0.3", "198.51.100.1", 53, 17, 120, 2, 1, 135000);
    mk(&f->flows[4], "2001:db8::1", "2001:db8::2", 443, 6, 700, 7, 1, 190000);
    mk(&f->flows[5], "10.0.0.2", "192.0.2.12", 22, 6, 400, 4, 1, 250000);
}

static int fx_store_batch(struct fx *f)
{
    struct fl0wer_exporter_stats x;
    struct fl0wer_interface_info ifs[2];
    struct fl0wer_batch b;
    bool dup = false;
    memset(&x, 0, sizeof(x));
    v4(x.addr, 192, 0, 2, 1);
    x.port = 2055;
    x.domain_id = 5;
    x.version = 10;
    x.messages = 12;
    x.records = 6;
    x.bytes = 4096;
    x.sequence_gaps = 2;
    x.unknown_template = 1;
    x.templates = 3;
    x.errors[0] = 1;
    x.errors[2] = 2;
    x.last_seen_ms = FX_T0 + 250000;
    x.sampling = 10;
    memset(ifs, 0, sizeof(ifs));
    for (int i = 0; i < 2; i++) {
        v4(ifs[i].exporter, 192, 0, 2, 1);
        ifs[i].domain_id = 5;
    }
    ifs[0].ifindex = 7;
    snprintf(ifs[0].name, sizeof(ifs[0].name), "ge-0/0/1");
    snprintf(ifs[0].description, sizeof(ifs[0].description), "uplink \"A\"\\1");
    ifs[1].ifindex = 8;
    snprintf(ifs[1].name, sizeof(ifs[1].name), "ge-0/0/2");
    memset(&b, 0, sizeof(b));
    snprintf(b.edge_name, sizeof(b.edge_name), "edge-a");
    b.seq = 1;
    b.created_ms = FX_T0 + 260000;
    b.report.started_ms = FX_T0;
    b.report.packets_received = 100;
    b.report.kernel_drops = 1;
    b.report.records_decoded = 6;
    b.report.records_sent = 6;
    b.report.records_dropped = 4;
    b.report.spool_batches = 2;
    b.report.spool_bytes = 999;
    b.flows = f->flows;
    b.flow_count = FX_NFLOWS;
    b.exporters = &x;
    b.exporter_count = 1;
    b.interfaces = ifs;
    b.interface_count = 2;
    return fl0wer_store_put_batch(f->store, "edge-a", &b, &dup) == 0 && !dup ? 0 : -1;
}

int fx_setup(struct fx *f, bool insecure)
{
    struct fl0wer_store_config sc;
    struct fl0wer_api_config ac;
    char err[256];
    FILE *t;
    memset(f, 0, sizeof(*f));
    /* the API serves with the engine fl0wer-hub registers, session tickets and all */
    if (fl0wer_tls_engine_register() != 0) {
        fprintf(stderr, "fl0wer_tls_engine_register failed\n");
        return -1;
    }
    snprintf(f->dir, sizeof(f->dir), "/tmp/fl0wer-api-test-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->tokens, sizeof(f->tokens), "%s/tokens", f->dir);
    if (!(t = fopen(f->tokens, "w")))
        return -1;
    fprintf(t, "# test tokens\n\nreader read " FX_READ_TOKEN "\n  boss admin " FX_ADMIN_TOKEN
               "\n");
    fclose(t);
    fx_flows(f);
    memset(&sc, 0, sizeof(sc));
    char sp[300];
    snprintf(sp, sizeof(sp), "%s/store", f->dir);
    sc.path = sp;
    sc.retention_ms = 100ull * 365 * 86400000ull; /* the fixture's flows are from 2023 */
    sc.rollup_retention_ms = sc.retention_ms;
    if (fl0wer_store_open(&f->store, &sc, err) != 0) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    if (fx_store_batch(f) != 0) {
        fprintf(stderr, "store: put_batch failed\n");
        return -1;
    }
    memset(&ac, 0, sizeof(ac));
    ac.listen = "127.0.0.1:0";
    ac.data_dir = f->dir;
    ac.tokens_file = f->tokens;
    ac.insecure = insecure;
    ac.workers = 4;
    if (fl0wer_api_start(&f->api, &ac, f->store, NULL, err) != 0) {
        fprintf(stderr, "api: %s\n", err);
        return -1;
    }
    snprintf(f->server, sizeof(f->server), "%s://127.0.0.1:%d", insecure ? "http" : "https",
             fl0wer_api_port(f->api));
    if (!insecure)
        fl0wer_api_fingerprint(f->api, f->fingerprint, sizeof(f->fingerprint));
    return 0;
}

void fx_teardown(struct fx *f)
{
    char cmd[600];
    fl0wer_api_stop(f->api);
    if (f->store)
        fl0wer_store_close(f->store);
    if (strncmp(f->dir, "/tmp/fl0wer-api-test-", 21) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", f->dir);
    }
}

struct fx_body { char *d; size_t n; };

static int fx_collect(void *arg, const char *data, size_t len)
{
    struct fx_body *b = arg;
    char *p = realloc(b->d, b->n + len + 1);
    if (!p)
        return 1;
    memcpy(p + b->n, data, len);
    b->d = p;
    b->n += len;
    b->d[b->n] = '\0';
    return 0;
}

int fx_request(const struct fx *f, const char *method, const char *path, const char *token,
               const char *pin, int *status, char **body)
{
    struct httpc_opts o;
    struct httpc_response r;
    struct fx_body b = {NULL, 0};
    char err[512];
    memset(&o, 0, sizeof(o));
    o.server = f->server;
    o.token = token;
    o.fingerprint = f->fingerprint[0] ? (pin ? pin : f->fingerprint) : NULL;
    o.timeout_ms = 20000;
    int rc = httpc_request(&o, method, path, &r, fx_collect, &b, err, sizeof(err));
    if (rc != 0) {
        free(b.d);
        *body = strdup(err);
        return rc;
    }
    *status = r.status;
    *body = b.d ? b.d : strdup("");
    return 0;
}

int fx_get(const struct fx *f, const char *path, int *status, char **body)
{
    return fx_request(f, "GET", path, FX_READ_TOKEN, NULL, status, body);
}

struct fx_totals fx_ref_totals(const struct fx *f, uint64_t from, uint64_t to, int dst_port,
                               bool unscaled)
{
    struct fx_totals t = {0, 0, 0};
    for (int i = 0; i < FX_NFLOWS; i++) {
        const struct fl0wer_flow *fl = &f->flows[i];
        if (fl->last_ms < from || fl->last_ms >= to || (dst_port >= 0 && fl->dst_port != dst_port))
            continue;
        uint64_t k = unscaled ? 1 : fl->sampling;
        t.flows += fl->flows;
        t.bytes += fl->bytes * k;
        t.packets += fl->packets * k;
    }
    return t;
}

void fx_ref_top_srcip_json(const struct fx *f, size_t limit, char *out, size_t len)
{
    struct fx_row { char key[FL0WER_ADDR_STRLEN]; struct fx_totals t; } rows[FX_NFLOWS];
    size_t n = 0, o;
    for (int i = 0; i < FX_NFLOWS; i++) {
        char k[FL0WER_ADDR_STRLEN];
        size_t j;
        fl0wer_addr_format(f->flows[i].src_addr, k, sizeof(k));
        for (j = 0; j < n && strcmp(rows[j].key, k) != 0; j++)
            ;
        if (j == n) {
            memset(&rows[n], 0, sizeof(rows[n]));
            snprintf(rows[n++].key, sizeof(rows[0].key), "%s", k);
        }
        rows[j].t.flows += 1;
        rows[j].t.bytes += f->flows[i].bytes * f->flows[i].sampling;
        rows[j].t.packets += f->flows[i].packets * f->flows[i].sampling;
    }
    for (size_t a = 0; a < n; a++) /* selection sort: bytes desc, key asc */
        for (size_t b = a + 1; b < n; b++)
            if (rows[b].t.bytes > rows[a].t.bytes ||
                (rows[b].t.bytes == rows[a].t.bytes && strcmp(rows[b].key, rows[a].key) < 0)) {
                struct fx_row tmp = rows[a];
                rows[a] = rows[b];
                rows[b] = tmp;
            }
    o = (size_t)snprintf(out, len, "{\"by\":\"srcip\",\"order\":\"bytes\",\"rows\":[");
    for (size_t i = 0; i < n && i < limit; i++)
        o += (size_t)snprintf(out + o, len - o,
                              "%s{\"key\":\"%s\",\"flows\":%llu,\"bytes\":%llu,\"packets\":%llu}",
                              i ? "," : "", rows[i].key, (unsigned long long)rows[i].t.flows,
                              (unsigned long long)rows[i].t.bytes,
                              (unsigned long long)rows[i].t.packets);
    snprintf(out + o, len - o, "]}");
}
