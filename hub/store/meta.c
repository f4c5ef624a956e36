/*
 * meta.c - the meta column family (edges, exporters, interface names, counters) and the alerts
 * column family: record codecs, lookups and the foreach walks behind /api/v1/edges and
 * /api/v1/exporters.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

#define EDGE_FIELDS 13

size_t store_edge_encode(const struct fl0wer_edge_status *e, uint8_t out[STORE_EDGE_VAL_MAX])
{
    const uint64_t v[EDGE_FIELDS] = {
        e->last_seen_ms, e->last_seq, e->batches, e->records, e->rejects,
        e->report.started_ms, e->report.packets_received, e->report.kernel_drops,
        e->report.records_decoded, e->report.records_sent, e->report.records_dropped,
        e->report.spool_batches, e->report.spool_bytes};
    size_t n = 0;
    for (int i = 0; i < EDGE_FIELDS; i++)
        n += store_put_varint(out + n, v[i]);
    return n;
}

int store_edge_decode(const uint8_t *buf, size_t len, struct fl0wer_edge_status *e)
{
    struct store_cursor c = {buf, buf + len, 0};
    uint64_t *dst[EDGE_FIELDS] = {
        &e->last_seen_ms, &e->last_seq, &e->batches, &e->records, &e->rejects,
        &e->report.started_ms, &e->report.packets_received, &e->report.kernel_drops,
        &e->report.records_decoded, &e->report.records_sent, &e->report.records_dropped,
        &e->report.spool_batches, &e->report.spool_bytes};
    for (int i = 0; i < EDGE_FIELDS; i++)
        *dst[i] = store_get_varint(&c);
    return c.bad ? FL0WER_STORE_ERR_CORRUPT : 0;
}

/* Meta key of an edge: 'e' followed by the name. Returns its length. */
size_t store_edge_key(const char *name, uint8_t out[FL0WER_EDGE_NAME_MAX + 1])
{
    size_t len = strnlen(name, FL0WER_EDGE_NAME_MAX - 1);
    out[0] = STORE_META_EDGE;
    memcpy(out + 1, name, len);
    return len + 1;
}

int store_edge_load(struct fl0wer_store *s, const char *name, struct fl0wer_edge_status *e)
{
    uint8_t key[FL0WER_EDGE_NAME_MAX + 1];
    size_t klen = store_edge_key(name, key), vlen = 0;
    char *err = NULL;
    int rc = 0;

    memset(e, 0, sizeof(*e));
    memcpy(e->name, key + 1, klen - 1);
    char *v = rocksdb_get_cf(s->db, s->ropts, s->cf[STORE_CF_META], (const char *)key, klen,
                             &vlen, &err);
    if (err)
        return store_io_error("reading an edge record", err);
    if (v)
        rc = store_edge_decode((const uint8_t *)v, vlen, e);
    rocksdb_free(v);
    return rc;
}

size_t store_exporter_encode(const struct fl0wer_exporter_stats *x,
                             uint8_t out[STORE_EXPORTER_VAL_MAX])
{
    size_t n = 0;
    memcpy(out, x->addr, FL0WER_ADDR_LEN);
    n += FL0WER_ADDR_LEN;
    n += store_put_varint(out + n, x->port);
    n += store_put_varint(out + n, x->domain_id);
    n += store_put_varint(out + n, x->version);
    n += store_put_varint(out + n, x->messages);
    n += store_put_varint(out + n, x->records);
    n += store_put_varint(out + n, x->bytes);
    n += store_put_varint(out + n, x->sequence_gaps);
    n += store_put_varint(out + n, x->unknown_template);
    n += store_put_varint(out + n, x->templates);
    n += store_put_varint(out + n, FL0WER_DERR__COUNT);
    for (int i = 0; i < FL0WER_DERR__COUNT; i++)
        n += store_put_varint(out + n, x->errors[i]);
    n += store_put_varint(out + n, x->last_seen_ms);
    n += store_put_varint(out + n, x->sampling);
    return n;
}

static int exporter_decode(const uint8_t *buf, size_t len, struct fl0wer_exporter_stats *x)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *a = store_get_bytes(&c, FL0WER_ADDR_LEN);

    memset(x, 0, sizeof(*x));
    if (!a)
        return FL0WER_STORE_ERR_CORRUPT;
    memcpy(x->addr, a, FL0WER_ADDR_LEN);
    x->port = (uint16_t)store_get_varint(&c);
    x->domain_id = (uint32_t)store_get_varint(&c);
    x->version = (uint8_t)store_get_varint(&c);
    x->messages = store_get_varint(&c);
    x->records = store_get_varint(&c);
    x->bytes = store_get_varint(&c);
    x->sequence_gaps = store_get_varint(&c);
    x->unknown_template = store_get_varint(&c);
    x->templates = store_get_varint(&c);
    uint64_t nerr = store_get_varint(&c);
    for (uint64_t i = 0; i < nerr && !c.bad; i++) {
        uint64_t v = store_get_varint(&c);
        if (i < FL0WER_DERR__COUNT)
            x->errors[i] = v;
    }
    x->last_seen_ms = store_get_varint(&c);
    x->sampling = (uint32_t)store_get_varint(&c);
    return c.bad ? FL0WER_STORE_ERR_CORRUPT : 0;
}

