/*
 * fuzz_configs.c - libFuzzer harness for the three configuration file parsers, each fed the
 * same bytes: fl0wer-hub's --config file (hub/daemon/config.c), fl0wer-edge's --config file
 * (edge/core/config.c), both through a memfd path, and the `fl0wer` CLI's config file
 * (tools/fl0wer/config.c, cli_config_read on a memory stream). Checks that a failure says why
 * and that accepted settings stay within their documented bounds, and one metamorphic property:
 * the input's first line turned into a comment ("#" + line) may make a parser fail (a NUL byte,
 * an overlong line) but never change what it accepts, compared with the input without that
 * line. (Reading lines in fixed-size pieces used to apply a long comment's tail as a setting.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../edge/core/config.h"
#include "../../hub/daemon/config.h"
#include "cli.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* True when two loaded hub configurations are the same. */
static bool hub_equal(const struct hub_config *a, const struct hub_config *b)
{
    if (a->listen_count != b->listen_count)
        return false;
    for (size_t i = 0; i < a->listen_count; i++)
        if (!str_eq(a->listen[i], b->listen[i]))
            return false;
    return str_eq(a->tls_cert, b->tls_cert) && str_eq(a->tls_key, b->tls_key) &&
           str_eq(a->authorized, b->authorized) && str_eq(a->data, b->data) &&
           str_eq(a->api, b->api) && str_eq(a->api_cert, b->api_cert) &&
           str_eq(a->api_key, b->api_key) && str_eq(a->api_tokens, b->api_tokens) &&
           str_eq(a->ready_file, b->ready_file) && str_eq(a->blocklist, b->blocklist) &&
           str_eq(a->webhook, b->webhook) && str_eq(a->webhook_ca, b->webhook_ca) &&
           a->retention_ms == b->retention_ms &&
           a->rollup_retention_ms == b->rollup_retention_ms &&
           a->max_disk_bytes == b->max_disk_bytes && a->gc_interval_ms == b->gc_interval_ms &&
           a->contexts == b->contexts && a->workers == b->workers &&
           a->order_wait_ms == b->order_wait_ms && a->api_insecure == b->api_insecure &&
           a->no_api == b->no_api && a->no_analyzer == b->no_analyzer &&
           a->alert_syslog == b->alert_syslog && a->analyzer_window_ms == b->analyzer_window_ms &&
           a->scan_ports == b->scan_ports && a->scan_hosts == b->scan_hosts &&
           a->flood_pps == b->flood_pps && a->flood_sources == b->flood_sources &&
           a->silent_after_ms == b->silent_after_ms;
}

/* Loads data as the hub's config file into cfg (release it either way). Returns 0 or -1. */
static int load_hub(struct hub_config *cfg, const uint8_t *data, size_t size)
{
    char err[HUB_ERRLEN];
    const char *path = memfile_put(data, size);
    char *argv[] = {"fl0wer-hub", "--config", (char *)path, NULL};
    memset(cfg, 0, sizeof(*cfg));
    if (!path)
        return -1;
    if (hub_config_load(cfg, 3, argv, NULL, err) == 0) {
        if (cfg->listen_count > HUB_MAX_LISTEN || cfg->retention_ms < 60000 ||
            cfg->contexts > 4096 || cfg->workers > 4096)
            abort();
        for (size_t i = 0; i < cfg->listen_count; i++)
            if (!cfg->listen[i])
                abort();
        return 0;
    }
    if (err[0] == '\0' || !memchr(err, '\0', sizeof(err)))
        abort();
    return -1;
}

/* Loads data as the edge's config file into *cfg. Returns 0 or -1. */
static int load_edge(struct edge_config *cfg, const uint8_t *data, size_t size, FILE *devnull)
{
    char err[512] = "";
    const char *path = memfile_put(data, size);
    char *argv[] = {"fl0wer-edge", "--config", (char *)path, NULL};
    if (!path)
        return -1;
    int rc = edge_config_parse(cfg, 3, argv, NULL, devnull, err, sizeof(err));
    if (rc == 0) {
        if (cfg->n_listen < 1 || cfg->n_listen > EDGE_MAX_LISTEN || cfg->bucket_s < 1 ||
            cfg->bucket_s > 3600 || cfg->inflight < 1 || cfg->inflight > 64 || cfg->workers > 256)
            abort();
        for (unsigned i = 0; i < cfg->n_listen; i++)
            if (cfg->listen[i].addr_len == 0 || !memchr(cfg->listen[i].text, '\0', 128))
                abort();
        return 0;
    }
    if (rc < 0 && err[0] == '\0')
        abort();
    return -1;
}

/* Reads data as the CLI's config file into c (cli_release it either way). Returns 0 or -1. */
static int load_cli(struct cli *c, const uint8_t *data, size_t size, FILE *devnull)
{
    cli_init(c, "fuzz");
    if (size == 0)
        return 0;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return -1;
    int rc = cli_config_read(c, f, "fuzz.conf", devnull);
    fclose(f);
    if (rc == 0 && c->n_owned > 4)
        abort();
    return rc;
}

static bool cli_equal(const struct cli *a, const struct cli *b)
{
    return str_eq(a->http.server, b->http.server) && str_eq(a->http.token, b->http.token) &&
           str_eq(a->http.fingerprint, b->http.fingerprint) &&
           str_eq(a->http.cacert, b->http.cacert) && a->http.insecure == b->http.insecure;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    static struct edge_config e1, e2; /* ~60 KB each: kept off the stack */
    struct hub_config h1, h2;
    struct cli c1, c2;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        return 0;
    /* commented = "#" + data: its first line is a comment; rest = data after that line. */
    const uint8_t *nl = memchr(data, '\n', size);
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rest_len = (size_t)(data + size - rest);
    uint8_t *commented = malloc(size + 1);
    if (!commented)
        return 0;
    commented[0] = '#';
    memcpy(commented + 1, data, size);

    int r1 = load_hub(&h1, commented, size + 1), r2 = load_hub(&h2, rest, rest_len);
    if (r1 == 0 && (r2 != 0 || !hub_equal(&h1, &h2)))
        abort(); /* a comment changed the hub's configuration */
    hub_config_release(&h1);
    hub_config_release(&h2);
    (void)load_hub(&h1, data, size);
    hub_config_release(&h1);

    r1 = load_edge(&e1, commented, size + 1, devnull);
    r2 = load_edge(&e2, rest, rest_len, devnull);
    if (r1 == 0 && (r2 != 0 || memcmp(&e1, &e2, sizeof(e1)) != 0))
        abort(); /* a comment changed the edge's configuration */
    (void)load_edge(&e1, data, size, devnull);

    r1 = load_cli(&c1, commented, size + 1, devnull);
    r2 = load_cli(&c2, rest, rest_len, devnull);
    if (r1 == 0 && (r2 != 0 || !cli_equal(&c1, &c2)))
        abort(); /* a comment changed the CLI's configuration */
    cli_release(&c1);
    cli_release(&c2);
    (void)load_cli(&c1, data, size, devnull);
    cli_release(&c1);
    free(commented);
    return 0;
}
