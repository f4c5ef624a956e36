/*
 * block_decode.c - reads flow blocks (block.c writes them; the layout is there and in
 * docs/storage.md): the header, and the columns a reader asks for, either into struct
 * fl0wer_flow records (store_block_decode_cols) or side by side into a struct of arrays
 * (store_block_decode_soa) for scans that filter and sum column by column. Both go through one
 * decoder that writes each column to a base and a stride, so a column is checked the same way
 * whatever it is decoded into.
 */
#include "block_int.h"

/* The STORE_COL_* bit that asks for each byte column. */
static const uint32_t byte_col_mask[N_BYTE_COLS] = {
    STORE_COL_PROTO,     STORE_COL_TCP_FLAGS, STORE_COL_TOS,       STORE_COL_BYTE_REST,
    STORE_COL_BYTE_REST, STORE_COL_BYTE_REST, STORE_COL_BYTE_REST, STORE_COL_FLOW_FLAGS,
    STORE_COL_BYTE_REST, STORE_COL_BYTE_REST};

/* Parsed header: count, time range and where each column starts and ends. */
struct block_cols {
    int version;
    size_t n;
    uint64_t lo, hi;
    uint32_t consts; /* constant columns (v3; 0 for v2) */
    struct store_cursor var[N_VARINT_COLS];
    const uint8_t *bytes[N_BYTE_COLS]; /* n bytes each, or 1 when constant */
    struct store_cursor addr[N_ADDR_COLS];
};

/* Reads the header; with cols, also the column table (checked to add up to len). */
static int parse_header(const uint8_t *buf, size_t len, struct block_cols *bc, bool cols)
{
    struct store_cursor c = {buf, buf + len, 0};
    const uint8_t *ver = store_get_bytes(&c, 1);
    uint64_t count = store_get_varint(&c);
    uint64_t lo = store_get_varint(&c);
    uint64_t span = store_get_varint(&c);
    uint64_t lens[N_LEN_COLS], consts = 0;

    if (c.bad || (ver[0] != BLOCK_VERSION && ver[0] != 2) || count > STORE_MAX_BLOCK_FLOWS ||
        lo + span < lo)
        return FL0WER_STORE_ERR_CORRUPT;
    bc->version = ver[0];
    bc->n = (size_t)count;
    bc->lo = lo;
    bc->hi = lo + span;
    if (!cols)
        return 0;
    for (int i = 0; i < N_LEN_COLS; i++)
        lens[i] = store_get_varint(&c);
    if (bc->version >= 3)
        consts = store_get_varint(&c);
    /* constant columns only in v3, only the plain varint and byte columns, never when empty */
    if (c.bad || (consts & ~(uint64_t)0xfffffcu) != 0 || (consts && bc->n == 0))
        return FL0WER_STORE_ERR_CORRUPT;
    bc->consts = (uint32_t)consts;
    for (int i = 0; i < N_LEN_COLS; i++) {
        const uint8_t *p;
        if (i == N_VARINT_COLS)
            for (int j = 0; j < N_BYTE_COLS; j++) {
                size_t bl = (bc->consts >> (N_VARINT_COLS + j)) & 1u ? 1 : bc->n;
                if (!(bc->bytes[j] = store_get_bytes(&c, bl)))
                    return FL0WER_STORE_ERR_CORRUPT;
            }
        if (lens[i] > len || !(p = store_get_bytes(&c, (size_t)lens[i])))
            return FL0WER_STORE_ERR_CORRUPT;
        struct store_cursor col = {p, p + lens[i], 0};
        if (i < N_VARINT_COLS)
            bc->var[i] = col;
        else
            bc->addr[i - N_VARINT_COLS] = col;
    }
    return c.p == c.end ? 0 : FL0WER_STORE_ERR_CORRUPT;
}

int store_block_header(const uint8_t *buf, size_t len, size_t *n, uint64_t *min_last,
                       uint64_t *max_last)
{
    struct block_cols bc;
    int rc = parse_header(buf, len, &bc, false);
    if (rc != 0)
        return rc;
    *n = bc.n;
    *min_last = bc.lo;
    *max_last = bc.hi;
    return 0;
}

