/*
 * tls_engine.c - the hub's TLS engine for nng (tls_engine.h): mbedTLS 2.28 behind nng's engine
 * interface (nng/supplemental/tls/engine.h), with session tickets on servers and X25519 first.
 * nng allocates the configuration and connection objects (zeroed, of the sizes below) and calls
 * every connection operation with that connection's lock held; the configuration is read-only
 * once a connection uses it, and what connections share of it (the ticket keys) has mbedTLS's
 * own lock. Random bytes come from libsodium (getrandom), which is thread-safe.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/engine.h>
#include <sodium.h>

#include "fl0wer/tls_engine.h"

#define TLS_MAX_OWN_CERTS 4

/* One certificate chain and its private key (own_cert may be called several times). */
struct own_cert {
    mbedtls_x509_crt crt;
    mbedtls_pk_context key;
};

struct nng_tls_engine_config {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_x509_crl crl;
    mbedtls_ssl_ticket_context ticket; /* servers only */
    struct own_cert *own[TLS_MAX_OWN_CERTS];
    size_t n_own;
    char *server_name; /* clients: SNI and the name the certificate must carry */
};

struct nng_tls_engine_conn {
    mbedtls_ssl_context ssl;
};

/* ECDHE groups, the server's preference: it takes the first of these the client offers. */
static const mbedtls_ecp_group_id tls_groups[] = {
    MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1,
    MBEDTLS_ECP_DP_SECP521R1, MBEDTLS_ECP_DP_NONE};

static int tls_random(void *arg, unsigned char *buf, size_t len)
{
    (void)arg;
    randombytes_buf(buf, len);
    return 0;
}

/* An mbedTLS error as the nng error nng's own engine reports for it. */
static int tls_nng_err(int err)
{
    switch (err) {
    case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
    case MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED:
    case MBEDTLS_ERR_SSL_PEER_VERIFY_FAILED:
    case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
        return NNG_EPEERAUTH;
    case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
    case MBEDTLS_ERR_SSL_CONN_EOF:
        return NNG_ECLOSED;
    case MBEDTLS_ERR_SSL_ALLOC_FAILED:
        return NNG_ENOMEM;
    case MBEDTLS_ERR_SSL_TIMEOUT:
        return NNG_ETIMEDOUT;
    default:
        return NNG_ECRYPTO;
    }
}

/* mbedTLS's transport callbacks, over nng's buffered TCP stream. */
static int tls_net_send(void *tls, const unsigned char *buf, size_t len)
{
    size_t n = len;
    int rv = nng_tls_engine_send(tls, buf, &n);
    if (rv == NNG_EAGAIN)
        return MBEDTLS_ERR_SSL_WANT_WRITE;
    return rv == 0 ? (int)n : MBEDTLS_ERR_NET_SEND_FAILED;
}

static int tls_net_recv(void *tls, unsigned char *buf, size_t len)
{
    size_t n = len;
    int rv = nng_tls_engine_recv(tls, buf, &n);
    if (rv == NNG_EAGAIN)
        return MBEDTLS_ERR_SSL_WANT_READ;
    return rv == 0 ? (int)n : MBEDTLS_ERR_NET_RECV_FAILED;
}

static int conn_init(nng_tls_engine_conn *ec, void *tls, nng_tls_engine_config *cfg)
{
    int rv;

    mbedtls_ssl_init(&ec->ssl);
    mbedtls_ssl_set_bio(&ec->ssl, tls, tls_net_send, tls_net_recv, NULL);
    if ((rv = mbedtls_ssl_setup(&ec->ssl, &cfg->conf)) != 0)
        goto out_free;
    if (cfg->server_name && (rv = mbedtls_ssl_set_hostname(&ec->ssl, cfg->server_name)) != 0)
        goto out_free;
    return 0;
out_free: /* nng may not call fini after a failed init; freeing twice is harmless */
    mbedtls_ssl_free(&ec->ssl);
    return tls_nng_err(rv);
}

static void conn_fini(nng_tls_engine_conn *ec)
{
    mbedtls_ssl_free(&ec->ssl);
}

