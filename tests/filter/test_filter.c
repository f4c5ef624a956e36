/*
 * test_filter.c - every filter primitive matching and not matching hand-built IPv4 and IPv6
 * flows, operator precedence, and every syntax error with its exact offset, length and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl0wer/filter.h"

static struct fl0wer_flow v4, v6;

static void set_addr(uint8_t *dst, const char *text)
{
    assert_int_equal(fl0wer_addr_parse(text, dst), 0);
}

static int setup(void **state)
{
    fl0wer_flow_init(&v4);
    set_addr(v4.exporter, "198.51.100.1");
    set_addr(v4.src_addr, "10.0.0.1");
    set_addr(v4.dst_addr, "192.0.2.80");
    v4.src_port = 12345;
    v4.dst_port = 443;
    v4.proto = 6;
    v4.tcp_flags = 0x12; /* SYN ACK */
    v4.tos = 0x10;
    v4.src_as = 65001;
    v4.dst_as = 15169;
    v4.in_if = 3;
    v4.out_if = 7;
    v4.vlan = 100;
    v4.bytes = 1500;
    v4.packets = 3;
    v4.first_ms = 1000;
    v4.last_ms = 3500;
    v4.version = 5;

    fl0wer_flow_init(&v6);
    set_addr(v6.exporter, "2001:db8:ffff::1");
    set_addr(v6.src_addr, "2001:db8::1");
    set_addr(v6.dst_addr, "2001:db8:1::2");
    v6.src_port = 53;
    v6.dst_port = 40000;
    v6.proto = 17;
    v6.flags = FL0WER_FLOW_F_IPV6;
    v6.bytes = 80000;
    v6.packets = 100;
    v6.flows = 2;
    v6.first_ms = 5000;
    v6.last_ms = 5000;
    v6.in_if = 7;
    v6.out_if = 3;
    v6.src_as = 0;
    v6.dst_as = 65001;
    v6.version = 10;
    return 0;
}

/* Compiles expr (must succeed) and checks the result on the v4 and v6 flows. */
static void check_impl(const char *expr, bool want4, bool want6, int line)
{
    struct fl0wer_filter *f = NULL;
    struct fl0wer_filter_error err;
    int rc = fl0wer_filter_compile(expr, &f, &err);

    if (rc != 0)
        fail_msg("line %d: '%s' failed to compile: %s at %zu", line, expr, err.message,
                 err.offset);
    if (fl0wer_filter_match(f, &v4) != want4)
        fail_msg("line %d: '%s' on v4: expected %d", line, expr, want4);
    if (fl0wer_filter_match(f, &v6) != want6)
        fail_msg("line %d: '%s' on v6: expected %d", line, expr, want6);
    fl0wer_filter_destroy(f);
}
#define check(e, a, b) check_impl((e), (a), (b), __LINE__)

/* Compiles expr (must fail) and checks offset, length and message exactly. */
static void error_impl(const char *expr, size_t off, size_t len, const char *msg, int line)
{
    struct fl0wer_filter *f = (struct fl0wer_filter *)&v4; /* must be reset to NULL */
    struct fl0wer_filter_error err;
    int rc = fl0wer_filter_compile(expr, &f, &err);

    if (rc != FL0WER_FILTER_ERR_SYNTAX)
        fail_msg("line %d: '%s' returned %d, expected a syntax error", line, expr, rc);
    assert_null(f);
    if (err.offset != off || err.length != len || strcmp(err.message, msg) != 0)
        fail_msg("line %d: '%s': got offset %zu length %zu \"%s\", expected %zu %zu \"%s\"", line,
                 expr, err.offset, err.length, err.message, off, len, msg);
}
#define check_error(e, o, l, m) error_impl((e), (o), (l), (m), __LINE__)