size_t store_exporter_key(const char *edge, const struct fl0wer_exporter_stats *x, uint8_t *out)
{
    size_t len = strnlen(edge, FL0WER_EDGE_NAME_MAX - 1);
    out[0] = STORE_META_EXPORTER;
    memcpy(out + 1, edge, len);
    out[1 + len] = 0;
    memcpy(out + 2 + len, x->addr, FL0WER_ADDR_LEN);
    store_be32(out + 2 + len + FL0WER_ADDR_LEN, x->domain_id);
    return len + 2 + FL0WER_ADDR_LEN + 4;
}

/* Appends a string as a length byte and its bytes (at most max - 1). */
static size_t put_str(uint8_t *out, const char *str, size_t max)
{
    size_t len = strnlen(str, max - 1);
    out[0] = (uint8_t)len;
    memcpy(out + 1, str, len);
    return len + 1;
}

static int get_str(struct store_cursor *c, char *dst, size_t max)
{
    const uint8_t *l = store_get_bytes(c, 1), *b;
    if (!l || l[0] >= max || !(b = store_get_bytes(c, l[0])))
        return -1;
    memcpy(dst, b, l[0]);
    dst[l[0]] = '\0';
    return 0;
}

size_t store_interface_encode(const struct fl0wer_interface_info *i,
                              uint8_t out[STORE_INTERFACE_VAL_MAX])
{
    size_t n = put_str(out, i->name, sizeof(i->name));
    return n + put_str(out + n, i->description, sizeof(i->description));
}

void store_interface_key(const struct fl0wer_interface_info *i,
                         uint8_t out[STORE_INTERFACE_KEY_LEN])
{
    out[0] = STORE_META_INTERFACE;
    memcpy(out + 1, i->exporter, FL0WER_ADDR_LEN);
    store_be32(out + 17, i->domain_id);
    store_be32(out + 21, i->ifindex);
}

size_t store_counters_record(uint64_t flows, uint64_t batches, uint8_t out[20])
{
    size_t n = store_put_varint(out, flows);
    return n + store_put_varint(out + n, batches);
}

/*
 * Walks every key of cf that begins with prefix, calling fn with key and value; stops when fn
 * returns non-zero and returns that value (or an ERR_IO).
 */
static int walk_prefix(struct fl0wer_store *s, int cf, const void *prefix, size_t plen,
                       int (*fn)(void *arg, const uint8_t *k, size_t kl, const uint8_t *v,
                                 size_t vl),
                       void *arg)
{
    rocksdb_iterator_t *it = rocksdb_create_iterator_cf(s->db, s->ropts, s->cf[cf]);
    char *err = NULL;
    int rc = 0;

    if (plen)
        rocksdb_iter_seek(it, prefix, plen);
    else
        rocksdb_iter_seek_to_first(it);
    for (; rocksdb_iter_valid(it) && rc == 0; rocksdb_iter_next(it)) {
        size_t kl, vl;
        const char *k = rocksdb_iter_key(it, &kl), *v = rocksdb_iter_value(it, &vl);
        if (kl < plen || (plen && memcmp(k, prefix, plen) != 0))
            break;
        rc = fn(arg, (const uint8_t *)k, kl, (const uint8_t *)v, vl);
    }
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err)
        return store_io_error("reading meta", err);
    return rc;
}

struct meta_walk {
    void (*edge_fn)(void *arg, const struct fl0wer_edge_status *e);
    void (*exp_fn)(void *arg, const char *edge, const struct fl0wer_exporter_stats *x);
    void (*if_fn)(void *arg, const struct fl0wer_interface_info *i);
    void *arg;
};

static int edge_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct meta_walk *w = arg;
    struct fl0wer_edge_status e;

    memset(&e, 0, sizeof(e));
    if (kl - 1 >= FL0WER_EDGE_NAME_MAX || store_edge_decode(v, vl, &e) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    memcpy(e.name, k + 1, kl - 1);
    w->edge_fn(w->arg, &e);
    return 0;
}

static int exporter_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct meta_walk *w = arg;
    struct fl0wer_exporter_stats x;
    char edge[FL0WER_EDGE_NAME_MAX];
    const uint8_t *nul = memchr(k + 1, 0, kl - 1);

    if (!nul || (size_t)(nul - k - 1) >= sizeof(edge) || exporter_decode(v, vl, &x) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    memcpy(edge, k + 1, (size_t)(nul - k - 1));
    edge[nul - k - 1] = '\0';
    w->exp_fn(w->arg, edge, &x);
    return 0;
}

