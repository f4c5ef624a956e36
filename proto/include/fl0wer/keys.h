/*
 * keys.h - edge identity: Ed25519 key files and the hub's authorized edges file (libsodium).
 *
 * Secret key file (written by `fl0wer keygen`, mode 0600), text:
 *     fl0wer-edge-key 1
 *     name NAME
 *     secret BASE64(64-byte libsodium Ed25519 secret key)
 * Authorized edges file (hub), one edge per line, '#' comments and blank lines ignored:
 *     ed25519 BASE64(32-byte public key) NAME
 * NAME is 1-63 characters of [A-Za-z0-9._-].
 */
#ifndef FL0WER_KEYS_H
#define FL0WER_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define FL0WER_PUBKEY_LEN   32
#define FL0WER_SECKEY_LEN   64
#define FL0WER_SIG_LEN      64
#define FL0WER_EDGE_NAME_MAX 64 /* with the NUL */

struct fl0wer_edge_key {
    char name[FL0WER_EDGE_NAME_MAX];
    uint8_t pk[FL0WER_PUBKEY_LEN];
    uint8_t sk[FL0WER_SECKEY_LEN];
};

/* Generates a new key pair named name. Returns 0, or -1 when name is invalid. */
int fl0wer_edge_key_generate(struct fl0wer_edge_key *key, const char *name);

/*
 * Writes key to path (created with mode 0600, replacing nothing: fails if path exists).
 * Returns 0 or -errno.
 */
int fl0wer_edge_key_save(const struct fl0wer_edge_key *key, const char *path);

/* Loads a secret key file. Returns 0, -errno on I/O failure, or -EINVAL on a malformed file. */
int fl0wer_edge_key_load(struct fl0wer_edge_key *key, const char *path);

/* Formats the authorized-edges line for key ("ed25519 BASE64 NAME", no newline) into buf. */
int fl0wer_edge_key_authorized_line(const struct fl0wer_edge_key *key, char *buf, size_t len);

/* One entry of the authorized edges file. */
struct fl0wer_authorized_edge {
    char name[FL0WER_EDGE_NAME_MAX];
    uint8_t pk[FL0WER_PUBKEY_LEN];
};

/* The parsed authorized edges file. Caller-owned; release with fl0wer_authorized_release(). */
struct fl0wer_authorized {
    struct fl0wer_authorized_edge *edges;
    size_t count;
};

/*
 * Parses the authorized edges file at path into *out (replacing nothing on failure). Returns 0,
 * -errno on I/O failure, or -EINVAL with *bad_line set to the 1-based line that is malformed.
 */
int fl0wer_authorized_load(struct fl0wer_authorized *out, const char *path, int *bad_line);

/* Returns the entry whose public key is pk, or NULL. */
const struct fl0wer_authorized_edge *fl0wer_authorized_find(const struct fl0wer_authorized *a,
                                                            const uint8_t pk[FL0WER_PUBKEY_LEN]);

void fl0wer_authorized_release(struct fl0wer_authorized *a);

#endif /* FL0WER_KEYS_H */
