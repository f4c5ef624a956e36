/*
 * log.c - one-line log records on stderr for the hub (daemon and ingest), and the wall clock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "fl0wer/ingest.h"

uint64_t fl0wer_hub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Formats the timestamp, level and message into one buffer and writes it with one write(2) so
 * lines from concurrent threads never interleave. Over-long messages are truncated. */
void fl0wer_hub_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "info"};
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    int w;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    w = snprintf(line + n, sizeof(line) - n, ".%03ldZ fl0wer-hub %s: ", ts.tv_nsec / 1000000L,
                 names[level < 0 ? 0 : level > 2 ? 2 : level]);
    if (w > 0)
        n += (size_t)w;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (w > 0)
        n = (n + (size_t)w < sizeof(line) - 1) ? n + (size_t)w : sizeof(line) - 2;
    line[n++] = '\n';
    if (write(STDERR_FILENO, line, n) < 0) {
        /* nowhere left to report it */
    }
}