static int interface_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct meta_walk *w = arg;
    struct fl0wer_interface_info i;
    struct store_cursor c = {v, v + vl, 0};

    memset(&i, 0, sizeof(i));
    if (kl != STORE_INTERFACE_KEY_LEN || get_str(&c, i.name, sizeof(i.name)) != 0 ||
        get_str(&c, i.description, sizeof(i.description)) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    memcpy(i.exporter, k + 1, FL0WER_ADDR_LEN);
    i.domain_id = store_get_be32(k + 17);
    i.ifindex = store_get_be32(k + 21);
    w->if_fn(w->arg, &i);
    return 0;
}

int fl0wer_store_foreach_edge(struct fl0wer_store *s,
                              void (*fn)(void *arg, const struct fl0wer_edge_status *e), void *arg)
{
    struct meta_walk w = {.edge_fn = fn, .arg = arg};
    const char p = STORE_META_EDGE;
    if (!s || !fn)
        return FL0WER_STORE_ERR_INVAL;
    return walk_prefix(s, STORE_CF_META, &p, 1, edge_row, &w);
}

int fl0wer_store_foreach_exporter(struct fl0wer_store *s,
                                  void (*fn)(void *arg, const char *edge_name,
                                             const struct fl0wer_exporter_stats *x),
                                  void *arg)
{
    struct meta_walk w = {.exp_fn = fn, .arg = arg};
    const char p = STORE_META_EXPORTER;
    if (!s || !fn)
        return FL0WER_STORE_ERR_INVAL;
    return walk_prefix(s, STORE_CF_META, &p, 1, exporter_row, &w);
}

int fl0wer_store_foreach_interface(struct fl0wer_store *s,
                                   void (*fn)(void *arg, const struct fl0wer_interface_info *i),
                                   void *arg)
{
    struct meta_walk w = {.if_fn = fn, .arg = arg};
    const char p = STORE_META_INTERFACE;
    if (!s || !fn)
        return FL0WER_STORE_ERR_INVAL;
    return walk_prefix(s, STORE_CF_META, &p, 1, interface_row, &w);
}

int fl0wer_store_edge_last_seq(struct fl0wer_store *s, const char *edge_name, uint64_t *seq)
{
    struct fl0wer_edge_status e;
    int rc;

    if (!s || !edge_name || !seq)
        return FL0WER_STORE_ERR_INVAL;
    pthread_mutex_lock(&s->lock);
    rc = store_edge_load(s, edge_name, &e);
    pthread_mutex_unlock(&s->lock);
    *seq = rc == 0 ? e.last_seq : 0;
    return rc;
}

int fl0wer_store_edge_reject(struct fl0wer_store *s, const char *edge_name, const char *reason)
{
    struct fl0wer_edge_status e;
    uint8_t key[FL0WER_EDGE_NAME_MAX + 1], val[STORE_EDGE_VAL_MAX];
    char *err = NULL;
    int rc;

    if (!s)
        return FL0WER_STORE_ERR_INVAL;
    if (!edge_name || !edge_name[0])
        edge_name = "unknown";
    pthread_mutex_lock(&s->lock);
    rc = store_edge_load(s, edge_name, &e);
    if (rc == 0) {
        e.rejects++;
        size_t kl = store_edge_key(edge_name, key), vl = store_edge_encode(&e, val);
        rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_META], (const char *)key, kl,
                       (const char *)val, vl, &err);
        if (err)
            rc = store_io_error("counting a rejected batch", err);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int fl0wer_store_alert_put(struct fl0wer_store *s, const void *key, size_t klen,
                           const void *val, size_t vlen)
{
    char *err = NULL;
    if (!s || !key || klen == 0 || (!val && vlen))
        return FL0WER_STORE_ERR_INVAL;
    rocksdb_put_cf(s->db, s->wopts, s->cf[STORE_CF_ALERTS], key, klen, val ? val : "", vlen,
                   &err);
    return err ? store_io_error("writing an alert", err) : 0;
}

int fl0wer_store_alert_delete(struct fl0wer_store *s, const void *key, size_t klen)
{
    char *err = NULL;
    if (!s || !key || klen == 0)
        return FL0WER_STORE_ERR_INVAL;
    rocksdb_delete_cf(s->db, s->wopts, s->cf[STORE_CF_ALERTS], key, klen, &err);
    return err ? store_io_error("deleting an alert", err) : 0;
}

struct alert_walk {
    int (*fn)(void *arg, const void *key, size_t klen, const void *val, size_t vlen);
    void *arg;
};

static int alert_row(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    struct alert_walk *w = arg;
    return w->fn(w->arg, k, kl, v, vl);
}

int fl0wer_store_alert_foreach(struct fl0wer_store *s, const void *prefix, size_t plen,
                               int (*fn)(void *arg, const void *key, size_t klen,
                                         const void *val, size_t vlen),
                               void *arg)
{
    struct alert_walk w = {fn, arg};
    if (!s || !fn || (plen && !prefix))
        return FL0WER_STORE_ERR_INVAL;
    return walk_prefix(s, STORE_CF_ALERTS, prefix, plen, alert_row, &w);
}
