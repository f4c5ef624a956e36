/*
 * exporter_stats.c - the table of (exporter address, UDP port, observation domain) states:
 * lookup, counters, sequence-number gap accounting and interface names from options data.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t ex_hash(const uint8_t addr[FL0WER_ADDR_LEN], uint16_t port, uint32_t domain)
{
    uint32_t h = 2166136261u;

    for (int i = 0; i < FL0WER_ADDR_LEN; i++)
        h = (h ^ addr[i]) * 16777619u;
    h = (h ^ port) * 16777619u;
    h = (h ^ domain) * 16777619u;
    return h ^ (h >> 15);
}

static bool ex_match(const struct dec_exporter *ex, const uint8_t addr[FL0WER_ADDR_LEN],
                     uint16_t port, uint32_t domain)
{
    return ex->st.domain_id == domain && ex->st.port == port &&
           memcmp(ex->st.addr, addr, FL0WER_ADDR_LEN) == 0;
}

static int ex_grow(struct fl0wer_decoder *d)
{
    uint32_t cap = d->ex_cap ? d->ex_cap * 2 : 64;
    struct dec_exporter **n = calloc(cap, sizeof(*n));

    if (n == NULL)
        return FL0WER_ERR_NOMEM;
    for (uint32_t i = 0; i < d->ex_cap; i++) {
        struct dec_exporter *ex = d->ex[i];
        uint32_t j;

        if (ex == NULL)
            continue;
        j = ex_hash(ex->st.addr, ex->st.port, ex->st.domain_id) & (cap - 1);
        while (n[j] != NULL)
            j = (j + 1) & (cap - 1);
        n[j] = ex;
    }
    free(d->ex);
    d->ex = n;
    d->ex_cap = cap;
    return FL0WER_OK;
}

/*
 * Returns the state of (src address, src port, domain), creating it when new. Returns NULL when
 * the max_exporters cap is reached or memory runs out; the decoder keeps working for known ones.
 */
struct dec_exporter *dec_exporter_get(struct fl0wer_decoder *d, const struct fl0wer_source *src,
                                      uint32_t domain, uint8_t version)
{
    struct dec_exporter *ex = d->last_ex;
    uint32_t j;

    if (ex != NULL && ex_match(ex, src->addr, src->port, domain))
        return ex;
    if (d->ex_cap != 0) {
        j = ex_hash(src->addr, src->port, domain) & (d->ex_cap - 1);
        while (d->ex[j] != NULL) {
            if (ex_match(d->ex[j], src->addr, src->port, domain)) {
                d->last_ex = d->ex[j];
                return d->ex[j];
            }
            j = (j + 1) & (d->ex_cap - 1);
        }
    }
    if (d->ex_count >= d->cfg.max_exporters)
        return NULL;
    if ((d->ex_count + 1) * 2 > d->ex_cap && ex_grow(d) != FL0WER_OK)
        return NULL;
    ex = calloc(1, sizeof(*ex));
    if (ex == NULL)
        return NULL;
    memcpy(ex->st.addr, src->addr, FL0WER_ADDR_LEN);
    ex->st.port = src->port;
    ex->st.domain_id = domain;
    ex->st.version = version;
    ex->st.sampling = d->cfg.default_sampling;
    j = ex_hash(src->addr, src->port, domain) & (d->ex_cap - 1);
    while (d->ex[j] != NULL)
        j = (j + 1) & (d->ex_cap - 1);
    d->ex[j] = ex;
    d->ex_count++;
    d->last_ex = ex;
    return ex;
}

/*
 * Starts a message of len bytes for (pk's source, domain): finds or creates its exporter, makes
 * it pk->ex and counts the message, its bytes, version and receive time. Returns the exporter, or
 * NULL when the exporter cap is reached (counted as an orphan error; the caller returns
 * FL0WER_ERR_LIMIT).
 */
struct dec_exporter *dec_message_begin(struct dec_pkt *pk, uint32_t domain, uint8_t version,
                                       size_t len)
{
    struct dec_exporter *ex = dec_exporter_get(pk->d, pk->src, domain, version);

    if (ex == NULL) {
        pk->d->orphan_errors++;
        return NULL;
    }
    pk->ex = ex;
    ex->st.messages++;
    ex->st.bytes += len;
    ex->st.version = version;
    ex->st.last_seen_ms = pk->src->recv_ms;
    return ex;
}

