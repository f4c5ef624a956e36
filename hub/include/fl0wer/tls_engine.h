/*
 * tls_engine.h - the hub's TLS engine for nng. nng's own mbedTLS engine offers neither session
 * resumption nor a say in the key-exchange group; this one is the same mbedTLS 2.28 underneath,
 * plus:
 *   - RFC 5077 session tickets on servers (AES-256-GCM, keys random per server configuration,
 *     rotated every FL0WER_TLS_TICKET_LIFETIME_S seconds, never written anywhere), so a client
 *     that connects again - the fl0wer CLI runs once per command - resumes its session without
 *     a key exchange or a signature on either side;
 *   - X25519 first among the ECDHE groups, then P-256, P-384, P-521.
 * Everything else (certificates, CA chains and CRLs, authentication modes, server names, TLS 1.2)
 * behaves as nng's engine does. docs/api.md, "Latency".
 */
#ifndef FL0WER_TLS_ENGINE_H
#define FL0WER_TLS_ENGINE_H

#define FL0WER_TLS_ENGINE_NAME       "fl0wer-mbedtls"
#define FL0WER_TLS_TICKET_LIFETIME_S 3600

/*
 * Makes this engine nng's TLS engine for the whole process: every nng_tls_config allocated
 * afterwards (HTTP server and client, tls+tcp:// listeners) uses it; configs allocated before keep
 * nng's. Call it once, early, before any TLS configuration exists. Returns 0, or a negative nng
 * error number (the engine version nng expects differs), in which case nng's engine stays.
 */
int fl0wer_tls_engine_register(void);

#endif /* FL0WER_TLS_ENGINE_H */
