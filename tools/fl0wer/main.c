/*
 * main.c - entry point of the `fl0wer` CLI: finds the subcommand in a table and runs it.
 * `fl0wer --help` lists the subcommands; `fl0wer CMD --help` is handled by each command.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const struct cli_command commands[] = {
    {"summary", cmd_summary, "total flows, bytes and packets in a time range"},
    {"top", cmd_top, "top-N source/destination addresses, ports, protocols, AS, interfaces"},
    {"flows", cmd_flows, "list matching flow records (streamed)"},
    {"series", cmd_series, "flows, bytes and packets per time step"},
    {"exporters", cmd_exporters, "exporters with their counters and interface names"},
    {"edges", cmd_edges, "edges with last contact, batches, rejects, spool and drops"},
    {"alerts", cmd_alerts, "alerts raised by the hub's analyzer"},
    {"status", cmd_status, "hub version, uptime, storage and ingest counters"},
    {"keygen", cmd_keygen, "create an edge key pair and print its authorized-edges line"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
    fprintf(out, "usage: fl0wer COMMAND [ARGS...]\n"
                 "       fl0wer COMMAND --help\n\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\noptions:\n"
                 "  --help       show this help\n"
                 "  --version    show the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0) {
        printf("fl0wer %s\n", FL0WER_VERSION);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fl0wer: unknown command '%s' (try: fl0wer --help)\n", name);
    return 1;
}
