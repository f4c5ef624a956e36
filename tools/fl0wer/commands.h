/*
 * commands.h - the subcommands of the `fl0wer` CLI. Each is a function taking the arguments
 * after "fl0wer" (argv[0] is the subcommand name) and returning the process exit status. main.c
 * lists them in its dispatch table with a one-line help.
 */
#ifndef FL0WER_CLI_COMMANDS_H
#define FL0WER_CLI_COMMANDS_H

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help; /* one line, shown by `fl0wer --help` */
};

/* fl0wer keygen --out FILE [--name NAME]: creates an edge key (cmd_keygen.c). */
int cmd_keygen(int argc, char **argv);

/* Query commands: talk to the hub's API on 7443 (cli.h; one cmd_*.c each). */
int cmd_summary(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_series(int argc, char **argv);
int cmd_exporters(int argc, char **argv);
int cmd_edges(int argc, char **argv);
int cmd_alerts(int argc, char **argv); /* cmd_status.c */
int cmd_status(int argc, char **argv);

#endif /* FL0WER_CLI_COMMANDS_H */
