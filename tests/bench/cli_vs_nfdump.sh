#!/usr/bin/env bash
# cli_vs_nfdump.sh - issue #4's query aim end to end, over one hour and over one day of data:
# the same queries through the `fl0wer` CLI (a fresh process per query, HTTPS to a running
# fl0wer-hub, the hub's self-signed certificate pinned) and through nfdump (a fresh process per
# query, reading its LZ4 files from the page cache), alternating, on the same flows.
#
# Per span in SPANS (seconds; default one hour and one day): bench_store (tests/store) writes N
# flows spread over the span into a store as a long-running hub would (BENCH_HUB=1, a batch every
# 2 simulated seconds, gc and the settle tick every minute) and sends the same flows as NetFlow
# v5 to nfcapd -y (LZ4); then fl0wer-hub serves that store (--retention 5000d: the flows are from
# 2023) and each query runs REPEAT times in rounds that alternate fl0wer and nfdump. The CLI keeps
# its TLS session (docs/api.md, "TLS sessions"), as it does for a user, so the first fl0wer run
# of the whole benchmark does a full handshake and the others resume; "fixed cost" is a summary
# of an empty minute, with the session resumed and (--no-tls-cache) with a full handshake.
# Answers are checked: each summary's flow count against nfdump's, and the top-10 keys.
#
# usage: tests/bench/cli_vs_nfdump.sh [BUILD_DIR]   (Release, no sanitizers, -DFL0WER_BENCH=ON:
#        fl0wer-hub, fl0wer, tests/store/bench_store)
# env: N=1000000 SPANS="3600 86400" REPEAT=9 CLI_ARGS="" (extra CLI flags for every query, e.g.
#      --no-tls-cache: every query then does a full TLS handshake, as a first command does)
# Prints min and median wall ms per query and side, and the ratio nfdump / fl0wer of each.
# Loopback only; everything it starts is stopped and its temp dir removed. About 3-4 minutes.
# Not a test: the figures depend on the machine and its load; compare the ratios.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$SRC/build/bench}
N=${N:-1000000}
SPANS=${SPANS:-"3600 86400"}
REPEAT=${REPEAT:-9}
HUB=$BUILD/hub/daemon/fl0wer-hub
CLI=$BUILD/tools/fl0wer/fl0wer
BENCH_STORE=$BUILD/tests/store/bench_store
T0=1699999200 # bench_store's first hour (2023-11-14T22:00:00Z)

# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh" # free_port, wait_until, hub_api, machine_line, bench_workdir, track

command -v nfcapd >/dev/null || { echo "nfcapd not installed (apt-get install nfdump)"; exit 1; }
for b in "$HUB" "$CLI" "$BENCH_STORE"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done
bench_workdir cli-vs-nfdump
export TZ=UTC
machine_line
TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf 'bench read %s\n' "$TOKEN" >"$WORK/api-tokens"
: >"$WORK/authorized_edges"

for span in $SPANS; do
    D=$WORK/$span
    mkdir -p "$D/nf"
    port=$(free_port 2)
    nfcapd -w "$D/nf" -p "$port" -b 127.0.0.1 -y -t 86400 -B 8388608 >"$D/nfcapd.log" 2>&1 &
    nfpid=$!; track "$nfpid"
    sleep 1
    BENCH_HUB=1 BENCH_HUB_INTERVAL=2 "$BENCH_STORE" "$D/fl" "$N" "$span" "$port" \
        >"$D/bench_store.out" 2>&1 || { echo "bench_store failed"; tail -3 "$D/bench_store.out"; exit 1; }
    sleep 2
    kill -TERM "$nfpid"; wait "$nfpid" 2>/dev/null
    echo "# span $span s: $N flows stored; nfcapd counted $(nfdump -R "$D/nf" -I | awk '/^Flows:/ {print $2}')"

    env -i "PATH=$PATH" "HOME=$WORK" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$HUB" \
        --listen tcp://127.0.0.1:0 --data "$D/fl" --authorized-edges "$WORK/authorized_edges" \
        --api 127.0.0.1:0 --api-tokens "$WORK/api-tokens" --retention 5000d \
        --ready-file "$D/ready" >"$D/hub.log" 2>&1 </dev/null &
    hubpid=$!; track "$hubpid"
    hub_api "$D/ready" "$D/fl" "$D/hub.log"

    python3 - "$CLI" "$API" "$FP" "$TOKEN" "$D/nf" "$T0" "$span" "$REPEAT" "$WORK" "${CLI_ARGS:-}" <<'PY'