/* The 8 bytes at p as a little-endian number. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* The value of a varint's bytes (x: little-endian, nothing after its last byte): the 7-bit
 * groups joined in pairs, then the 14-bit and the 28-bit ones. */
static inline uint64_t varint_value(uint64_t x)
{
    x = (x & UINT64_C(0x007f007f007f007f)) | (x >> 1 & UINT64_C(0x3f803f803f803f80));
    x = (x & UINT64_C(0x00003fff00003fff)) | (x >> 2 & UINT64_C(0x0fffc0000fffc000));
    return (x & UINT64_C(0x000000000fffffff)) | (x >> 4 & UINT64_C(0x00fffffff0000000));
}

/* Reads the varint at p (before end) into *v; returns the byte after it, or NULL for a varint
 * past end or longer than 10 bytes. While 8 bytes remain, a varint of up to 8 bytes is read
 * from one 64-bit load without a branch on its length (the lengths of a counter column vary
 * from record to record, and a branch per byte mispredicts); longer ones and the last bytes of
 * a column go through store_get_varint. */
static inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    if (end - p >= 8) {
        uint64_t w = load_le64(p);
        uint64_t stop = ~w & UINT64_C(0x8080808080808080); /* bytes that end a varint */
        if (stop) {
            *v = varint_value(w & (stop ^ (stop - 1))); /* its bytes, up to the first stop */
            return p + (__builtin_ctzll(stop) >> 3) + 1;
        }
    }
    struct store_cursor c = {p, end, 0};
    *v = store_get_varint(&c);
    return c.bad ? NULL : c.p;
}

/* Reads two varints at p into *a and *b (get_varint twice): when both lie in the 8 bytes at p,
 * from that one load, so a column's chain of lengths advances two values a step. */
static inline const uint8_t *get_varint2(const uint8_t *p, const uint8_t *end, uint64_t *a,
                                         uint64_t *b)
{
    if (end - p >= 8) {
        uint64_t w = load_le64(p);
        uint64_t stop = ~w & UINT64_C(0x8080808080808080);
        uint64_t rest = stop & (stop - 1); /* the stops after the first */
        if (rest) {
            unsigned bits = (unsigned)__builtin_ctzll(stop) + 1; /* the first's, a multiple of 8 */
            *a = varint_value(w & (stop ^ (stop - 1)));
            *b = varint_value((w & (rest ^ (rest - 1))) >> bits);
            return p + (__builtin_ctzll(rest) >> 3) + 1;
        }
    }
    if (!(p = get_varint(p, end, a)))
        return NULL;
    return get_varint(p, end, b);
}

/* Where a decoded column goes: value i at base + i * stride (NULL: nowhere, not asked for). */
struct col_dest {
    uint8_t *base;
    size_t stride;
};

/* Byte width of each varint column's field (last, first, bytes, packets, flows, domain, in_if,
 * out_if, src_as, dst_as, sampling, src_port, dst_port, vlan). */
static const uint8_t var_width[N_VARINT_COLS] = {8, 8, 8, 8, 8, 4, 4, 4, 4, 4, 4, 2, 2, 2};

/*
 * Decodes one address column of n records to d when it holds no list references (tags 4..6):
 * then tag 2 is the previous record's address, and the list need not be kept. Returns 0, -1 on
 * a bad column, or 1 at the first list reference (the caller decodes the column again with
 * decode_addr_col_list). The encoder uses list references only in the exporter and next-hop
 * columns, so source and destination addresses always take this path.
 */
