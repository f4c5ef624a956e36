/*
 * fuzz_configs.c - libFuzzer harness for the three configuration file parsers, each fed the
 * same bytes: fl0wer-hub's --config file (hub/daemon/config.c), fl0wer-edge's --config file
 * (edge/core/config.c), both through a memfd path, and the `fl0wer` CLI's config file
 * (tools/fl0wer/config.c, cli_config_read on a memory stream). Checks that a failure says why
 * and that accepted settings stay within their documented bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../edge/core/config.h"
#include "../../hub/daemon/config.h"
#include "cli.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hub(const char *path)
{
    struct hub_config cfg;
    char err[HUB_ERRLEN];
    char *argv[] = {"fl0wer-hub", "--config", (char *)path, NULL};
    if (hub_config_load(&cfg, 3, argv, NULL, err) == 0) {
        if (cfg.listen_count > HUB_MAX_LISTEN || cfg.retention_ms < 60000 ||
            cfg.contexts > 4096 || cfg.workers > 4096)
            abort();
        for (size_t i = 0; i < cfg.listen_count; i++)
            if (!cfg.listen[i])
                abort();
    } else if (err[0] == '\0' || !memchr(err, '\0', sizeof(err))) {
        abort();
    }
    hub_config_release(&cfg);
}

static void check_edge(const char *path, FILE *devnull)
{
    static struct edge_config cfg; /* ~60 KB: kept off the stack */
    char err[512] = "";
    char *argv[] = {"fl0wer-edge", "--config", (char *)path, NULL};
    int rc = edge_config_parse(&cfg, 3, argv, NULL, devnull, err, sizeof(err));
    if (rc == 0) {
        if (cfg.n_listen < 1 || cfg.n_listen > EDGE_MAX_LISTEN || cfg.bucket_s < 1 ||
            cfg.bucket_s > 3600 || cfg.inflight < 1 || cfg.inflight > 64 || cfg.workers > 256)
            abort();
        for (unsigned i = 0; i < cfg.n_listen; i++)
            if (cfg.listen[i].addr_len == 0 || !memchr(cfg.listen[i].text, '\0', 128))
                abort();
    } else if (rc < 0 && err[0] == '\0') {
        abort();
    }
}

static void check_cli(const uint8_t *data, size_t size, FILE *devnull)
{
    struct cli c;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return;
    cli_init(&c, "fuzz");
    if (cli_config_read(&c, f, "fuzz.conf", devnull) == 0 && c.n_owned > 4)
        abort();
    fclose(f);
    cli_release(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    const char *path = memfile_put(data, size);
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        return 0;
    if (path) {
        check_hub(path);
        check_edge(path, devnull);
    }
    if (size > 0)
        check_cli(data, size, devnull);
    return 0;
}
