/*
 * test_spool.c - the edge spool: sequence numbers persist across reopen, batches come back in
 * seq order (a batch waiting for its retry holds back later ones), delete after ack, spool-max
 * drops the oldest unsent batches and counts their records, leftovers (.tmp) are cleaned,
 * batches of this run are sent from memory (not read back), group commit (--spool-sync, also
 * over more files than it opens at once), acked batch files recycled.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "spool.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/fl0wer-test-spool-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static int count_files(const char *suffix)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name), s = strlen(suffix);
        n += l > s && !strcmp(de->d_name + l - s, suffix);
    }
    closedir(d);
    return n;
}

static void put(struct edge_spool *s, uint64_t seq, uint32_t records, size_t len,
                uint64_t *dropped)
{
    uint8_t buf[4096];
    memset(buf, (int)seq, sizeof(buf));
    assert_int_equal(edge_spool_put(s, seq, records, buf, len, dropped), 0);
}

static void test_order_and_persistence(void **state)
{
    char err[256];
    struct edge_spool *s;
    uint64_t seq, dropped;
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    for (uint64_t want = 1; want <= 3; want++) {
        assert_int_equal(edge_spool_next_seq(s, &seq), 0);
        assert_int_equal(seq, want);
        put(s, seq, (uint32_t)(10 * seq), 100 + seq, &dropped);
        assert_int_equal(dropped, 0);
    }
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.batches, 3);
    assert_int_equal(st.bytes, 101 + 102 + 103);
    edge_spool_close(s);

    /* Reopen: numbers are reserved in blocks, so the next one is past the block (never a
     * reuse); batches are read back in seq order with their content. */
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(edge_spool_next_seq(s, &seq), 0);
    assert_int_equal(seq, 1 + EDGE_SPOOL_SEQ_BLOCK);
    uint8_t *buf;
    size_t len;
    uint32_t records;
    assert_int_equal(edge_spool_take(s, 1000, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(records, 10);
    assert_int_equal(len, 101);
    assert_int_equal(buf[0], 1);
    assert_int_equal(buf[100], 1);
    free(buf);
    /* Seq 1 is in flight: the next take gives 2. */
    assert_int_equal(edge_spool_take(s, 1000, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 2);
    free(buf);
    /* 1 failed and waits until t=5000: nothing after it may go out before then. */
    edge_spool_release(s, 1, 5000);
    edge_spool_release(s, 2, 0);
    assert_int_equal(edge_spool_take(s, 1000, &buf, &len, &seq, &records), 0);
    uint64_t retry_at;
    assert_int_equal(edge_spool_first(s, &retry_at), 1);
    assert_int_equal(retry_at, 5000);
    assert_int_equal(edge_spool_take(s, 5000, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 1);
    free(buf);
    assert_int_equal(edge_spool_delete(s, 1), 0);
    assert_int_equal(edge_spool_delete(s, 1), -2 /* -ENOENT */);
    assert_int_equal(edge_spool_first(s, NULL), 2);
    assert_int_equal(count_files(".flwb"), 2);
    edge_spool_close(s);

    /* next-seq lost: the highest spooled seq + 1 is used. */
    char path[512];
    snprintf(path, sizeof(path), "%s/next-seq", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(edge_spool_next_seq(s, &seq), 0);
    assert_int_equal(seq, 4);
    edge_spool_close(s);
}

/* The number on disk (next-seq), or 0 when the file is absent or unreadable. */
static uint64_t next_seq_on_disk(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/next-seq", dir);
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return (uint64_t)v;
}

/* The spool writer extends the numbers on disk ahead of the batcher (edge_spool_reserve_ahead):
 * nothing while half a block or more is left, a block once fewer are; next_seq then never writes
 * the file itself, and a reopen after any of it starts past every number handed out. */
static void test_seq_reserved_ahead(void **state)
{
    char err[256];
    struct edge_spool *s;
    uint64_t seq = 0;
    const uint64_t B = EDGE_SPOOL_SEQ_BLOCK;
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(edge_spool_reserve_ahead(s), 0); /* nothing reserved yet: a block */
    assert_int_equal(next_seq_on_disk(), 1 + B);
    assert_int_equal(edge_spool_reserve_ahead(s), 0); /* a whole block left: nothing */
    assert_int_equal(next_seq_on_disk(), 1 + B);
    for (uint64_t want = 1; want <= B / 2; want++) {
        assert_int_equal(edge_spool_next_seq(s, &seq), 0);
        assert_int_equal(seq, want);
    }
    assert_int_equal(edge_spool_reserve_ahead(s), 0); /* exactly half left: still nothing */
    assert_int_equal(next_seq_on_disk(), 1 + B);
    assert_int_equal(edge_spool_next_seq(s, &seq), 0);
    assert_int_equal(seq, B / 2 + 1);
    assert_int_equal(edge_spool_reserve_ahead(s), 0); /* fewer than half: the next block */
    assert_int_equal(next_seq_on_disk(), 1 + 2 * B);
    /* The batcher uses up everything on disk without the writer: it extends it itself. */
    for (uint64_t want = B / 2 + 2; want <= 2 * B + 1; want++) {
        assert_int_equal(edge_spool_next_seq(s, &seq), 0);
        assert_int_equal(seq, want);
    }
    assert_int_equal(next_seq_on_disk(), 2 * B + 1 + B);
    edge_spool_close(s);
    /* Crash or restart: the next number is past every one handed out (2B + 1), never a reuse. */
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(edge_spool_next_seq(s, &seq), 0);
    assert_int_equal(seq, 3 * B + 1);
    edge_spool_close(s);
}

static void test_spool_max_drops_oldest(void **state)
{
    char err[256];
    struct edge_spool *s;
    uint64_t dropped;
    assert_int_equal(edge_spool_open(&s, dir, 3000, err), 0);
    put(s, 1, 11, 1000, &dropped);
    put(s, 2, 22, 1000, &dropped);
    put(s, 3, 33, 1000, &dropped);
    assert_int_equal(dropped, 0);
    /* A 4th batch does not fit: seq 1 (11 records) goes. */
    put(s, 4, 44, 1000, &dropped);
    assert_int_equal(dropped, 11);
    /* Batch 2 is being sent: it is skipped, 3 goes instead (and then 5 needs 2 slots). */
    uint8_t *buf;
    size_t len;
    uint64_t seq;
    uint32_t records;
    assert_int_equal(edge_spool_take(s, 0, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 2);
    free(buf);
    put(s, 5, 55, 2000, &dropped);
    assert_int_equal(dropped, 33 + 44);
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.bytes, 3000);
    assert_int_equal(st.dropped_batches, 3);
    assert_int_equal(st.dropped_records, 11 + 33 + 44);
    assert_int_equal(count_files(".flwb"), 2);
    edge_spool_close(s);
}

/* Stores n malloc'd batches of len bytes (byte value = seq) with put_many and flags. */
static void put_owned(struct edge_spool *s, uint64_t first, size_t n, size_t len, unsigned flags,
                      uint64_t now, int *kept)
{
    struct edge_spool_item it[8];
    for (size_t k = 0; k < n; k++) {
        it[k] = (struct edge_spool_item){.seq = first + k, .records = 5, .len = len};
        it[k].buf = malloc(len);
        assert_non_null(it[k].buf);
        memset(it[k].buf, (int)(first + k), len);
    }
    assert_int_equal(edge_spool_put_many(s, it, n, flags, now, NULL), 0);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(it[k].rc, 0);
        kept[k] = it[k].buf == NULL;
        free(it[k].buf);
    }
}

/* Overwrites the spooled file of seq (5 records) with len bytes of value v. */
static void overwrite_file(uint64_t seq, size_t len, int v)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%020llu-5.flwb", dir, (unsigned long long)seq);
    FILE *f = fopen(path, "r+");
    assert_non_null(f);
    for (size_t i = 0; i < len; i++)
        fputc(v, f);
    assert_int_equal(fclose(f), 0);
}

/* Batches stored with EDGE_SPOOL_KEEP are sent from memory (within the budget): the file is not
 * read back; past the budget, after a retry, or after a restart, the file is read. */
static void test_sent_from_memory(void **state)
{
    char err[256];
    struct edge_spool *s;
    int kept[3];
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    edge_spool_set_mem_max(s, 2500);
    put_owned(s, 1, 3, 1000, EDGE_SPOOL_KEEP, 10, kept);
    assert_true(kept[0] && kept[1]);
    assert_false(kept[2]); /* 3000 > 2500: the caller keeps (and frees) it */
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.mem_bytes, 2000);
    assert_int_equal(count_files(".flwb"), 3);
    /* The files change behind the spool's back: what memory holds is what goes out. */
    overwrite_file(1, 1000, 0xAA);
    overwrite_file(3, 1000, 0xCC);
    uint8_t *buf;
    size_t len;
    uint64_t seq;
    uint32_t records;
    int want[] = {1, 2, 0xCC};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(edge_spool_take(s, 0, &buf, &len, &seq, &records), 1);
        assert_int_equal(seq, (uint64_t)k + 1);
        assert_int_equal(len, 1000);
        assert_int_equal(buf[0], want[k]);
        assert_int_equal(buf[999], want[k]);
        free(buf);
    }
    edge_spool_stats(s, &st);
    assert_int_equal(st.mem_bytes, 0);
    assert_int_equal(st.disk_reads, 1);
    /* A resend (after a failure) reads the file. */
    edge_spool_release(s, 1, 0);
    assert_int_equal(edge_spool_take(s, 0, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 1);
    assert_int_equal(buf[0], 0xAA);
    free(buf);
    edge_spool_stats(s, &st);
    assert_int_equal(st.disk_reads, 2);
    /* Deleting a batch whose buffer is still held frees it (ASan checks the leak). */
    put_owned(s, 4, 1, 500, EDGE_SPOOL_KEEP, 20, kept);
    assert_true(kept[0]);
    assert_int_equal(edge_spool_delete(s, 4), 0);
    put_owned(s, 5, 1, 500, EDGE_SPOOL_KEEP, 20, kept);
    edge_spool_stats(s, &st);
    assert_int_equal(st.mem_bytes, 500);
    edge_spool_close(s); /* frees the kept buffer of 5 */
}

/* --spool-sync: batches written without fsync are complete files at once (a kill loses
 * nothing: a reopen finds them); edge_spool_sync() fsyncs only those still spooled and written
 * at or before the cutoff, once each, and says when the next one is due. */
static void test_group_commit(void **state)
{
    char err[256];
    struct edge_spool *s;
    int kept[3];
    uint64_t next;
    size_t synced;
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    put_owned(s, 1, 2, 700, EDGE_SPOOL_NOSYNC, 100, kept);
    put_owned(s, 3, 1, 700, EDGE_SPOOL_NOSYNC, 200, kept);
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.syncs, 0);
    assert_int_equal(st.batches, 3);

    /* Seen by a second instance (what a restart after SIGKILL finds): every batch, whole. */
    struct edge_spool *again;
    assert_int_equal(edge_spool_open(&again, dir, 1 << 20, err), 0);
    edge_spool_stats(again, &st);
    assert_int_equal(st.batches, 3);
    assert_int_equal(st.bytes, 2100);
    edge_spool_close(again);

    assert_int_equal(edge_spool_delete(s, 1), 0); /* acked before its sync: never synced */
    assert_int_equal(edge_spool_sync(s, 150, &synced, &next), 0);
    assert_int_equal(synced, 1); /* seq 2 (written at 100); seq 3 is newer than the cutoff */
    assert_int_equal(next, 200);
    assert_int_equal(edge_spool_sync(s, 150, &synced, &next), 0);
    assert_int_equal(synced, 0); /* each file once */
    assert_int_equal(next, 200);
    assert_int_equal(edge_spool_sync(s, UINT64_MAX, &synced, &next), 0);
    assert_int_equal(synced, 1);
    assert_int_equal(next, 0);
    /* Without EDGE_SPOOL_NOSYNC each file is synced as it is stored. */
    put_owned(s, 4, 2, 100, 0, 300, kept);
    assert_int_equal(edge_spool_sync(s, UINT64_MAX, &synced, &next), 0);
    assert_int_equal(synced, 0);
    edge_spool_stats(s, &st);
    assert_int_equal(st.syncs, 4);
    assert_int_equal(st.batches, 4);
    edge_spool_close(s);
}

