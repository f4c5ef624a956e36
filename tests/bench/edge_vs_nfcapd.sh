#!/usr/bin/env bash
# edge_vs_nfcapd.sh - side-by-side receive benchmark: fl0wer-edge vs nfdump's nfcapd.
#
# For each collector and each packet rate, fl0wer-replay sends a NetFlow v5 datagram carrying 29
# flows (tests/data/captures/logstash-codec-netflow/netflow5_test_juniper_mx80.dat) to it on
# 127.0.0.1 for DURATION seconds; then we count what the collector took in:
#   fl0wer-edge: "packets=" and "records_decoded=" of its final log line (batches go to
#                fl0wer-test-receiver standing in for the hub);
#   nfcapd:      "Flows:" of nfdump -I over the files it wrote.
# Loss = sent - received. CPU = utime + stime of the collector from /proc/PID/stat, read just
# before it is stopped, reported as CPU seconds per million flows received.
# It prints one line per run and, at the end, the highest rate each took without loss.
#
# usage: tests/bench/edge_vs_nfcapd.sh [BUILD_DIR]   (a build WITHOUT sanitizers)
#   env: RATES="20000 50000 100000 200000 0" (0 = as fast as possible), DURATION=3,
#        WORKERS=2 (fl0wer-edge --workers), EDGE_ARGS="--no-aggregate" (extra edge flags; the
#        replayed datagram repeats the same 29 flows, so by default the edge merges them all)
# Not a test: numbers depend on the machine and its load.
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
RATES=${RATES:-"20000 50000 100000 200000 0"}
DURATION=${DURATION:-3}
WORKERS=${WORKERS:-2}
CAP=$SRC/tests/data/captures/logstash-codec-netflow/netflow5_test_juniper_mx80.dat
EDGE=$BUILD/edge/daemon/fl0wer-edge
REPLAY=$BUILD/tools/fl0wer-replay/fl0wer-replay
RECEIVER=$BUILD/tests/edge/fl0wer-test-receiver
FLOWS_PER_DGRAM=29
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"   # free_port, cpu_s
command -v nfcapd >/dev/null || { echo "nfcapd not installed (apt-get install nfdump)"; exit 1; }
for b in "$EDGE" "$REPLAY" "$RECEIVER"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done

WORK=$(mktemp -d /tmp/fl0wer-bench-XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$WORK"; }
trap cleanup EXIT

"$RECEIVER" --keygen "$WORK/edge.key" bench
declare -A BEST

run_edge() { # rate -> prints "received_dgrams flows cpu"
    local rate=$1 udp tcp dir=$WORK/edge-$1
    mkdir -p "$dir"; udp=$(free_port 2); tcp=$(free_port 1)
    "$RECEIVER" --url "tcp://127.0.0.1:$tcp" --key "$WORK/edge.key" --state "$dir/recv.json" 2>/dev/null &
    local rp=$!; PIDS+=("$rp")
    "$EDGE" --listen "127.0.0.1:$udp" --hub "tcp://127.0.0.1:$tcp" --key "$WORK/edge.key" \
        --spool "$dir/spool" --workers "$WORKERS" --stats-interval 0 ${EDGE_ARGS:-} \
        2>"$dir/edge.log" &
    local ep=$!; PIDS+=("$ep")
    sleep 0.5
    send "$rate" "$udp"
    sleep 1
    local cpu; cpu=$(cpu_s "$ep")
    kill -TERM "$ep"; wait "$ep"; kill -TERM "$rp"; wait "$rp"
    local line; line=$(grep ' final: ' "$dir/edge.log")
    local pk rec
    pk=$(sed -E 's/.* packets=([0-9]+).*/\1/' <<<"$line")
    rec=$(sed -E 's/.* records_decoded=([0-9]+).*/\1/' <<<"$line")
    echo "$pk $rec $cpu"
}

run_nfcapd() {
    local rate=$1 udp dir=$WORK/nfcapd-$1
    mkdir -p "$dir"; udp=$(free_port 2)
    nfcapd -w "$dir" -b 127.0.0.1 -p "$udp" -t 3600 -B 33554432 >"$dir/nfcapd.log" 2>&1 &
    local np=$!; PIDS+=("$np")
    sleep 0.5
    send "$rate" "$udp"
    sleep 1
    local cpu; cpu=$(cpu_s "$np")
    kill -TERM "$np"; wait "$np"
    local flows; flows=$(nfdump -R "$dir" -I 2>/dev/null | awk '/^Flows:/ { print $2; exit }')
    echo "$(( ${flows:-0} / FLOWS_PER_DGRAM )) ${flows:-0} $cpu"
}

count_for() { if [ "$1" = 0 ]; then echo 200000; else echo $(( $1 * DURATION )); fi; }
send() { # rate port: sends DURATION seconds worth (or 200000 datagrams at full speed)
    "$REPLAY" --to "127.0.0.1:$2" --pps "$1" --loop "$(count_for "$1")" "$CAP" >"$WORK/replay.json"
}

printf "%-12s %9s %9s %9s %8s %10s %8s %12s\n" collector pps sent recv lost flows cpu_s "cpu_s/Mflow"
for coll in fl0wer-edge nfcapd; do
    for rate in $RATES; do
        if [ "$coll" = fl0wer-edge ]; then read -r got flows cpu < <(run_edge "$rate")
        else read -r got flows cpu < <(run_nfcapd "$rate"); fi
        SENT=$(count_for "$rate")
        lost=$(( SENT - got ))
        per=$(awk -v c="$cpu" -v f="$flows" 'BEGIN { if (f > 0) printf "%.3f", c / (f / 1e6); else print "-" }')
        achieved=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["datagrams"]/max(d["seconds"],1e-3)))' "$WORK/replay.json")
        printf "%-12s %9s %9d %9d %8d %10d %8s %12s\n" "$coll" "$rate(${achieved})" "$SENT" "$got" "$lost" "$flows" "$cpu" "$per"
        if [ "$lost" -le 0 ] && [ "$achieved" -gt "${BEST[$coll]:-0}" ]; then BEST[$coll]=$achieved; fi
    done
done
echo
for coll in fl0wer-edge nfcapd; do
    echo "$coll: highest rate without loss: ${BEST[$coll]:-none} datagrams/s" \
         "($(( ${BEST[$coll]:-0} * FLOWS_PER_DGRAM )) flows/s)"
done
