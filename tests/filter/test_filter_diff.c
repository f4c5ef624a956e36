/*
 * test_filter_diff.c - differential test: random expression trees are printed as filter text
 * (with minimal or extra parentheses, random spelling of operators and keywords), compiled, and
 * matched against random flows; a naive tree-walking reference evaluator written here must give
 * the same answer for every flow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/filter.h"

enum node_kind { N_OR, N_AND, N_NOT, N_PRIM };
enum prim_kind { P_HOST, P_NET, P_PORT, P_AS, P_IF, P_PROTO, P_FLAGS, P_TOS, P_BYTES, P_PACKETS,
                 P_FLOWS, P_DURATION, P_V4, P_V6, P_ANY, P_EXPORTER, P__COUNT };
enum side { S_ANY, S_SRC, S_DST, S_BOTH };
enum cmp { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

struct node {
    int kind;
    struct node *a, *b;
    int prim, side, cmp;
    uint64_t value;
    uint8_t addr[16];
    int plen; /* bits over the 16-byte form */
};

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

static unsigned pick(struct rng *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

/* Small pools so that random primitives and random flows actually meet. */
static const char *addr_pool[] = {"10.0.0.1", "10.0.0.2", "10.1.2.3", "192.0.2.80",
                                  "203.0.113.255", "2001:db8::1", "2001:db8::2",
                                  "2001:db8:1::2", "fe80::1"};
static const uint64_t port_pool[] = {0, 22, 53, 80, 443, 1023, 1024, 8080, 65535};
static const uint64_t count_pool[] = {0, 1, 2, 999, 1000, 1500, 64000, 1000000, 3000000000ull};

static void pool_addr(struct rng *r, uint8_t out[16])
{
    assert_int_equal(fl0wer_addr_parse(addr_pool[pick(r, 9)], out), 0);
}

static bool is_v4(const uint8_t a[16])
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a, pfx, 12) == 0;
}

static void random_flow(struct rng *r, struct fl0wer_flow *f)
{
    bool v6 = pick(r, 3) == 0;

    memset(f, 0, sizeof(*f));
    do {
        pool_addr(r, f->src_addr);
    } while (is_v4(f->src_addr) == v6);
    do {
        pool_addr(r, f->dst_addr);
    } while (is_v4(f->dst_addr) == v6);
    pool_addr(r, f->exporter);
    f->flags = v6 ? FL0WER_FLOW_F_IPV6 : 0;
    f->src_port = (uint16_t)(pick(r, 4) ? port_pool[pick(r, 9)] : next(r));
    f->dst_port = (uint16_t)(pick(r, 4) ? port_pool[pick(r, 9)] : next(r));
    f->proto = (uint8_t)(pick(r, 5) ? (const uint8_t[]){1, 6, 17, 58}[pick(r, 4)] : next(r));
    f->tcp_flags = (uint8_t)next(r);
    f->tos = (uint8_t)(pick(r, 2) ? 0 : next(r));
    f->src_as = (uint32_t)(pick(r, 2) ? pick(r, 4) * 65000 : next(r));
    f->dst_as = (uint32_t)(pick(r, 2) ? pick(r, 4) * 65000 : next(r));
    f->in_if = pick(r, 8);
    f->out_if = pick(r, 8);
    f->bytes = pick(r, 2) ? count_pool[pick(r, 9)] : next(r) % 5000000000ull;
    f->packets = pick(r, 2) ? count_pool[pick(r, 9)] : next(r) % 100000;
    f->flows = 1 + pick(r, 3);
    f->first_ms = 1700000000000ull + pick(r, 100000);
    f->last_ms = f->first_ms + (pick(r, 2) ? count_pool[pick(r, 6)] : pick(r, 100000));
    f->sampling = 1;
}

/* ---- reference evaluator: one bit at a time, no tricks ---- */

