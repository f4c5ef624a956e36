/*
 * main.c - fl0wer-decode: prints what an exporter sends, from pcap/pcapng captures or raw payload
 * files, as NDJSON flow records or one summary object.
 */
#include <stdio.h>

#include "decode_tool.h"

int main(int argc, char **argv)
{
    struct decode_tool_opts opts;
    int rc;

    rc = decode_tool_parse_args(argc, argv, &opts, stdout, stderr);
    if (rc == DECODE_TOOL_HELP)
        return DECODE_TOOL_EXIT_OK;
    if (rc != 0)
        return rc;
    return decode_tool_run(&opts, stdout, stderr);
}
