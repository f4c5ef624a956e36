/*
 * args.c - command-line parsing for fl0wer-decode.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decode_tool.h"

static const uint16_t default_ports[] = {2055, 2056, 4739, 9995, 9996};

static void usage(FILE *f)
{
    fputs("usage: fl0wer-decode [--port P]... [--summary] [--template-timeout S] FILE...\n"
          "\n"
          "Decodes NetFlow v5, NetFlow v9 and IPFIX export packets from pcap/pcapng captures\n"
          "(UDP datagrams sent to the chosen ports) and raw payload files (.dat/.bin: one or\n"
          "more concatenated export datagrams). All files go, in the order given, through one\n"
          "decoder, so templates learned from an earlier file apply to later data.\n"
          "\n"
          "  --port P               accept UDP destination port P (repeatable; 'any' = every\n"
          "                         UDP datagram; default 2055, 2056, 4739, 9995, 9996)\n"
          "  --summary              print one JSON object {messages, records, bytes, packets,\n"
          "                         errors} instead of one JSON flow record per line\n"
          "  --template-timeout S   template lifetime in seconds of capture time (default 1800)\n"
          "  -h, --help             show this help\n",
          f);
}

/* Parses an unsigned decimal in [lo, hi]; returns 0 or -1. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int add_port(struct decode_tool_opts *o, const char *val, FILE *err)
{
    unsigned long p;

    if (val != NULL && strcmp(val, "any") == 0) {
        o->any_port = 1;
        return 0;
    }
    if (parse_uint(val, 1, 65535, &p) != 0) {
        fprintf(err, "fl0wer-decode: bad port '%s' (expected 1-65535 or any)\n",
                val ? val : "");
        return -1;
    }
    if (o->n_ports == FL0WER_CAPTURE_MAX_PORTS) {
        fprintf(err, "fl0wer-decode: too many ports (at most %d)\n", FL0WER_CAPTURE_MAX_PORTS);
        return -1;
    }
    o->ports[o->n_ports++] = (uint16_t)p;
    return 0;
}

/* Returns the value of option name at argv[*i] ("--name V" or "--name=V"), advancing *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, int *matched)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    *matched = 0;
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=') {
        *matched = 1;
        return a + n + 1;
    }
    if (a[n] != '\0')
        return NULL;
    *matched = 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

int decode_tool_parse_args(int argc, char **argv, struct decode_tool_opts *o, FILE *out, FILE *err)
{
    unsigned long v;
    const char *val;
    int i, m, only_files = 0;

    memset(o, 0, sizeof(*o));
    o->files = argv + 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (only_files || a[0] != '-' || a[1] == '\0') {
            argv[1 + o->n_files++] = argv[i]; /* compact files in place, keeping order */
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(out);
            return DECODE_TOOL_HELP;
        } else if (strcmp(a, "--summary") == 0) {
            o->summary = 1;
        } else if ((val = opt_value(argc, argv, &i, "--port", &m)), m) {
            if (add_port(o, val, err) != 0)
                return DECODE_TOOL_EXIT_USAGE;
        } else if ((val = opt_value(argc, argv, &i, "--template-timeout", &m)), m) {
            if (parse_uint(val, 1, 100u * 365 * 86400, &v) != 0) {
                fprintf(err, "fl0wer-decode: bad template timeout '%s' (expected seconds > 0)\n",
                        val ? val : "");
                return DECODE_TOOL_EXIT_USAGE;
            }
            o->template_timeout_s = (uint32_t)v;
        } else {
            fprintf(err, "fl0wer-decode: unknown option '%s' (try --help)\n", a);
            return DECODE_TOOL_EXIT_USAGE;
        }
    }
    if (o->n_files == 0) {
        fprintf(err, "fl0wer-decode: no input files (try --help)\n");
        return DECODE_TOOL_EXIT_USAGE;
    }
    if (o->any_port) {
        o->n_ports = 0;
    } else if (o->n_ports == 0) {
        memcpy(o->ports, default_ports, sizeof(default_ports));
        o->n_ports = sizeof(default_ports) / sizeof(default_ports[0]);
    }
    return 0;
}