static bool bit(const uint8_t a[16], int i)
{
    return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool ref_prefix(const uint8_t a[16], const uint8_t net[16], int plen)
{
    for (int i = 0; i < plen; i++)
        if (bit(a, i) != bit(net, i))
            return false;
    return true;
}

static bool ref_cmp(uint64_t v, int cmp, uint64_t ref)
{
    return cmp == C_EQ ? v == ref : cmp == C_NE ? v != ref : cmp == C_LT ? v < ref
         : cmp == C_LE ? v <= ref : cmp == C_GT ? v > ref : v >= ref;
}

static bool ref_side(int side, bool s, bool d)
{
    return side == S_SRC ? s : side == S_DST ? d : side == S_BOTH ? (s && d) : (s || d);
}

static bool ref_prim(const struct node *n, const struct fl0wer_flow *f)
{
    switch (n->prim) {
    case P_HOST:
    case P_NET:
        return ref_side(n->side, ref_prefix(f->src_addr, n->addr, n->plen),
                        ref_prefix(f->dst_addr, n->addr, n->plen));
    case P_EXPORTER: return ref_prefix(f->exporter, n->addr, n->plen);
    case P_PORT:
        return ref_side(n->side, ref_cmp(f->src_port, n->cmp, n->value),
                        ref_cmp(f->dst_port, n->cmp, n->value));
    case P_AS:
        return ref_side(n->side, ref_cmp(f->src_as, n->cmp, n->value),
                        ref_cmp(f->dst_as, n->cmp, n->value));
    case P_IF:
        return ref_side(n->side, ref_cmp(f->in_if, n->cmp, n->value),
                        ref_cmp(f->out_if, n->cmp, n->value));
    case P_PROTO: return ref_cmp(f->proto, n->cmp, n->value);
    case P_FLAGS: return (f->tcp_flags & n->value) == n->value;
    case P_TOS: return ref_cmp(f->tos, n->cmp, n->value);
    case P_BYTES: return ref_cmp(f->bytes, n->cmp, n->value);
    case P_PACKETS: return ref_cmp(f->packets, n->cmp, n->value);
    case P_FLOWS: return ref_cmp(f->flows, n->cmp, n->value);
    case P_DURATION: return ref_cmp(f->last_ms - f->first_ms, n->cmp, n->value);
    case P_V4: return !(f->flags & FL0WER_FLOW_F_IPV6);
    case P_V6: return (f->flags & FL0WER_FLOW_F_IPV6) != 0;
    default: return true;
    }
}

static bool ref_eval(const struct node *n, const struct fl0wer_flow *f)
{
    switch (n->kind) {
    case N_OR: return ref_eval(n->a, f) || ref_eval(n->b, f);
    case N_AND: return ref_eval(n->a, f) && ref_eval(n->b, f);
    case N_NOT: return !ref_eval(n->a, f);
    default: return ref_prim(n, f);
    }
}

/* ---- random trees and their text ---- */

static struct node *random_prim(struct rng *r)
{
    struct node *n = calloc(1, sizeof(*n));

    assert_non_null(n);
    n->kind = N_PRIM;
    n->prim = (int)pick(r, P__COUNT);
    n->side = (int)pick(r, 4);
    n->cmp = pick(r, 2) ? C_EQ : (int)pick(r, 6);
    switch (n->prim) {
    case P_HOST:
        pool_addr(r, n->addr);
        n->plen = 128;
        break;
    case P_NET:
    case P_EXPORTER:
        pool_addr(r, n->addr);
        n->plen = is_v4(n->addr) ? 96 + (int)pick(r, 33) : (int)pick(r, 129);
        for (int i = n->plen; i < 128; i++)
            n->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
        break;
    case P_PORT: n->value = pick(r, 4) ? port_pool[pick(r, 9)] : pick(r, 65536); break;
    case P_AS: n->value = pick(r, 4) * 65000; break;
    case P_IF:
        n->value = pick(r, 8);
        n->side %= 3; /* any, in, out */
        break;
    case P_PROTO: n->value = (const uint8_t[]){1, 6, 17, 58, 47}[pick(r, 5)]; break;
    case P_FLAGS: n->value = 1 + pick(r, 63); break;
    case P_TOS: n->value = pick(r, 2) ? 0 : pick(r, 256); break;
    case P_BYTES:
    case P_PACKETS:
    case P_DURATION: n->value = count_pool[pick(r, 9)]; break;
    case P_FLOWS: n->value = pick(r, 4); break;
    default: break;
    }
    return n;
}

static struct node *random_tree(struct rng *r, int depth)
{
    struct node *n;
    unsigned k = depth <= 0 ? 3 : pick(r, 4);

    if (k == 3)
        return random_prim(r);
    n = calloc(1, sizeof(*n));
    assert_non_null(n);
    n->kind = (int)k;
    n->a = random_tree(r, depth - 1);
    if (k != N_NOT)
        n->b = random_tree(r, depth - 1);
    return n;
}

static void free_tree(struct node *n)
{
    if (n == NULL)
        return;
    free_tree(n->a);
    free_tree(n->b);
    free(n);
}

struct out {
    char buf[8192];
    size_t n;
};

static void put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    o->n += (size_t)vsnprintf(o->buf + o->n, sizeof(o->buf) - o->n, fmt, ap);
    va_end(ap);
    assert_true(o->n < sizeof(o->buf));
}

