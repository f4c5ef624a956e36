/*
 * promcheck.h - a small validator for the Prometheus text exposition format (tests only):
 * every line is "# HELP name text", "# TYPE name type" or "name{label="value",...} number";
 * each family's TYPE comes once and before its samples.
 */
#ifndef FL0WER_TEST_PROMCHECK_H
#define FL0WER_TEST_PROMCHECK_H

#include <stddef.h>

/* Returns 0 when text is valid, else the 1-based number of the first bad line (why in msg). */
int promcheck(const char *text, char *msg, size_t msglen);

/* Finds the value of the sample line that starts with exactly `series` ("name{...}").
 * Returns 0 with *out, or -1. */
int promcheck_value(const char *text, const char *series, double *out);

#endif
