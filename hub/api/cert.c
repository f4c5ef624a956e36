/*
 * cert.c - the API's TLS material: creates the hub's self-signed ECDSA P-256 certificate with
 * mbedTLS (x509write) on first start, reads PEM files, and computes SHA-256 fingerprints of DER
 * certificates ("AB:CD:..."), which is what `fl0wer --fingerprint` pins.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "api_int.h"

/* Formats 32 digest bytes as "AB:CD:..." into buf (FL0WER_API_FINGERPRINT_LEN). */
void api_format_fingerprint(const unsigned char d[32], char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (int i = 0; i < 32 && o + 3 < len; i++) {
        if (i)
            buf[o++] = ':';
        buf[o++] = hex[d[i] >> 4];
        buf[o++] = hex[d[i] & 15];
    }
    if (len)
        buf[o < len ? o : len - 1] = '\0';
}

int fl0wer_api_cert_fingerprint(const char *cert_path, char *buf, size_t len)
{
    mbedtls_x509_crt crt;
    unsigned char d[32];
    int rc = FL0WER_API_ERR_TLS;
    mbedtls_x509_crt_init(&crt);
    if (mbedtls_x509_crt_parse_file(&crt, cert_path) != 0)
        goto out;
    if (mbedtls_sha256_ret(crt.raw.p, crt.raw.len, d, 0) != 0)
        goto out;
    api_format_fingerprint(d, buf, len);
    rc = 0;
out:
    mbedtls_x509_crt_free(&crt);
    return rc;
}

/* Writes len bytes to path (mode), via a temporary file renamed into place. Returns 0 or -errno. */
static int cert_write_file(const char *path, const unsigned char *data, size_t len, mode_t mode)
{
    char tmp[4096];
    int fd, rc = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = -errno;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

/*
 * subjectAltName for DNS:localhost, IP:127.0.0.1, IP:::1, DER-encoded (so --cacert with the
 * self-signed certificate also works for https://localhost).
 */
static const unsigned char cert_san_der[] = {
    0x30, 0x23,
    0x82, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
    0x87, 0x04, 127, 0, 0, 1,
    0x87, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

/* "YYYYMMDDhhmmss" for t in UTC. */
static void cert_time(time_t t, char out[16])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/*
 * Generates an ECDSA P-256 key and a self-signed certificate (CN=fl0wer-hub, valid from a day
 * ago for 10 years) and writes them to cert_path (0644) and key_path (0600). Returns 0 or
 * FL0WER_API_ERR_TLS with errbuf set.
 */
int api_cert_generate(const char *cert_path, const char *key_path, char *errbuf)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_x509write_cert crt;
    mbedtls_mpi serial;
    unsigned char serial_bytes[16];
    static const char pers[] = "fl0wer-api-cert";
    unsigned char *pem = NULL;
    const size_t pem_cap = 8192;
    char nb[16], na[16];
    int rc = FL0WER_API_ERR_TLS, wrc;
    const char *step = "seed the random generator";

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_x509write_crt_init(&crt);
    mbedtls_mpi_init(&serial);
    if (!(pem = calloc(1, pem_cap))) {
        step = "allocate memory";
        goto out;
    }
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                              (const unsigned char *)pers, sizeof(pers) - 1) != 0)
        goto out;
    step = "generate the p-256 key";
    if (mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), mbedtls_ctr_drbg_random,
                            &drbg) != 0)
        goto out;
    step = "build the certificate";
    if (mbedtls_ctr_drbg_random(&drbg, serial_bytes, sizeof(serial_bytes)) != 0)
        goto out;
    serial_bytes[0] &= 0x7f; /* positive */
    serial_bytes[0] |= 0x01;
    time_t now = time(NULL);
    cert_time(now - 86400, nb);
    cert_time(now + 3650 * 86400L, na);
    mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&crt, &key);
    mbedtls_x509write_crt_set_issuer_key(&crt, &key);
    if (mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof(serial_bytes)) != 0 ||
        mbedtls_x509write_crt_set_serial(&crt, &serial) != 0 ||
        mbedtls_x509write_crt_set_subject_name(&crt, "CN=fl0wer-hub,O=Fl0wer") != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&crt, "CN=fl0wer-hub,O=Fl0wer") != 0 ||
        mbedtls_x509write_crt_set_validity(&crt, nb, na) != 0 ||
        mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1) != 0 ||
        mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
                                            MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0,
                                            cert_san_der, sizeof(cert_san_der)) != 0)
        goto out;
    step = "write the private key";
    if (mbedtls_pk_write_key_pem(&key, pem, pem_cap) != 0)
        goto out;
    if ((wrc = cert_write_file(key_path, pem, strlen((char *)pem), 0600)) != 0) {
        snprintf(errbuf, 256, "cannot write %s: %s", key_path, strerror(-wrc));
        goto out_msg;
    }
    step = "sign the certificate";
    memset(pem, 0, pem_cap);
    if (mbedtls_x509write_crt_pem(&crt, pem, pem_cap, mbedtls_ctr_drbg_random, &drbg) != 0)
        goto out;
    if ((wrc = cert_write_file(cert_path, pem, strlen((char *)pem), 0644)) != 0) {
        snprintf(errbuf, 256, "cannot write %s: %s", cert_path, strerror(-wrc));
        goto out_msg;
    }
    rc = 0;
    goto out_msg;
out:
    snprintf(errbuf, 256, "self-signed certificate: cannot %s", step);
out_msg:
    if (pem) {
        memset(pem, 0, pem_cap);
        free(pem);
    }
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&crt);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}

/* Reads a whole (small, < 1 MiB) file into a malloc'd NUL-terminated buffer. 0 or -errno. */
int api_read_file(const char *path, char **out, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    if (!f)
        return -errno;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 20) + 8192) {
                rc = -EFBIG;
                goto out;
            }
            char *p = realloc(buf, cap);
            if (!p) {
                rc = -ENOMEM;
                goto out;
            }
            buf = p;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096) {
            if (ferror(f))
                rc = -EIO;
            break;
        }
    }
out:
    fclose(f);
    if (rc != 0) {
        free(buf);
        return rc;
    }
    if (!buf && !(buf = malloc(1)))
        return -ENOMEM;
    buf[len] = '\0';
    *out = buf;
    if (out_len)
        *out_len = len;
    return 0;
}
