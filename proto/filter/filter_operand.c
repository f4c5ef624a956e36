/*
 * filter_operand.c - the primitives of the filter language: an optional direction (src, dst,
 * src and dst, src or dst, in, out), a keyword, then the keyword's operand (address, prefix,
 * number with an optional comparison, list in [...], protocol, tcp flags).
 */
#include <errno.h>
#include <string.h>

#include "filter_operand.h"

enum arg_kind { ARG_NONE, ARG_HOST, ARG_NET, ARG_HOST_OR_NET, ARG_NUM, ARG_COUNTER, ARG_PROTO,
                ARG_FLAGS };

#define KW_DIR   0x01u /* accepts src / dst */
#define KW_IFDIR 0x02u /* accepts in / out */
#define KW_LIST  0x04u /* accepts "in [ ... ]" */

struct keyword {
    const char *name;
    uint8_t code;
    uint8_t arg;
    uint8_t flags;
    uint64_t max;
    const char *noun; /* "expected <noun>, got ..." */
};

static const struct keyword keywords[] = {
    {"ip", FLT_ADDR, ARG_HOST, KW_DIR | KW_LIST, 0, "an address"},
    {"host", FLT_ADDR, ARG_HOST, KW_DIR | KW_LIST, 0, "an address"},
    {"net", FLT_ADDR, ARG_NET, KW_DIR, 0, "a prefix like 192.0.2.0/24"},
    {"port", FLT_PORT, ARG_NUM, KW_DIR | KW_LIST, 65535, "a port number"},
    {"as", FLT_AS, ARG_NUM, KW_DIR | KW_LIST, UINT32_MAX, "an as number"},
    {"if", FLT_IF, ARG_NUM, KW_IFDIR | KW_LIST, UINT32_MAX, "an interface index"},
    {"proto", FLT_PROTO, ARG_PROTO, KW_LIST, 255, "a protocol name or number"},
    {"exporter", FLT_EXPORTER, ARG_HOST_OR_NET, KW_LIST, 0, "an exporter address or prefix"},
    {"flags", FLT_FLAGS, ARG_FLAGS, 0, 255, "tcp flags (letters of fsrpauecx or a number)"},
    {"tos", FLT_TOS, ARG_NUM, KW_LIST, 255, "a tos value"},
    {"vlan", FLT_VLAN, ARG_NUM, KW_LIST, 65535, "a vlan id"},
    {"bytes", FLT_BYTES, ARG_COUNTER, 0, UINT64_MAX, "a byte count"},
    {"packets", FLT_PACKETS, ARG_COUNTER, 0, UINT64_MAX, "a packet count"},
    {"flows", FLT_FLOWS, ARG_COUNTER, 0, UINT64_MAX, "a flow count"},
    {"duration", FLT_DURATION, ARG_COUNTER, 0, UINT64_MAX, "a duration in milliseconds"},
    {"ipv4", FLT_IPV4, ARG_NONE, 0, 0, NULL},
    {"inet", FLT_IPV4, ARG_NONE, 0, 0, NULL},
    {"ipv6", FLT_IPV6, ARG_NONE, 0, 0, NULL},
    {"inet6", FLT_IPV6, ARG_NONE, 0, 0, NULL},
    {"any", FLT_TRUE, ARG_NONE, 0, 0, NULL},
};

