/*
 * sync.c - fl0wer_store_sync: makes every write put so far durable with one WAL fsync, for a
 * store opened without sync_writes whose caller groups many batches under one sync before it
 * acknowledges them (the hub's ingest, docs/hub.md "Group commit").
 */
#include "store_int.h"

#include <stdlib.h>

int fl0wer_store_sync(struct fl0wer_store *s)
{
    char *err = NULL;

    if (!s)
        return FL0WER_STORE_ERR_INVAL;
    rocksdb_flush_wal(s->db, 1, &err);
    if (err)
        return store_io_error("syncing the write-ahead log", err);
    return 0;
}
