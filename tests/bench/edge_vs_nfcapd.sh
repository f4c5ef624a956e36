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
# WORKLOAD=gen: instead, fl0wer-gen writes FLOWS (default 1,000,000) mostly distinct flows from
# 3 exporters (NetFlow v5, v9, IPFIX; seed 1; about 23.6 flows per datagram; flows ending in
# one minute three hours ago) to a pcap once, and each run replays the whole pcap at the rate
# (one socket per exporter from 127.0.0.1/.2/.3, as pipeline_vs_nfdump.sh). Received flows:
# the edge's records_decoded, nfcapd's Flows:. CPU: the whole process life from
# /usr/bin/time (the edge's includes emitting, signing and spooling every record after
# SIGTERM; nfcapd's writing its file). Both get RCVBUF (default 4 MiB) receive buffers.
#
# EDGES="NAME=BUILD_DIR ...": runs several fl0wer-edge builds side by side (e.g. before and after
# a change), each with its own fl0wer-test-receiver (same batch format); default
# "fl0wer-edge=BUILD_DIR". The replay and generator always come from BUILD_DIR. Each edge
# run also reports the edge's spool fsyncs (final log line). The same build may appear under two
# names with different flags: EDGE_ARGS_<name> (name with anything but letters, digits and _
# read as _) adds flags for that edge only, after EDGE_ARGS, e.g.
#   EDGES="adaptive=build full=build" EDGE_ARGS_full="--aggregate-min-reduction 0"
# Each edge row is followed by the records the edge forwarded unmerged (agg_bypassed of its
# final line, when it has one).
#
# PASSES=2 (WORKLOAD=gen): each edge gets the pcap twice, the second time once it is idle again
# (every bucket emitted and acknowledged; seen in its stats line, --stats-interval 1), and two
# rows are printed: the first pass (a fresh edge: CPU from start until idle) and "(2nd)", the
# second million into the same edge (steady state: its pools and indexes already touched; the
# replay's new source ports may move an exporter to the other worker, whose memory is then
# fresh). Each row is followed by the CPU per million flows of each thread kind (edge-rx =
# receive, decode and merge; edge-batcher; edge-spool; edge-sender; nng).
#
# usage: tests/bench/edge_vs_nfcapd.sh [BUILD_DIR]   (a build WITHOUT sanitizers)
#   env: RATES="20000 50000 100000 200000 0" (0 = as fast as possible), DURATION=3,
#        WORKERS=2 (fl0wer-edge --workers), EDGE_ARGS="--no-aggregate" (extra edge flags; the
#        replayed datagram repeats the same 29 flows, so by default the edge merges them all),
#        WORKLOAD=gen FLOWS=1000000 RCVBUF=4194304 PASSES=1 (see above; RATES default "10000
#        20000 50000 100000")
# Not a test: numbers depend on the machine and its load.
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORKLOAD=${WORKLOAD:-loop}
if [ "$WORKLOAD" = gen ]; then RATES=${RATES:-"10000 20000 50000 100000"}; fi
RATES=${RATES:-"20000 50000 100000 200000 0"}
FLOWS=${FLOWS:-1000000}
RCVBUF=${RCVBUF:-4194304}
DURATION=${DURATION:-3}
WORKERS=${WORKERS:-2}
CAP=$SRC/tests/data/captures/logstash-codec-netflow/netflow5_test_juniper_mx80.dat
EDGE=$BUILD/edge/daemon/fl0wer-edge
REPLAY=$BUILD/tools/fl0wer-replay/fl0wer-replay
RECEIVER=$BUILD/tests/edge/fl0wer-test-receiver
GEN=$BUILD/tools/fl0wer-gen/fl0wer-gen
FLOWS_PER_DGRAM=29
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"   # free_port, cpu_s
command -v nfcapd >/dev/null || { echo "nfcapd not installed (apt-get install nfdump)"; exit 1; }
EDGES=${EDGES:-"fl0wer-edge=$BUILD"}
declare -A EDGE_OF RECEIVER_OF
EDGE_NAMES=()
for e in $EDGES; do
    n=${e%%=*}; d=${e#*=}
    EDGE_NAMES+=("$n"); EDGE_OF[$n]=$d/edge/daemon/fl0wer-edge
    RECEIVER_OF[$n]=$d/tests/edge/fl0wer-test-receiver
    for b in "${EDGE_OF[$n]}" "${RECEIVER_OF[$n]}"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done
done
for b in "$REPLAY" "$RECEIVER"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done

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

# Per-thread CPU ticks of PID, summed by thread name ("edge-rx0" and "edge-rx1" -> "edge-rx",
# nng's threads -> "nng"): one "name ticks" line each.
thread_ticks() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s\n' "$(cat "$t/comm" 2>/dev/null)" "$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null)"
    done | awk 'NF == 2 { n = $1; sub(/[0-9]+$/, "", n); if (n ~ /^nng/) n = "nng"; t[n] += $2 }
                END { for (n in t) print n, t[n] }' | sort
}
# "name=s/Mflow ..." from two thread_ticks snapshots (files) and a flow count.
thread_delta() {
    join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" | awk -v tck="$TICK" -v f="$3" \
        '{ d = $3 - $2; if (d > 0 && f > 0) printf "%s=%.3f ", $1, d / tck / (f / 1e6) }'
}
# Waits (at most 60 s) until the edge's stats line (--stats-interval 1) shows it idle: every
# bucket emitted (agg_entries=0), nothing spooled, and records_decoded unchanged for 2 s.
# Prints records_decoded.
wait_idle() {
    local log=$1 last=-1 same=0 line rec ent sp
    for _ in $(seq 120); do
        sleep 0.5
        line=$(grep ' stats: ' "$log" | tail -1)
        rec=$(sed -nE 's/.* records_decoded=([0-9]+).*/\1/p' <<<"$line")
        ent=$(sed -nE 's/.* agg_entries=([0-9]+).*/\1/p' <<<"$line")
        sp=$(sed -nE 's/.* spool_batches=([0-9]+).*/\1/p' <<<"$line")
        if [ "${rec:-x}" = "$last" ] && [ "${ent:-1}" = 0 ] && [ "${sp:-1}" = 0 ]; then
            same=$((same + 1)); [ "$same" -ge 4 ] && break
        else same=0; fi
        last=${rec:-x}
    done
    echo "${last#x}"
}

