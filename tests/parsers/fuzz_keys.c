/*
 * fuzz_keys.c - libFuzzer harness for proto/batch/keys.c's file parsers: the same bytes are
 * loaded (through a memfd) as the hub's authorized edges file and as an edge secret key file.
 * Every loaded edge must be found again by its public key with a valid name; a loaded secret
 * key must format its authorized line, which must load back to the same key and name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/keys.h"
#include "memfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_authorized(const char *path)
{
    struct fl0wer_authorized a = {NULL, 0};
    int bad = -1;
    int rc = fl0wer_authorized_load(&a, path, &bad);
    if (rc == 0) {
        for (size_t i = 0; i < a.count; i++) {
            const struct fl0wer_authorized_edge *e = fl0wer_authorized_find(&a, a.edges[i].pk);
            size_t n = strnlen(a.edges[i].name, sizeof(a.edges[i].name));
            if (!e || memcmp(e->pk, a.edges[i].pk, sizeof(e->pk)) != 0 || n == 0 ||
                n == sizeof(a.edges[i].name))
                abort();
        }
        fl0wer_authorized_release(&a);
    } else if (rc == -EINVAL && bad < 1) {
        abort();
    }
}

static void check_key(const char *path)
{
    struct fl0wer_edge_key k;
    char line[256];
    if (fl0wer_edge_key_load(&k, path) != 0)
        return;
    if (fl0wer_edge_key_authorized_line(&k, line, sizeof(line)) != 0)
        abort();
    /* The authorized line of a loaded key parses back to that key. */
    const char *p2 = memfile_put(line, strlen(line));
    struct fl0wer_authorized a = {NULL, 0};
    if (!p2 || fl0wer_authorized_load(&a, p2, NULL) != 0 || a.count != 1 ||
        memcmp(a.edges[0].pk, k.pk, sizeof(k.pk)) != 0 || strcmp(a.edges[0].name, k.name) != 0)
        abort();
    fl0wer_authorized_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = memfile_put(data, size);
    if (!path)
        return 0;
    check_authorized(path);
    check_key(path);
    return 0;
}
