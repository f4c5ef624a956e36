#!/usr/bin/env bash
# test_decode_cli.sh - runs the real fl0wer-decode binary on bundled captures: --summary JSON
# shape and exact numbers (taken from expected-bundled.tsv, derived from tshark), NDJSON line
# count = records, templates carried across files, port selection, and exit codes / messages for
# bad files and bad flags.  Usage: test_decode_cli.sh path/to/fl0wer-decode
set -u
bin=$1
src=${FL0WER_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
data=$src/tests/data/captures
tsv=$src/tests/captures/expected-bundled.tsv
tmp=$(mktemp -d /tmp/fl0wer-decode-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expected "<messages> <records> <bytes> <packets> <errors>" of a case in the TSV
expect() { awk -F'\t' -v c="$1" '$1 == c { print $5, $6, $7, $8, $9 }' "$tsv"; }

# summary_of FILE...: prints the --summary JSON as "m r b p e" after checking its exact shape
summary_of() {
    local out
    out=$("$bin" --summary "$@" 2>"$tmp/err") || { echo "exit $?"; return; }
    /usr/bin/python3 - "$out" <<'PY'
import json, sys
line = sys.argv[1]
o = json.loads(line)
keys = ["messages", "records", "bytes", "packets", "errors"]
assert list(o.keys()) == keys, o.keys()
assert all(isinstance(o[k], int) for k in keys)
assert line.count("\n") == 0
print(" ".join(str(o[k]) for k in keys))
PY
}

check_summary() { # case-name file...
    local name=$1; shift
    local want got
    want=$(expect "$name")
    got=$(summary_of "$@")
    if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "summary $name: $got"
    else fail "summary $name: expected '$want' got '$got' ($(cat "$tmp/err"))"; fi
}

L=$data/logstash-codec-netflow
check_summary "ipfix softflowd 3 messages" "$L/ipfix.dat"
check_summary "v5 softflowd 12 concatenated" "$L/netflow5.dat"
check_summary "ipfix netscaler varlen PEN 5951" "$L/ipfix_test_netscaler_tpl.dat" \
    "$L/ipfix_test_netscaler_data.dat"
check_summary "pcap v9 template after data" "$data/graylog-plugin-netflow/netflow9.pcap"

# exact summary line, byte for byte
line=$("$bin" --summary "$L/netflow5.dat")
[ "$line" = '{"messages":12,"records":30,"bytes":18684,"packets":230,"errors":0}' ] \
    && ok "exact summary line" || fail "summary line '$line'"

# NDJSON: one valid JSON object per record
"$bin" "$L/ipfix.dat" >"$tmp/flows.ndjson" || fail "ndjson exit $?"
want_records=$(expect "ipfix softflowd 3 messages" | cut -d' ' -f2)
lines=$(wc -l <"$tmp/flows.ndjson")
[ "$lines" = "$want_records" ] && ok "ndjson lines = records ($lines)" \
    || fail "ndjson lines $lines, records $want_records"
/usr/bin/python3 - "$tmp/flows.ndjson" <<'PY' && ok "ndjson objects parse" || fail "ndjson parse"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows and all(r["version"] == 10 and "src_addr" in r and "bytes" in r for r in rows)
PY

# templates learned from an earlier file apply to later data; data alone decodes nothing
got=$(summary_of "$L/ipfix_test_netscaler_data.dat" | cut -d' ' -f2)
[ "$got" = "0" ] && ok "data without its template: 0 records" || fail "data alone: $got records"

# port selection on a pcap sent to 2055
P=$data/graylog-plugin-netflow/netflow9.pcap
got=$(summary_of --port 9999 "$P")
[ "$got" = "0 0 0 0 0" ] && ok "--port 9999 selects nothing" || fail "--port 9999: $got"
a=$(summary_of --port any "$P"); b=$(summary_of --port 2055 "$P"); c=$(summary_of "$P")
[ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "${c%% *}" = "9" ] && ok "--port any / 2055 / default" \
    || fail "ports: any '$a' 2055 '$b' default '$c'"

# errors: exit codes and lowercase messages
expect_exit() { # code pattern args...
    local code=$1 pat=$2; shift 2
    "$bin" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" = "$code" ] && grep -q -- "$pat" "$tmp/err"; then ok "exit $rc: $(head -1 "$tmp/err")"
    else fail "args '$*': exit $rc (want $code), stderr '$(cat "$tmp/err")'"; fi
}
expect_exit 1 "cannot open $tmp/missing.pcap" "$tmp/missing.pcap"
printf 'this is not a capture at all' >"$tmp/garbage.bin"
expect_exit 1 "not a pcap" --summary "$tmp/garbage.bin"
expect_exit 2 "unknown option '--bogus'" --bogus "$L/ipfix.dat"
expect_exit 2 "bad port 'x'" --port x "$L/ipfix.dat"
expect_exit 2 "bad port '70000'" --port 70000 "$L/ipfix.dat"
expect_exit 2 "bad template timeout" --template-timeout -5 "$L/ipfix.dat"
expect_exit 2 "no input files" --summary
# a bad file among good ones: the good ones are still decoded, the exit code says it failed
"$bin" --summary "$L/netflow5.dat" "$tmp/missing.pcap" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 1 ] && grep -q '"records":30' "$tmp/out" && ok "bad file among good ones" \
    || fail "mixed good/bad: exit $rc out '$(cat "$tmp/out")'"
"$bin" --help >"$tmp/out" 2>&1 && grep -q "usage: fl0wer-decode" "$tmp/out" \
    && ok "--help" || fail "--help"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "all fl0wer-decode CLI checks passed"
