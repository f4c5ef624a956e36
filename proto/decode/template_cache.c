/*
 * template_cache.c - compiled templates per (exporter, port, domain), keyed by template id.
 *
 * Each dec_exporter keeps its templates in an array sorted by id (exporters have tens of
 * templates; one binary search per data set). The decoder-wide count is capped by
 * cfg.max_templates. Templates carry their raw definition so that an identical resend only
 * refreshes the timestamp.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Allocates a template with room for nops ops, the fast plan (nops groups and fields) and
 * raw_len raw bytes, all in one block; NULL on failure.
 */
struct dec_template *dec_template_alloc(uint16_t nops, uint16_t raw_len)
{
    size_t sz = sizeof(struct dec_template) + (size_t)nops * sizeof(struct dec_op) +
                (size_t)nops * (sizeof(struct dec_fgroup) + sizeof(struct dec_fop)) + raw_len;
    struct dec_template *t = calloc(1, sz);

    if (t == NULL)
        return NULL;
    t->nops = nops;
    t->raw_len = raw_len;
    t->fp.groups = (struct dec_fgroup *)(void *)&t->ops[nops];
    t->fp.fops = (struct dec_fop *)(void *)&t->fp.groups[nops];
    t->raw = (uint8_t *)&t->fp.fops[nops];
    return t;
}

/* Frees a template that was never stored. */
void dec_template_free(struct dec_template *t)
{
    free(t);
}

/*
 * Computes min_len and varlen from the ops, then the fast plan (fast.c). Returns 0, or FL0WER_ERR_TEMPLATE when a record of
 * this template would be empty (a data set of such records would never advance).
 */
int dec_template_finish(struct dec_template *t)
{
    uint32_t min = 0;

    t->varlen = false;
    for (uint16_t i = 0; i < t->nops; i++) {
        if (t->ops[i].len == DEC_VARLEN) {
            t->varlen = true;
            min += 1;
        } else {
            min += t->ops[i].len;
        }
    }
    t->min_len = min;
    if (min == 0)
        return FL0WER_ERR_TEMPLATE;
    dec_fast_compile(t);
    return FL0WER_OK;
}

/* Index of id in ex->tmpl, or of where it would go (*found false). */
static uint32_t find_slot(const struct dec_exporter *ex, uint16_t id, bool *found)
{
    uint32_t lo = 0, hi = ex->tmpl_count;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint16_t mid_id = ex->tmpl[mid]->id;

        if (mid_id == id) {
            *found = true;
            return mid;
        }
        if (mid_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static void remove_at(struct fl0wer_decoder *d, struct dec_exporter *ex, uint32_t i)
{
    free(ex->tmpl[i]);
    memmove(&ex->tmpl[i], &ex->tmpl[i + 1], (ex->tmpl_count - i - 1) * sizeof(ex->tmpl[0]));
    ex->tmpl_count--;
    d->ntemplates--;
}

static bool expired(const struct fl0wer_decoder *d, const struct dec_template *t, uint64_t now)
{
    return now > t->last_seen_ms && now - t->last_seen_ms > (uint64_t)d->cfg.template_timeout_s * 1000;
}

/*
 * Returns the template id of ex, or NULL when unknown. A template past its lifetime at now_ms is
 * dropped here and reported unknown.
 */
struct dec_template *dec_template_find(struct fl0wer_decoder *d, struct dec_exporter *ex,
                                       uint16_t id, uint64_t now_ms)
{
    bool found;
    uint32_t i = find_slot(ex, id, &found);

    if (!found)
        return NULL;
    if (expired(d, ex->tmpl[i], now_ms)) {
        remove_at(d, ex, i);
        return NULL;
    }
    return ex->tmpl[i];
}

/*
 * Stores t (ownership moves to the cache in every case). An identical definition already cached
 * only gets its timestamp refreshed (*changed false); a different one is replaced (*changed
 * true). Returns 0, FL0WER_ERR_NOMEM, or FL0WER_ERR_FORMAT when the template cap is reached.
 */
int dec_template_store(struct fl0wer_decoder *d, struct dec_exporter *ex,
                       struct dec_template *t, bool *changed)
{
    bool found;
    uint32_t i = find_slot(ex, t->id, &found);

    *changed = true;
    if (found) {
        struct dec_template *old = ex->tmpl[i];

        if (old->options == t->options && old->raw_len == t->raw_len &&
            memcmp(old->raw, t->raw, t->raw_len) == 0) {
            old->last_seen_ms = t->last_seen_ms;
            *changed = false;
            free(t);
            return FL0WER_OK;
        }
        ex->tmpl[i] = t;
        ex->st.template_changes++;
        free(old);
        return FL0WER_OK;
    }
    if (d->ntemplates >= d->cfg.max_templates) {
        free(t);
        return FL0WER_ERR_FORMAT;
    }
    if (ex->tmpl_count == ex->tmpl_cap) {
        uint32_t cap = ex->tmpl_cap ? ex->tmpl_cap * 2 : 8;
        struct dec_template **n = realloc(ex->tmpl, cap * sizeof(*n));

        if (n == NULL) {
            free(t);
            return FL0WER_ERR_NOMEM;
        }
        ex->tmpl = n;
        ex->tmpl_cap = cap;
    }
    memmove(&ex->tmpl[i + 1], &ex->tmpl[i], (ex->tmpl_count - i) * sizeof(ex->tmpl[0]));
    ex->tmpl[i] = t;
    ex->tmpl_count++;
    d->ntemplates++;
    return FL0WER_OK;
}

/* Withdraws template id (no-op when unknown). */
void dec_template_remove(struct fl0wer_decoder *d, struct dec_exporter *ex, uint16_t id)
{
    bool found;
    uint32_t i = find_slot(ex, id, &found);

    if (found)
        remove_at(d, ex, i);
}

/* Withdraws all data templates (options 0), all options templates (1) or everything (-1). */
void dec_template_remove_all(struct fl0wer_decoder *d, struct dec_exporter *ex, int options)
{
    uint32_t i = 0;

    while (i < ex->tmpl_count) {
        if (options < 0 || ex->tmpl[i]->options == (options != 0))
            remove_at(d, ex, i);
        else
            i++;
    }
}

/* Drops the templates of ex not refreshed within the lifetime, judged at now_ms. */
void dec_template_expire(struct fl0wer_decoder *d, struct dec_exporter *ex, uint64_t now_ms)
{
    uint32_t i = 0;

    while (i < ex->tmpl_count) {
        if (expired(d, ex->tmpl[i], now_ms))
            remove_at(d, ex, i);
        else
            i++;
    }
}