static void test_empty_and_any(void **state)
{
    struct fl0wer_filter *f;

    assert_int_equal(fl0wer_filter_compile(NULL, &f, NULL), 0);
    assert_true(fl0wer_filter_is_all(f));
    assert_true(fl0wer_filter_match(f, &v4));
    fl0wer_filter_destroy(f);
    assert_int_equal(fl0wer_filter_compile("  \t\n ", &f, NULL), 0);
    assert_true(fl0wer_filter_is_all(f));
    fl0wer_filter_destroy(f);
    assert_int_equal(fl0wer_filter_compile("any", &f, NULL), 0);
    assert_true(fl0wer_filter_is_all(f));
    fl0wer_filter_destroy(f);
    assert_int_equal(fl0wer_filter_compile("port 1", &f, NULL), 0);
    assert_false(fl0wer_filter_is_all(f));
    fl0wer_filter_destroy(f);
    check("any", true, true);
    check("not any", false, false);
}

static void test_addresses(void **state)
{
    check("ip 10.0.0.1", true, false);
    check("host 192.0.2.80", true, false);
    check("src ip 10.0.0.1", true, false);
    check("dst ip 10.0.0.1", false, false);
    check("dst host 192.0.2.80", true, false);
    check("src ip 192.0.2.80", false, false);
    check("ip 10.0.0.2", false, false);
    check("ip 2001:db8::1", false, true);
    check("src ip 2001:DB8::1", false, true);
    check("dst ip 2001:db8::1", false, false);
    check("ip ::ffff:10.0.0.1", true, false);
    check("src and dst ip 10.0.0.1", false, false);
    check("src or dst ip 192.0.2.80", true, false);
    check("src && dst net 0.0.0.0/0", true, false);
    check("ip in [10.9.9.9 2001:db8:1::2]", false, true);
    check("src ip in [10.9.9.9, 10.0.0.1]", true, false);
    check("exporter 198.51.100.1", true, false);
    check("exporter 198.51.100.2", false, false);
    check("exporter 2001:db8:ffff::/48", false, true);
    check("exporter 198.51.100.0 255.255.255.0", true, false);
}

static void test_nets(void **state)
{
    check("net 10.0.0.0/8", true, false);
    check("net 10/8", true, false);
    check("net 10.0/16", true, false);
    check("src net 10.0.0.0/8", true, false);
    check("dst net 10.0.0.0/8", false, false);
    check("dst net 192.0.2.64/26", true, false);
    check("dst net 192.0.2.0/26", false, false);
    check("net 10.0.0.1/32", true, false);
    check("net 10.0.0.0/32", false, false);
    check("net 10.255.255.255/8", true, false); /* host bits are masked off */
    check("net 0.0.0.0/0", true, false);
    check("net ::/0", true, true);
    check("net 2001:db8::/32", false, true);
    check("src net 2001:db8::/48", false, true);
    check("dst net 2001:db8::/48", false, false);
    check("dst net 2001:db8:1::/48", false, true);
    check("net 2001:db8::1/128", false, true);
    check("net 192.0.2.0 255.255.255.0", true, false);
    check("net 192.0.2.0 255.255.255.128", true, false);
    check("net 192.0.2.128 255.255.255.128", false, false);
    check("net 192.0.2.0 255.255.255.0 and port 443", true, false);
}

static void test_ports(void **state)
{
    check("port 443", true, false);
    check("port 53", false, true);
    check("src port 12345", true, false);
    check("dst port 12345", false, false);
    check("dst port 443", true, false);
    check("port > 1023", true, true);
    check("src port > 1023", true, false);
    check("dst port < 1024", true, false);
    check("dst port <= 443", true, false);
    check("dst port < 443", false, false);
    check("dst port >= 40000", false, true);
    check("src port != 53", true, false);
    check("dst port = 443", true, false);
    check("dst port == 443", true, false);
    check("dst port eq 443", true, false);
    check("dst port gt 442", true, true);
    check("dst port ge 443 and dst port le 443", true, false);
    check("src port ne 53", true, false);
    check("dst port LT 443", false, false);
    check("port in [80 443]", true, false);
    check("port in [80,53]", false, true);
    check("dst port in [ 80 , 8080 ]", false, false);
    check("port 0x1bb", true, false);
    check("port 65535", false, false);
}