static int decode_addr_col(const struct store_cursor *c, struct col_dest d, size_t n)
{
    const uint8_t *p = c->p, *end = c->end;
    uint8_t *a = d.base, *prev = NULL;

    for (size_t i = 0; i < n; i++, prev = a, a += d.stride) {
        if (end - p >= 5 && *p == 1) { /* IPv4, the common case, without the switch */
            fl0wer_addr_from_v4(a, p + 1);
            p += 5;
            continue;
        }
        if (p >= end)
            return -1;
        switch (*p++) {
        case 0:
            memset(a, 0, FL0WER_ADDR_LEN);
            break;
        case 1:
            if (end - p < 4)
                return -1;
            fl0wer_addr_from_v4(a, p);
            p += 4;
            break;
        case 2:
            if (!prev)
                return -1;
            memcpy(a, prev, FL0WER_ADDR_LEN);
            break;
        case 3:
            if (end - p < FL0WER_ADDR_LEN)
                return -1;
            memcpy(a, p, FL0WER_ADDR_LEN);
            p += FL0WER_ADDR_LEN;
            break;
        case 4:
        case 5:
        case 6:
            return 1;
        default:
            return -1;
        }
    }
    return p == end ? 0 : -1;
}

/* decode_addr_col keeping the move-to-front list of recently used addresses (tags 4..6, in
 * version 3 only), as the encoder does. */
static int decode_addr_col_list(struct store_cursor c, struct col_dest d, size_t n, int version)
{
    struct addr_hist h = {.n = 0};

    for (size_t i = 0; i < n; i++) {
        uint8_t *a = d.base + i * d.stride;
        const uint8_t *tag = store_get_bytes(&c, 1), *src;
        uint64_t w[2];
        int k = -1;
        if (!tag)
            return -1;
        switch (tag[0]) {
        case 0:
            memset(a, 0, FL0WER_ADDR_LEN);
            break;
        case 1:
            if (!(src = store_get_bytes(&c, 4)))
                return -1;
            fl0wer_addr_from_v4(a, src);
            break;
        case 3:
            if (!(src = store_get_bytes(&c, FL0WER_ADDR_LEN)))
                return -1;
            memcpy(a, src, FL0WER_ADDR_LEN);
            break;
        case 2:
        case 4:
        case 5:
        case 6:
            k = tag[0] == 2 ? 0 : tag[0] - 3;
            if (k >= h.n || (k > 0 && version < 3))
                return -1;
            memcpy(a, h.w[k], FL0WER_ADDR_LEN);
            break;
        default:
            return -1;
        }
        addr_words(a, w);
        if (k < 0)
            k = hist_find(&h, w);
        hist_use(&h, w, k);
    }
    return c.p == c.end ? 0 : -1;
}

/* Decodes a plain varint column (one value for all when constant) of n records to d as
 * fields of width bytes; -1 on a bad column or a value too large for the field. */
static int decode_varint_col(const struct store_cursor *c, struct col_dest d, unsigned width,
                             size_t n, bool constant)
{
    const uint8_t *p = c->p;
    uint64_t v = 0;
#define VARINT_COLUMN(type)                                                                        \
    do {                                                                                           \
        if (constant) {                                                                            \
            if (!(p = get_varint(p, c->end, &v)) || (type)v != v)                                  \
                return -1;                                                                         \
            for (size_t i = 0; i < n; i++)                                                         \
                *(type *)(void *)(d.base + i * d.stride) = (type)v;                                \
            break;                                                                                 \
        }                                                                                          \
        size_t i = 0;                                                                              \
        for (uint64_t w = 0; i + 1 < n; i += 2) { /* two a step, mostly from one load */           \
            if (!(p = get_varint2(p, c->end, &v, &w)) || (type)v != v || (type)w != w)             \
                return -1;                                                                         \
            *(type *)(void *)(d.base + i * d.stride) = (type)v;                                    \
            *(type *)(void *)(d.base + (i + 1) * d.stride) = (type)w;                              \
        }                                                                                          \
        if (i < n) {                                                                               \
            if (!(p = get_varint(p, c->end, &v)) || (type)v != v)                                  \
                return -1;                                                                         \
            *(type *)(void *)(d.base + i * d.stride) = (type)v;                                    \
        }                                                                                          \
    } while (0)
    if (width == 8)
        VARINT_COLUMN(uint64_t);
    else if (width == 4)
        VARINT_COLUMN(uint32_t);
    else
        VARINT_COLUMN(uint16_t);
#undef VARINT_COLUMN
    return p == c->end ? 0 : -1;
}

