/*
 * fixture.h - shared set-up for tests/api: a temp directory with a tokens file, a real RocksDB
 * store holding a known batch of flows (plus exporter, interface and edge metadata), and the API
 * served over HTTPS (self-signed certificate) on 127.0.0.1 with a free port. Also: HTTPS GETs
 * through the CLI's client, and reference answers computed from the inserted flows.
 */
#ifndef FL0WER_TEST_API_FIXTURE_H
#define FL0WER_TEST_API_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fl0wer/api.h"
#include "fl0wer/flow.h"
#include "fl0wer/store.h"
#include "http_client.h"

#define FX_READ_TOKEN  "read-token-0123456789abcdef"
#define FX_ADMIN_TOKEN "admin-token-0123456789abcdef"
#define FX_T0          1699999980000ull /* 2023-11-14T22:13:00Z, a whole minute */
#define FX_FROM        FX_T0
#define FX_TO          (FX_T0 + 300000ull)
#define FX_NFLOWS      6

struct fx {
    char dir[256];
    char tokens[300];
    char server[64];
    char fingerprint[FL0WER_API_FINGERPRINT_LEN];
    struct fl0wer_store *store;
    struct fl0wer_api *api;
    struct fl0wer_flow flows[FX_NFLOWS];
};

/* Creates everything; insecure serves plain HTTP. Returns 0 or -1 (message printed). */
int fx_setup(struct fx *f, bool insecure);
void fx_teardown(struct fx *f);

/* GET (or method) path with token (NULL: none) and pin (NULL: the fixture's fingerprint).
 * Returns the httpc result; *status and malloc'd *body (NUL-terminated) on success. */
int fx_request(const struct fx *f, const char *method, const char *path, const char *token,
               const char *pin, int *status, char **body);
int fx_get(const struct fx *f, const char *path, int *status, char **body);

/* Reference totals over the inserted flows in [from, to), optionally only dst_port == port
 * (port < 0: all), scaled by sampling unless unscaled. */
struct fx_totals { uint64_t flows, bytes, packets; };
struct fx_totals fx_ref_totals(const struct fx *f, uint64_t from, uint64_t to, int dst_port,
                               bool unscaled);
/* Reference top rows by source address, ordered by bytes (ties by key), as API JSON. */
void fx_ref_top_srcip_json(const struct fx *f, size_t limit, char *out, size_t len);

#endif
