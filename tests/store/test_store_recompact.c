/*
 * test_store_recompact.c - what fl0wer_store_gc does to settled data (recompact.c, reblock.c):
 * memtables flushed once their data waited STORE_FLUSH_AGE_MS, no range tombstone when gc has
 * nothing to delete, and each settled range of flows compacted once, its small blocks joined:
 * the mark (meta v/recompacted) advances exactly to the range's end, survives a reopen, and the
 * flows read back the same, in the same order. Real RocksDB in a temporary directory; reaches
 * into store_int.h for the memtable and the block keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fl0wer/store.h"
#include "store_int.h"
#include "store_testutil.h"

#define HOUR0 (1700000000000ull - 1700000000000ull % FL0WER_HOUR_MS)
#define MINUTES 660 /* minutes since HOUR0 the data may use (hours 0-2 and 10) */
#define BIG_MINUTE 7
#define BIG_FLOWS 1500 /* one minute of more than a block */

struct data {
    struct fl0wer_flow *flows; /* every flow put, in put order */
    size_t n;
    size_t per_minute[MINUTES]; /* flows per minute */
    size_t blocks[MINUTES];     /* blocks put per minute (one per batch) */
};

static uint64_t mem_entries(struct fl0wer_store *s, int cf)
{
    uint64_t v = 0;
    assert_int_equal(rocksdb_property_int_cf(s->db, s->cf[cf],
                                             "rocksdb.num-entries-active-mem-table", &v),
                     0);
    return v;
}

/* Flow block keys of minutes [m0, m1) (minutes since HOUR0). */
static size_t count_blocks(struct fl0wer_store *s, unsigned m0, unsigned m1)
{
    uint8_t lo[8], hi[8];
    size_t n = 0;
    rocksdb_readoptions_t *ro = rocksdb_readoptions_create();
    store_be64(lo, HOUR0 / FL0WER_MINUTE_MS + m0);
    store_be64(hi, HOUR0 / FL0WER_MINUTE_MS + m1);
    rocksdb_readoptions_set_iterate_upper_bound(ro, (const char *)hi, 8);
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, ro, s->cf[STORE_CF_FLOWS]);
    for (rocksdb_iter_seek(it, (const char *)lo, 8); rocksdb_iter_valid(it); rocksdb_iter_next(it))
        n++;
    rocksdb_iter_destroy(it);
    rocksdb_readoptions_destroy(ro);
    return n;
}

struct collect {
    struct fl0wer_flow *f;
    size_t n, cap;
};

static int collect_cb(void *arg, const struct fl0wer_flow *flows, size_t n)
{
    struct collect *c = arg;
    assert_true(c->n + n <= c->cap);
    memcpy(c->f + c->n, flows, n * sizeof(*flows));
    c->n += n;
    return 0;
}

/* Every stored flow, in scan (key) order, into out (room for cap). Returns the count. */
static size_t read_all(struct fl0wer_store *s, struct fl0wer_flow *out, size_t cap)
{
    struct collect c = {out, 0, cap};
    assert_int_equal(fl0wer_store_scan_flows(s, 0, HOUR0 + 1000 * FL0WER_HOUR_MS, collect_cb, &c),
                     0);
    return c.n;
}

/* Stores minutes [m0, m1) as tiny batches (1-4 batches of 2 flows a minute, as a low-rate edge
   sends them), minute BIG_MINUTE with BIG_FLOWS more in one batch, each hour then flushed to
   its own file. */
static void put_minutes(struct fl0wer_store *s, struct data *d, unsigned m0, unsigned m1,
                        uint64_t *seq)
{
    struct tu_rng r = {11 + m0};
    for (unsigned m = m0; m < m1; m++) {
        unsigned batches = 1 + m % 4;
        for (unsigned b = 0; b < batches; b++) {
            struct fl0wer_flow *f = d->flows + d->n;
            size_t k = 2;
            if (m == BIG_MINUTE && b == 1)
                k = BIG_FLOWS;
            for (size_t i = 0; i < k; i++)
                tu_flow(&r, &f[i], HOUR0 + m * FL0WER_MINUTE_MS, FL0WER_MINUTE_MS);
            struct fl0wer_batch bt = tu_batch(f, k, (*seq)++);
            bool dup = true;
            assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &bt, &dup), 0);
            assert_false(dup);
            d->n += k;
            d->per_minute[m] += k;
            d->blocks[m] += 1 + (k - 1) / STORE_MAX_BLOCK_FLOWS;
        }
        if (m % 60 == 59)
            assert_int_equal(store_flush_all(s), 0);
    }
}

/* The last flow key stored (28 bytes) into out. */
static void last_key(struct fl0wer_store *s, uint8_t out[STORE_FLOW_KEY_LEN])
{
    size_t kl = 0;
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[STORE_CF_FLOWS]);
    rocksdb_iter_seek_to_last(it);
    assert_true(rocksdb_iter_valid(it));
    const char *k = rocksdb_iter_key(it, &kl);
    assert_int_equal(kl, STORE_FLOW_KEY_LEN);
    memcpy(out, k, kl);
    rocksdb_iter_destroy(it);
}