# WORKLOAD=gen: whole-process CPU through /usr/bin/time; prints "received_flows flows cpu
# spool_fsyncs". Args: rate, edge name (EDGES). With PASSES=2 the pcap is replayed a second
# time into the same, now idle, edge (stats every second, to see it idle) and it prints
# "rec1 rec1 cpu1 fs rec2 cpu2": cpu1 = process CPU from start until idle after the first pass
# (a fresh edge), cpu2 = CPU of the second pass until idle (steady state); per-thread splits go
# to $dir/threads.
run_edge_gen() {
    local rate=$1 name=$2 udp tcp dir=$WORK/edge-$2-$1 tp ep passes=${PASSES:-1}
    local EDGE=${EDGE_OF[$name]} RECEIVER=${RECEIVER_OF[$name]} stats=0
    local xv="EDGE_ARGS_${name//[^A-Za-z0-9_]/_}"
    local extra=${!xv:-}
    [ "$passes" = 2 ] && stats=1
    mkdir -p "$dir"; udp=$(free_port 2); tcp=$(free_port 1)
    "$RECEIVER" --url "tcp://127.0.0.1:$tcp" --key "$WORK/edge.key" --state "$dir/recv.json" 2>/dev/null &
    local rp=$!; PIDS+=("$rp")
    /usr/bin/time -o "$dir/time" -f '%U %S' "$EDGE" --listen "127.0.0.1:$udp" \
        --hub "tcp://127.0.0.1:$tcp" --key "$WORK/edge.key" --spool "$dir/spool" \
        --workers "$WORKERS" --rcvbuf "$RCVBUF" --stats-interval "$stats" --shutdown-wait-ms 60000 \
        ${EDGE_ARGS:-} $extra 2>"$dir/edge.log" &
    tp=$!; PIDS+=("$tp")
    wait_until 10 grep -qs 'listening on udp' "$dir/edge.log"; ep=$(pgrep -P "$tp"); PIDS+=("$ep")
    if [ "$passes" = 2 ]; then
        local r1 r2 c0 c1 c2
        thread_ticks "$ep" >"$dir/t0"; c0=$(cpu_ticks "$ep")
        replay_gen "$rate" "$udp"; r1=$(wait_idle "$dir/edge.log")
        thread_ticks "$ep" >"$dir/t1"; c1=$(cpu_ticks "$ep")
        replay_gen "$rate" "$udp"; r2=$(wait_idle "$dir/edge.log")
        thread_ticks "$ep" >"$dir/t2"; c2=$(cpu_ticks "$ep")
        kill -TERM "$ep"; wait "$tp"; kill -TERM "$rp"; wait "$rp"
        r2=$(( ${r2:-0} - ${r1:-0} ))
        { echo "  threads, fresh (CPU s per million flows): $(thread_delta "$dir/t0" "$dir/t1" "${r1:-0}")"
          echo "  threads, steady (CPU s per million flows): $(thread_delta "$dir/t1" "$dir/t2" "$r2")"
          echo "  records out: $(sed -nE 's/.* final: .* records_sent=([0-9]+).*/\1/p' "$dir/edge.log"), forwarded unmerged: $(sed -nE 's/.* final: .* agg_bypassed=([0-9]+).*/\1/p' "$dir/edge.log")"; } >"$dir/threads"
        local fs; fs=$(sed -nE 's/.* final: .* spool_fsyncs=([0-9]+).*/\1/p' "$dir/edge.log")
        echo "${r1:-0} ${r1:-0} $(awk -v a="$c0" -v b="$c1" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }') ${fs:--} $r2 $(awk -v a="$c1" -v b="$c2" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')"
        return
    fi
    replay_gen "$rate" "$udp"
    sleep 1
    kill -TERM "$ep"; wait "$tp"; kill -TERM "$rp"; wait "$rp"
    local rec fs; rec=$(sed -nE 's/.* final: .* records_decoded=([0-9]+).*/\1/p' "$dir/edge.log")
    fs=$(sed -nE 's/.* final: .* spool_fsyncs=([0-9]+).*/\1/p' "$dir/edge.log")
    echo "${rec:-0} ${rec:-0} $(awk '{ print $1 + $2 }' "$dir/time") ${fs:--}"
}
run_nfcapd_gen() {
    local rate=$1 udp dir=$WORK/nfcapd-$1 tp np
    mkdir -p "$dir"; udp=$(free_port 2)
    /usr/bin/time -o "$dir/time" -f '%U %S' nfcapd -w "$dir" -b 127.0.0.1 -p "$udp" -t 3600 -y \
        -B "$RCVBUF" >"$dir/nfcapd.log" 2>&1 &
    tp=$!; PIDS+=("$tp")
    sleep 0.5; np=$(pgrep -P "$tp"); PIDS+=("$np")
    replay_gen "$rate" "$udp"
    sleep 1
    kill -TERM "$np"; wait "$tp"
    local flows; flows=$(nfdump -R "$dir" -I 2>/dev/null | awk '/^Flows:/ { print $2; exit }')
    echo "${flows:-0} ${flows:-0} $(awk '{ print $1 + $2 }' "$dir/time")"
}
replay_gen() { # rate port
    "$REPLAY" --to "127.0.0.1:$2" --pps "$1" --from-addrs 127.0.0.1,127.0.0.2,127.0.0.3 \
        --keep-sources "$WORK/gen.pcap" >"$WORK/replay.json"
}