/* Sends a close-notify if it can; the TCP connection is nng's to close. */
static void conn_close(nng_tls_engine_conn *ec)
{
    (void)mbedtls_ssl_close_notify(&ec->ssl);
}

/* The result of an mbedTLS handshake, read or write for nng: 0 (rv >= 0, a byte count),
 * NNG_EAGAIN while it waits on the transport, else the error. */
static int tls_io_rc(int rv)
{
    if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE)
        return NNG_EAGAIN;
    return rv >= 0 ? 0 : tls_nng_err(rv);
}

static int conn_handshake(nng_tls_engine_conn *ec)
{
    return tls_io_rc(mbedtls_ssl_handshake(&ec->ssl));
}

static int conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *len)
{
    int rv = mbedtls_ssl_read(&ec->ssl, buf, *len);
    if (rv >= 0)
        *len = (size_t)rv;
    return tls_io_rc(rv);
}

static int conn_send(nng_tls_engine_conn *ec, const uint8_t *buf, size_t *len)
{
    int rv = mbedtls_ssl_write(&ec->ssl, buf, *len);
    if (rv >= 0)
        *len = (size_t)rv;
    return tls_io_rc(rv);
}

static bool conn_verified(nng_tls_engine_conn *ec)
{
    return mbedtls_ssl_get_verify_result(&ec->ssl) == 0;
}

static void config_fini(nng_tls_engine_config *cfg)
{
    mbedtls_ssl_config_free(&cfg->conf);
    mbedtls_ssl_ticket_free(&cfg->ticket);
    mbedtls_x509_crt_free(&cfg->ca);
    mbedtls_x509_crl_free(&cfg->crl);
    for (size_t i = 0; i < cfg->n_own; i++) {
        mbedtls_x509_crt_free(&cfg->own[i]->crt);
        mbedtls_pk_free(&cfg->own[i]->key);
        free(cfg->own[i]);
    }
    cfg->n_own = 0;
    free(cfg->server_name);
    cfg->server_name = NULL;
}

/*
 * Defaults as nng's engine: TLS 1.2, servers ask for no client certificate, clients require a
 * verified one. Servers also get their ticket keys here.
 */
static int config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
    bool server = mode == NNG_TLS_MODE_SERVER;
    int rv;

    mbedtls_ssl_config_init(&cfg->conf);
    mbedtls_ssl_ticket_init(&cfg->ticket);
    mbedtls_x509_crt_init(&cfg->ca);
    mbedtls_x509_crl_init(&cfg->crl);
    rv = mbedtls_ssl_config_defaults(&cfg->conf,
                                     server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT,
                                     MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
    if (rv != 0)
        goto out_fini;
    mbedtls_ssl_conf_authmode(&cfg->conf,
                              server ? MBEDTLS_SSL_VERIFY_NONE : MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
                                 MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_rng(&cfg->conf, tls_random, NULL);
    mbedtls_ssl_conf_curves(&cfg->conf, tls_groups);
    if (server) {
        rv = mbedtls_ssl_ticket_setup(&cfg->ticket, tls_random, NULL, MBEDTLS_CIPHER_AES_256_GCM,
                                      FL0WER_TLS_TICKET_LIFETIME_S);
        if (rv != 0)
            goto out_fini;
        mbedtls_ssl_conf_session_tickets_cb(&cfg->conf, mbedtls_ssl_ticket_write,
                                            mbedtls_ssl_ticket_parse, &cfg->ticket);
    }
    return 0;
out_fini:
    config_fini(cfg);
    return tls_nng_err(rv);
}

static int config_server(nng_tls_engine_config *cfg, const char *name)
{
    char *dup = NULL;
    if (name && !(dup = strdup(name)))
        return NNG_ENOMEM;
    free(cfg->server_name);
    cfg->server_name = dup;
    return 0;
}

static int config_auth(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
    switch (mode) {
    case NNG_TLS_AUTH_MODE_NONE:
        mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_NONE);
        break;
    case NNG_TLS_AUTH_MODE_OPTIONAL:
        mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
        break;
    case NNG_TLS_AUTH_MODE_REQUIRED:
        mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        break;
    default:
        return NNG_EINVAL;
    }
    return 0;
}

