/*
 * spool.c - per-batch files in seq order, fsync'ed at once or by group commit, with the batch
 * buffers of this run kept in memory for sending (see spool.h).
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct spool_entry {
    uint64_t seq;
    uint64_t size;
    uint64_t retry_at; /* monotonic ms */
    uint64_t written_at; /* monotonic ms, for the group commit */
    uint8_t *mem; /* kept batch bytes (size of them), or NULL: read the file */
    uint32_t records;
    bool inflight;
    bool unsynced; /* written without fsync: for the next edge_spool_sync() */
};

/* A file of an acked batch kept (as DIR/recycle-K.tmp) to be overwritten by a later batch, so
 * that its page cache pages and disk blocks are reused instead of freed and allocated again. */
enum recycle_state { RECYCLE_NONE, RECYCLE_FREE, RECYCLE_TAKEN };
struct recycled {
    enum recycle_state state;
    uint64_t size;
};

struct edge_spool {
    pthread_mutex_t mu;
    struct recycled recycle[EDGE_SPOOL_RECYCLE];
    uint64_t recycled_writes; /* batches written over a recycled file */
    uint64_t recycled_bytes;  /* sizes of the files in recycle slots (FREE or TAKEN) */
    char *dir;
    int dir_fd;
    uint64_t max_bytes;
    uint64_t next_seq;
    uint64_t reserved; /* next-seq on disk: numbers below it may be handed out */
    bool persisting;   /* a thread is writing a new next-seq (without mu held) */
    pthread_cond_t persisted; /* broadcast when it is done */
    struct spool_entry *v; /* sorted by seq */
    size_t n, cap;
    uint64_t bytes;
    uint64_t dropped_batches;
    uint64_t dropped_records;
    uint64_t mem_bytes, mem_max; /* kept buffers */
    uint64_t disk_reads, syncs;
};

static void entry_path(const struct edge_spool *s, const struct spool_entry *e, char *buf,
                       size_t len)
{
    snprintf(buf, len, "%s/%020" PRIu64 "-%" PRIu32 ".flwb", s->dir, e->seq, e->records);
}

/* Writes len bytes of buf to path via path.tmp, fsync, rename, directory fsync. */
static int write_durable(struct edge_spool *s, const char *path, const void *buf, size_t len)
{
    char tmp[4300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    const uint8_t *p = buf;
    size_t left = len;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto out_close;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        rc = -errno;
        goto out_close;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = -errno;
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = -errno;
        goto out_unlink;
    }
    if (fsync(s->dir_fd) != 0)
        return -errno;
    return 0;
out_close:
    close(fd);
out_unlink:
    unlink(tmp);
    return rc;
}

static int persist_next_seq(struct edge_spool *s, uint64_t next)
{
    char path[4200], text[32];
    snprintf(path, sizeof(path), "%s/next-seq", s->dir);
    int n = snprintf(text, sizeof(text), "%" PRIu64 "\n", next);
    return write_durable(s, path, text, (size_t)n);
}

static int push_entry(struct edge_spool *s, const struct spool_entry *e)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        struct spool_entry *nv = realloc(s->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = ncap;
    }
    size_t i = s->n;
    while (i > 0 && s->v[i - 1].seq > e->seq) { /* keep sorted (appends are the common case) */
        s->v[i] = s->v[i - 1];
        i--;
    }
    s->v[i] = *e;
    s->n++;
    s->bytes += e->size;
    return 0;
}

static ssize_t find_entry(const struct edge_spool *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < s->n && s->v[lo].seq == seq) ? (ssize_t)lo : -1;
}

static void recycle_path(const struct edge_spool *s, size_t k, char *buf, size_t len)
{
    snprintf(buf, len, "%s/recycle-%zu.tmp", s->dir, k);
}

/* Removes entry i from the index and its file from the disk (keeping the file for reuse when a
 * recycle slot is empty). */
