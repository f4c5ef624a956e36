#!/usr/bin/env bash
# hub_ingest.sh - hub ingest benchmark: a real fl0wer-hub process on 127.0.0.1 (fresh temp data
# directory, synced writes as deployed, API off) fed pre-built signed batches by
# fl0wer-bench-load (tests/bench/bench_hub_load.c): E edges, K batches in flight each, batches
# closed at ~64 KiB as fl0wer-edge closes them, flows from fl0wer-gen's model (Zipf hosts and
# service ports, 70 % TCP, 3 exporters). Every batch must be acknowledged STORED.
#
# For each build given (the first is "after", an optional second "before") it runs the hub once
# with the analyzer and once with --no-analyzer, and prints per run: flows, wall time from the
# first send to the last ack, the hub's CPU (utime + stime of the whole process from
# /proc/PID/stat, so RocksDB's background threads count; user and system apart) over that
# interval, CPU per flow, flows per CPU-second, and the CPU over the hub's whole life (/usr/bin/time: start, load,
# shutdown with its final memtable flush). Then the analyzer's added share per build.
#
# usage: tests/bench/hub_ingest.sh BUILD_DIR [BEFORE_BUILD_DIR]
#   each BUILD_DIR: Release, -DFL0WER_BENCH=ON, targets fl0wer-hub fl0wer-bench-load
#   (a "before" tree: git archive the old commit, copy bench_hub_load.c and its CMake lines in)
# env: BENCH_FLOWS=1000000 BENCH_EDGES=4 BENCH_INFLIGHT=4 BENCH_BATCH_BYTES=65536 BENCH_RUNS=1
#      BENCH_HUB_ARGS (extra hub flags, e.g. "--workers 2")
# Not a test: figures depend on the machine and its load; runs of the builds are interleaved.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"

[ $# -ge 1 ] || { sed -n 2,22p "$0"; exit 2; }
FLOWS=${BENCH_FLOWS:-1000000}
EDGES=${BENCH_EDGES:-4}
INFLIGHT=${BENCH_INFLIGHT:-4}
BATCH_BYTES=${BENCH_BATCH_BYTES:-65536}
RUNS=${BENCH_RUNS:-1}
HUB_ARGS=${BENCH_HUB_ARGS:-}

BUILDS=("$1")
LABELS=(after)
if [ $# -ge 2 ]; then
    BUILDS+=("$2")
    LABELS+=(before)
fi
for b in "${BUILDS[@]}"; do
    for x in hub/daemon/fl0wer-hub tests/bench/fl0wer-bench-load; do
        [ -x "$b/$x" ] || { echo "missing $b/$x (see usage)"; exit 1; }
    done
done
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)"; exit 1; }

WORK=$(mktemp -d /tmp/fl0wer-hubbench-XXXXXX)
TIME_PID=
HUB_PID=
cleanup() {
    [ -n "$HUB_PID" ] && kill -KILL "$HUB_PID" 2>/dev/null
    [ -n "$TIME_PID" ] && wait "$TIME_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# user_sys_ticks PID: "utime stime" in clock ticks from /proc/PID/stat.
user_sys_ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }

# run_one BUILD LABEL ANALYZER(on|off): one hub, one load; appends a result line to results.
run_one() {
    local build=$1 label=$2 an=$3 d="$WORK/run" flag='' url out u0 s0 u1 s1 u s
    rm -rf "$d" && mkdir -p "$d"
    [ "$an" = off ] && flag=--no-analyzer
    "$build/tests/bench/fl0wer-bench-load" authorized "$d/auth" "$EDGES" || return 1
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S' -o "$d/time" "$build/hub/daemon/fl0wer-hub" \
        --listen tcp://127.0.0.1:0 --data "$d/db" --authorized-edges "$d/auth" \
        --ready-file "$d/ready" --no-api $flag $HUB_ARGS 2>"$d/hub.log" &
    TIME_PID=$!
    if ! wait_until 30 test -s "$d/ready"; then
        echo "$label: hub did not start"; cat "$d/hub.log"; return 1
    fi
    HUB_PID=$(ps -o pid= --ppid "$TIME_PID" | tr -d ' ')
    url=$(head -n 1 "$d/ready")
    read -r u0 s0 < <(user_sys_ticks "$HUB_PID")
    out=$("$build/tests/bench/fl0wer-bench-load" send "$url" "$EDGES" "$FLOWS" "$INFLIGHT" \
        "$BATCH_BYTES")
    local load_rc=$?
    read -r u1 s1 < <(user_sys_ticks "$HUB_PID")
    kill -TERM "$HUB_PID"
    wait "$TIME_PID"
    TIME_PID=
    HUB_PID=
    read -r u s < <(tail -n 1 "$d/time")
    if [ $load_rc -ne 0 ]; then
        echo "$label analyzer=$an: load failed: $out"; tail -n 5 "$d/hub.log"; return 1
    fi
    # store syncs (group commit) from the shutdown line; "-" for builds without it
    local syncs
    syncs=$(sed -n 's/.*, \([0-9]*\) store syncs.*/\1/p' "$d/hub.log" | tail -n 1)
    # out: flows N batches B wall_s W acked A (split on purpose)
    # shellcheck disable=SC2086
    set -- $out
    awk -v l="$label" -v a="$an" -v f="$2" -v b="$4" -v sy="${syncs:--}" -v w="$6" -v cu="$((u1 - u0))" \
        -v cs="$((s1 - s0))" -v t="$TICK" -v life="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')" 'BEGIN {
        cpu = (cu + cs) / t
        printf "| %s | %s | %d | %d | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f | %.0f |\n",
            l, a, f, b, sy, w, cu / t, cs / t, cpu, cpu * 1e9 / f, f / cpu, life, life * 1e9 / f }' \
        >>"$WORK/results"
}

echo "hub ingest benchmark: $FLOWS flows, $EDGES edges x $INFLIGHT in flight, batches of" \
    "~$BATCH_BYTES bytes, hub args: ${HUB_ARGS:-none}"
echo "$(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(machine_line)"
for ((r = 0; r < RUNS; r++)); do
    for an in off on; do
        for i in "${!BUILDS[@]}"; do
            run_one "${BUILDS[$i]}" "${LABELS[$i]}" "$an" || exit 1
        done
    done
done
echo
echo "| build | analyzer | flows | batches | store syncs | wall s | user s | sys s | hub CPU s (load) |" \
    "ns CPU/flow | flows per CPU-s | hub CPU s (whole life) | ns/flow (whole life) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$WORK/results"
echo
# Analyzer share per build: mean CPU per flow with it over mean without it (load interval).
for l in "${LABELS[@]}"; do
    awk -F'|' -v l="$l" '$2 ~ " "l" " { n[$3] += 1; s[$3] += $11 }
        END { off = s[" off "] / n[" off "]; on = s[" on "] / n[" on "]
              printf "%s: analyzer adds %.0f ns/flow = +%.1f%% of the hub CPU per flow\n",
                  l, on - off, 100 * (on - off) / off }' "$WORK/results"
done