static const struct {
    const char *name;
    uint8_t proto;
} proto_names[] = {
    {"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"ah", 51},
    {"icmp6", 58}, {"ipv6-icmp", 58}, {"sctp", 132},
};

static const struct {
    const char *word;
    uint8_t cmp;
} cmp_words[] = {
    {"eq", FLT_EQ}, {"ne", FLT_NE}, {"lt", FLT_LT}, {"le", FLT_LE}, {"gt", FLT_GT}, {"ge", FLT_GE},
};

/*
 * Parses decimal or 0x-hex text[0, len) into *v, with a k/m/g suffix (x1000 each) when
 * `suffix`. Returns 0, or -1 when the text is not such a number or overflows.
 */
static int parse_u64(const char *text, size_t len, bool suffix, uint64_t *v)
{
    uint64_t n = 0, mult = 1, base = 10;
    size_t i = 0;

    if (suffix && len > 1) {
        char s = text[len - 1] | 0x20;

        mult = s == 'k' ? 1000ull : s == 'm' ? 1000000ull : s == 'g' ? 1000000000ull : 1;
        if (mult > 1)
            len--;
    }
    if (len > 2 && text[0] == '0' && (text[1] | 0x20) == 'x') {
        base = 16;
        i = 2;
    }
    if (i == len)
        return -1;
    for (; i < len; i++) {
        char c = text[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)((c | 0x20) - 'a' + 10);
        else
            return -1;
        if (n > (UINT64_MAX - d) / base)
            return -1;
        n = n * base + d;
    }
    if (n > UINT64_MAX / mult)
        return -1;
    *v = n * mult;
    return 0;
}

static int expected(struct flt_parser *p, const struct flt_token *t, const char *noun)
{
    char d[64];

    return flt_error(p->err, t->offset, t->length, "expected %s, got %s", noun,
                     flt_describe(p, t, d, sizeof(d)));
}

/* Copies a word token into buf as a C string; false when it is not a word or too long. */
static bool token_text(const struct flt_parser *p, const struct flt_token *t, char *buf,
                       size_t len)
{
    if (t->kind != FLT_T_WORD || t->length >= len)
        return false;
    memcpy(buf, p->expr + t->offset, t->length);
    buf[t->length] = '\0';
    return true;
}

/* Sets op->mask to the first op->plen bits and clears the bits of op->addr beyond them. */
static void mask_addr(struct flt_op *op)
{
    for (unsigned i = 0; i < FL0WER_ADDR_LEN; i++) {
        unsigned plen = op->plen, keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;

        op->mask[i] = (uint8_t)(0xff00u >> keep);
        op->addr[i] &= op->mask[i];
    }
}

/* Prefix length of a contiguous dotted IPv4 netmask (mapped form), or -1. */
static int netmask_bits(const uint8_t m[FL0WER_ADDR_LEN])
{
    uint32_t v = (uint32_t)m[12] << 24 | (uint32_t)m[13] << 16 | (uint32_t)m[14] << 8 | m[15];
    int bits = 0;

    while (bits < 32 && (v & (0x80000000u >> bits)))
        bits++;
    if (bits < 32 && (v << bits) != 0)
        return -1;
    return bits;
}

/*
 * Parses "ADDR/LEN" (IPv4 may be shortened: 10.1/16) or, when allow_mask, "ADDR MASK" with a
 * dotted IPv4 mask in the next token. Fills op->addr/plen.
 */
static int parse_prefix(struct flt_parser *p, const struct flt_token *t, const char *noun,
                        bool allow_host, struct flt_op *op)
{
    char buf[72], *slash, plen_text[8];
    uint64_t len;
    bool v4;

    if (!token_text(p, t, buf, 64))
        return expected(p, t, noun);
    slash = strchr(buf, '/');
    if (slash == NULL) {
        const struct flt_token *m = flt_peek(p);
        uint8_t mask[FL0WER_ADDR_LEN];
        char mbuf[64];
        int bits;

        if (fl0wer_addr_parse(buf, op->addr) != 0)
            return expected(p, t, noun);
        v4 = fl0wer_addr_is_v4(op->addr);
        if (v4 && token_text(p, m, mbuf, sizeof(mbuf)) && strchr(mbuf, '.') &&
            fl0wer_addr_parse(mbuf, mask) == 0 && fl0wer_addr_is_v4(mask)) {
            bits = netmask_bits(mask);
            if (bits < 0)
                return flt_error(p->err, m->offset, m->length,
                                 "not a contiguous netmask: '%s'", mbuf);
            flt_next(p);
            op->plen = (uint8_t)(96 + bits);
        } else if (allow_host) {
            op->plen = 128;
        } else {
            return expected(p, t, noun);
        }
        mask_addr(op);
        return 0;
    }
    *slash = '\0';
    if (strlen(slash + 1) >= sizeof(plen_text))
        return expected(p, t, noun);
    strcpy(plen_text, slash + 1);
    v4 = strchr(buf, ':') == NULL;
    if (v4) {
        int dots = 0;

        for (const char *c = buf; *c; c++)
            dots += *c == '.';
        for (; dots < 3 && strlen(buf) + 2 < 64; dots++)
            strcat(buf, ".0");
    }
    if (fl0wer_addr_parse(buf, op->addr) != 0 || fl0wer_addr_is_v4(op->addr) != v4 ||
        parse_u64(plen_text, strlen(plen_text), false, &len) != 0 || len > (v4 ? 32u : 128u))
        return expected(p, t, noun);
    op->plen = (uint8_t)(v4 ? 96 + len : len);
    mask_addr(op);
    return 0;
}

/* Parses tcp flag letters (FSRPAUEC, X = FSRPAU) or a number into op->value. */
static int parse_flags(struct flt_parser *p, const struct flt_token *t, struct flt_op *op)
{
    static const char letters[] = "fsrpauec";
    const char *s = p->expr + t->offset;
    uint64_t v = 0;

    if (t->kind != FLT_T_WORD)
        return expected(p, t, "tcp flags (letters of fsrpauecx or a number)");
    if (s[0] >= '0' && s[0] <= '9') {
        if (parse_u64(s, t->length, false, &v) != 0 || v > 255)
            return expected(p, t, "tcp flags (letters of fsrpauecx or a number)");
    } else {
        for (size_t i = 0; i < t->length; i++) {
            char c = (char)(s[i] | 0x20);
            const char *at = strchr(letters, c);

            if (c == 'x')
                v |= 0x3f;
            else if (at != NULL && c != '\0')
                v |= 1u << (at - letters);
            else
                return expected(p, t, "tcp flags (letters of fsrpauecx or a number)");
        }
    }
    op->value = v;
    return 0;
}

/* Parses one value (no comparison) of keyword kw from token t into op. */
static int parse_value(struct flt_parser *p, const struct keyword *kw, const struct flt_token *t,
                       struct flt_op *op)
{
    char buf[64];

    switch (kw->arg) {
    case ARG_HOST:
        if (!token_text(p, t, buf, sizeof(buf)) || fl0wer_addr_parse(buf, op->addr) != 0) {
            if (t->kind == FLT_T_WORD && memchr(p->expr + t->offset, '/', t->length))
                return flt_error(p->err, t->offset, t->length,
                                 "expected an address, got '%.*s' (use 'net' for prefixes)",
                                 (int)(t->length > 48 ? 48 : t->length), p->expr + t->offset);
            return expected(p, t, kw->noun);
        }
        op->plen = 128;
        mask_addr(op);
        return 0;
    case ARG_NET:
        return parse_prefix(p, t, kw->noun, false, op);
    case ARG_HOST_OR_NET:
        return parse_prefix(p, t, kw->noun, true, op);
    case ARG_FLAGS:
        return parse_flags(p, t, op);
    default:
        for (size_t i = 0; kw->arg == ARG_PROTO && i < sizeof(proto_names) / sizeof(proto_names[0]);
             i++) {
            if (flt_is_word(p, t, proto_names[i].name)) {
                op->value = proto_names[i].proto;
                return 0;
            }
        }
        if (t->kind != FLT_T_WORD ||
            parse_u64(p->expr + t->offset, t->length, kw->arg == ARG_COUNTER, &op->value) != 0 ||
            op->value > kw->max)
            return expected(p, t, kw->noun);
        return 0;
    }
}

/* Reads an optional comparison (symbol or eq/ne/lt/le/gt/ge) into *cmp (default FLT_EQ). */
static void parse_cmp(struct flt_parser *p, uint8_t *cmp)
{
    const struct flt_token *t = flt_peek(p);

    *cmp = FLT_EQ;
    if (t->kind == FLT_T_CMP) {
        *cmp = t->cmp;
        flt_next(p);
        return;
    }
    for (size_t i = 0; i < sizeof(cmp_words) / sizeof(cmp_words[0]); i++) {
        if (flt_is_word(p, t, cmp_words[i].word)) {
            *cmp = cmp_words[i].cmp;
            flt_next(p);
            return;
        }
    }
}

/* Parses "[ v1 v2, v3 ]" after "in" and emits v1 or v2 or v3. */
static int parse_list(struct flt_parser *p, const struct keyword *kw, const struct flt_op *base)
{
    const struct flt_token *open = flt_next(p), *t;
    size_t count = 0;
    int rc;

    if (open->kind != FLT_T_LBRACK)
        return expected(p, open, "'[' after 'in'");
    for (;;) {
        struct flt_op op = *base, jump = {.code = FLT_JT};
        size_t at = p->n_ops;

        t = flt_next(p);
        if (t->kind == FLT_T_COMMA)
            continue;
        if (t->kind == FLT_T_RBRACK)
            break;
        if (t->kind == FLT_T_END)
            return flt_error(p->err, open->offset, open->length, "unbalanced bracket");
        rc = parse_value(p, kw, t, &op);
        if (rc == 0 && count > 0)
            rc = flt_emit(p, &jump);
        if (rc == 0)
            rc = flt_emit(p, &op);
        if (rc != 0)
            return rc;
        if (count++ > 0)
            p->ops[at].target = (uint32_t)p->n_ops;
    }
    if (count == 0)
        return flt_error(p->err, open->offset, t->offset + t->length - open->offset,
                         "empty list");
    return 0;
}

static const struct keyword *find_keyword(const struct flt_parser *p, const struct flt_token *t)
{
    for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
        if (flt_is_word(p, t, keywords[i].name))
            return &keywords[i];
    return NULL;
}

/* Reads src / dst / src and dst / src or dst / in / out. Returns the direction token or NULL. */
static const struct flt_token *parse_direction(struct flt_parser *p, uint8_t *dir, bool *ifdir)
{
    const struct flt_token *t = flt_peek(p);

    *dir = FLT_DIR_ANY;
    *ifdir = false;
    if (flt_is_word(p, t, "src") || flt_is_word(p, t, "dst")) {
        const struct flt_token *op = &p->toks[p->pos + 1];

        *dir = flt_is_word(p, t, "src") ? FLT_DIR_SRC : FLT_DIR_DST;
        flt_next(p);
        if (*dir == FLT_DIR_SRC && op->kind != FLT_T_END && flt_is_word(p, op + 1, "dst")) {
            bool is_and = op->kind == FLT_T_AND || flt_is_word(p, op, "and");
            bool is_or = op->kind == FLT_T_OR || flt_is_word(p, op, "or");

            if (is_and || is_or) {
                *dir = is_and ? FLT_DIR_BOTH : FLT_DIR_ANY;
                flt_next(p);
                flt_next(p);
            }
        }
        return t;
    }
    if (flt_is_word(p, t, "in") || flt_is_word(p, t, "out")) {
        *dir = flt_is_word(p, t, "in") ? FLT_DIR_SRC : FLT_DIR_DST;
        *ifdir = true;
        flt_next(p);
        return t;
    }
    return NULL;
}

int flt_parse_primitive(struct flt_parser *p)
{
    const struct flt_token *dtok, *t;
    const struct keyword *kw;
    struct flt_op op = {0};
    bool ifdir;
    char d[64], dd[64];
    int rc;

    dtok = parse_direction(p, &op.dir, &ifdir);
    t = flt_next(p);
    if (t->kind != FLT_T_WORD) {
        if (dtok != NULL)
            return flt_error(p->err, t->offset, t->length, "expected a keyword after %s, got %s",
                             flt_describe(p, dtok, dd, sizeof(dd)),
                             flt_describe(p, t, d, sizeof(d)));
        return expected(p, t, "a filter primitive");
    }
    kw = find_keyword(p, t);
    if (kw == NULL)
        return flt_error(p->err, t->offset, t->length, "unknown keyword %s",
                         flt_describe(p, t, d, sizeof(d)));
    if (dtok != NULL && !(kw->flags & (ifdir ? KW_IFDIR : KW_DIR)))
        return flt_error(p->err, dtok->offset, t->offset + t->length - dtok->offset,
                         "%s does not apply to %s%s", flt_describe(p, dtok, dd, sizeof(dd)),
                         flt_describe(p, t, d, sizeof(d)),
                         kw->code == FLT_IF ? " (use 'in if' or 'out if')" : "");
    op.code = kw->code;
    if (kw->arg == ARG_NONE)
        return flt_emit(p, &op);
    if ((kw->flags & KW_LIST) && flt_is_word(p, flt_peek(p), "in") &&
        p->toks[p->pos + 1].kind == FLT_T_LBRACK) {
        flt_next(p);
        return parse_list(p, kw, &op);
    }
    if (kw->arg == ARG_NUM || kw->arg == ARG_COUNTER || kw->arg == ARG_PROTO)
        parse_cmp(p, &op.cmp);
    rc = parse_value(p, kw, flt_next(p), &op);
    if (rc != 0)
        return rc;
    return flt_emit(p, &op);
}
