/*
 * cmd_keygen.c - `fl0wer keygen --out FILE [--name NAME]`: creates an edge's Ed25519 key pair,
 * writes the secret key file (mode 0600, never overwriting), and prints as its last line of
 * stdout the line to add to the hub's authorized edges file.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fl0wer/keys.h"

static void keygen_usage(FILE *out)
{
    fprintf(out,
            "usage: fl0wer keygen --out FILE [--name NAME]\n\n"
            "Creates an edge key pair. The secret key is written to FILE (mode 0600; an existing\n"
            "FILE is never overwritten). The last line printed is the line to add to the hub's\n"
            "authorized edges file: \"ed25519 PUBLIC-KEY NAME\".\n\n"
            "options:\n"
            "  -o, --out FILE    secret key file to create (required)\n"
            "  -n, --name NAME   edge name, 1-63 of [A-Za-z0-9._-] (default: the hostname)\n"
            "  -h, --help        show this help\n");
}

/* Writes the hostname, reduced to the key-name alphabet, into buf ("edge" if nothing is left). */
static void keygen_default_name(char *buf, size_t len)
{
    char host[256] = "";
    size_t n = 0;
    if (gethostname(host, sizeof(host) - 1) != 0)
        host[0] = '\0';
    host[sizeof(host) - 1] = '\0';
    for (const char *p = host; *p && n + 1 < len && n + 1 < FL0WER_EDGE_NAME_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        buf[n++] = (isalnum(c) && c < 0x80) || c == '.' || c == '_' || c == '-' ? (char)c : '-';
    }
    buf[n] = '\0';
    if (n == 0)
        snprintf(buf, len, "edge");
}

/* A lowercase description of a negative errno from keys.h. */
static const char *keygen_errstr(int rc, char *buf, size_t len)
{
    if (rc == -EEXIST)
        return "file already exists, refusing to overwrite it";
    snprintf(buf, len, "%s", strerror(-rc));
    if (buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *name = NULL;
    char defname[FL0WER_EDGE_NAME_MAX], line[256], err[128];
    struct fl0wer_edge_key key;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': name = optarg; break;
        case 'h': keygen_usage(stdout); return 0;
        default: keygen_usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fl0wer keygen: unexpected argument '%s'\n", argv[optind]);
        return 1;
    }
    if (!out) {
        fprintf(stderr, "fl0wer keygen: --out FILE is required\n");
        keygen_usage(stderr);
        return 1;
    }
    if (!name) {
        keygen_default_name(defname, sizeof(defname));
        name = defname;
    }
    if (fl0wer_edge_key_generate(&key, name) != 0) {
        fprintf(stderr, "fl0wer keygen: invalid edge name '%s' (1-63 of [A-Za-z0-9._-])\n",
                name);
        return 1;
    }
    rc = fl0wer_edge_key_save(&key, out);
    if (rc != 0) {
        fprintf(stderr, "fl0wer keygen: cannot write key file %s: %s\n", out,
                keygen_errstr(rc, err, sizeof(err)));
        goto out_fail;
    }
    rc = fl0wer_edge_key_authorized_line(&key, line, sizeof(line));
    if (rc != 0) {
        fprintf(stderr, "fl0wer keygen: cannot format the authorized line\n");
        goto out_fail;
    }
    printf("wrote secret key for edge '%s' to %s (mode 0600)\n", key.name, out);
    printf("add this line to the hub's authorized edges file:\n");
    printf("%s\n", line);
    memset(&key, 0, sizeof(key));
    return fflush(stdout) == 0 ? 0 : 1;
out_fail:
    memset(&key, 0, sizeof(key));
    return 1;
}
