/*
 * keys.c - edge Ed25519 key files and the hub's authorized edges file (keys.h), with libsodium.
 */
#include "fl0wer/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_FILE_MAX    4096 /* a key file is ~150 bytes; anything larger is malformed */
#define AUTH_LINE_MAX   1024
#define B64_VARIANT     sodium_base64_VARIANT_ORIGINAL

/* True when name is 1-63 characters of [A-Za-z0-9._-]. */
static bool keys_name_valid(const char *name, size_t len)
{
    if (len == 0 || len >= FL0WER_EDGE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

/* Decodes exactly want bytes of base64 (original variant, padded) from text[0, len). */
static int keys_b64_decode(const char *text, size_t len, uint8_t *out, size_t want)
{
    uint8_t tmp[FL0WER_SECKEY_LEN + 4];
    size_t got = 0;
    const char *end = NULL;
    if (want > FL0WER_SECKEY_LEN)
        return -1;
    if (sodium_base642bin(tmp, sizeof(tmp), text, len, NULL, &got, &end, B64_VARIANT) != 0)
        return -1;
    if (end != text + len || got != want) {
        sodium_memzero(tmp, sizeof(tmp));
        return -1;
    }
    memcpy(out, tmp, want);
    sodium_memzero(tmp, sizeof(tmp));
    return 0;
}

int fl0wer_edge_key_generate(struct fl0wer_edge_key *key, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (!keys_name_valid(name, len))
        return -1;
    if (sodium_init() < 0)
        return -1;
    memset(key, 0, sizeof(*key));
    memcpy(key->name, name, len);
    crypto_sign_keypair(key->pk, key->sk);
    return 0;
}

/* Writes all of buf to fd, retrying short writes. Returns 0 or -errno. */
static int keys_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int fl0wer_edge_key_save(const struct fl0wer_edge_key *key, const char *path)
{
    char b64[sodium_base64_ENCODED_LEN(FL0WER_SECKEY_LEN, B64_VARIANT)];
    char text[256];
    int rc = 0;
    if (!keys_name_valid(key->name, strnlen(key->name, sizeof(key->name))))
        return -EINVAL;
    if (sodium_init() < 0)
        return -EIO;
    sodium_bin2base64(b64, sizeof(b64), key->sk, FL0WER_SECKEY_LEN, B64_VARIANT);
    int n = snprintf(text, sizeof(text), "fl0wer-edge-key 1\nname %s\nsecret %s\n", key->name,
                     b64);
    sodium_memzero(b64, sizeof(b64));
    if (n < 0 || (size_t)n >= sizeof(text)) {
        rc = -EINVAL;
        goto out_wipe;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out_wipe;
    }
    /* The umask can only remove bits; make sure nothing else was added either. */
    if (fchmod(fd, 0600) != 0)
        rc = -errno;
    if (rc == 0)
        rc = keys_write_all(fd, text, (size_t)n);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0)
        unlink(path);
out_wipe:
    sodium_memzero(text, sizeof(text));
    return rc;
}

/* Reads the whole (small) file at path into buf (NUL-terminated). Returns its length or -errno. */
static ssize_t keys_read_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t used = 0;
    ssize_t rc = 0;
    for (;;) {
        if (used == cap - 1) {
            rc = -EINVAL; /* too large to be a key file */
            break;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    if (rc < 0)
        return rc;
    buf[used] = '\0';
    return (ssize_t)used;
}

/*
 * Takes the next '\n'-terminated line from *cur (which must end before end) and checks that it
 * is "PREFIX VALUE" exactly. Sets *val and *vlen to the value. Returns 0 or -1.
 */
static int keys_take_line(const char **cur, const char *end, const char *prefix,
                          const char **val, size_t *vlen)
{
    const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
    size_t plen = strlen(prefix);
    if (!nl)
        return -1;
    size_t llen = (size_t)(nl - *cur);
    if (llen <= plen || memcmp(*cur, prefix, plen) != 0)
        return -1;
    *val = *cur + plen;
    *vlen = llen - plen;
    *cur = nl + 1;
    return 0;
}

int fl0wer_edge_key_load(struct fl0wer_edge_key *key, const char *path)
{
    char *text = malloc(KEY_FILE_MAX);
    struct fl0wer_edge_key k;
    const char *val;
    size_t vlen;
    uint8_t pk[FL0WER_PUBKEY_LEN];
    int rc = -EINVAL;
    if (!text)
        return -ENOMEM;
    memset(&k, 0, sizeof(k));
    ssize_t n = keys_read_file(path, text, KEY_FILE_MAX);
    if (n < 0) {
        rc = (int)n;
        goto out_free;
    }
    if (sodium_init() < 0) {
        rc = -EIO;
        goto out_free;
    }
    const char *cur = text, *end = text + n;
    if (strlen(text) != (size_t)n) /* embedded NUL */
        goto out_free;
    if (keys_take_line(&cur, end, "fl0wer-edge-key ", &val, &vlen) != 0 || vlen != 1 ||
        val[0] != '1')
        goto out_free;
    if (keys_take_line(&cur, end, "name ", &val, &vlen) != 0 || !keys_name_valid(val, vlen))
        goto out_free;
    memcpy(k.name, val, vlen);
    if (keys_take_line(&cur, end, "secret ", &val, &vlen) != 0 ||
        keys_b64_decode(val, vlen, k.sk, FL0WER_SECKEY_LEN) != 0)
        goto out_free;
    if (cur != end) /* trailing content */
        goto out_free;
    /* The libsodium secret key is seed || pk: the embedded pk must match the seed's. */
    uint8_t seed[crypto_sign_SEEDBYTES], sk2[FL0WER_SECKEY_LEN];
    crypto_sign_ed25519_sk_to_seed(seed, k.sk);
    crypto_sign_seed_keypair(pk, sk2, seed);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(sk2, sizeof(sk2));
    crypto_sign_ed25519_sk_to_pk(k.pk, k.sk);
    if (sodium_memcmp(pk, k.pk, FL0WER_PUBKEY_LEN) != 0)
        goto out_free;
    *key = k;
    rc = 0;
out_free:
    sodium_memzero(&k, sizeof(k));
    sodium_memzero(text, KEY_FILE_MAX);
    free(text);
    return rc;
}

int fl0wer_edge_key_authorized_line(const struct fl0wer_edge_key *key, char *buf, size_t len)
{
    char b64[sodium_base64_ENCODED_LEN(FL0WER_PUBKEY_LEN, B64_VARIANT)];
    if (!keys_name_valid(key->name, strnlen(key->name, sizeof(key->name))))
        return -EINVAL;
    if (sodium_init() < 0)
        return -EIO;
    sodium_bin2base64(b64, sizeof(b64), key->pk, FL0WER_PUBKEY_LEN, B64_VARIANT);
    int n = snprintf(buf, len, "ed25519 %s %s", b64, key->name);
    if (n < 0 || (size_t)n >= len)
        return -ENOSPC;
    return 0;
}

/* Parses one authorized line (no newline, NUL-terminated, may be modified). 1 = entry,
 * 0 = blank/comment, -1 = malformed. */
static int keys_parse_auth_line(char *line, struct fl0wer_authorized_edge *e)
{
    char *p = line;
    while (*p == ' ' || *p == '\t' || *p == '\r')
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
        p[--len] = '\0';
    char *fields[3];
    int nf = 0;
    char *save = NULL;
    for (char *tok = strtok_r(p, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (nf == 3)
            return -1;
        fields[nf++] = tok;
    }
    if (nf != 3 || strcmp(fields[0], "ed25519") != 0)
        return -1;
    memset(e, 0, sizeof(*e));
    if (keys_b64_decode(fields[1], strlen(fields[1]), e->pk, FL0WER_PUBKEY_LEN) != 0)
        return -1;
    size_t nlen = strlen(fields[2]);
    if (!keys_name_valid(fields[2], nlen))
        return -1;
    memcpy(e->name, fields[2], nlen);
    return 1;
}

int fl0wer_authorized_load(struct fl0wer_authorized *out, const char *path, int *bad_line)
{
    struct fl0wer_authorized a = {0};
    size_t cap = 0, linecap = 0;
    char *line = NULL;
    ssize_t len;
    int rc = 0, lineno = 0;
    if (bad_line)
        *bad_line = 0;
    if (sodium_init() < 0)
        return -EIO;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        /* Overlong lines and embedded NULs are malformed, not silently cut. */
        if (len > AUTH_LINE_MAX || strlen(line) != (size_t)len) {
            rc = -EINVAL;
            break;
        }
        struct fl0wer_authorized_edge e;
        int r = keys_parse_auth_line(line, &e);
        if (r < 0) {
            rc = -EINVAL;
            break;
        }
        if (r == 0)
            continue;
        if (a.count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *p = realloc(a.edges, ncap * sizeof(*a.edges));
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            a.edges = p;
            cap = ncap;
        }
        a.edges[a.count++] = e;
    }
    if (rc == 0 && ferror(f))
        rc = -EIO;
    free(line);
    fclose(f);
    if (rc != 0) {
        if (rc == -EINVAL && bad_line)
            *bad_line = lineno;
        free(a.edges);
        return rc;
    }
    *out = a;
    return 0;
}

const struct fl0wer_authorized_edge *fl0wer_authorized_find(const struct fl0wer_authorized *a,
                                                            const uint8_t pk[FL0WER_PUBKEY_LEN])
{
    for (size_t i = 0; i < a->count; i++)
        if (sodium_memcmp(a->edges[i].pk, pk, FL0WER_PUBKEY_LEN) == 0)
            return &a->edges[i];
    return NULL;
}

void fl0wer_authorized_release(struct fl0wer_authorized *a)
{
    if (!a)
        return;
    free(a->edges);
    a->edges = NULL;
    a->count = 0;
}
