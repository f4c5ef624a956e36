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
# shutdown with its final memtable flush; per flow over the warm-up's flows too), then minor page faults and context switches (all
# threads, voluntary + involuntary) per batch over the load. Then the analyzer's added share per
# build.
#
# usage: tests/bench/hub_ingest.sh BUILD_DIR [BEFORE_BUILD_DIR]
#   each BUILD_DIR: Release, -DFL0WER_BENCH=ON, targets fl0wer-hub fl0wer-bench-load
#   (a "before" tree: git archive the old commit, copy bench_hub_load.c and its CMake lines in)
# env: BENCH_FLOWS=1000000 BENCH_EDGES=4 BENCH_INFLIGHT=4 BENCH_BATCH_BYTES=262144 (the edge's
#      default --batch-bytes; it was 65536 before be476fb) BENCH_RUNS=1
#      BENCH_HUB_ARGS (extra hub flags, e.g. "--workers 2")
#      BENCH_HUB_TUNABLES=glibc.malloc.hugetlb=1: GLIBC_TUNABLES of every build's hub, the value
#      the systemd unit and container image ship (docs/hub.md, Memory); empty for glibc's default
#      BENCH_WARMUP_FLOWS=0: first send this many flows from other edges, not measured, so the
#      measured run sees a warm hub (memtables, per-context and pool buffers already touched),
#      as a long-running hub is; 0 measures a fresh process.
# The load (fl0wer-bench-load) of the first BUILD_DIR sends to every build's hub.
# Not a test: figures depend on the machine and its load; runs of the builds are interleaved.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh"

[ $# -ge 1 ] || { sed -n 2,29p "$0"; exit 2; }
FLOWS=${BENCH_FLOWS:-1000000}
EDGES=${BENCH_EDGES:-4}
INFLIGHT=${BENCH_INFLIGHT:-4}
BATCH_BYTES=${BENCH_BATCH_BYTES:-262144}
RUNS=${BENCH_RUNS:-1}
HUB_ARGS=${BENCH_HUB_ARGS:-}
HUB_TUNABLES=${BENCH_HUB_TUNABLES-glibc.malloc.hugetlb=1}
WARMUP=${BENCH_WARMUP_FLOWS:-0}

BUILDS=("$1")
LABELS=(after)
if [ $# -ge 2 ]; then
    BUILDS+=("$2")
    LABELS+=(before)
fi
for b in "${BUILDS[@]}"; do
    for x in hub/daemon/fl0wer-hub; do
        [ -x "$b/$x" ] || { echo "missing $b/$x (see usage)"; exit 1; }
    done
done
LOAD="${BUILDS[0]}/tests/bench/fl0wer-bench-load"
[ -x "$LOAD" ] || { echo "missing $LOAD (see usage)"; exit 1; }
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
# faults_switches PID: minor page faults of the process and context switches of all its threads.
faults_switches() {
    local f
    f=$(awk '{ print $10 }' "/proc/$1/stat")
    echo "$f $(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s + 0 }')"
}

# run_one BUILD LABEL ANALYZER(on|off): one hub, one load; appends a result line to results.
run_one() {
    local build=$1 label=$2 an=$3 d="$WORK/run" flag='' url out u0 s0 u1 s1 u s f0 x0 f1 x1
    rm -rf "$d" && mkdir -p "$d"
    [ "$an" = off ] && flag=--no-analyzer
    "$LOAD" authorized "$d/auth" "$((2 * EDGES))" || return 1
    # shellcheck disable=SC2086
    GLIBC_TUNABLES=$HUB_TUNABLES /usr/bin/time -f '%U %S' -o "$d/time" "$build/hub/daemon/fl0wer-hub" \
        --listen tcp://127.0.0.1:0 --data "$d/db" --authorized-edges "$d/auth" \
        --ready-file "$d/ready" --no-api $flag $HUB_ARGS 2>"$d/hub.log" &
    TIME_PID=$!
    if ! wait_until 30 test -s "$d/ready"; then
        echo "$label: hub did not start"; cat "$d/hub.log"; return 1
    fi
    HUB_PID=$(ps -o pid= --ppid "$TIME_PID" | tr -d ' ')
    url=$(head -n 1 "$d/ready")
    if [ "$WARMUP" -gt 0 ] && ! "$LOAD" send "$url" "$EDGES" "$WARMUP" "$INFLIGHT" "$BATCH_BYTES" \
        "$EDGES" >/dev/null; then
        echo "$label analyzer=$an: warm-up load failed"; tail -n 5 "$d/hub.log"; return 1
    fi
    read -r u0 s0 < <(user_sys_ticks "$HUB_PID")
    read -r f0 x0 < <(faults_switches "$HUB_PID")
    out=$("$LOAD" send "$url" "$EDGES" "$FLOWS" "$INFLIGHT" \
        "$BATCH_BYTES")
    local load_rc=$?
    read -r u1 s1 < <(user_sys_ticks "$HUB_PID")
    read -r f1 x1 < <(faults_switches "$HUB_PID")
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
    awk -v l="$label" -v a="$an" -v f="$2" -v wf="$((${2:-0} + WARMUP))" -v b="$4" -v sy="${syncs:--}" -v w="$6" -v cu="$((u1 - u0))" \
        -v cs="$((s1 - s0))" -v flt="$((f1 - f0))" -v sw="$((x1 - x0))" -v t="$TICK" -v life="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')" 'BEGIN {
        cpu = (cu + cs) / t
        printf "| %s | %s | %d | %d | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %.0f | %.2f | %.0f | %.1f | %.1f |\n",
            l, a, f, b, sy, w, cu / t, cs / t, cpu, cpu * 1e9 / f, f / cpu, life, life * 1e9 / wf,
            flt / b, sw / b }' \
        >>"$WORK/results"
}

echo "hub ingest benchmark: $FLOWS flows, $EDGES edges x $INFLIGHT in flight, batches of" \
    "~$BATCH_BYTES bytes, warm-up $WARMUP flows, hub args: ${HUB_ARGS:-none}, GLIBC_TUNABLES=${HUB_TUNABLES:-(unset)}"
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
    "ns CPU/flow | flows per CPU-s | hub CPU s (whole life) | ns/flow (whole life) |" \
    "minor faults/batch | context switches/batch |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
cat "$WORK/results"
echo
# Analyzer share per build: mean CPU per flow with it over mean without it (load interval).
for l in "${LABELS[@]}"; do
    awk -F'|' -v l="$l" '$2 ~ " "l" " { n[$3] += 1; s[$3] += $11 }
        END { off = s[" off "] / n[" off "]; on = s[" on "] / n[" on "]
              printf "%s: analyzer adds %.0f ns/flow = +%.1f%% of the hub CPU per flow\n",
                  l, on - off, 100 * (on - off) / off }' "$WORK/results"
done
