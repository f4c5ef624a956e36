/*
 * verify.c - the ingest's trust boundary: the authorized edges set (loaded, reloaded, swapped
 * atomically), the checks every received batch passes before anything else reads it (size, key
 * lookup, signature, schema), and the accounting of rejects (counters by edge and reason,
 * fl0wer_store_edge_reject, one log line per edge and reason per minute).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ingest_int.h"

static const char *const reason_names[FL0WER_REJECT__COUNT] = {
    [FL0WER_REJECT_UNKNOWN_KEY] = "unknown_key",
    [FL0WER_REJECT_BAD_SIGNATURE] = "bad_signature",
    [FL0WER_REJECT_MALFORMED] = "malformed",
    [FL0WER_REJECT_TOO_LARGE] = "too_large",
};

const char *fl0wer_reject_reason_name(enum fl0wer_reject_reason r)
{
    if ((unsigned)r >= FL0WER_REJECT__COUNT)
        return "invalid";
    return reason_names[r];
}

/* Formats a message and hands it to the configured sink (or stderr). */
void ingest_logf(struct fl0wer_ingest *ing, int level, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (ing->log_fn)
        ing->log_fn(ing->log_arg, level, msg);
    else
        fl0wer_hub_log(level, "%s", msg);
}

/*
 * Loads the authorized edges file into a new set and swaps it in under the write lock; the old
 * set is released. On failure the current set is kept and a message is written to errbuf.
 * Returns 0 or FL0WER_INGEST_ERR_AUTHORIZED.
 */
int ingest_auth_load(struct fl0wer_ingest *ing, char *errbuf, size_t errlen)
{
    struct fl0wer_authorized fresh = {0};
    struct fl0wer_authorized old;
    int bad_line = 0;
    int rc;

    rc = fl0wer_authorized_load(&fresh, ing->authorized_path, &bad_line);
    if (rc == -EINVAL) {
        snprintf(errbuf, errlen, "authorized edges file %s: line %d is malformed",
                 ing->authorized_path, bad_line);
        return FL0WER_INGEST_ERR_AUTHORIZED;
    }
    if (rc != 0) {
        snprintf(errbuf, errlen, "authorized edges file %s: %s", ing->authorized_path,
                 strerror(rc < 0 ? -rc : rc));
        return FL0WER_INGEST_ERR_AUTHORIZED;
    }
    pthread_rwlock_wrlock(&ing->auth_lock);
    old = ing->auth;
    ing->auth = fresh;
    pthread_rwlock_unlock(&ing->auth_lock);
    fl0wer_authorized_release(&old);

    pthread_mutex_lock(&ing->lock);
    ing->st.authorized_edges = fresh.count;
    pthread_mutex_unlock(&ing->lock);
    return 0;
}

/* Returns the edge record for name, creating it (NULL on allocation failure). Under ing->lock. */
struct ingest_edge *ingest_edge_get(struct fl0wer_ingest *ing, const char *name)
{
    struct ingest_edge *e;

    for (e = ing->edges; e; e = e->next)
        if (strcmp(e->st.name, name) == 0)
            return e;
    e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    snprintf(e->st.name, sizeof(e->st.name), "%s", name);
    e->next = ing->edges;
    ing->edges = e;
    return e;
}

/* Adds one stored batch of `records` records to the per-second rate ring. Under ing->lock. */
void ingest_rate_add(struct fl0wer_ingest *ing, uint64_t now_ms, uint64_t records)
{
    uint64_t sec = now_ms / 1000u;
    struct ingest_rate_slot *s = &ing->rate[sec % INGEST_RATE_SLOTS];

    if (s->sec != sec) {
        s->sec = sec;
        s->batches = 0;
        s->records = 0;
    }
    s->batches++;
    s->records += records;
}

/*
 * Counts a rejected batch for edge_name and reason (in memory and in the store) and logs it,
 * at most once per edge and reason per minute (the line says how many were suppressed).
 */
static void reject(struct fl0wer_ingest *ing, struct ingest_job *job, const char *edge_name,
                   enum fl0wer_reject_reason r, const char *detail)
{
    uint64_t now = fl0wer_hub_now_ms();
    uint64_t suppressed = 0;
    bool log = false;
    struct ingest_edge *e;