/* Blocks minutes [m0, m1) lose when joined: put minus ceil(flows / 1024) each. */
static size_t expected_joined(const struct data *d, unsigned m0, unsigned m1)
{
    size_t n = 0;
    for (unsigned m = m0; m < m1; m++)
        n += d->blocks[m] - (d->per_minute[m] + STORE_MAX_BLOCK_FLOWS - 1) / STORE_MAX_BLOCK_FLOWS;
    return n;
}

static size_t expected_blocks(const struct data *d, unsigned m0, unsigned m1, bool joined)
{
    size_t n = 0;
    for (unsigned m = m0; m < m1; m++)
        n += joined ? (d->per_minute[m] + STORE_MAX_BLOCK_FLOWS - 1) / STORE_MAX_BLOCK_FLOWS
                    : d->blocks[m];
    return n;
}

/* The stored mark (false: absent) into out. */
static bool stored_mark(struct fl0wer_store *s, uint8_t out[STORE_FLOW_KEY_LEN])
{
    char *err = NULL;
    size_t len = 0;
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], STORE_META_RECOMPACTED,
                             strlen(STORE_META_RECOMPACTED), &len, &err);
    assert_null(err);
    if (!v)
        return false;
    assert_int_equal(len, STORE_FLOW_KEY_LEN);
    memcpy(out, v, len);
    rocksdb_free(v);
    return true;
}

static void assert_same_flows(struct fl0wer_store *s, const struct fl0wer_flow *before, size_t n)
{
    struct fl0wer_flow *now = malloc((n + 1) * sizeof(*now));
    assert_int_equal(read_all(s, now, n + 1), n);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(&now[i], &before[i], sizeof(*now));
    free(now);
}