/* PEM CA certificates (one or more) and an optional PEM CRL, both NUL-terminated. */
static int config_ca_chain(nng_tls_engine_config *cfg, const char *certs, const char *crl)
{
    int rv = mbedtls_x509_crt_parse(&cfg->ca, (const unsigned char *)certs, strlen(certs) + 1);
    if (rv != 0)
        return tls_nng_err(rv);
    if (crl &&
        (rv = mbedtls_x509_crl_parse(&cfg->crl, (const unsigned char *)crl, strlen(crl) + 1)) != 0)
        return tls_nng_err(rv);
    mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, crl ? &cfg->crl : NULL);
    return 0;
}

/* Our certificate chain and key (PEM, the key optionally encrypted with pass). */
static int config_own_cert(nng_tls_engine_config *cfg, const char *cert, const char *key,
                           const char *pass)
{
    struct own_cert *oc;
    int rv;

    if (cfg->n_own == TLS_MAX_OWN_CERTS)
        return NNG_ENOSPC;
    if (!(oc = calloc(1, sizeof(*oc))))
        return NNG_ENOMEM;
    mbedtls_x509_crt_init(&oc->crt);
    mbedtls_pk_init(&oc->key);
    rv = mbedtls_x509_crt_parse(&oc->crt, (const unsigned char *)cert, strlen(cert) + 1);
    if (rv == 0)
        rv = mbedtls_pk_parse_key(&oc->key, (const unsigned char *)key, strlen(key) + 1,
                                  (const unsigned char *)pass, pass ? strlen(pass) : 0);
    if (rv == 0)
        rv = mbedtls_ssl_conf_own_cert(&cfg->conf, &oc->crt, &oc->key);
    if (rv != 0)
        goto out_free;
    cfg->own[cfg->n_own++] = oc;
    return 0;
out_free:
    mbedtls_x509_crt_free(&oc->crt);
    mbedtls_pk_free(&oc->key);
    free(oc);
    return tls_nng_err(rv);
}

/* mbedTLS 2.28 offers TLS 1.2 only: a range without it is refused, any other becomes 1.2. */
static int config_version(nng_tls_engine_config *cfg, nng_tls_version min, nng_tls_version max)
{
    (void)cfg;
    if (min > max)
        return NNG_EINVAL;
    return min <= NNG_TLS_1_2 && max >= NNG_TLS_1_2 ? 0 : NNG_ENOTSUP;
}

static nng_tls_engine_config_ops tls_config_ops = {
    .size = sizeof(nng_tls_engine_config),
    .init = config_init,
    .fini = config_fini,
    .server = config_server,
    .auth = config_auth,
    .ca_chain = config_ca_chain,
    .own_cert = config_own_cert,
    .version = config_version,
};

static nng_tls_engine_conn_ops tls_conn_ops = {
    .size = sizeof(nng_tls_engine_conn),
    .init = conn_init,
    .fini = conn_fini,
    .close = conn_close,
    .handshake = conn_handshake,
    .recv = conn_recv,
    .send = conn_send,
    .verified = conn_verified,
};

static const nng_tls_engine tls_engine = {
    .version = NNG_TLS_ENGINE_VERSION,
    .config_ops = &tls_config_ops,
    .conn_ops = &tls_conn_ops,
    .name = FL0WER_TLS_ENGINE_NAME,
    .description = "mbed TLS " MBEDTLS_VERSION_STRING " with session tickets (fl0wer)",
    .fips_mode = false,
};

/*
 * nng sets its own engine when it initialises, on the first call that needs it: a TLS
 * configuration is made and dropped first so that registering afterwards is not undone.
 */
int fl0wer_tls_engine_register(void)
{
    nng_tls_config *probe;
    int rv;

    if (sodium_init() < 0)
        return -NNG_ECRYPTO;
    if ((rv = nng_tls_config_alloc(&probe, NNG_TLS_MODE_SERVER)) != 0)
        return -rv;
    nng_tls_config_free(probe);
    if ((rv = nng_tls_engine_register(&tls_engine)) != 0)
        return -rv;
    return strcmp(nng_tls_engine_name(), FL0WER_TLS_ENGINE_NAME) == 0 ? 0 : -NNG_ENOTSUP;
}
