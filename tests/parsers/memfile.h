/*
 * memfile.h - for the parser harnesses and tests: one memfd per process holding the current
 * input, reachable by a path (/proc/self/fd/N) for parsers that only read from a path.
 */
#ifndef FL0WER_TESTS_MEMFILE_H
#define FL0WER_TESTS_MEMFILE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Replaces the content of the process's memfd (created on first use) with data[0, size) and
 * returns its path (a static buffer, valid until the process ends), or NULL when the memfd
 * cannot be created or written.
 */
const char *memfile_put(const void *data, size_t size);

/*
 * A config line "#xxx...x" of comment_len bytes directly followed by tail: the input that made
 * fixed-size line readers apply a long comment's tail as a setting. Returns a malloc'd string
 * (the caller frees it) of *len bytes, or NULL without memory.
 */
char *memfile_long_comment(size_t comment_len, const char *tail, size_t *len);

#endif