/* A group commit larger than the files edge_spool_sync() opens at once (it goes in chunks):
 * every batch still spooled is synced exactly once, those acked before it are skipped, and the
 * files stay whole and in the index. */
static void test_group_commit_many(void **state)
{
    char err[256];
    struct edge_spool *s;
    int kept[8];
    uint64_t next = 1;
    size_t synced = 0;
    assert_int_equal(edge_spool_open(&s, dir, 1 << 24, err), 0);
    for (uint64_t seq = 1; seq <= 72; seq += 6)
        put_owned(s, seq, 6, 300, EDGE_SPOOL_NOSYNC, 100, kept);
    assert_int_equal(edge_spool_delete(s, 1), 0);   /* acked: first of the first chunk */
    assert_int_equal(edge_spool_delete(s, 64), 0);  /* last of the first chunk */
    assert_int_equal(edge_spool_delete(s, 72), 0);  /* the last one, in the second chunk */
    assert_int_equal(edge_spool_sync(s, 100, &synced, &next), 0);
    assert_int_equal(synced, 69);
    assert_int_equal(next, 0);
    assert_int_equal(edge_spool_sync(s, UINT64_MAX, &synced, &next), 0);
    assert_int_equal(synced, 0);
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.syncs, 69);
    assert_int_equal(st.batches, 69);
    assert_int_equal(st.bytes, 69 * 300);
    edge_spool_close(s);
    assert_int_equal(count_files(".flwb"), 69);
}

