/*
 * tls_session.c - the CLI's TLS session cache (tls_session.h): mbedTLS's own session
 * serialisation in a private file per hub and certificate policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "tls_session.h"

/* A session with the hub's certificate is ~1 KB; anything far larger is not ours. */
#define SESSION_FILE_MAX 16384

int httpc_session_path(const struct httpc_opts *o, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const char *parts[] = {"fl0wer-tls-session-v1", o->server ? o->server : "",
                           o->fingerprint ? o->fingerprint : "", o->cacert ? o->cacert : "",
                           o->insecure ? "insecure" : "checked"};
    mbedtls_sha256_context h;
    unsigned char d[32];
    char name[33];
    int n;

    if (!o->tls_cache_dir || !*o->tls_cache_dir)
        return -1;
    mbedtls_sha256_init(&h);
    mbedtls_sha256_starts_ret(&h, 0);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) /* each with its NUL */
        mbedtls_sha256_update_ret(&h, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    mbedtls_sha256_finish_ret(&h, d);
    mbedtls_sha256_free(&h);
    for (int i = 0; i < 16; i++) {
        name[2 * i] = hex[d[i] >> 4];
        name[2 * i + 1] = hex[d[i] & 15];
    }
    name[32] = '\0';
    n = snprintf(out, cap, "%s/tls-session-%s", o->tls_cache_dir, name);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* Reads a private regular file of ours (mode without group/other bits) into buf. */
static int read_private(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
    struct stat st;
    size_t n = 0;
    ssize_t r = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0)
        goto out_close;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    if (r < 0 || n == cap)
        goto out_close;
    close(fd);
    *len = n;
    return 0;
out_close:
    close(fd);
    return -1;
}

int httpc_session_load(const char *path, mbedtls_ssl_session *s)
{
    unsigned char buf[SESSION_FILE_MAX];
    size_t len = 0;
    int rc = -1;

    if (read_private(path, buf, sizeof(buf), &len) != 0)
        goto out_wipe;
    if (mbedtls_ssl_session_load(s, buf, len) != 0 || s->ticket_len == 0)
        goto out_wipe;
    /* the hub refuses a ticket past its lifetime, counted from the full handshake */
    time_t now = time(NULL);
    if (now < s->start || (uint64_t)(now - s->start) >= s->ticket_lifetime)
        goto out_wipe;
    rc = 0;
out_wipe:
    mbedtls_platform_zeroize(buf, len);
    return rc;
}

/* Creates dir and its missing parents, each mode 0700. Returns 0 or -1. */
static int make_dirs(char *dir)
{
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(dir, 0700);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

int httpc_session_save(const char *path, const mbedtls_ssl_context *ssl)
{
    unsigned char buf[SESSION_FILE_MAX];
    char dir[4096], tmp[4200];
    mbedtls_ssl_session s;
    size_t len = 0;
    int fd, rc = -1;
    const char *slash = strrchr(path, '/');

    mbedtls_ssl_session_init(&s);
    if (!slash || (size_t)(slash - path) >= sizeof(dir) ||
        snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
        goto out_free;
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    if (mbedtls_ssl_get_session(ssl, &s) != 0 || s.ticket_len == 0 ||
        mbedtls_ssl_session_save(&s, buf, sizeof(buf), &len) != 0)
        goto out_free;
    if (make_dirs(dir) != 0 || (fd = mkstemp(tmp)) < 0) /* mkstemp: mode 0600 */
        goto out_free;
    ssize_t w = write(fd, buf, len);
    int closed = close(fd);
    if (w != (ssize_t)len || closed != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        goto out_free;
    }
    rc = 0;
out_free:
    mbedtls_platform_zeroize(buf, len < sizeof(buf) ? len : sizeof(buf));
    mbedtls_ssl_session_free(&s);
    return rc;
}

void httpc_session_forget(const char *path)
{
    (void)unlink(path);
}