static void remove_at(struct edge_spool *s, size_t i)
{
    char path[4200], rpath[4200];
    entry_path(s, &s->v[i], path, sizeof(path));
    size_t k = 0;
    while (k < EDGE_SPOOL_RECYCLE && s->recycle[k].state != RECYCLE_NONE)
        k++;
    if (k < EDGE_SPOOL_RECYCLE &&
        s->recycled_bytes + s->v[i].size <= EDGE_SPOOL_RECYCLE_BYTES) {
        recycle_path(s, k, rpath, sizeof(rpath));
        if (rename(path, rpath) == 0) {
            s->recycle[k] = (struct recycled){.state = RECYCLE_FREE, .size = s->v[i].size};
            s->recycled_bytes += s->v[i].size;
        } else {
            unlink(path);
        }
    } else {
        unlink(path);
    }
    s->bytes -= s->v[i].size;
    if (s->v[i].mem) {
        s->mem_bytes -= s->v[i].size;
        free(s->v[i].mem);
    }
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
    s->n--;
}

/* Indexes the directory's batch files and removes .tmp leftovers. */
static int scan_dir(struct edge_spool *s, char *err)
{
    DIR *d = fdopendir(dup(s->dir_fd));
    if (!d) {
        snprintf(err, 256, "cannot list spool %s: %s", s->dir, strerror(errno));
        return -errno;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        size_t len = strlen(name);
        if (len > 4 && strcmp(name + len - 4, ".tmp") == 0) {
            unlinkat(s->dir_fd, name, 0);
            continue;
        }
        uint64_t seq;
        uint32_t records;
        int used = 0;
        if (sscanf(name, "%20" SCNu64 "-%" SCNu32 ".flwb%n", &seq, &records, &used) != 2 ||
            (size_t)used != len || seq == 0)
            continue;
        struct stat st;
        if (fstatat(s->dir_fd, name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        struct spool_entry e = {.seq = seq, .size = (uint64_t)st.st_size, .records = records};
        rc = push_entry(s, &e);
        if (rc != 0)
            break;
        if (seq >= s->next_seq)
            s->next_seq = seq + 1;
    }
    closedir(d);
    if (rc != 0)
        snprintf(err, 256, "cannot index spool %s: out of memory", s->dir);
    return rc;
}

static void read_next_seq(struct edge_spool *s)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/next-seq", s->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    uint64_t v;
    if (fscanf(f, "%" SCNu64, &v) == 1 && v > s->next_seq)
        s->next_seq = v;
    fclose(f);
}

int edge_spool_open(struct edge_spool **out, const char *dir, uint64_t max_bytes, char *err)
{
    int rc;
    struct edge_spool *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, 256, "cannot open spool: out of memory");
        return -ENOMEM;
    }
    s->dir = strdup(dir);
    s->max_bytes = max_bytes;
    s->mem_max = EDGE_SPOOL_MEM_MAX;
    s->next_seq = 1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->persisted, NULL);
    if (!s->dir) {
        rc = -ENOMEM;
        snprintf(err, 256, "cannot open spool: out of memory");
        goto out_free;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = -errno;
        snprintf(err, 256, "cannot create spool directory %s: %s", dir, strerror(errno));
        goto out_free;
    }
    s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dir_fd < 0) {
        rc = -errno;
        snprintf(err, 256, "cannot open spool directory %s: %s", dir, strerror(errno));
        goto out_free;
    }
    rc = scan_dir(s, err);
    if (rc != 0)
        goto out_close;
    read_next_seq(s);
    *out = s;
    return 0;
out_close:
    close(s->dir_fd);
out_free:
    pthread_cond_destroy(&s->persisted);
    pthread_mutex_destroy(&s->mu);
    free(s->v);
    free(s->dir);
    free(s);
    return rc;
}

void edge_spool_close(struct edge_spool *s)
{
    if (!s)
        return;
    close(s->dir_fd);
    pthread_cond_destroy(&s->persisted);
    pthread_mutex_destroy(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].mem);
    free(s->v);
    free(s->dir);
    free(s);
}

void edge_spool_set_mem_max(struct edge_spool *s, uint64_t bytes)
{
    pthread_mutex_lock(&s->mu);
    s->mem_max = bytes;
    pthread_mutex_unlock(&s->mu);
}

