/*
 * commit.c - group commit: with a store opened without sync_writes, the batches of a done list
 * are made durable with fl0wer_store_sync before they are acknowledged. The worker that finds no
 * sync running becomes the syncer: it syncs every write finished by then and sends the acks of
 * the jobs that waited for it, and repeats while other workers have handed it more done lists
 * meanwhile. Those workers do not wait: they append their done list to sync_pending and go back
 * to verifying and storing, so every sync covers the batches stored while the previous one ran
 * (fewer, larger syncs under load; one sync per batch when batches arrive one at a time).
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

/* Highest write generation on a done list (0: nothing on it waits for a sync). */
static uint64_t max_gen(const struct ingest_job *list)
{
    uint64_t gen = 0;

    for (; list; list = list->next)
        if (list->write_gen > gen)
            gen = list->write_gen;
    return gen;
}

/*
 * Makes list durable and acknowledges it. Called by the syncer only (sync_running set, sync_lock
 * not held). Every generation on list is at most `upto`, read after the jobs were handed over,
 * so a successful sync covers them all. When the sync fails, their acks become RETRY (the
 * batches are written but not known durable; the edges resend them and get DUPLICATE once a
 * sync succeeds) and the failure is logged.
 */
static void sync_and_ack(struct fl0wer_ingest *ing, struct ingest_job *list, uint64_t upto)
{
    uint64_t gen = max_gen(list);
    unsigned n = 0;
    int rc = 0;

    if (gen > ing->synced_gen) {
        rc = fl0wer_store_sync(ing->store);
        atomic_fetch_add(&ing->syncs, 1);
        if (rc == 0)
            ing->synced_gen = upto;
    }
    if (rc != 0) {
        pthread_mutex_lock(&ing->lock);
        for (struct ingest_job *j = list; j; j = j->next)
            if (j->write_gen) {
                j->ack = FL0WER_ACK_RETRY;
                ing->st.batches_retry++;
                n++;
            }
        pthread_mutex_unlock(&ing->lock);
        ingest_logf(ing, 0, "could not sync the store (error %d): %u batches answered retry", rc,
                    n);
    }
    ingest_send_acks(list);
}

/*
 * Sends the acks of done (ing->lock not held) once what they wait for is durable: directly when
 * nothing on it waits for a sync; else done is handed to the running syncer, or this worker
 * becomes the syncer until no done list waits any more.
 */
void ingest_commit_done(struct fl0wer_ingest *ing, struct ingest_job *done)
{
    struct ingest_job *list, **tail;

    if (!ing->group_commit || max_gen(done) == 0) {
        ingest_send_acks(done);
        return;
    }
    pthread_mutex_lock(&ing->sync_lock);
    for (tail = &ing->sync_pending; *tail; tail = &(*tail)->next)
        ;
    *tail = done;
    if (ing->sync_running) {
        pthread_mutex_unlock(&ing->sync_lock);
        return;
    }
    ing->sync_running = true;
    while ((list = ing->sync_pending) != NULL) {
        ing->sync_pending = NULL;
        uint64_t upto = atomic_load(&ing->written_gen);
        pthread_mutex_unlock(&ing->sync_lock);
        sync_and_ack(ing, list, upto);
        pthread_mutex_lock(&ing->sync_lock);
    }
    ing->sync_running = false;
    pthread_mutex_unlock(&ing->sync_lock);
}