/* Frees everything ex owns and ex itself (templates, held packets, interface names). */
void dec_exporter_free(struct fl0wer_decoder *d, struct dec_exporter *ex)
{
    dec_hold_drop_all(d, ex);
    dec_template_remove_all(d, ex, -1);
    free(ex->tmpl);
    free(ex->held);
    free(ex->ifs);
    free(ex);
}

/* Counts one decode error on ex, or decoder-wide when the exporter could not be tracked. */
void dec_count_error(struct fl0wer_decoder *d, struct dec_exporter *ex,
                     enum fl0wer_decode_error kind)
{
    if (ex != NULL)
        ex->st.errors[kind]++;
    else
        d->orphan_errors++;
}

/*
 * Sequence-gap accounting. seq is the packet's sequence number, count how far it advances the
 * sequence (v5: flows in the packet, v9: 1, IPFIX: data records). A jump forward of up to
 * `window` is counted as lost; a packet up to `window` behind (late or duplicate) takes its count
 * back off the gaps (it was counted lost when the later one came) without moving the expected
 * number; anything further away is an exporter restart: resynchronise without counting.
 */
void dec_sequence(struct dec_exporter *ex, uint32_t seq, uint32_t count, uint32_t window)
{
    int64_t diff;

    if (!ex->have_seq) {
        ex->have_seq = true;
        ex->next_seq = seq + count;
        return;
    }
    diff = (int32_t)(seq - ex->next_seq);
    if (diff == 0) {
        ex->next_seq = seq + count;
    } else if (diff > 0 && diff <= (int64_t)window) {
        ex->st.sequence_gaps += (uint64_t)diff;
        ex->next_seq = seq + count;
    } else if (diff < 0 && -diff <= (int64_t)window) {
        ex->st.sequence_gaps -= ex->st.sequence_gaps < count ? ex->st.sequence_gaps : count;
    } else {
        ex->next_seq = seq + count;
    }
}

/* Copies a packet string into dst (size n), stopping at a NUL, always terminating. */
static void copy_str(char *dst, size_t n, const struct dec_str *s)
{
    size_t len = s->len < n - 1 ? s->len : n - 1;
    const uint8_t *nul = s->p ? memchr(s->p, 0, len) : NULL;

    if (nul != NULL)
        len = (size_t)(nul - s->p);
    if (len)
        memcpy(dst, s->p, len);
    dst[len] = '\0';
}

/*
 * Records the name and/or description (either may be NULL) of interface ifindex of ex. Beyond
 * DEC_MAX_INTERFACES per exporter, new interfaces are ignored.
 */
void dec_set_interface(struct dec_exporter *ex, uint32_t ifindex, const struct dec_str *name,
                       const struct dec_str *desc)
{
    struct fl0wer_interface_info *i = NULL;

    for (uint32_t k = 0; k < ex->nifs; k++) {
        if (ex->ifs[k].ifindex == ifindex) {
            i = &ex->ifs[k];
            break;
        }
    }
    if (i == NULL) {
        if (ex->nifs >= DEC_MAX_INTERFACES)
            return;
        if (ex->nifs == ex->ifs_cap) {
            uint32_t cap = ex->ifs_cap ? ex->ifs_cap * 2 : 16;
            struct fl0wer_interface_info *n = realloc(ex->ifs, cap * sizeof(*n));

            if (n == NULL)
                return;
            ex->ifs = n;
            ex->ifs_cap = cap;
        }
        i = &ex->ifs[ex->nifs++];
        memset(i, 0, sizeof(*i));
        memcpy(i->exporter, ex->st.addr, FL0WER_ADDR_LEN);
        i->domain_id = ex->st.domain_id;
        i->ifindex = ifindex;
    }
    if (name != NULL)
        copy_str(i->name, sizeof(i->name), name);
    if (desc != NULL)
        copy_str(i->description, sizeof(i->description), desc);
}