static void test_numbers(void **state)
{
    check("proto tcp", true, false);
    check("proto udp", false, true);
    check("proto TCP", true, false);
    check("proto 6", true, false);
    check("proto 17", false, true);
    check("proto icmp", false, false);
    check("proto icmp6", false, false);
    check("proto gre or proto esp", false, false);
    check("proto in [tcp udp]", true, true);
    check("src as 65001", true, false);
    check("dst as 65001", false, true);
    check("as 65001", true, true);
    check("as 15169", true, false);
    check("as > 65000", true, true);
    check("src as 0", false, true);
    check("if 3", true, true);
    check("in if 3", true, false);
    check("out if 3", false, true);
    check("out if 7", true, false);
    check("in if > 5", false, true);
    check("tos 16", true, false);
    check("tos 0", false, true);
    check("tos > 8", true, false);
    check("vlan 100", true, false);
    check("vlan 0", false, true);
}

static void test_flags(void **state)
{
    check("flags S", true, false);
    check("flags A", true, false);
    check("flags SA", true, false);
    check("flags as", true, false);
    check("flags F", false, false);
    check("flags SAF", false, false);
    check("flags S and not flags A", false, false);
    check("flags S and not flags R", true, false);
    check("flags 0x12", true, false);
    check("flags 2", true, false);
    check("flags X", false, false);
}

static void test_counters(void **state)
{
    check("bytes 1500", true, false);
    check("bytes > 1000", true, true);
    check("bytes > 1k", true, true);
    check("bytes >= 80k", false, true);
    check("bytes > 80k", false, false);
    check("bytes < 1500", false, false);
    check("bytes <= 1500", true, false);
    check("bytes != 1500", false, true);
    check("bytes < 1m", true, true);
    check("bytes < 1g", true, true);
    check("bytes > 1G", false, false);
    check("packets 3", true, false);
    check("packets > 99", false, true);
    check("packets < 100", true, false);
    check("flows 1", true, false);
    check("flows > 1", false, true);
    check("duration 2500", true, false);
    check("duration > 2000", true, false);
    check("duration 0", false, true);
    check("duration < 1", false, true);
}

static void test_families(void **state)
{
    check("ipv4", true, false);
    check("inet", true, false);
    check("ipv6", false, true);
    check("inet6", false, true);
    check("IPV6 and proto udp", false, true);
}

static void test_precedence(void **state)
{
    /* not > and > or */
    check("proto udp or proto tcp and port 1", false, true);   /* udp or (tcp and port 1) */
    check("(proto udp or proto tcp) and port 1", false, false);
    check("not proto tcp and port 53", false, true);           /* (not tcp) and port 53 */
    check("not (proto tcp and port 443)", false, true);
    check("not proto tcp or port 443", true, true);
    check("! proto tcp || port 443", true, true);
    check("!(proto tcp || port 53)", false, false);
    check("ipv4 and port 443 or ipv6 and port 53", true, true);
    check("ipv4 and (port 443 or ipv6) and port 53", false, false);
    check("not not proto tcp", true, false);
    check("port 1 or port 2 or port 3 or port 443", true, false);
    check("port 443 and port 12345 and proto tcp and ipv4", true, false);
    check("port 443 and port 12345 and proto udp and ipv4", false, false);
    check("((((port 53))))", false, true);
    check("PORT 53 AND Proto UDP", false, true);
    check("port 53&&proto udp", false, true);
    check("(port 53)or(port 443)", true, true);
}