/* Stores v at d as a field of width bytes; false when it does not fit. */
static inline bool put_width(uint8_t *d, unsigned width, uint64_t v)
{
    if (width == 8) {
        memcpy(d, &v, 8);
        return true;
    }
    if (width == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(d, &x, 4);
        return x == v;
    }
    uint16_t x = (uint16_t)v;
    memcpy(d, &x, 2);
    return x == v;
}

/*
 * Decodes two plain varint columns (neither constant) of n records side by side: each varint's
 * position depends on the previous one's length, and two such chains run in parallel where one
 * column after the other would wait on each. Same checks as decode_varint_col; -1 on a bad
 * column.
 */
static int decode_varint_pair(const struct store_cursor *c0, struct col_dest d0, unsigned w0,
                              const struct store_cursor *c1, struct col_dest d1, unsigned w1,
                              size_t n)
{
    const uint8_t *p0 = c0->p, *p1 = c1->p;
    uint64_t a0 = 0, b0 = 0, a1 = 0, b1 = 0;
    size_t i = 0;

    for (; i + 1 < n; i += 2) { /* two records a step, each column from one load mostly */
        p0 = get_varint2(p0, c0->end, &a0, &b0);
        p1 = get_varint2(p1, c1->end, &a1, &b1);
        if (!p0 || !p1 || !put_width(d0.base + i * d0.stride, w0, a0) ||
            !put_width(d0.base + (i + 1) * d0.stride, w0, b0) ||
            !put_width(d1.base + i * d1.stride, w1, a1) ||
            !put_width(d1.base + (i + 1) * d1.stride, w1, b1))
            return -1;
    }
    if (i < n) {
        p0 = get_varint(p0, c0->end, &a0);
        p1 = get_varint(p1, c1->end, &a1);
        if (!p0 || !p1 || !put_width(d0.base + i * d0.stride, w0, a0) ||
            !put_width(d1.base + i * d1.stride, w1, a1))
            return -1;
    }
    return p0 == c0->end && p1 == c1->end ? 0 : -1;
}

/* Decodes last_ms (and first_ms when first.base is set) of n records. */
static int decode_times(const struct block_cols *bc, struct col_dest last, struct col_dest first,
                        size_t n)
{
    const uint8_t *p = bc->var[0].p;
    uint64_t prev = bc->lo, v;

    for (size_t i = 0; i < n; i++) {
        if (!(p = get_varint(p, bc->var[0].end, &v)))
            return -1;
        prev += (uint64_t)unzigzag(v);
        *(uint64_t *)(void *)(last.base + i * last.stride) = prev;
    }
    if (p != bc->var[0].end)
        return -1;
    if (!first.base)
        return 0;
    p = bc->var[1].p;
    for (size_t i = 0; i < n; i++) {
        if (!(p = get_varint(p, bc->var[1].end, &v)))
            return -1;
        *(uint64_t *)(void *)(first.base + i * first.stride) =
            *(uint64_t *)(void *)(last.base + i * last.stride) - (uint64_t)unzigzag(v);
    }
    return p == bc->var[1].end ? 0 : -1;
}

/*
 * Decodes the columns in mask whose destination is set (the caller sets a destination for
 * every column its mask asks for) into var/byte/addr. Every decoded column is checked.
 */
