/*
 * gen_walk.c - see gen_walk.h. Deliberately minimal and separate from both fl0wer-gen's
 * encoders and proto/decode: it knows only the RFC framing rules.
 */
#include "gen_walk.h"

static uint32_t be(const uint8_t *p, size_t n)
{
    uint32_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t be64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static struct walk_tpl *find(struct walk_exporter *e, uint16_t id)
{
    for (size_t i = 0; i < e->n_tpl; i++)
        if (e->tpl[i].id == id)
            return &e->tpl[i];
    return NULL;
}

/* Learns templates (options: is_opts, v9 or IPFIX layout) from a template set body. */
static const char *learn(struct walk_exporter *e, const uint8_t *p, size_t len, int v9,
                         int is_opts, struct walk_sum *sum)
{
    size_t off = 0;

    while (off + 4 <= len) {
        struct walk_tpl t = {.id = (uint16_t)be(p + off, 2), .bytes_off = -1};
        size_t fields, scope = 0;

        if (t.id < 256)
            return "template id below 256";
        if (is_opts && v9) {
            if (off + 6 > len)
                return "short options template";
            fields = (be(p + off + 2, 2) + be(p + off + 4, 2)) / 4;
            scope = be(p + off + 2, 2) / 4; /* v9 scope types are their own namespace */
            off += 6;
        } else if (is_opts) {
            fields = be(p + off + 2, 2);
            scope = be(p + off + 4, 2);
            if (scope == 0 || scope > fields)
                return "bad ipfix scope count";
            off += 6;
        } else {
            fields = be(p + off + 2, 2);
            off += 4;
        }
        for (size_t i = 0; i < fields; i++) {
            uint16_t id, flen;

            if (off + 4 > len)
                return "template runs past its set";
            id = (uint16_t)be(p + off, 2);
            flen = (uint16_t)be(p + off + 2, 2);
            if (id & 0x8000)
                return "unexpected enterprise field";
            if (id == 1 && i >= scope) {
                t.bytes_off = t.len;
                t.bytes_len = flen;
            }
            t.len = (uint16_t)(t.len + flen);
            off += 4;
        }
        if (find(e, t.id) == NULL) {
            if (e->n_tpl == 8)
                return "too many templates";
            e->tpl[e->n_tpl++] = t;
        } else {
            *find(e, t.id) = t;
        }
        sum->templates++;
        if (v9 && len - off < 4)
            break; /* padding */
    }
    return NULL;
}

static const char *data_set(struct walk_exporter *e, uint16_t id, const uint8_t *p, size_t len,
                            int v9, uint32_t *records, struct walk_sum *sum)
{
    struct walk_tpl *t = find(e, id);
    size_t n;

    if (t == NULL)
        return "data set before its template";
    n = len / t->len;
    if (len % t->len != 0 && (!v9 || len % t->len >= 4 || len % 4 != 0))
        return "data set length is not whole records (plus v9 padding)";
    for (size_t i = 0; i < n; i++) {
        if (t->bytes_off >= 0)
            sum->bytes += be64(p + i * t->len + (size_t)t->bytes_off, t->bytes_len);
        else
            sum->options_records++;
    }
    if (t->bytes_off >= 0)
        sum->records += n;
    *records += (uint32_t)n;
    return NULL;
}

static const char *walk_sets(struct walk_exporter *e, const uint8_t *p, size_t len, int v9,
                             uint32_t *records, struct walk_sum *sum)
{
    size_t off = 0;
    int had_tpl = 0;

    while (off < len) {
        uint16_t id, slen;
        const char *err;

        if (off + 4 > len)
            return "set header past the end";
        id = (uint16_t)be(p + off, 2);
        slen = (uint16_t)be(p + off + 2, 2);
        if (slen < 4 || off + slen > len)
            return "set length out of bounds";
        if (v9 && slen % 4 != 0)
            return "v9 flowset not padded to 4 bytes";
        if (id == (v9 ? 0 : 2) || id == (v9 ? 1 : 3)) {
            uint32_t before = (uint32_t)sum->templates;

            err = learn(e, p + off + 4, slen - 4u, v9, id == (v9 ? 1 : 3), sum);
            *records += (uint32_t)(sum->templates - before);
            had_tpl |= id == (v9 ? 0 : 2);
        } else if (id >= 256) {
            err = data_set(e, id, p + off + 4, slen - 4u, v9, records, sum);
        } else {
            err = "reserved set id";
        }
        if (err)
            return err;
        off += slen;
    }
    sum->template_packets += (uint64_t)had_tpl;
    return NULL;
}

const char *walk_packet(struct walk_exporter *e, const uint8_t *p, size_t len,
                        struct walk_sum *sum)
{
    uint32_t version, seq, records = 0, data_before = (uint32_t)(sum->records +
                                                                 sum->options_records);
    const char *err;

    if (len < 16)
        return "packet shorter than any header";
    version = be(p, 2);
    sum->packets++;
    e->packets++;
    if (version == 5) {
        uint32_t count = be(p + 2, 2);

        if (len != 24 + 48 * (size_t)count || count == 0 || count > 30)
            return "v5 length is not 24 + 48 * count";
        seq = be(p + 16, 4);
        if (e->seen && seq != e->next_seq)
            return "v5 flow_sequence does not count flows";
        e->next_seq = seq + count;
        for (uint32_t i = 0; i < count; i++)
            sum->bytes += be(p + 24 + 48 * i + 20, 4);
        sum->records += count;
    } else if (version == 9) {
        if (len < 20)
            return "v9 header too short";
        seq = be(p + 12, 4);
        if (e->seen && seq != e->next_seq)
            return "v9 sequence does not count packets";
        e->next_seq = seq + 1;
        err = walk_sets(e, p + 20, len - 20, 1, &records, sum);
        if (err)
            return err;
        if (records != be(p + 2, 2))
            return "v9 count is not the number of records";
    } else if (version == 10) {
        if (be(p + 2, 2) != len)
            return "ipfix length is not the message length";
        seq = be(p + 8, 4);
        if (e->seen && seq != e->next_seq)
            return "ipfix sequence does not count data records";
        err = walk_sets(e, p + 16, len - 16, 0, &records, sum);
        if (err)
            return err;
        e->next_seq = seq + (uint32_t)(sum->records + sum->options_records - data_before);
    } else {
        return "unknown version";
    }
    e->seen = 1;
    return NULL;
}