static void test_errors(void **state)
{
    check_error("port abc", 5, 3, "expected a port number, got 'abc'");
    check_error("port 70000", 5, 5, "expected a port number, got '70000'");
    check_error("port", 4, 0, "expected a port number, got end of expression");
    check_error("srcip 10.0.0.1", 0, 5, "unknown keyword 'srcip'");
    check_error("(port 80", 0, 1, "unbalanced parenthesis");
    check_error("port 80)", 7, 1, "unbalanced parenthesis");
    check_error("((port 80) or (port 53)", 0, 1, "unbalanced parenthesis");
    check_error("port 80 port 81", 8, 4, "expected 'and', 'or' or end of expression, got 'port'");
    check_error("(port 80 port 81)", 9, 4, "expected 'and', 'or' or ')', got 'port'");
    check_error("()", 1, 1, "expected a filter primitive, got ')'");
    check_error("port 80 and", 11, 0, "expected a filter primitive, got end of expression");
    check_error("port 80 or or", 11, 2, "unknown keyword 'or'");
    check_error("not", 3, 0, "expected a filter primitive, got end of expression");
    check_error("ip 10.0.0.256", 3, 10, "expected an address, got '10.0.0.256'");
    check_error("ip 10.0.0.0/8", 3, 10,
                "expected an address, got '10.0.0.0/8' (use 'net' for prefixes)");
    check_error("net 10.0.0.1", 4, 8, "expected a prefix like 192.0.2.0/24, got '10.0.0.1'");
    check_error("net 10.0.0.0/33", 4, 11,
                "expected a prefix like 192.0.2.0/24, got '10.0.0.0/33'");
    check_error("net 2001:db8::/129", 4, 14,
                "expected a prefix like 192.0.2.0/24, got '2001:db8::/129'");
    check_error("net 10.0.0.0 255.0.255.0", 13, 11, "not a contiguous netmask: '255.0.255.0'");
    check_error("proto foo", 6, 3, "expected a protocol name or number, got 'foo'");
    check_error("proto 256", 6, 3, "expected a protocol name or number, got '256'");
    check_error("flags SZ", 6, 2,
                "expected tcp flags (letters of fsrpauecx or a number), got 'SZ'");
    check_error("bytes > lots", 8, 4, "expected a byte count, got 'lots'");
    check_error("bytes > 99999999999999999999", 8, 20,
                "expected a byte count, got '99999999999999999999'");
    check_error("duration >", 10, 0,
                "expected a duration in milliseconds, got end of expression");
    check_error("src proto tcp", 0, 9, "'src' does not apply to 'proto'");
    check_error("src if 3", 0, 6, "'src' does not apply to 'if' (use 'in if' or 'out if')");
    check_error("in port 3", 0, 7, "'in' does not apply to 'port'");
    check_error("src", 3, 0, "expected a keyword after 'src', got end of expression");
    check_error("dst (port 3)", 4, 1, "expected a keyword after 'dst', got '('");
    check_error("port in [80 abc]", 12, 3, "expected a port number, got 'abc'");
    check_error("port in [80 443", 8, 1, "unbalanced bracket");
    check_error("port in []", 8, 2, "empty list");
    check_error("port 80 & port 81", 8, 1, "single '&', use '&&' or 'and'");
    check_error("port 80 | port 81", 8, 1, "single '|', use '||' or 'or'");
    check_error("port 80 # comment", 8, 1, "invalid character 0x23");
    check_error("port \x01", 5, 1, "invalid character 0x01");
    check_error("tos 256", 4, 3, "expected a tos value, got '256'");
    check_error("as -1", 3, 2, "expected an as number, got '-1'");
    check_error("port 80 and ~", 12, 1, "invalid character 0x7e");
    check_error("port 8\xc3\xa9", 6, 1, "invalid character 0xc3");
}