static int decode_block(const uint8_t *buf, size_t len, size_t cap, uint32_t mask,
                        const struct col_dest *var, const struct col_dest *byte,
                        const struct col_dest *addr, size_t *n_out)
{
    struct block_cols bc;
    size_t n;

    if (parse_header(buf, len, &bc, true) != 0 || bc.n > cap)
        return FL0WER_STORE_ERR_CORRUPT;
    n = bc.n;
    if (mask & STORE_COL_FIRST)
        mask |= STORE_COL_LAST;
    if ((mask & STORE_COL_LAST) &&
        decode_times(&bc, var[0], (mask & STORE_COL_FIRST) ? var[1] : (struct col_dest){0}, n))
        return FL0WER_STORE_ERR_CORRUPT;
    int pending = -1; /* a varying column waiting to be decoded beside the next one */
    for (int col = 2; col < N_VARINT_COLS; col++) {
        if (!(mask & (1u << col)) || !var[col].base)
            continue;
        bool constant = (bc.consts >> col) & 1u;
        int rc = 0;
        if (constant)
            rc = decode_varint_col(&bc.var[col], var[col], var_width[col], n, true);
        else if (pending < 0)
            pending = col;
        else {
            rc = decode_varint_pair(&bc.var[pending], var[pending], var_width[pending],
                                    &bc.var[col], var[col], var_width[col], n);
            pending = -1;
        }
        if (rc != 0)
            return FL0WER_STORE_ERR_CORRUPT;
    }
    if (pending >= 0 &&
        decode_varint_col(&bc.var[pending], var[pending], var_width[pending], n, false) != 0)
        return FL0WER_STORE_ERR_CORRUPT;
    for (int col = 0; col < N_BYTE_COLS; col++)
        if ((mask & byte_col_mask[col]) && byte[col].base) {
            size_t step = (bc.consts >> (N_VARINT_COLS + col)) & 1u ? 0 : 1;
            if (step && byte[col].stride == 1) {
                memcpy(byte[col].base, bc.bytes[col], n);
                continue;
            }
            for (size_t i = 0; i < n; i++)
                byte[col].base[i * byte[col].stride] = bc.bytes[col][i * step];
        }
    for (int col = 0; col < N_ADDR_COLS; col++)
        if ((mask & (STORE_COL_EXPORTER << col)) && addr[col].base) {
            int rc = decode_addr_col(&bc.addr[col], addr[col], n);
            if (rc == 1)
                rc = decode_addr_col_list(bc.addr[col], addr[col], n, bc.version);
            if (rc != 0)
                return FL0WER_STORE_ERR_CORRUPT;
        }
    *n_out = n;
    return 0;
}

int store_block_decode_cols(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                            size_t *n_out, uint32_t mask)
{
    static const size_t var_off[N_VARINT_COLS] = {
        offsetof(struct fl0wer_flow, last_ms),  offsetof(struct fl0wer_flow, first_ms),
        offsetof(struct fl0wer_flow, bytes),    offsetof(struct fl0wer_flow, packets),
        offsetof(struct fl0wer_flow, flows),    offsetof(struct fl0wer_flow, domain_id),
        offsetof(struct fl0wer_flow, in_if),    offsetof(struct fl0wer_flow, out_if),
        offsetof(struct fl0wer_flow, src_as),   offsetof(struct fl0wer_flow, dst_as),
        offsetof(struct fl0wer_flow, sampling), offsetof(struct fl0wer_flow, src_port),
        offsetof(struct fl0wer_flow, dst_port), offsetof(struct fl0wer_flow, vlan)};
    struct col_dest var[N_VARINT_COLS], byte[N_BYTE_COLS], addr[N_ADDR_COLS];
    const size_t stride = sizeof(struct fl0wer_flow);

    for (int i = 0; i < N_VARINT_COLS; i++)
        var[i] = (struct col_dest){(uint8_t *)out + var_off[i], stride};
    for (int i = 0; i < N_BYTE_COLS; i++)
        byte[i] = (struct col_dest){byte_col(out, i), stride};
    for (int i = 0; i < N_ADDR_COLS; i++)
        addr[i] = (struct col_dest){addr_col(out, i), stride};
    return decode_block(buf, len, cap, mask, var, byte, addr, n_out);
}

int store_block_decode(const uint8_t *buf, size_t len, struct fl0wer_flow *out, size_t cap,
                       size_t *n)
{
    return store_block_decode_cols(buf, len, out, cap, n, STORE_COL_ALL);
}

/* Decodes the columns of more not in o->mask (none: the header and column table are still
 * checked) and points the view at every decoded column. */