/* Acked batch files are kept (recycle-K.tmp, at most EDGE_SPOOL_RECYCLE) and overwritten by
 * later batches, cut to their length; a reopen removes the kept ones. */
static void test_files_recycled(void **state)
{
    char err[256], path[512];
    struct edge_spool *s;
    int kept[8];
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    put_owned(s, 1, 2, 3000, 0, 1, kept);
    assert_int_equal(edge_spool_delete(s, 1), 0);
    assert_int_equal(count_files(".flwb"), 1);
    assert_int_equal(count_files(".tmp"), 1); /* recycle-0.tmp */
    put_owned(s, 3, 1, 1200, 0, 2, kept);    /* shorter: written over it, then cut */
    assert_int_equal(count_files(".tmp"), 0);
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.recycled_writes, 1);
    struct stat sb;
    snprintf(path, sizeof(path), "%s/%020d-5.flwb", dir, 3);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 1200);
    /* More acks than slots: the rest are deleted. */
    uint64_t last = 3;
    for (int round = 0; round < 10; round++, last += 8)
        put_owned(s, last + 1, 8, 100, 0, 3, kept);
    for (uint64_t seq = 2; seq <= last; seq++)
        assert_int_equal(edge_spool_delete(s, seq), 0);
    assert_true(last - 1 > EDGE_SPOOL_RECYCLE);
    assert_int_equal(count_files(".tmp"), EDGE_SPOOL_RECYCLE);
    assert_int_equal(count_files(".flwb"), 0);
    put_owned(s, 100, 1, 50, 0, 4, kept);
    edge_spool_close(s);
    /* A restart reads seq 100 back whole (50 bytes of 100) and drops the kept files. */
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(count_files(".tmp"), 0);
    uint8_t *buf;
    size_t len;
    uint64_t seq;
    uint32_t records;
    assert_int_equal(edge_spool_take(s, 0, &buf, &len, &seq, &records), 1);
    assert_int_equal(seq, 100);
    assert_int_equal(len, 50);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], 100);
    free(buf);
    edge_spool_close(s);
}

static void test_tmp_leftovers_removed(void **state)
{
    char err[256], path[512];
    snprintf(path, sizeof(path), "%s/00000000000000000007-5.flwb.tmp", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("half", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/00000000000000000006-5.flwb", dir);
    f = fopen(path, "w");
    fputs("whole", f);
    fclose(f);
    struct edge_spool *s;
    assert_int_equal(edge_spool_open(&s, dir, 1 << 20, err), 0);
    assert_int_equal(count_files(".tmp"), 0);
    struct edge_spool_stats st;
    edge_spool_stats(s, &st);
    assert_int_equal(st.batches, 1);
    uint64_t seq;
    assert_int_equal(edge_spool_next_seq(s, &seq), 0);
    assert_int_equal(seq, 7);
    edge_spool_close(s);
}

static void test_open_fails_cleanly(void **state)
{
    char err[256];
    struct edge_spool *s;
    assert_true(edge_spool_open(&s, "/proc/fl0wer-no-such/spool", 1 << 20, err) < 0);
    assert_non_null(strstr(err, "/proc/fl0wer-no-such/spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_seq_reserved_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_max_drops_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_from_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_recycled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tmp_leftovers_removed, setup, teardown),
        cmocka_unit_test(test_open_fails_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