count_for() { if [ "$1" = 0 ]; then echo 200000; else echo $(( $1 * DURATION )); fi; }
send() { # rate port: sends DURATION seconds worth (or 200000 datagrams at full speed)
    "$REPLAY" --to "127.0.0.1:$2" --pps "$1" --loop "$(count_for "$1")" "$CAP" >"$WORK/replay.json"
}

if [ "$WORKLOAD" = gen ]; then
    [ -x "$GEN" ] || { echo "missing $GEN"; exit 1; }
    base_s=$(( ($(date +%s) / 3600 - 3) * 3600 ))
    "$GEN" --seed 1 --flows "$FLOWS" --exporters 3 --versions 5,9,10 --start "$((base_s * 1000))" \
        --window 60000 --pcap "$WORK/gen.pcap" >"$WORK/gen.json" || { echo "fl0wer-gen failed"; exit 1; }
    FLOWS_PER_DGRAM=1 # counts below are flows
    echo "workload: $FLOWS flows, $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packets"])' "$WORK/gen.json") datagrams; $(machine_line)"
fi
printf "%-12s %9s %9s %9s %8s %10s %8s %12s %7s\n" collector pps sent recv lost flows cpu_s "cpu_s/Mflow" fsyncs
COLLS=(fl0wer-edge nfcapd)
if [ "$WORKLOAD" = gen ]; then COLLS=("${EDGE_NAMES[@]}" nfcapd); fi
for coll in "${COLLS[@]}"; do
    for rate in $RATES; do
        fs=-
        if [ "$WORKLOAD" = gen ]; then
            if [ "$coll" != nfcapd ]; then read -r got flows cpu fs got2 cpu2 < <(run_edge_gen "$rate" "$coll")
            else read -r got flows cpu < <(run_nfcapd_gen "$rate"); got2=; fi
            SENT=$FLOWS
        else
            if [ "$coll" = fl0wer-edge ]; then read -r got flows cpu < <(run_edge "$rate")
            else read -r got flows cpu < <(run_nfcapd "$rate"); fi
            SENT=$(count_for "$rate")
        fi
        lost=$(( SENT - got ))
        per=$(awk -v c="$cpu" -v f="$flows" 'BEGIN { if (f > 0) printf "%.3f", c / (f / 1e6); else print "-" }')
        achieved=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(int(d["datagrams"]/max(d["seconds"],1e-3)))' "$WORK/replay.json")
        printf "%-12s %9s %9d %9d %8d %10d %8s %12s %7s\n" "$coll" "$rate(${achieved})" "$SENT" "$got" "$lost" "$flows" "$cpu" "$per" "$fs"
        if [ -n "${got2:-}" ]; then # PASSES=2: the second pass into the same edge
            per2=$(awk -v c="$cpu2" -v f="$got2" 'BEGIN { if (f > 0) printf "%.3f", c / (f / 1e6); else print "-" }')
            printf "%-12s %9s %9d %9d %8d %10d %8s %12s %7s\n" "$coll(2nd)" "$rate" "$SENT" "$got2" "$(( SENT - got2 ))" "$got2" "$cpu2" "$per2" "-"
            cat "$WORK/edge-$coll-$rate/threads"
        fi
        if [ "$lost" -le 0 ] && [ "$achieved" -gt "${BEST[$coll]:-0}" ]; then BEST[$coll]=$achieved; fi
    done
done
echo
for coll in "${COLLS[@]}"; do
    if [ "$WORKLOAD" = gen ]; then
        echo "$coll: highest rate without loss: ${BEST[$coll]:-none} datagrams/s"
    else
        echo "$coll: highest rate without loss: ${BEST[$coll]:-none} datagrams/s" \
             "($(( ${BEST[$coll]:-0} * FLOWS_PER_DGRAM )) flows/s)"
    fi
done