static const char *word(struct rng *r, const char *lower, const char *upper)
{
    return pick(r, 4) ? lower : upper;
}

static void print_addr(struct out *o, const struct node *n, bool need_len)
{
    char text[64];

    if (is_v4(n->addr))
        inet_ntop(AF_INET, n->addr + 12, text, sizeof(text));
    else
        inet_ntop(AF_INET6, n->addr, text, sizeof(text));
    if (n->plen == 128 && !need_len)
        put(o, "%s", text);
    else
        put(o, "%s/%d", text, is_v4(n->addr) ? n->plen - 96 : n->plen);
}

static void print_number(struct rng *r, struct out *o, const struct node *n, bool suffix)
{
    static const char *cmps[6][2] = {{"=", "eq"}, {"!=", "ne"}, {"<", "lt"},
                                     {"<=", "le"}, {">", "gt"}, {">=", "ge"}};

    if (n->cmp == C_EQ && pick(r, 4) == 0)
        put(o, " ==");
    else if (n->cmp != C_EQ || pick(r, 3) == 0)
        put(o, " %s", cmps[n->cmp][pick(r, 2)]);
    if (suffix && n->value >= 1000000000 && n->value % 1000000000 == 0)
        put(o, " %" PRIu64 "g", n->value / 1000000000);
    else if (suffix && n->value >= 1000 && n->value % 1000 == 0)
        put(o, " %" PRIu64 "%s", n->value / 1000, pick(r, 2) ? "k" : "K");
    else
        put(o, " %" PRIu64, n->value);
}

static void print_prim(struct rng *r, struct out *o, const struct node *n)
{
    static const char *sides[4] = {"", "src ", "dst ", "src and dst "};
    static const char *if_sides[3] = {"", "in ", "out "};
    static const char flag_letters[] = "FSRPAU";

    switch (n->prim) {
    case P_HOST:
    case P_NET:
        put(o, "%s%s ", n->side == S_ANY && pick(r, 3) == 0 ? "src or dst " : sides[n->side],
            n->prim == P_NET ? "net" : word(r, "ip", "host"));
        print_addr(o, n, n->prim == P_NET);
        return;
    case P_EXPORTER:
        put(o, "exporter ");
        print_addr(o, n, false);
        return;
    case P_PORT:
    case P_AS:
        put(o, "%s%s", sides[n->side], n->prim == P_PORT ? word(r, "port", "PORT") : "as");
        print_number(r, o, n, false);
        return;
    case P_IF:
        put(o, "%sif", if_sides[n->side]);
        print_number(r, o, n, false);
        return;
    case P_PROTO:
        put(o, "proto");
        if (n->cmp == C_EQ && pick(r, 2))
            put(o, " %s", n->value == 1 ? "icmp" : n->value == 6 ? "tcp" : n->value == 17 ? "udp"
                          : n->value == 58 ? "icmp6" : "gre");
        else
            print_number(r, o, n, false);
        return;
    case P_FLAGS:
        put(o, "flags ");
        for (int i = 0; i < 6; i++)
            if (n->value & (1u << i))
                put(o, "%c", flag_letters[i]);
        return;
    case P_TOS: put(o, "tos"); print_number(r, o, n, false); return;
    case P_BYTES: put(o, "bytes"); print_number(r, o, n, true); return;
    case P_PACKETS: put(o, "packets"); print_number(r, o, n, true); return;
    case P_FLOWS: put(o, "flows"); print_number(r, o, n, true); return;
    case P_DURATION: put(o, "duration"); print_number(r, o, n, true); return;
    case P_V4: put(o, "%s", word(r, "ipv4", "inet")); return;
    case P_V6: put(o, "%s", word(r, "ipv6", "inet6")); return;
    default: put(o, "any"); return;
    }
}

static int prec(const struct node *n)
{
    return n->kind == N_OR ? 1 : n->kind == N_AND ? 2 : n->kind == N_NOT ? 3 : 4;
}

