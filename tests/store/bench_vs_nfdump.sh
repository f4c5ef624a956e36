#!/bin/sh
# bench_vs_nfdump.sh - the "Storage and queries" benchmark of docs/benchmarks.md in one run:
# bench_store (fl0wer) and nfcapd -y + nfdump 1.7.1 over the same synthetic flows, for a data set
# of N flows in one hour and one of N flows over one day. Not a ctest (minutes, noisy machine).
# Top-10 by source and destination address are timed cold (store just reopened: empty block
# cache) and warm, and with nfdump -s srcip/bytes, -s dstip/bytes (twice each).
#
# usage: tests/store/bench_vs_nfdump.sh BENCH_STORE [N] [WORKDIR] [BEFORE_BENCH_STORE]
#   BENCH_STORE         the Release build's tests/store/bench_store
#   N                   flows per data set (default 1000000)
#   WORKDIR             scratch directory, removed first (default /tmp/fl0wer-bench-vs-nfdump)
#   BEFORE_BENCH_STORE  optional second bench_store (e.g. built from an older commit) run on the
#                       same flows, for a before/after table
# Prints every tool's output; each nfdump query is timed with /usr/bin/time (wall, user, sys).
# bench_store runs as a long-running hub does (BENCH_HUB=1, batches every BENCH_HUB_INTERVAL=2
# simulated seconds as a low-rate edge sends them, the settle tick and gc every minute) and
# reports what that hub holds, with nothing forced; BENCH_HUB=0 measures the older state instead
# (every memtable flushed, the rollups CF compacted). A BEFORE_BENCH_STORE built from an older
# store should be built with this bench_store.c, or it measures the older state.
set -eu
export BENCH_HUB="${BENCH_HUB-1}" BENCH_HUB_INTERVAL="${BENCH_HUB_INTERVAL-2}"
BENCH=$1
N=${2:-1000000}
WORK=${3:-/tmp/fl0wer-bench-vs-nfdump}
BEFORE=${4:-}
PORT=29995
export TZ=UTC

rm -rf "$WORK"
mkdir -p "$WORK"

nfq() { # label, then nfdump arguments
    label=$1
    shift
    /usr/bin/time -f "nfdump $label: wall %e s user %U s sys %S s" nfdump "$@" \
        > "$WORK/nfdump.out" 2> "$WORK/nfdump.time" || true
    cat "$WORK/nfdump.time"
    grep -E "^Summary|^ *[0-9]{4}-" "$WORK/nfdump.out" | head -2 || true
}

for ds in 1h:3600 1d:86400; do
    name=${ds%%:*}
    span=${ds#*:}
    nf="$WORK/nf-$name"
    mkdir -p "$nf"
    echo "=== $N flows over $span s ($name) ==="
    nfcapd -w "$nf" -p $PORT -b 127.0.0.1 -y -t 86400 -B 8388608 > "$WORK/nfcapd.log" 2>&1 &
    nfpid=$!
    sleep 1
    echo "--- fl0wer (this build) ---"
    "$BENCH" "$WORK/fl0wer-$name" "$N" "$span" $PORT
    sleep 2
    kill -TERM $nfpid
    wait $nfpid || true
    if [ -n "$BEFORE" ]; then
        echo "--- fl0wer (before) ---"
        "$BEFORE" "$WORK/before-$name" "$N" "$span"
    fi
    echo "--- nfdump 1.7.1 (nfcapd -y, LZ4) ---"
    files=$(ls "$nf"/nfcapd.* | grep -v current || true)
    bytes=$(cat $files | wc -c)
    flows=$(nfdump -R "$nf" -I | awk '/^Flows:/ {print $2}')
    echo "nfcapd files: $bytes bytes, $flows flows received of $N, $(echo "$bytes $flows" | awk '{printf "%.2f", $1 / $2}') bytes/flow"
    nfq "summary (-s proto, totals line)" -R "$nf" -q -n 1 -s proto/bytes
    nfq "summary from file stat records (-I)" -R "$nf" -I
    nfq "top10 dstport" -R "$nf" -q -n 10 -s dstport/bytes
    nfq "top10 srcport" -R "$nf" -q -n 10 -s srcport/bytes
    nfq "top10 proto" -R "$nf" -q -n 10 -s proto/bytes
    nfq "top10 srcip" -R "$nf" -q -n 10 -s srcip/bytes
    nfq "top10 dstport again (warm)" -R "$nf" -q -n 10 -s dstport/bytes
    for f in 'dst port 443' 'proto tcp and dst port 443' 'proto tcp and src net 10.1.0.0/16'; do
        nfq "summary '$f'" -R "$nf" -N -o null "$f"
    done
    # addresses: each twice (nfdump has no cache of its own; the files are in the page cache)
    for d in srcip dstip; do
        nfq "top10 $d, first" -R "$nf" -q -n 10 -s $d/bytes
        nfq "top10 $d, again" -R "$nf" -q -n 10 -s $d/bytes
    done
done
rm -rf "$WORK"
