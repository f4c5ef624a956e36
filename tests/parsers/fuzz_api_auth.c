/*
 * fuzz_api_auth.c - libFuzzer harness for hub/api/auth.c: the input's first line is an
 * Authorization header value, the rest a tokens file ("NAME ROLE TOKEN" lines) loaded through a
 * memfd. The header is checked against the loaded table and against a fixed one. A load that
 * succeeds has at least one entry with a valid name; one that fails says why.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api_int.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks header against a table of one read token "readtoken1". */
static void check_fixed(const char *header)
{
    struct api_token t;
    struct api_tokens tab = {&t, 1};
    memset(&t, 0, sizeof(t));
    crypto_generichash(t.hash, sizeof(t.hash), (const unsigned char *)"readtoken1", 10, NULL, 0);
    int role = api_tokens_check(&tab, header);
    if (role < -1 || role > 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : size;
    char *header = malloc(hlen + 1);
    char errbuf[256] = "";
    struct api_tokens tok = {NULL, 0};
    if (!header)
        return 0;
    memcpy(header, data, hlen);
    header[hlen] = '\0';
    check_fixed(header);

    const char *path = nl ? memfile_put(nl + 1, size - hlen - 1) : memfile_put("", 0);
    if (path && api_tokens_load(path, &tok, errbuf) == 0) {
        if (tok.n == 0)
            abort();
        for (size_t i = 0; i < tok.n; i++)
            if (tok.v[i].name[0] == '\0' || !memchr(tok.v[i].name, '\0', sizeof(tok.v[i].name)))
                abort();
        int role = api_tokens_check(&tok, header);
        if (role < -1 || role > 1)
            abort();
        api_tokens_release(&tok);
    } else if (path && (errbuf[0] == '\0' || !memchr(errbuf, '\0', sizeof(errbuf)))) {
        abort();
    }
    free(header);
    return 0;
}