/* Prints n; parentheses where the context's precedence needs them, and sometimes anyway. */
static void print_tree(struct rng *r, struct out *o, const struct node *n, int ctx)
{
    bool paren = prec(n) < ctx || pick(r, 8) == 0;

    if (paren)
        put(o, "(");
    switch (n->kind) {
    case N_OR:
    case N_AND:
        /* left-associative: the right operand of a chain needs a higher precedence */
        print_tree(r, o, n->a, prec(n));
        if (n->kind == N_OR)
            put(o, " %s ", pick(r, 3) ? "or" : pick(r, 2) ? "||" : "OR");
        else
            put(o, " %s ", pick(r, 3) ? "and" : pick(r, 2) ? "&&" : "AND");
        print_tree(r, o, n->b, prec(n) + 1);
        break;
    case N_NOT:
        put(o, "%s", pick(r, 2) ? "not " : "!");
        print_tree(r, o, n->a, 3);
        break;
    default:
        print_prim(r, o, n);
    }
    if (paren)
        put(o, ")");
}

#define N_FLOWS 100 /* one whole 64-row chunk of the column evaluator and a partial one */

/* The flows as columns (struct of arrays), for fl0wer_filter_match_cols. */
struct flow_soa {
    uint64_t first_ms[N_FLOWS], last_ms[N_FLOWS], bytes[N_FLOWS], packets[N_FLOWS], flows[N_FLOWS];
    uint32_t src_as[N_FLOWS], dst_as[N_FLOWS], in_if[N_FLOWS], out_if[N_FLOWS];
    uint16_t src_port[N_FLOWS], dst_port[N_FLOWS], vlan[N_FLOWS];
    uint8_t proto[N_FLOWS], tcp_flags[N_FLOWS], tos[N_FLOWS], flags[N_FLOWS];
    uint8_t exporter[N_FLOWS][16], src_addr[N_FLOWS][16], dst_addr[N_FLOWS][16];
};

static void to_cols(const struct fl0wer_flow *f, struct flow_soa *s, struct fl0wer_flow_cols *c)
{
    for (size_t i = 0; i < N_FLOWS; i++) {
        s->first_ms[i] = f[i].first_ms;
        s->last_ms[i] = f[i].last_ms;
        s->bytes[i] = f[i].bytes;
        s->packets[i] = f[i].packets;
        s->flows[i] = f[i].flows;
        s->src_as[i] = f[i].src_as;
        s->dst_as[i] = f[i].dst_as;
        s->in_if[i] = f[i].in_if;
        s->out_if[i] = f[i].out_if;
        s->src_port[i] = f[i].src_port;
        s->dst_port[i] = f[i].dst_port;
        s->vlan[i] = f[i].vlan;
        s->proto[i] = f[i].proto;
        s->tcp_flags[i] = f[i].tcp_flags;
        s->tos[i] = f[i].tos;
        s->flags[i] = f[i].flags;
        memcpy(s->exporter[i], f[i].exporter, 16);
        memcpy(s->src_addr[i], f[i].src_addr, 16);
        memcpy(s->dst_addr[i], f[i].dst_addr, 16);
    }
    *c = (struct fl0wer_flow_cols){
        .n = N_FLOWS, .first_ms = s->first_ms, .last_ms = s->last_ms, .bytes = s->bytes,
        .packets = s->packets, .flows = s->flows, .src_as = s->src_as, .dst_as = s->dst_as,
        .in_if = s->in_if, .out_if = s->out_if, .src_port = s->src_port,
        .dst_port = s->dst_port, .vlan = s->vlan, .proto = s->proto,
        .tcp_flags = s->tcp_flags, .tos = s->tos, .flags = s->flags,
        .exporter = (const uint8_t(*)[16])s->exporter,
        .src_addr = (const uint8_t(*)[16])s->src_addr,
        .dst_addr = (const uint8_t(*)[16])s->dst_addr};
}

/* The column evaluator over every flow, with a random selection on entry: each selected row
 * must hold the reference's answer, each unselected one must stay clear. */
