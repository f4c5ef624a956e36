/*
 * tls_session.h - the CLI's cache of TLS sessions, one file per hub and certificate policy, so
 * the next command resumes the session (RFC 5077 ticket; the hub's engine issues them) instead
 * of a full handshake: no key exchange and no signature on either side, ~8 ms less per command
 * on a small VM (docs/api.md, "Latency").
 *
 * A file holds mbedTLS's serialised session: the master secret, the ticket and the hub's
 * certificate as the full handshake checked it. It is written mode 0600 in a 0700 directory,
 * replaced atomically, and read back only for the same server URL, pin, CA file and --insecure
 * setting (they name the file). The hub refuses tickets older than its ticket lifetime (1 h);
 * the client does not offer them either. A file that does not load is ignored and replaced.
 */
#ifndef FL0WER_CLI_TLS_SESSION_H
#define FL0WER_CLI_TLS_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <mbedtls/ssl.h>

#include "http_client.h"

/*
 * The cache file for o's server and certificate policy in o->tls_cache_dir, into out[cap].
 * Returns 0, or -1 when o has no cache directory or the path does not fit.
 */
int httpc_session_path(const struct httpc_opts *o, char *out, size_t cap);

/*
 * Loads the session saved at path into s (initialised by the caller, freed by the caller).
 * Returns 0, or -1 when there is none, it does not parse, or its ticket is too old to offer.
 */
int httpc_session_load(const char *path, mbedtls_ssl_session *s);

/*
 * Saves ssl's current session (after a completed handshake) to path, creating its directory.
 * Best effort: returns 0 or -1, and a failure only means the next command does a full handshake.
 */
int httpc_session_save(const char *path, const mbedtls_ssl_context *ssl);

/* Removes the file at path (a session that failed to resume). */
void httpc_session_forget(const char *path);

#endif /* FL0WER_CLI_TLS_SESSION_H */