static void test_recompact(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;
    struct data d = {0};
    uint8_t mark[STORE_FLOW_KEY_LEN], last[STORE_FLOW_KEY_LEN];
    uint64_t seq = 1;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    d.flows = malloc((MINUTES * 8 + BIG_FLOWS) * sizeof(*d.flows));
    put_minutes(s, &d, 0, 180, &seq); /* hours 0, 1, 2: a file each */
    assert_int_equal(count_blocks(s, 0, 180), expected_blocks(&d, 0, 180, false));
    struct fl0wer_flow *before = malloc((d.n + 1) * sizeof(*before));
    assert_int_equal(read_all(s, before, d.n + 1), d.n);
    last_key(s, last); /* the largest key of the three files */

    /* hour 0 is settled 3 h later (2 h lag), but a few KB: it waits until the oldest has been
       settled STORE_RECOMPACT_MIN_MS */
    uint64_t now = HOUR0 + 3 * FL0WER_HOUR_MS + 30000;
    assert_int_equal(fl0wer_store_gc(s, now, &res), 0);
    assert_int_equal(res.flow_blocks_removed, 0);
    assert_int_equal(res.flow_files_recompacted, 0);
    assert_false(stored_mark(s, mark));
    now = HOUR0 + STORE_RECOMPACT_LAG_MS + STORE_RECOMPACT_MIN_MS - 1;
    assert_int_equal(fl0wer_store_gc(s, now, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 0);

    /* then the three files at once, every minute's blocks joined; the mark is the files'
       largest key (before joining: the joined blocks take their first block's seq) */
    now += 1;
    assert_int_equal(fl0wer_store_gc(s, now, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 3);
    assert_int_equal(res.flow_blocks_joined, expected_joined(&d, 0, 180));
    assert_true(res.flow_blocks_joined > 180);
    assert_int_equal(count_blocks(s, 0, 180), expected_blocks(&d, 0, 180, true));
    assert_int_equal(count_blocks(s, BIG_MINUTE, BIG_MINUTE + 1), 2); /* 1500 + 4 flows */
    assert_true(stored_mark(s, mark));
    assert_memory_equal(mark, last, sizeof(mark));
    assert_int_equal(store_get_be64(mark), HOUR0 / FL0WER_MINUTE_MS + 179);
    assert_same_flows(s, before, d.n);

    /* done once: later passes, also after a reopen, find nothing new */
    assert_int_equal(fl0wer_store_gc(s, now + FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 0);
    assert_int_equal(res.flow_blocks_joined, 0);
    fl0wer_store_close(s);
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_gc(s, now + 2 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 0);

    /* hour 10: its own file, compacted alone once settled long enough; the mark moves on */
    put_minutes(s, &d, 600, 660, &seq);
    before = realloc(before, (d.n + 1) * sizeof(*before));
    assert_int_equal(read_all(s, before, d.n + 1), d.n);
    last_key(s, last);
    now = HOUR0 + 11 * FL0WER_HOUR_MS + STORE_RECOMPACT_LAG_MS + STORE_RECOMPACT_MIN_MS -
          FL0WER_HOUR_MS;
    assert_int_equal(fl0wer_store_gc(s, now, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 1);
    assert_int_equal(res.flow_blocks_joined, expected_joined(&d, 600, 660));
    assert_int_equal(count_blocks(s, 0, MINUTES), expected_blocks(&d, 0, MINUTES, true));
    assert_true(stored_mark(s, mark));
    assert_memory_equal(mark, last, sizeof(mark));
    assert_int_equal(store_get_be64(mark), HOUR0 / FL0WER_MINUTE_MS + 659);
    assert_same_flows(s, before, d.n);

    fl0wer_store_close(s);
    tu_rmdir(dir);
    free(before);
    free(d.flows);
}

/* An empty store, or one whose data is not settled yet: nothing compacted, no mark written. */
static void test_recompact_empty(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;
    uint8_t mark[STORE_FLOW_KEY_LEN];

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 50 * FL0WER_HOUR_MS, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 0);
    assert_false(stored_mark(s, mark));
    struct tu_rng r = {3};
    struct fl0wer_flow f[4];
    bool dup;
    for (size_t i = 0; i < 4; i++)
        tu_flow(&r, &f[i], HOUR0 + 49 * FL0WER_HOUR_MS, FL0WER_HOUR_MS);
    struct fl0wer_batch b = tu_batch(f, 4, 1);
    assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &b, &dup), 0);
    assert_int_equal(store_flush_all(s), 0);
    /* settled up to hour 48 only (2 h lag): the file of hour 49 waits */
    assert_int_equal(fl0wer_store_gc(s, HOUR0 + 50 * FL0WER_HOUR_MS + 59 * 60000, &res), 0);
    assert_int_equal(res.flow_files_recompacted, 0);
    assert_false(stored_mark(s, mark));
    fl0wer_store_close(s);
    tu_rmdir(dir);
}

/* Memtables are flushed once unflushed data waited STORE_FLUSH_AGE_MS (gc's clock), and a gc
   with nothing to delete writes no range tombstone. */
static void test_flush_aged(void **state)
{
    (void)state;
    char dir[64], err[256];
    struct fl0wer_store *s = NULL;
    struct fl0wer_store_config cfg = {.path = dir};
    struct fl0wer_store_gc_result res;
    struct tu_rng r = {5};
    struct fl0wer_flow f[30];
    bool dup;

    assert_non_null(tu_tmpdir(dir, sizeof(dir)));
    assert_int_equal(fl0wer_store_open(&s, &cfg, err), 0);
    /* one batch over 3 minutes: 3 blocks in the flows memtable */
    for (size_t i = 0; i < 30; i++)
        tu_flow(&r, &f[i], HOUR0 + 10 * FL0WER_HOUR_MS + (i % 3) * FL0WER_MINUTE_MS, 1000);
    struct fl0wer_batch b = tu_batch(f, 30, 1);
    assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &b, &dup), 0);
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 3);

    uint64_t t = HOUR0 + 10 * FL0WER_HOUR_MS; /* gc's clock; the data is not settled yet */
    assert_int_equal(fl0wer_store_gc(s, t, &res), 0);
    assert_int_equal(res.memtables_flushed, 0);
    /* retention ran (now - 30 days) but had nothing to delete: no tombstone added */
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 3);
    assert_int_equal(fl0wer_store_gc(s, t + STORE_FLUSH_AGE_MS - 1, &res), 0);
    assert_int_equal(res.memtables_flushed, 0);
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 3);
    assert_int_equal(fl0wer_store_gc(s, t + STORE_FLUSH_AGE_MS, &res), 0);
    assert_int_equal(res.memtables_flushed, 1);
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 0);
    assert_int_equal(mem_entries(s, STORE_CF_META), 0);
    char *files = rocksdb_property_value_cf(s->db, s->cf[STORE_CF_FLOWS],
                                            "rocksdb.num-files-at-level0");
    assert_non_null(files);
    assert_string_equal(files, "1");
    rocksdb_free(files);
    /* each gc raises the raw cut (meta v/raw-cut): that write starts the next wait, at the
       gc after the flush, and new flows are flushed with it */
    assert_int_equal(fl0wer_store_gc(s, t + STORE_FLUSH_AGE_MS + 1, &res), 0);
    assert_int_equal(res.memtables_flushed, 0);
    b = tu_batch(f, 30, 2);
    assert_int_equal(fl0wer_store_put_batch(s, "edge-a", &b, &dup), 0);
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 3);
    assert_int_equal(fl0wer_store_gc(s, t + 2 * STORE_FLUSH_AGE_MS, &res), 0);
    assert_int_equal(res.memtables_flushed, 0);
    assert_int_equal(fl0wer_store_gc(s, t + 2 * STORE_FLUSH_AGE_MS + 1, &res), 0);
    assert_int_equal(res.memtables_flushed, 1);
    assert_int_equal(mem_entries(s, STORE_CF_FLOWS), 0);

    fl0wer_store_close(s);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recompact),
        cmocka_unit_test(test_recompact_empty),
        cmocka_unit_test(test_flush_aged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
