/* main.c - fl0wer-edge: settings from flags, environment and config file, then edge_main(). */
#include <malloc.h>
#include <stdio.h>

#include "edge.h"

extern char **environ;

/* Freed heap memory is kept for reuse rather than handed back to the kernel: the batcher and the
 * sender allocate and free a 256 KiB buffer per batch, which glibc's defaults served with fresh
 * mmaps (a page fault per 4 KiB touched, 25-28 us each on the benchmark VM). Blocks up to 4 MiB
 * come from the heap; up to 128 MiB of free heap top is kept per malloc arena (docs/edge.md,
 * "How it works"). Called before any thread exists. */
static void edge_malloc_setup(void)
{
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int main(int argc, char **argv)
{
    static struct edge_config cfg; /* large; only main's own storage, never shared mutable */
    char err[512];
    int rc;

    edge_malloc_setup();
    rc = edge_config_parse(&cfg, argc, argv, environ, stdout, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc != 0) {
        fprintf(stderr, "fl0wer-edge: %s\n", err);
        return EDGE_EXIT_CONFIG;
    }
    return edge_main(&cfg);
}
