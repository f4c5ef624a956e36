/*
 * order.c - per-edge ordering and storage of verified batches.
 *
 * The store keeps each edge's set of stored sequence numbers and decides duplicates itself, so
 * exactly-once does not depend on order. Batches of one edge are still stored one at a time in
 * ascending order, so that what each batch overwrites (the exporter counter snapshots and the
 * edge report: the last write wins) never goes backwards. nng hands the batches of one
 * connection to different contexts whose callbacks may run in any order, so each verified batch
 * is parked on its edge, sorted by seq, and one worker at a time stores an edge's batches in
 * ascending order while the other workers verify and parse:
 *   - seq <= last stored + 1        -> stored now (the store answers a duplicate);
 *   - seq >  last + 1 (a gap)       -> waits up to order_wait_ms for the missing batches to
 *                                      arrive (they may be in another context), then is stored
 *                                      anyway (the edge may have dropped them: spool overflow,
 *                                      or they were rejected);
 *   - a store failure of seq N      -> RETRY for N and for every later seq of the edge until N
 *                                      is stored or INGEST_POISON_MS pass.
 * Everything here runs under ing->lock except the store calls (edge->busy marks them). Parsed
 * batches' arrays go back to the ingest's pool when answered (ingest_job_batch_done), so storing
 * allocates nothing here per batch.
 */
#include <stdlib.h>
#include <string.h>

#include "ingest_int.h"

/* Moves job to the done list with its ack. Its parsed batch's arrays go back to the pool
 * (ingest_job_batch_done). Under ing->lock. */
static void finish(struct fl0wer_ingest *ing, struct ingest_job *job,
                   enum fl0wer_ack_status ack, struct ingest_job **done)
{
    (void)ing;
    job->ack = ack;
    job->ack_seq = job->batch.seq;
    if (ack != FL0WER_ACK_STORED && ack != FL0WER_ACK_DUPLICATE)
        job->write_gen = 0; /* nothing to wait for */
    ingest_job_batch_done(job);
    job->next = *done;
    *done = job;
}

/* Inserts job into e's parked list keeping it sorted by ascending seq (stable for equal ones). */
static void park_sorted(struct ingest_edge *e, struct ingest_job *job)
{
    struct ingest_job **pp = &e->parked;

    while (*pp && (*pp)->batch.seq <= job->batch.seq)
        pp = &(*pp)->next;
    job->next = *pp;
    *pp = job;
}

/* Answers every parked batch of e with RETRY (the edge's state could not be read). */
static void retry_all(struct fl0wer_ingest *ing, struct ingest_edge *e, struct ingest_job **done)
{
    struct ingest_job *j;

    while ((j = e->parked) != NULL) {
        e->parked = j->next;
        ing->parked_count--;
        ing->st.batches_retry++;
        e->st.batches_retry++;
        finish(ing, j, FL0WER_ACK_RETRY, done);
    }
}

/* Reads e's last stored sequence number from the store, once. Returns false on failure. */
static bool load_last_seq(struct fl0wer_ingest *ing, struct ingest_edge *e)
{
    uint64_t seq = 0;
    int rc;

    if (e->loaded)
        return true;
    e->busy = true;
    pthread_mutex_unlock(&ing->lock);
    rc = fl0wer_store_edge_last_seq(ing->store, e->st.name, &seq);
    pthread_mutex_lock(&ing->lock);
    e->busy = false;
    if (rc != 0) {
        ingest_logf(ing, 0, "could not read the last sequence number of edge %s (error %d)",
                    e->st.name, rc);
        return false;
    }
    e->loaded = true;
    if (seq > e->last_seq)
        e->last_seq = seq;
    e->st.last_seq = e->last_seq;
    return true;
}

