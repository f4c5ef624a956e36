/* main.c - fl0wer-edge: settings from flags, environment and config file, then edge_main(). */
#include <stdio.h>

#include "edge.h"

extern char **environ;

int main(int argc, char **argv)
{
    static struct edge_config cfg; /* large; only main's own storage, never shared mutable */
    char err[512];
    int rc = edge_config_parse(&cfg, argc, argv, environ, stdout, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "fl0wer-edge: %s\n", err);
        return EDGE_EXIT_CONFIG;
    }
    return edge_main(&cfg);
}
