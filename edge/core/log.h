/*
 * log.h - fl0wer-edge logging: one line per event on stderr (or a test's stream), with a UTC
 * timestamp and a level. Thread-safe (each line is written with one stdio call under the
 * stream's lock).
 */
#ifndef EDGE_LOG_H
#define EDGE_LOG_H

#include <stdio.h>

enum edge_log_level {
    EDGE_LOG_ERROR = 0,
    EDGE_LOG_WARN = 1,
    EDGE_LOG_INFO = 2,
    EDGE_LOG_DEBUG = 3,
};

struct edge_log {
    FILE *out;                /* stderr when NULL */
    enum edge_log_level max;  /* lines above this level are not written */
};

void edge_log_printf(const struct edge_log *log, enum edge_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define edge_err(log, ...)   edge_log_printf((log), EDGE_LOG_ERROR, __VA_ARGS__)
#define edge_warn(log, ...)  edge_log_printf((log), EDGE_LOG_WARN, __VA_ARGS__)
#define edge_info(log, ...)  edge_log_printf((log), EDGE_LOG_INFO, __VA_ARGS__)
#define edge_debug(log, ...) edge_log_printf((log), EDGE_LOG_DEBUG, __VA_ARGS__)

/* Milliseconds since the Unix epoch (CLOCK_REALTIME) and monotonic milliseconds. */
unsigned long long edge_now_ms(void);
unsigned long long edge_mono_ms(void);

#endif /* EDGE_LOG_H */
