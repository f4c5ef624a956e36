/*
 * run.c - the decode run of fl0wer-decode: every file through one capture reader at a time and
 * one decoder, flows out as NDJSON or counted into the summary.
 */
#include <inttypes.h>
#include <string.h>

#include "decode_tool.h"
#include "fl0wer/decode.h"

struct run_ctx {
    FILE *out;
    int summary;
    uint64_t records;
    uint64_t bytes;
    uint64_t packets;
    char json[FL0WER_FLOW_JSON_MAX];
};

/* Flow sink: counts each flow and, unless summarising, prints it as one JSON line. */
static int on_flows(void *arg, const struct fl0wer_flow *flows, size_t count)
{
    struct run_ctx *r = arg;
    size_t i;

    for (i = 0; i < count; i++) {
        r->records++;
        r->bytes += flows[i].bytes;
        r->packets += flows[i].packets;
        if (!r->summary && fl0wer_flow_to_json(&flows[i], r->json, sizeof(r->json)) >= 0) {
            fputs(r->json, r->out);
            fputc('\n', r->out);
        }
    }
    return 0;
}

/* Feeds one file to the decoder. Returns 0, or -1 after printing why the file failed. */
static int decode_file(struct fl0wer_decoder *d, const struct decode_tool_opts *o,
                       const char *path, struct run_ctx *r, FILE *err)
{
    struct fl0wer_capture *cap;
    struct fl0wer_datagram dg;
    struct fl0wer_source src;
    char errbuf[256];
    int rc;

    if (fl0wer_capture_open(&cap, path, o->ports, o->n_ports, errbuf) != 0) {
        fprintf(err, "fl0wer-decode: %s\n", errbuf);
        return -1;
    }
    while ((rc = fl0wer_capture_next(cap, &dg, errbuf)) == 1) {
        memcpy(src.addr, dg.src_addr, sizeof(src.addr));
        src.port = dg.src_port;
        src.recv_ms = dg.ts_ms;
        /* Errors are counted by the decoder and reported in the summary; go on. */
        (void)fl0wer_decode_packet(d, &src, dg.payload, dg.len, on_flows, r);
    }
    if (rc < 0)
        fprintf(err, "fl0wer-decode: %s: %s\n", path, errbuf);
    fl0wer_capture_close(cap);
    return rc < 0 ? -1 : 0;
}

static void print_summary(const struct fl0wer_decoder *d, const struct run_ctx *r)
{
    struct fl0wer_decoder_totals t;

    fl0wer_decoder_totals(d, &t);
    fprintf(r->out,
            "{\"messages\":%" PRIu64 ",\"records\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"packets\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
            t.messages, r->records, r->bytes, r->packets, t.errors);
}

int decode_tool_run(const struct decode_tool_opts *o, FILE *out, FILE *err)
{
    struct fl0wer_decoder_config cfg;
    struct fl0wer_decoder *d;
    struct run_ctx r;
    int exit_code = DECODE_TOOL_EXIT_OK;
    size_t i;
    int rc;

    memset(&cfg, 0, sizeof(cfg));
    cfg.template_timeout_s = o->template_timeout_s;
    rc = fl0wer_decoder_create(&d, &cfg);
    if (rc != 0) {
        fprintf(err, "fl0wer-decode: cannot create decoder: %s\n", fl0wer_strerror(rc));
        return DECODE_TOOL_EXIT_INPUT;
    }
    memset(&r, 0, sizeof(r));
    r.out = out;
    r.summary = o->summary;
    for (i = 0; i < o->n_files; i++)
        if (decode_file(d, o, o->files[i], &r, err) != 0)
            exit_code = DECODE_TOOL_EXIT_INPUT;
    fl0wer_decoder_flush_held(d);
    if (o->summary)
        print_summary(d, &r);
    if (fflush(out) != 0 || ferror(out)) {
        fprintf(err, "fl0wer-decode: cannot write output\n");
        exit_code = DECODE_TOOL_EXIT_INPUT;
    }
    fl0wer_decoder_destroy(d);
    return exit_code;
}
