/*
 * commit.c - group commit: with a store opened without sync_writes, a worker makes the batches
 * on its done list durable with one fl0wer_store_sync before it acknowledges them, and workers
 * that reach that point together share one sync (the first to take sync_lock syncs for every
 * write finished by then; the others find their writes covered and only wait).
 */
#include "ingest_int.h"

/*
 * The write generation an acknowledgement must wait for, counted after the write returned, so
 * every generation at or below a value read later belongs to a finished write. A duplicate gets
 * one too: the write that stored it first may not be synced yet (even by an earlier process of
 * the hub: its log survives a kill in the page cache, not a power loss). 0 without group commit.
 */
uint64_t ingest_commit_gen(struct fl0wer_ingest *ing)
{
    if (!ing->group_commit)
        return 0;
    return atomic_fetch_add(&ing->written_gen, 1) + 1;
}

/* Syncs the store unless a sync since covers generation gen. Returns 0 or a store error. */
static int commit_sync(struct fl0wer_ingest *ing, uint64_t gen)
{
    int rc = 0;

    pthread_mutex_lock(&ing->sync_lock);
    if (ing->synced_gen < gen) {
        uint64_t upto = atomic_load(&ing->written_gen);
        rc = fl0wer_store_sync(ing->store);
        if (rc == 0)
            ing->synced_gen = upto;
        atomic_fetch_add(&ing->syncs, 1);
    }
    pthread_mutex_unlock(&ing->sync_lock);
    return rc;
}

/*
 * Before the acks of done go out: syncs what they wait for. When the sync fails, their acks
 * become RETRY (the batches are written but not known durable; the edges resend them and get
 * DUPLICATE once a sync succeeds) and the failure is logged.
 */
void ingest_commit_done(struct fl0wer_ingest *ing, struct ingest_job *done)
{
    uint64_t gen = 0;
    unsigned n = 0;
    int rc;

    for (struct ingest_job *j = done; j; j = j->next)
        if (j->write_gen > gen)
            gen = j->write_gen;
    if (gen == 0 || (rc = commit_sync(ing, gen)) == 0)
        return;
    pthread_mutex_lock(&ing->lock);
    for (struct ingest_job *j = done; j; j = j->next)
        if (j->write_gen) {
            j->ack = FL0WER_ACK_RETRY;
            ing->st.batches_retry++;
            n++;
        }
    pthread_mutex_unlock(&ing->lock);
    ingest_logf(ing, 0, "could not sync the store (error %d): %u batches answered retry", rc, n);
}