static void check_cols(struct rng *r, int iter, const char *text, const struct fl0wer_filter *f,
                       const struct node *tree, const struct fl0wer_flow *flows,
                       const struct fl0wer_flow_cols *c)
{
    uint64_t sel[2] = {next(r) | next(r), next(r) | next(r) | ~UINT64_C(0) << 36}, in[2];

    memcpy(in, sel, sizeof(in));
    assert_int_equal(fl0wer_filter_match_cols(f, c, sel), 0);
    for (size_t i = 0; i < N_FLOWS; i++) {
        bool chosen = (in[i / 64] >> (i % 64)) & 1, got = (sel[i / 64] >> (i % 64)) & 1;
        bool want = chosen && ref_eval(tree, &flows[i]);
        if (got != want)
            fail_msg("iteration %d flow %zu: '%s' columns gave %d, reference %d (selected %d)",
                     iter, i, text, got, want, chosen);
    }
    assert_int_equal(sel[1] >> (N_FLOWS - 64), 0); /* bits past the last row cleared */
}

static void test_differential(void **state)
{
    struct rng r = {0x9e3779b97f4a7c15ull};
    struct fl0wer_flow flows[N_FLOWS];
    static struct flow_soa soa;
    struct fl0wer_flow_cols cols;
    size_t matched = 0, total = 0;

    for (size_t i = 0; i < N_FLOWS; i++)
        random_flow(&r, &flows[i]);
    to_cols(flows, &soa, &cols);
    for (int iter = 0; iter < 3000; iter++) {
        struct node *tree = random_tree(&r, 1 + (int)pick(&r, 5));
        struct fl0wer_filter *f = NULL;
        struct fl0wer_filter_error err;
        struct out o = {.n = 0};

        print_tree(&r, &o, tree, 0);
        if (fl0wer_filter_compile(o.buf, &f, &err) != 0)
            fail_msg("iteration %d: '%s' did not compile: %s (offset %zu)", iter, o.buf,
                     err.message, err.offset);
        check_cols(&r, iter, o.buf, f, tree, flows, &cols);
        for (size_t i = 0; i < N_FLOWS; i++) {
            bool want = ref_eval(tree, &flows[i]);

            if (fl0wer_filter_match(f, &flows[i]) != want)
                fail_msg("iteration %d flow %zu: '%s' gave %d, reference %d", iter, i, o.buf,
                         !want, want);
            matched += want;
            total++;
        }
        if (iter % 500 == 0) {
            random_flow(&r, &flows[pick(&r, N_FLOWS)]);
            to_cols(flows, &soa, &cols);
        }
        fl0wer_filter_destroy(f);
        free_tree(tree);
    }
    /* The generator must exercise both outcomes, or the comparison proves little. */
    assert_true(matched > total / 10);
    assert_true(matched < total - total / 10);
}

/* A program longer than the column evaluator's stack scratch (a 300-port list: 599 ops), and a
 * column the filter reads left out. */
static void test_cols_long_program(void **state)
{
    static struct flow_soa soa;
    struct fl0wer_flow flows[N_FLOWS];
    struct fl0wer_flow_cols cols;
    struct fl0wer_filter *f = NULL;
    char expr[2048];
    size_t len = (size_t)snprintf(expr, sizeof(expr), "dst port in [");
    uint64_t sel[2] = {~UINT64_C(0), ~UINT64_C(0)};

    (void)state;
    for (int p = 1; p <= 300; p++)
        len += (size_t)snprintf(expr + len, sizeof(expr) - len, "%d ", p);
    snprintf(expr + len, sizeof(expr) - len, "]");
    assert_int_equal(fl0wer_filter_compile(expr, &f, NULL), 0);
    memset(flows, 0, sizeof(flows));
    for (size_t i = 0; i < N_FLOWS; i++)
        flows[i].dst_port = (uint16_t)(i * 3); /* 3..297 in the list, 0 not */
    to_cols(flows, &soa, &cols);
    assert_int_equal(fl0wer_filter_match_cols(f, &cols, sel), 0);
    assert_int_equal(__builtin_popcountll(sel[0]) + __builtin_popcountll(sel[1]), 99);
    assert_int_equal(sel[0] & 1, 0);
    for (size_t i = 0; i < N_FLOWS; i++)
        assert_int_equal((sel[i / 64] >> (i % 64)) & 1, fl0wer_filter_match(f, &flows[i]));
    cols.dst_port = NULL;
    assert_int_equal(fl0wer_filter_match_cols(f, &cols, sel), FL0WER_FILTER_ERR_COLS);
    fl0wer_filter_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_differential),
                                       cmocka_unit_test(test_cols_long_program)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
