/*
 * sampling.c - sampling intervals and other exporter metadata from options data, and the
 * interval that applies to each flow record.
 *
 * Kept per (exporter, domain): an exporter-wide interval (v5 header, v9/IPFIX options without a
 * sampler id) and a table of sampler / selector ids (v9 48 FLOW_SAMPLER_ID, IPFIX 302
 * selectorId; one id space) with their intervals.
 */
#include "internal.h"

/* Sets the interval of sampler id of ex (table full: ignored). */
void dec_set_sampler(struct dec_exporter *ex, uint32_t id, uint32_t interval)
{
    ex->last_sampler_int = interval;
    for (uint32_t i = 0; i < ex->nsamplers; i++) {
        if (ex->samplers[i].id == id) {
            ex->samplers[i].interval = interval;
            return;
        }
    }
    if (ex->nsamplers < DEC_MAX_SAMPLERS) {
        ex->samplers[ex->nsamplers].id = id;
        ex->samplers[ex->nsamplers].interval = interval;
        ex->nsamplers++;
    }
}

static uint32_t find_sampler(const struct dec_exporter *ex, uint32_t id)
{
    for (uint32_t i = 0; i < ex->nsamplers; i++)
        if (ex->samplers[i].id == id)
            return ex->samplers[i].interval;
    return 0;
}

/* The interval a record states itself (305/306, 34, 50), 0 when none. */
static uint32_t own_interval(const struct dec_template *t, const struct dec_rec *r)
{
    if ((t->has & DEC_HAS_PKT_INT) && r->pkt_int) {
        uint64_t space = (t->has & DEC_HAS_PKT_SPACE) ? r->pkt_space : 0;
        uint64_t v = (space + r->pkt_int) / r->pkt_int;

        return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    }
    if ((t->has & DEC_HAS_SAMP_INT) && r->samp_int)
        return r->samp_int;
    if ((t->has & DEC_HAS_SAMPLER_INT) && r->sampler_int)
        return r->sampler_int;
    return 0;
}

/*
 * The sampling interval of a flow record: its own fields first, then its sampler / selector id
 * looked up for this exporter, then the exporter-wide interval, then the last sampler announced
 * (exporters whose data records do not name their sampler), then the configured default.
 */
uint32_t dec_record_sampling(const struct dec_pkt *pk, const struct dec_template *t,
                             const struct dec_rec *r)
{
    const struct dec_exporter *ex = pk->ex;
    uint32_t v;

    if (t->has & (DEC_HAS_PKT_INT | DEC_HAS_SAMP_INT | DEC_HAS_SAMPLER_INT)) {
        if ((v = own_interval(t, r)) != 0)
            return v;
    }
    if ((t->has & DEC_HAS_SAMPLER_ID) && (v = find_sampler(ex, r->sampler_id)) != 0)
        return v;
    if ((t->has & DEC_HAS_SELECTOR_ID) && (v = find_sampler(ex, r->selector_id)) != 0)
        return v;
    return dec_packet_sampling(pk);
}

/*
 * The interval of a flow record that names neither an interval nor a sampler: the exporter-wide
 * interval, else the last sampler announced, else the configured default.
 */
uint32_t dec_packet_sampling(const struct dec_pkt *pk)
{
    const struct dec_exporter *ex = pk->ex;

    if (ex->wide_sampling)
        return ex->wide_sampling;
    if (ex->last_sampler_int)
        return ex->last_sampler_int;
    return pk->d->cfg.default_sampling;
}

/*
 * Learns from one options data record: sampling intervals (per sampler / selector id, or
 * exporter-wide), interface names and descriptions (82/83 keyed by the ingress or egress
 * interface scope), and the IPFIX system init time (160) for sysUpTime-relative flow times.
 */
void dec_options_record(struct dec_pkt *pk, const struct dec_template *t, struct dec_rec *r)
{
    struct dec_exporter *ex = pk->ex;
    uint32_t interval = own_interval(t, r);

    if (interval) {
        if (t->has & DEC_HAS_SAMPLER_ID) {
            dec_set_sampler(ex, r->sampler_id, interval);
        } else if (t->has & DEC_HAS_SELECTOR_ID) {
            dec_set_sampler(ex, r->selector_id, interval);
        } else {
            ex->wide_sampling = interval;
            ex->st.sampling = interval;
        }
    }
    if (t->has & (DEC_HAS_IFNAME | DEC_HAS_IFDESC)) {
        uint32_t ifindex = (t->has & DEC_HAS_IN_IF)    ? r->f.in_if
                           : (t->has & DEC_HAS_OUT_IF) ? r->f.out_if
                                                       : 0;

        if (t->has & (DEC_HAS_IN_IF | DEC_HAS_OUT_IF))
            dec_set_interface(ex, ifindex, (t->has & DEC_HAS_IFNAME) ? &r->ifname : NULL,
                              (t->has & DEC_HAS_IFDESC) ? &r->ifdesc : NULL);
    }
    if ((t->has & DEC_HAS_T(DT_SYSINIT)) && r->t[DT_SYSINIT])
        ex->sysinit_ms = r->t[DT_SYSINIT];
}
