/*
 * time.c - turns every time form a record can carry into first_ms / last_ms (ms since the Unix
 * epoch), and detects NetFlow v9 exporter reboots from sysUpTime.
 */
#include "internal.h"

#define NTP_UNIX_OFFSET UINT64_C(2208988800) /* seconds from 1900-01-01 to 1970-01-01 */

/* Converts a 64-bit NTP timestamp (RFC 7011 §6.1.9) to ms since the Unix epoch; 0 stays 0. */
uint64_t dec_ntp_to_ms(uint64_t ntp)
{
    uint64_t secs = ntp >> 32, frac = ntp & 0xffffffffu;

    if (ntp == 0 || secs < NTP_UNIX_OFFSET)
        return 0;
    return (secs - NTP_UNIX_OFFSET) * 1000 + ((frac * 1000) >> 32);
}

static uint64_t from_delta(uint64_t export_ms, uint64_t delta_us)
{
    uint64_t ms = delta_us / 1000;

    return export_ms > ms ? export_ms - ms : 0;
}

/* Picks one end of the flow (first or last) from the absolute forms, best precision first. */
static uint64_t absolute_end(const struct dec_template *t, const struct dec_rec *r, int ms_i,
                             int ns_i, int us_i, int s_i)
{
    if ((t->has & DEC_HAS_T(ms_i)) && r->t[ms_i])
        return r->t[ms_i];
    if ((t->has & DEC_HAS_T(ns_i)) && r->t[ns_i])
        return r->t[ns_i];
    if ((t->has & DEC_HAS_T(us_i)) && r->t[us_i])
        return r->t[us_i];
    if ((t->has & DEC_HAS_T(s_i)) && r->t[s_i])
        return r->t[s_i] * 1000;
    return 0;
}

/* One end from sysUpTime-relative or export-time-relative forms; 0 when not usable. */
static uint64_t relative_end(const struct dec_pkt *pk, const struct dec_template *t,
                             const struct dec_rec *r, int up_i, int delta_i)
{
    if (t->has & DEC_HAS_T(up_i)) {
        if (pk->version != FL0WER_EXPORT_IPFIX) {
            if (pk->export_ms)
                return dec_from_uptime(pk->export_ms, pk->sys_uptime, r->t[up_i]);
        } else {
            uint64_t init = (t->has & DEC_HAS_T(DT_SYSINIT)) && r->t[DT_SYSINIT]
                                ? r->t[DT_SYSINIT]
                                : pk->ex->sysinit_ms;

            if (init)
                return init + r->t[up_i];
        }
    }
    if ((t->has & DEC_HAS_T(delta_i)) && pk->export_ms)
        return from_delta(pk->export_ms, r->t[delta_i]);
    return 0;
}

/*
 * Sets f->first_ms / last_ms from whatever time forms template t gave r. A missing end is
 * derived from the other and a duration (161/162), or copied from it. Without any flow time the
 * observation time (322-325) is used, then the export time, then the receive time (flag
 * FL0WER_FLOW_F_TIME_RECV).
 */
void dec_resolve_times(const struct dec_pkt *pk, const struct dec_template *t,
                       const struct dec_rec *r, struct fl0wer_flow *f)
{
    uint64_t first = 0, last = 0, dur = UINT64_MAX;

    if (t->has & DEC_HAS_TIMES) {
        first = absolute_end(t, r, DT_MS_FIRST, DT_NS_FIRST, DT_US_FIRST, DT_S_FIRST);
        last = absolute_end(t, r, DT_MS_LAST, DT_NS_LAST, DT_US_LAST, DT_S_LAST);
        if (first == 0)
            first = relative_end(pk, t, r, DT_UP_FIRST, DT_DELTA_FIRST);
        if (last == 0)
            last = relative_end(pk, t, r, DT_UP_LAST, DT_DELTA_LAST);
        if (t->has & DEC_HAS_T(DT_DUR_MS))
            dur = r->t[DT_DUR_MS];
        else if (t->has & DEC_HAS_T(DT_DUR_US))
            dur = r->t[DT_DUR_US] / 1000;
        if (first && !last)
            last = dur != UINT64_MAX ? first + dur : first;
        else if (last && !first)
            first = dur != UINT64_MAX && last > dur ? last - dur : last;
        if (!first)
            first = last = absolute_end(t, r, DT_OBS_MS, DT_OBS_NS, DT_OBS_US, DT_OBS_S);
    }
    if (!first) {
        first = last = pk->export_ms;
        if (!first) {
            first = last = pk->src->recv_ms;
            f->flags |= FL0WER_FLOW_F_TIME_RECV;
        }
    }
    f->first_ms = first;
    f->last_ms = last;
}

/*
 * True when a v9 exporter's sysUpTime went backwards because it rebooted (RFC 3954 §9). Packets
 * that are merely reordered also show a smaller uptime, so the wall clock decides: the boot time
 * the header implies (unix_secs * 1000 - sysUpTime, modulo 2^32 so that the ~49.7-day uptime
 * wrap cancels out) must have moved forward by more than 30 s, and the new uptime must fit in the
 * wall time elapsed since the previous packet (60 s of slack): an exporter that rebooted has
 * been up for less time than it was silent. Some exporters' uptime steps back by minutes while
 * they have been up for weeks (a Huawei NetStream capture: 113 s back at 44 days of uptime);
 * that is not a reboot and their templates stay. Without a wall clock (unix_secs 0), an uptime
 * going back by more than 60 s that is not a wrap counts as a reboot.
 */
bool dec_v9_rebooted(const struct dec_exporter *ex, uint32_t uptime, uint32_t unix_secs)
{
    if (!ex->have_uptime || uptime >= ex->last_uptime)
        return false;
    if (unix_secs != 0 && ex->last_unix_secs != 0) {
        uint32_t boot_old = ex->last_unix_secs * 1000u - ex->last_uptime;
        uint32_t boot_new = unix_secs * 1000u - uptime;

        uint64_t elapsed_ms = unix_secs > ex->last_unix_secs
                                  ? (uint64_t)(unix_secs - ex->last_unix_secs) * 1000u
                                  : 0;

        return (int32_t)(boot_new - boot_old) > 30000 && (uint64_t)uptime <= elapsed_ms + 60000;
    }
    if (ex->last_uptime > 0xc0000000u && uptime < 0x40000000u)
        return false;
    return ex->last_uptime - uptime > 60000;
}