static void test_limits(void **state)
{
    char *buf = malloc(8192);
    struct fl0wer_filter *f;
    struct fl0wer_filter_error err;
    size_t n = 0;

    assert_non_null(buf);
    /* 64 nested groups compile, 65 do not. */
    for (int i = 0; i < 64; i++)
        buf[n++] = '(';
    memcpy(buf + n, "port 443", 8);
    n += 8;
    for (int i = 0; i < 64; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    check(buf, true, false);
    /* "(!" then 63 more '(': the 65th level is the '(' at offset 64. */
    n = (size_t)sprintf(buf, "(!");
    for (int i = 0; i < 63; i++)
        buf[n++] = '(';
    n += (size_t)sprintf(buf + n, "port 443");
    for (int i = 0; i < 64; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    assert_int_equal(fl0wer_filter_compile(buf, &f, &err), FL0WER_FILTER_ERR_SYNTAX);
    assert_int_equal(err.offset, 64);
    assert_int_equal(err.length, 1);
    assert_string_equal(err.message, "nesting deeper than 64 at '('");

    /* 65 nots are too deep as well; 64 are fine (even count: identity). */
    n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)sprintf(buf + n, "not ");
    sprintf(buf + n, "port 53");
    check(buf, false, true);
    memmove(buf + 1, buf, strlen(buf) + 1);
    buf[0] = '!';
    assert_int_equal(fl0wer_filter_compile(buf, &f, &err), FL0WER_FILTER_ERR_SYNTAX);
    assert_int_equal(err.offset, 253); /* "!" then the 64th "not" at 1 + 63 * 4 */
    assert_string_equal(err.message, "nesting deeper than 64 at 'not'");

    /* 4096 bytes compile; 4097 do not. Long and-chains are not nesting. */
    n = 0;
    while (n + 16 < 4096)
        n += (size_t)sprintf(buf + n, "port 443 and ");
    n += (size_t)sprintf(buf + n, "ipv4");
    memset(buf + n, ' ', 4096 - n);
    buf[4096] = '\0';
    check(buf, true, false);
    buf[4096] = ' ';
    buf[4097] = '\0';
    assert_int_equal(fl0wer_filter_compile(buf, &f, &err), FL0WER_FILTER_ERR_SYNTAX);
    assert_int_equal(err.offset, 4096);
    assert_int_equal(err.length, 1);
    assert_string_equal(err.message, "expression longer than 4096 bytes (4097)");
    free(buf);
}

/* The fields each expression reads, exactly. */
static void uses_is(const char *expr, uint32_t want)
{
    struct fl0wer_filter *f = NULL;
    assert_int_equal(fl0wer_filter_compile(expr, &f, NULL), 0);
    assert_int_equal(fl0wer_filter_uses(f), want);
    fl0wer_filter_destroy(f);
}

static void test_uses(void **state)
{
    (void)state;
    assert_int_equal(fl0wer_filter_uses(NULL), 0);
    uses_is("", 0);
    uses_is("any", 0);
    uses_is("proto tcp and dst port 443", FL0WER_FILTER_USES_PROTO | FL0WER_FILTER_USES_DST_PORT);
    uses_is("port 53", FL0WER_FILTER_USES_SRC_PORT | FL0WER_FILTER_USES_DST_PORT);
    uses_is("src ip 10.0.0.1 or dst net 192.0.2.0/24",
            FL0WER_FILTER_USES_SRC_ADDR | FL0WER_FILTER_USES_DST_ADDR);
    uses_is("not src as 65000", FL0WER_FILTER_USES_SRC_AS);
    uses_is("in if 3", FL0WER_FILTER_USES_IN_IF);
    uses_is("out if 3", FL0WER_FILTER_USES_OUT_IF);
    uses_is("exporter 192.0.2.1 and flags S", FL0WER_FILTER_USES_EXPORTER |
                                                  FL0WER_FILTER_USES_TCP_FLAGS);
    uses_is("bytes > 1000 or packets < 3 or duration > 10",
            FL0WER_FILTER_USES_BYTES | FL0WER_FILTER_USES_PACKETS | FL0WER_FILTER_USES_TIMES);
    uses_is("ipv6", FL0WER_FILTER_USES_FLOW_FLAGS | FL0WER_FILTER_USES_SRC_ADDR);
    uses_is("tos 184 and vlan 10", FL0WER_FILTER_USES_TOS | FL0WER_FILTER_USES_VLAN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_any), cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_nets),          cmocka_unit_test(test_ports),
        cmocka_unit_test(test_numbers),       cmocka_unit_test(test_flags),
        cmocka_unit_test(test_counters),      cmocka_unit_test(test_families),
        cmocka_unit_test(test_precedence),    cmocka_unit_test(test_errors),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_uses),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
