/*
 * decode_tool.h - the logic of fl0wer-decode (argument parsing and the decode run), kept out of
 * main() so each piece stays small.
 */
#ifndef FL0WER_DECODE_TOOL_H
#define FL0WER_DECODE_TOOL_H

#include <stdint.h>
#include <stdio.h>

#include "fl0wer/capture.h"

struct decode_tool_opts {
    uint16_t ports[FL0WER_CAPTURE_MAX_PORTS];
    size_t n_ports;              /* 0 with any_port: every UDP datagram */
    int any_port;
    int summary;
    uint32_t template_timeout_s; /* 0: the decoder's default */
    char **files;
    size_t n_files;
};

/* Exit codes. */
#define DECODE_TOOL_EXIT_OK    0
#define DECODE_TOOL_EXIT_INPUT 1 /* a file could not be read */
#define DECODE_TOOL_EXIT_USAGE 2 /* bad flags */
#define DECODE_TOOL_HELP       (-1)

/*
 * Parses argv into *opts (files point into argv). Returns 0, DECODE_TOOL_HELP when --help was
 * given (usage already printed to out), or DECODE_TOOL_EXIT_USAGE after printing a lowercase
 * message to err.
 */
int decode_tool_parse_args(int argc, char **argv, struct decode_tool_opts *opts, FILE *out,
                           FILE *err);

/*
 * Decodes every file in order with one decoder, writing NDJSON flows or the summary object to
 * out and problems to err. Returns a DECODE_TOOL_EXIT_* code.
 */
int decode_tool_run(const struct decode_tool_opts *opts, FILE *out, FILE *err);

#endif /* FL0WER_DECODE_TOOL_H */