import json, statistics, subprocess, sys, time
cli, api, fp, token, nf, t0, span, repeat, home, cli_args = sys.argv[1:]
t0, span, repeat = int(t0), int(span), int(repeat)
env = {"PATH": "/usr/bin:/bin", "HOME": home}
rng = ["--from", str(t0), "--to", str(t0 + span)]
conn = ["--server", api, "--token", token, "--fingerprint", fp, "--format", "json"] + cli_args.split()
filters = ["proto tcp and dst port 443", "proto tcp and src net 10.1.0.0/16",
           "src host 10.1.2.3 and proto tcp", "flags S and not flags A"]
queries = [("top-10 srcip by bytes", [cli, "top", "--by", "srcip", "-n", "10"] + rng + conn,
            ["nfdump", "-R", nf, "-N", "-n", "10", "-s", "srcip/bytes", "-o", "csv"]),
           ("top-10 dstport by bytes", [cli, "top", "--by", "dstport", "-n", "10"] + rng + conn,
            ["nfdump", "-R", nf, "-N", "-n", "10", "-s", "dstport/bytes", "-o", "csv"])]
for f in filters:
    queries.append(("summary '%s'" % f, [cli, "summary", "--filter", f] + rng + conn,
                    ["nfdump", "-R", nf, "-N", "-o", "null", f]))
empty = ["--from", str(t0 - 7200), "--to", str(t0 - 7140)]
fixed = [("fixed cost: empty minute, resumed", [cli, "summary"] + empty + conn),
         ("fixed cost: empty minute, full handshake", [cli, "summary", "--no-tls-cache"] + empty + conn)]

def run(argv):
    t = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ms = (time.perf_counter() - t) * 1000
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), p.stderr.decode()))
    return ms, p.stdout.decode()

def nf_flows(out):
    for line in out.splitlines():
        if line.startswith("Summary: total flows:"):
            return int(line.split()[3].rstrip(","))
def nf_keys(out):
    lines = out.splitlines()
    i = lines.index(next(l for l in lines if l.startswith("ts,te,td,pr,val")))
    keys = []
    for l in lines[i + 1:]:
        if not l.strip() or l.startswith("Summary"):
            break
        keys.append(l.split(",")[4])
    return keys

times = {}
for r in range(repeat):
    for name, fa, na in queries:
        ms, fo = run(fa); times.setdefault((name, "fl0wer"), []).append(ms)
        ms, no = run(na); times.setdefault((name, "nfdump"), []).append(ms)
        if r == 0:
            d = json.loads(fo)
            if name.startswith("top"):
                ok = [row["key"] for row in d["rows"]] == nf_keys(no)
                print("# %s: same 10 keys as nfdump: %s" % (name, "yes" if ok else "NO"))
            else:
                ok = d["flows"] == nf_flows(no)
                print("# %s: fl0wer %d flows, nfdump %s: %s" % (name, d["flows"], nf_flows(no),
                                                               "equal" if ok else "DIFFERENT"))
    for name, fa in fixed:
        ms, _ = run(fa); times.setdefault((name, "fl0wer"), []).append(ms)
print("span %d s, %d runs each, wall ms%s" % (span, repeat, ", CLI " + cli_args if cli_args else ""))
print("%-45s %9s %9s %9s %9s %7s" % ("query", "fl0wer", "", "nfdump", "", "ratio"))
print("%-45s %9s %9s %9s %9s %7s" % ("", "min", "median", "min", "median", "median"))
for name, _, _ in queries:
    a, b = times[(name, "fl0wer")], times[(name, "nfdump")]
    print("%-45s %9.1f %9.1f %9.1f %9.1f %6.1fx" % (name, min(a), statistics.median(a), min(b),
          statistics.median(b), statistics.median(b) / statistics.median(a)))
for name, _ in fixed:
    a = times[(name, "fl0wer")]
    print("%-45s %9.1f %9.1f" % (name, min(a), statistics.median(a)))
PY
    kill -TERM "$hubpid"; wait "$hubpid" 2>/dev/null
done