static int decode_soa(struct store_flow_soa *o, uint32_t more)
{
    const struct col_dest var[N_VARINT_COLS] = {
        {(uint8_t *)o->last_ms, 8},  {(uint8_t *)o->first_ms, 8}, {(uint8_t *)o->bytes, 8},
        {(uint8_t *)o->packets, 8},  {(uint8_t *)o->flows, 8},    {NULL, 0},
        {(uint8_t *)o->in_if, 4},    {(uint8_t *)o->out_if, 4},   {(uint8_t *)o->src_as, 4},
        {(uint8_t *)o->dst_as, 4},   {(uint8_t *)o->sampling, 4}, {(uint8_t *)o->src_port, 2},
        {(uint8_t *)o->dst_port, 2}, {(uint8_t *)o->vlan, 2}};
    const struct col_dest byte[N_BYTE_COLS] = {
        {o->proto, 1}, {o->tcp_flags, 1}, {o->tos, 1},   {NULL, 0}, {NULL, 0},
        {NULL, 0},     {NULL, 0},         {o->flags, 1}, {NULL, 0}, {NULL, 0}};
    const struct col_dest addr[N_ADDR_COLS] = {{o->exporter[0], FL0WER_ADDR_LEN},
                                               {o->src_addr[0], FL0WER_ADDR_LEN},
                                               {o->dst_addr[0], FL0WER_ADDR_LEN},
                                               {NULL, 0}};
    uint32_t mask;
    size_t n = 0;
    int rc;

    if (more & STORE_COL_FIRST) /* first_ms is decoded from last_ms: both are in the view */
        more |= STORE_COL_LAST;
    rc = decode_block(o->block, o->block_len, STORE_MAX_BLOCK_FLOWS, more & ~o->mask, var, byte,
                      addr, &n);
    if (rc != 0)
        return rc;
    mask = o->mask | more;
#define COL(bit, arr) ((mask & (bit)) ? (arr) : NULL)
    o->mask = mask;
    o->view = (struct fl0wer_flow_cols){
        .n = n,
        .first_ms = COL(STORE_COL_FIRST, o->first_ms),
        .last_ms = COL(STORE_COL_LAST, o->last_ms),
        .bytes = COL(STORE_COL_BYTES, o->bytes),
        .packets = COL(STORE_COL_PACKETS, o->packets),
        .flows = COL(STORE_COL_FLOWS, o->flows),
        .src_as = COL(STORE_COL_SRC_AS, o->src_as),
        .dst_as = COL(STORE_COL_DST_AS, o->dst_as),
        .in_if = COL(STORE_COL_IN_IF, o->in_if),
        .out_if = COL(STORE_COL_OUT_IF, o->out_if),
        .src_port = COL(STORE_COL_SRC_PORT, o->src_port),
        .dst_port = COL(STORE_COL_DST_PORT, o->dst_port),
        .vlan = COL(STORE_COL_VLAN, o->vlan),
        .proto = COL(STORE_COL_PROTO, o->proto),
        .tcp_flags = COL(STORE_COL_TCP_FLAGS, o->tcp_flags),
        .tos = COL(STORE_COL_TOS, o->tos),
        .flags = COL(STORE_COL_FLOW_FLAGS, o->flags),
        .exporter = COL(STORE_COL_EXPORTER, (const uint8_t(*)[FL0WER_ADDR_LEN])o->exporter),
        .src_addr = COL(STORE_COL_SRC_ADDR, (const uint8_t(*)[FL0WER_ADDR_LEN])o->src_addr),
        .dst_addr = COL(STORE_COL_DST_ADDR, (const uint8_t(*)[FL0WER_ADDR_LEN])o->dst_addr)};
#undef COL
    return 0;
}

int store_block_decode_soa_more(struct store_flow_soa *o, uint32_t more)
{
    if ((more & ~STORE_SOA_COLS) != 0)
        return FL0WER_STORE_ERR_INVAL;
    /* the time columns decode together (first_ms from last_ms): both again when first is new */
    if ((more & STORE_COL_FIRST) && !(o->mask & STORE_COL_FIRST))
        o->mask &= ~STORE_COL_LAST;
    return (more & ~o->mask) == 0 ? 0 : decode_soa(o, more);
}

int store_block_decode_soa(const uint8_t *buf, size_t len, uint32_t mask,
                           struct store_flow_soa *out)
{
    if ((mask & ~STORE_SOA_COLS) != 0)
        return FL0WER_STORE_ERR_INVAL;
    out->block = buf;
    out->block_len = len;
    out->mask = 0;
    return decode_soa(out, mask);
}