    pthread_mutex_lock(&ing->lock);
    ing->st.rejects[r]++;
    ing->st.batches_rejected++;
    e = ingest_edge_get(ing, edge_name);
    if (e) {
        e->st.rejects[r]++;
        if (e->log_ms[r] == 0 || now - e->log_ms[r] >= INGEST_LOG_PERIOD_MS) {
            log = true;
            suppressed = e->suppressed[r];
            e->suppressed[r] = 0;
            e->log_ms[r] = now;
        } else {
            e->suppressed[r]++;
        }
    }
    pthread_mutex_unlock(&ing->lock);

    if (log && suppressed)
        ingest_logf(ing, 1,
                    "rejected batch from edge %s: %s (%s); %llu more from this edge for this "
                    "reason were not logged in the last minute",
                    edge_name, fl0wer_reject_reason_name(r), detail,
                    (unsigned long long)suppressed);
    else if (log)
        ingest_logf(ing, 1, "rejected batch from edge %s: %s (%s)", edge_name,
                    fl0wer_reject_reason_name(r), detail);
    if (fl0wer_store_edge_reject(ing->store, edge_name, fl0wer_reject_reason_name(r)) != 0)
        ingest_logf(ing, 0, "could not count reject of edge %s in the store", edge_name);
    job->ack = FL0WER_ACK_REJECTED;
    job->ack_seq = 0;
}

/* Maps a batch error from verify/parse to a reject reason. */
static enum fl0wer_reject_reason reason_of(int rc)
{
    if (rc == FL0WER_BATCH_ERR_SIGNATURE)
        return FL0WER_REJECT_BAD_SIGNATURE;
    if (rc == FL0WER_BATCH_ERR_TOO_LARGE)
        return FL0WER_REJECT_TOO_LARGE;
    return FL0WER_REJECT_MALFORMED;
}

/*
 * Checks the received message of job in the documented order: size, key, signature, schema.
 * Returns true with job->batch parsed and edge_name (FL0WER_EDGE_NAME_MAX) set to the
 * authorized name; false when the batch was rejected (job->ack set, counted, logged).
 */
bool ingest_verify_job(struct fl0wer_ingest *ing, struct ingest_job *job, char *edge_name)
{
    const uint8_t *buf = nng_msg_body(job->msg);
    size_t len = nng_msg_len(job->msg);
    uint8_t pk[FL0WER_PUBKEY_LEN];
    const struct fl0wer_authorized_edge *a;
    char key_b64[64];
    bool have_key;
    bool found = false;
    char detail[160];
    int rc;

    /* Only the fixed header is looked at here, so an oversized batch is still attributed. */
    have_key = fl0wer_batch_peek_key(buf, len < FL0WER_BATCH_HEADER_LEN ? len
                                                                       : FL0WER_BATCH_HEADER_LEN,
                                     pk) == 0;
    if (have_key) {
        pthread_rwlock_rdlock(&ing->auth_lock);
        a = fl0wer_authorized_find(&ing->auth, pk);
        if (a) {
            found = true;
            memcpy(edge_name, a->name, FL0WER_EDGE_NAME_MAX);
            edge_name[FL0WER_EDGE_NAME_MAX - 1] = '\0';
        }
        pthread_rwlock_unlock(&ing->auth_lock);
    }
    if (!found)
        snprintf(edge_name, FL0WER_EDGE_NAME_MAX, "unknown");

    if (len > FL0WER_BATCH_MAX_LEN) {
        snprintf(detail, sizeof(detail), "%zu bytes, limit %u", len, FL0WER_BATCH_MAX_LEN);
        reject(ing, job, edge_name, FL0WER_REJECT_TOO_LARGE, detail);
        return false;
    }
    if (!have_key) {
        snprintf(detail, sizeof(detail), "%zu bytes, no valid header", len);
        reject(ing, job, edge_name, FL0WER_REJECT_MALFORMED, detail);
        return false;
    }
    if (!found) {
        sodium_bin2base64(key_b64, sizeof(key_b64), pk, sizeof(pk),
                          sodium_base64_VARIANT_ORIGINAL);
        snprintf(detail, sizeof(detail), "key ed25519 %s", key_b64);
        reject(ing, job, edge_name, FL0WER_REJECT_UNKNOWN_KEY, detail);
        return false;
    }
    rc = fl0wer_batch_verify(buf, len, pk);
    if (rc != 0) {
        reject(ing, job, edge_name, reason_of(rc), fl0wer_batch_strerror(rc));
        return false;
    }
    ingest_arrays_take(ing, &job->batch);
    rc = fl0wer_batch_parse_reuse(buf, len, &job->batch);
    if (rc != 0) {
        reject(ing, job, edge_name, reason_of(rc), fl0wer_batch_strerror(rc));
        return false;
    }
    return true;
}