/* Stores job (already unlinked) for e with the lock released, then accounts for the result. */
static void store_one(struct fl0wer_ingest *ing, struct ingest_edge *e, struct ingest_job *job,
                      uint64_t now, struct ingest_job **done)
{
    bool duplicate = false;
    bool log = false;
    uint64_t suppressed = 0;
    uint64_t seq = job->batch.seq;
    size_t n = job->batch.flow_count;
    int rc;

    e->busy = true;
    pthread_mutex_unlock(&ing->lock);
    rc = fl0wer_store_put_batch(ing->store, e->st.name, &job->batch, &duplicate);
    job->write_gen = rc == 0 ? ingest_commit_gen(ing) : 0;
    if (rc == 0 && !duplicate && ing->on_stored)
        ing->on_stored(ing->on_stored_arg, e->st.name, &job->batch);
    pthread_mutex_lock(&ing->lock);
    e->busy = false;

    if (rc != 0) {
        if (e->poisoned_seq == 0 || seq < e->poisoned_seq)
            e->poisoned_seq = seq;
        e->poisoned_ms = now;
        ing->st.batches_retry++;
        e->st.batches_retry++;
        if (e->log_ms[INGEST_LOG_STORE] == 0 ||
            now - e->log_ms[INGEST_LOG_STORE] >= INGEST_LOG_PERIOD_MS) {
            log = true;
            suppressed = e->suppressed[INGEST_LOG_STORE];
            e->suppressed[INGEST_LOG_STORE] = 0;
            e->log_ms[INGEST_LOG_STORE] = now;
        } else {
            e->suppressed[INGEST_LOG_STORE]++;
        }
        finish(ing, job, FL0WER_ACK_RETRY, done);
        if (log)
            ingest_logf(ing, 0,
                        "could not store batch %llu of edge %s (error %d), answered retry; "
                        "%llu more store failures of this edge not logged in the last minute",
                        (unsigned long long)seq, e->st.name, rc,
                        (unsigned long long)suppressed);
        return;
    }
    if (e->poisoned_seq != 0 && seq >= e->poisoned_seq)
        e->poisoned_seq = 0;
    if (seq > e->last_seq)
        e->last_seq = seq;
    e->st.last_seq = e->last_seq;
    if (duplicate) {
        ing->st.batches_duplicate++;
        e->st.batches_duplicate++;
        finish(ing, job, FL0WER_ACK_DUPLICATE, done);
        return;
    }
    ing->st.batches_stored++;
    ing->st.records_stored += n;
    e->st.batches_stored++;
    e->st.records_stored += n;
    ingest_rate_add(ing, now, n);
    finish(ing, job, FL0WER_ACK_STORED, done);
}

/*
 * Stores (or answers) e's parked batches in ascending order until one must wait for a gap or
 * none is left. Does nothing when another worker is already storing for e. Under ing->lock,
 * which it releases around store calls. Answered jobs are pushed onto *done.
 */
void ingest_run_edge(struct fl0wer_ingest *ing, struct ingest_edge *e, struct ingest_job **done)
{
    struct ingest_job *j;
    uint64_t now;

    if (e->busy)
        return;
    if (e->parked && !load_last_seq(ing, e)) {
        retry_all(ing, e, done);
        return;
    }
    while (!e->busy && (j = e->parked) != NULL) {
        now = fl0wer_hub_now_ms();
        /* A number at or below the highest stored goes to the store too: it knows which
         * numbers were stored, and a late batch (after a lost ack or a hub restart, with later
         * ones already stored) must be stored, not taken for a duplicate. */
        if (e->poisoned_seq != 0 && now - e->poisoned_ms >= INGEST_POISON_MS)
            e->poisoned_seq = 0;
        if (e->poisoned_seq != 0 && j->batch.seq > e->poisoned_seq) {
            e->parked = j->next;
            ing->parked_count--;
            ing->st.batches_retry++;
            e->st.batches_retry++;
            finish(ing, j, FL0WER_ACK_RETRY, done);
            continue;
        }
        if (j->batch.seq > e->last_seq + 1 && !ing->flush &&
            now < j->parked_ms + ing->order_wait_ms)
            return; /* wait for the gap; a worker revisits it (ingest_run_expired) */
        e->parked = j->next;
        ing->parked_count--;
        store_one(ing, e, j, now, done);
    }
}

/*
 * Parks a verified job on the edge named edge_name and runs that edge. Under ing->lock. On
 * allocation failure the job is answered RETRY.
 */
void ingest_park(struct fl0wer_ingest *ing, struct ingest_job *job, const char *edge_name,
                 struct ingest_job **done)
{
    struct ingest_edge *e = ingest_edge_get(ing, edge_name);

    if (!e) {
        ing->st.batches_retry++;
        finish(ing, job, FL0WER_ACK_RETRY, done);
        return;
    }
    job->parked_ms = fl0wer_hub_now_ms();
    park_sorted(e, job);
    ing->parked_count++;
    ingest_run_edge(ing, e, done);
}

/*
 * Runs every edge that has parked batches and no worker storing for it (their gap may have
 * expired). Returns true when something was answered. Under ing->lock.
 */
bool ingest_run_expired(struct fl0wer_ingest *ing, struct ingest_job **done)
{
    struct ingest_edge *e;
    struct ingest_job *before = *done;

    for (e = ing->edges; e; e = e->next)
        if (e->parked && !e->busy)
            ingest_run_edge(ing, e, done);
    return *done != before;
}
