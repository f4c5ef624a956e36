/*
 * memfile.c - the process's memfd for harnesses and tests (memfile.h). The descriptor is created
 * once and reused; each put truncates and rewrites it, so parsers that open the path read
 * exactly the last input from offset 0.
 */
#include "memfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const char *memfile_put(const void *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    const uint8_t *p = data;
    off_t off = 0;

    if (fd < 0) {
        fd = memfd_create("fl0wer-parser-input", MFD_CLOEXEC);
        if (fd < 0)
            return NULL;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0)
        return NULL;
    while ((size_t)off < size) {
        ssize_t n = pwrite(fd, p + off, size - (size_t)off, off);
        if (n <= 0)
            return NULL;
        off += n;
    }
    return path;
}

char *memfile_long_comment(size_t comment_len, const char *tail, size_t *len)
{
    size_t tl = strlen(tail);
    char *text = malloc(comment_len + tl + 1);

    if (!text)
        return NULL;
    memset(text, 'x', comment_len);
    text[0] = '#';
    memcpy(text + comment_len, tail, tl + 1);
    *len = comment_len + tl;
    return text;
}