/*
 * Makes numbers up to a new block past the larger of reserved and next_seq durable (mu held on
 * entry and on return, dropped for the file I/O so that the sender and the spool writer are not
 * held up by the fsyncs). Only one thread persists at a time: a second caller waits for the
 * first and returns 0 (its caller checks the reservation again). Returns 0 or -errno.
 */
static int extend_reservation(struct edge_spool *s)
{
    if (s->persisting) { /* the caller looks again: if the other one failed, it tries itself */
        while (s->persisting)
            pthread_cond_wait(&s->persisted, &s->mu);
        return 0;
    }
    uint64_t from = s->reserved > s->next_seq ? s->reserved : s->next_seq;
    uint64_t target = from + EDGE_SPOOL_SEQ_BLOCK;
    s->persisting = true;
    pthread_mutex_unlock(&s->mu);
    int rc = persist_next_seq(s, target);
    pthread_mutex_lock(&s->mu);
    s->persisting = false;
    if (rc == 0 && target > s->reserved)
        s->reserved = target;
    pthread_cond_broadcast(&s->persisted);
    return rc;
}

int edge_spool_next_seq(struct edge_spool *s, uint64_t *seq)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    while (rc == 0 && s->next_seq >= s->reserved) /* normally extended ahead (reserve_ahead) */
        rc = extend_reservation(s);
    if (rc == 0)
        *seq = s->next_seq++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int edge_spool_reserve_ahead(struct edge_spool *s)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (!s->persisting && s->next_seq + EDGE_SPOOL_SEQ_BLOCK / 2 > s->reserved)
        rc = extend_reservation(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Writes buf to the temporary file tmp: a new file, or, when old_size is not UINT64_MAX, over the
 * recycled file of that size (cut to len after). With sync, fdatasyncs it. Returns 0 or -errno
 * (nothing left behind). */
static int write_tmp(const char *tmp, const uint8_t *buf, size_t len, bool sync,
                     uint64_t old_size)
{
    bool reuse = old_size != UINT64_MAX;
    int fd = open(tmp, O_WRONLY | O_CLOEXEC | (reuse ? 0 : O_CREAT | O_TRUNC), 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    if (reuse && old_size > len && ftruncate(fd, (off_t)len) != 0)
        rc = -errno;
    while (len && rc == 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0) {
            buf += w;
            len -= (size_t)w;
        }
    }
    if (rc == 0 && sync && fdatasync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int edge_spool_put_many(struct edge_spool *s, struct edge_spool_item *items, size_t n,
                        unsigned flags, uint64_t now_mono_ms, uint64_t *dropped_records)
{
    bool sync = !(flags & EDGE_SPOOL_NOSYNC);
    uint64_t dropped = 0, total = 0;
    char path[4200], tmp[4300];
    int rc = 0;
    size_t *slot = calloc(n ? n : 1, sizeof(*slot)); /* recycle slot + 1 per item, 0 = none */
    uint64_t *old = calloc(n ? n : 1, sizeof(*old));
    if (!slot || !old) {
        free(slot);
        free(old);
        return -ENOMEM;
    }
    for (size_t k = 0; k < n; k++)
        total += items[k].len;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; s->bytes + total > s->max_bytes && i < s->n;) {
        if (s->v[i].inflight) {
            i++;
            continue;
        }
        dropped += s->v[i].records;
        s->dropped_batches++;
        s->dropped_records += s->v[i].records;
        remove_at(s, i);
    }
    for (size_t k = 0, r = 0; k < n; k++) { /* take recycled files for the first items */
        while (r < EDGE_SPOOL_RECYCLE && s->recycle[r].state != RECYCLE_FREE)
            r++;
        old[k] = UINT64_MAX;
        if (r == EDGE_SPOOL_RECYCLE)
            continue;
        s->recycle[r].state = RECYCLE_TAKEN;
        old[k] = s->recycle[r].size;
        slot[k] = r + 1;
    }
    pthread_mutex_unlock(&s->mu);
    /* Files are written (and fsync'ed) outside the lock (one writer), renamed, and the
     * directory fsync'ed once for the group; only then do they enter the index. */
    for (size_t k = 0; k < n; k++) {
        struct spool_entry e = {.seq = items[k].seq, .records = items[k].records};
        entry_path(s, &e, path, sizeof(path));
        if (slot[k])
            recycle_path(s, slot[k] - 1, tmp, sizeof(tmp));
        else
            snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        items[k].rc = write_tmp(tmp, items[k].buf, items[k].len, sync, old[k]);
        if (items[k].rc == 0 && rename(tmp, path) != 0)
            items[k].rc = -errno;
        if (items[k].rc != 0)
            unlink(tmp);
    }
    int dir_rc = sync && fsync(s->dir_fd) != 0 ? -errno : 0;
    pthread_mutex_lock(&s->mu);
    for (size_t k = 0; k < n; k++) {
        if (slot[k]) { /* the recycled file is now this batch's (or gone) */
            s->recycle[slot[k] - 1].state = RECYCLE_NONE;
            s->recycled_bytes -= old[k];
            s->recycled_writes += items[k].rc == 0;
        }
        if (items[k].rc == 0)
            items[k].rc = dir_rc;
        struct spool_entry e = {.seq = items[k].seq, .size = items[k].len,
                                .records = items[k].records, .unsynced = !sync,
                                .written_at = now_mono_ms};
        if (items[k].rc == 0 && (flags & EDGE_SPOOL_KEEP) &&
            s->mem_bytes + items[k].len <= s->mem_max) {
            e.mem = items[k].buf;
            s->mem_bytes += items[k].len;
        }
        if (items[k].rc == 0)
            items[k].rc = push_entry(s, &e);
        if (items[k].rc == 0 && sync)
            s->syncs++;
        if (items[k].rc == 0 && e.mem)
            items[k].buf = NULL; /* kept */
        else if (e.mem)
            s->mem_bytes -= items[k].len;
        if (items[k].rc != 0 && rc == 0)
            rc = items[k].rc;
    }
    pthread_mutex_unlock(&s->mu);
    free(slot);
    free(old);
    if (dropped_records)
        *dropped_records = dropped;
    return rc;
}

int edge_spool_put(struct edge_spool *s, uint64_t seq, uint32_t records, const uint8_t *buf,
                   size_t len, uint64_t *dropped_records)
{
    struct edge_spool_item it = {.seq = seq, .records = records, .buf = (uint8_t *)buf,
                                 .len = len};
    return edge_spool_put_many(s, &it, 1, 0, 0, dropped_records);
}

/* Files opened at once by edge_spool_sync(), well under the usual limit of 1,024 fds. */
#define SYNC_CHUNK 64

/*
 * fdatasyncs the files of the m entries e. All their writeback is started first
 * (sync_file_range), so that the disk blocks of every file are allocated before the first
 * fdatasync: ext4 then commits the whole group in one journal transaction and the later
 * fdatasyncs find it done, instead of one commit per file. Counts the files synced in *done;
 * returns 0 or the first -errno (a file acked and deleted meanwhile is not an error).
 */
static int sync_chunk(struct edge_spool *s, const struct spool_entry *e, size_t m, size_t *done)
{
    int fds[SYNC_CHUNK], rc = 0;
    for (size_t k = 0; k < m; k++) {
        char path[4200];
        entry_path(s, &e[k], path, sizeof(path));
        fds[k] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[k] < 0 && errno != ENOENT && rc == 0)
            rc = -errno;
        if (fds[k] >= 0) /* only a hint: fdatasync below is what makes it durable */
            (void)sync_file_range(fds[k], 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    for (size_t k = 0; k < m; k++) {
        if (fds[k] < 0)
            continue;
        if (fdatasync(fds[k]) != 0) {
            if (rc == 0)
                rc = -errno;
        } else {
            (*done)++;
        }
        close(fds[k]);
    }
    return rc;
}

int edge_spool_sync(struct edge_spool *s, uint64_t cutoff_mono_ms, size_t *synced,
                    uint64_t *next)
{
    struct spool_entry *todo = NULL;
    size_t n = 0, done = 0;
    uint64_t oldest = 0;
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++)
        n += s->v[i].unsynced && s->v[i].written_at <= cutoff_mono_ms;
    if (n && !(todo = malloc(n * sizeof(*todo))))
        rc = -ENOMEM; /* flags stay set: the next call tries again */
    n = 0;
    for (size_t i = 0; i < s->n; i++) {
        struct spool_entry *e = &s->v[i];
        if (todo && e->unsynced && e->written_at <= cutoff_mono_ms) {
            todo[n] = *e;
            todo[n++].mem = NULL;
            e->unsynced = false;
        } else if (e->unsynced && (!oldest || e->written_at < oldest)) {
            oldest = e->written_at;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (next)
        *next = oldest;
    if (!todo)
        goto out_dir;
    /* Outside the lock: an entry acked meanwhile is gone (ENOENT), which is fine. */
    for (size_t k = 0; k < n; k += SYNC_CHUNK) {
        size_t m = n - k < SYNC_CHUNK ? n - k : SYNC_CHUNK;
        int r = sync_chunk(s, todo + k, m, &done);
        if (r != 0 && rc == 0)
            rc = r;
    }
    free(todo);
out_dir:
    if (done && fsync(s->dir_fd) != 0 && rc == 0)
        rc = -errno;
    pthread_mutex_lock(&s->mu);
    s->syncs += done;
    pthread_mutex_unlock(&s->mu);
    if (synced)
        *synced = done;
    return rc;
}

static int read_file(const char *path, uint64_t size, uint8_t **buf, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    uint8_t *b = malloc(size ? size : 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? -errno : -EIO;
            free(b);
            close(fd);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *len = got;
    return 0;
}

int edge_spool_take(struct edge_spool *s, uint64_t now_mono_ms, uint8_t **buf, size_t *len,
                    uint64_t *seq, uint32_t *records)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->n; i++) {
        struct spool_entry *e = &s->v[i];
        if (e->inflight)
            continue;
        if (e->retry_at > now_mono_ms)
            break; /* keep seq order: nothing newer goes out before this one */
        if (e->mem) { /* written by this run and still in memory: hand it over */
            *buf = e->mem;
            *len = e->size;
            e->mem = NULL;
            s->mem_bytes -= e->size;
        } else {
            char path[4200];
            entry_path(s, e, path, sizeof(path));
            rc = read_file(path, e->size, buf, len);
            s->disk_reads++;
        }
        if (rc != 0) {
            s->dropped_batches++;
            s->dropped_records += e->records;
            remove_at(s, i);
            break;
        }
        e->inflight = true;
        *seq = e->seq;
        *records = e->records;
        rc = 1;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void edge_spool_release(struct edge_spool *s, uint64_t seq, uint64_t retry_at_mono_ms)
{
    pthread_mutex_lock(&s->mu);
    ssize_t i = find_entry(s, seq);
    if (i >= 0) {
        s->v[i].inflight = false;
        s->v[i].retry_at = retry_at_mono_ms;
    }
    pthread_mutex_unlock(&s->mu);
}

int edge_spool_delete(struct edge_spool *s, uint64_t seq)
{
    pthread_mutex_lock(&s->mu);
    ssize_t i = find_entry(s, seq);
    if (i >= 0)
        remove_at(s, (size_t)i);
    pthread_mutex_unlock(&s->mu);
    return i >= 0 ? 0 : -ENOENT;
}

uint64_t edge_spool_first(struct edge_spool *s, uint64_t *retry_at_mono_ms)
{
    pthread_mutex_lock(&s->mu);
    uint64_t seq = s->n ? s->v[0].seq : 0;
    if (retry_at_mono_ms)
        *retry_at_mono_ms = s->n ? s->v[0].retry_at : 0;
    pthread_mutex_unlock(&s->mu);
    return seq;
}

void edge_spool_stats(struct edge_spool *s, struct edge_spool_stats *out)
{
    pthread_mutex_lock(&s->mu);
    out->batches = s->n;
    out->bytes = s->bytes;
    out->dropped_batches = s->dropped_batches;
    out->dropped_records = s->dropped_records;
    out->mem_bytes = s->mem_bytes;
    out->disk_reads = s->disk_reads;
    out->syncs = s->syncs;
    out->recycled_writes = s->recycled_writes;
    pthread_mutex_unlock(&s->mu);
}
