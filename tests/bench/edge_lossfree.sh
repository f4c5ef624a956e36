#!/usr/bin/env bash
# edge_lossfree.sh - the highest packet rate fl0wer-edge and nfcapd each take with no loss
# (issue #3), searched where the replay is not the limit.
#
# Workloads (fl0wer-gen, seed 1, EXPORTERS exporters, mostly distinct flows ending in one minute
# three hours ago, written to a pcap once):
#   std  ~1,400-byte datagrams (what fits 1400 bytes: ~24 flows; v5 at most 30), v5/v9/IPFIX
#        exporters, FLOWS_STD flows (default 1.5 M). What real exporters send.
#   fat  FAT_RPP (default 1000) records per datagram (~61 KB, v9/IPFIX only: v5 carries at most
#        30), FLOWS_FAT flows (default 3 M). Loopback's MTU is 64 KiB; fl0wer-edge reads up to
#        64 KiB per datagram and nfcapd 1.7.1 takes them too (checked: 1 M flows in 1,000
#        datagrams, all counted).
# Caveat: real exporters send <= ~1,500-byte datagrams. The fat workload measures per-flow
# capacity (decode, aggregate, batch, sign; nfcapd's decode and file writing) with the
# per-datagram costs (syscalls, loopback delivery, wake-ups) divided by ~40; it is how the
# collectors are compared without the replay, which shares the 2 cores, being the limit. It is
# not a rate any exporter produces.
#
# A step: a fresh collector (fl0wer-edge with default flags, except --rcvbuf RCVBUF, its batches
# going to fl0wer-test-receiver standing in for the hub; or nfcapd writing LZ4 files, -y, with
# -B RCVBUF), fl0wer-replay sends the WHOLE pcap once at the asked datagram rate (so a step lasts
# datagrams/rate seconds, ~0.4-4 s; the same packets to both collectors; never looped, so no flow
# repeats inside a step); once the collector has read what its sockets still hold (their
# rx_queue in /proc/net/udp back to 0, at most 10 s) it is stopped and counted exactly as
# edge_vs_nfcapd.sh (WORKLOAD=gen) counts it: received = the edge's records_decoded (final log
# line), nfcapd's "Flows:" of nfdump -I over its files; lost = sent - received, sent = the
# pcap's flow records. A flow dropped inside the edge (records_dropped) also counts as lost.
# The edge's output half runs during the step, not only after it: these flows merge less than
# --aggregate-min-reduction (10 %), so its workers forward 15 of 16 keys unmerged as they come
# (the threads line shows the batcher, spool and sender busy during the send).
# RCVBUF (default 4 MiB) is the same for both: nfcapd's -B is capped by net.core.rmem_max
# (4 MiB here, the kernel doubles it), the edge forces its 32 MiB default as root, which would
# give it 8 times nfcapd's buffer. A step lasts far longer than either buffer drains, yet the
# buffer does matter: a collector that stalls now and then (descheduled on a busy machine, its
# queue to the next thread full) loses what arrives during the stall beyond the buffer; on
# 2026-11-27 the edge's loss-free rate with 61 KB datagrams went from 1,125-1,500/s (4 MiB) to
# 2,219/s with its own 32 MiB. RCVBUF= (empty): each its own setting, the edge's default (no
# --rcvbuf) and nfcapd -B 33554432 as in edge_vs_nfcapd.sh.
#
# Search, per workload and collector, steps alternating between the collectors: doubling from
# the workload's start rate until a step loses flows (or the replay cannot send at the asked
# rate), then BISECT bisection steps between the last good and the first bad (asked) rate. A
# step where the replay achieved less than 95% of the asked rate is replay-limited: if it was
# loss-free the search stops and the figure is a LOWER BOUND (the replay, not the collector, was
# the limit). One step per rate: on a noisy machine a hiccup makes a step lose, and the search
# then settles lower than a quiet machine would.
#
# Printed per step: asked and achieved datagrams/s, flows/s, lost flows, the kernel's drop
# counter of the collector's sockets (/proc/net/udp "drops": the datagrams lost, a cross-check
# of "lost", which counts flows), the collector's CPU in
# cores (utime + stime from /proc/PID/stat over the send, divided by the send time), "hub": the
# same for fl0wer-test-receiver (the edge's hub stand-in, verifying its batches on the same
# cores; nfcapd has none), the replay's CPU in cores (its own getrusage over the send loop), and
# "other": the rest of the machine's busy time (/proc/stat, minus collector, hub and replay) in
# cores - other jobs and softirq work charged to no task; a high "other" means a noisy step (on
# a saturated machine the kernel shares CPU per thread: the edge's five busy threads then get
# more of it than nfcapd's one, so compare the collectors only where "other" is low). Under each
# edge step, the CPU of its threads over the send (cores, by kind). Then a markdown table of the
# loss-free rates.
#
# usage: tests/bench/edge_lossfree.sh [BUILD_DIR]   (a Release build WITHOUT sanitizers with
#        fl0wer-edge fl0wer-replay fl0wer-gen fl0wer-test-receiver)
#   env: WORKLOADS="std fat", FLOWS_STD=1500000, FLOWS_FAT=3000000, FAT_RPP=1000,
#        EXPORTERS=16 (the edge spreads exporters over its workers by a 4-tuple hash: many
#        exporters balance them), START_STD=25000, START_FAT=1000 (datagrams/s), BISECT=3,
#        MAX_STEPS=8 (per search), RCVBUF=4194304, EDGE_BUILD=BUILD_DIR (where fl0wer-edge and
#        fl0wer-test-receiver come from), EDGE_ARGS="" (extra edge flags),
#        REPLAY_CPUS="" / COLL_CPUS="" (taskset -c lists for the replay / the collector; empty =
#        not pinned), RECEIVER_NICE=0 (nice level of fl0wer-test-receiver: it stands for a hub
#        on another machine; at 19 it takes only CPU the edge and the replay leave, and what it
#        has not acknowledged yet waits in the edge's spool - the count is the edge's own)
# Loopback only; every process and temp dir it starts is removed on exit. About 3-5 minutes.
# Not a test: the figures depend on the machine and its load.
# Helpers free_port, cpu_ticks, wait_until, machine_line and bench_workdir come from
# tests/bench/lib.sh.
set -u
BUILD=${1:-build}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
EDGE_BUILD=${EDGE_BUILD:-$BUILD}
WORKLOADS=${WORKLOADS:-"std fat"}
FLOWS_STD=${FLOWS_STD:-1500000}
FLOWS_FAT=${FLOWS_FAT:-3000000}
FAT_RPP=${FAT_RPP:-1000}
EXPORTERS=${EXPORTERS:-16}
START_STD=${START_STD:-25000}
START_FAT=${START_FAT:-1000}
BISECT=${BISECT:-3}
MAX_STEPS=${MAX_STEPS:-8}
RCVBUF=${RCVBUF-4194304}
EDGE_RCVBUF=(--rcvbuf "$RCVBUF"); NFCAPD_RCVBUF=$RCVBUF
[ -z "$RCVBUF" ] && { EDGE_RCVBUF=(); NFCAPD_RCVBUF=33554432; }
REPLAY_CPUS=${REPLAY_CPUS:-}
COLL_CPUS=${COLL_CPUS:-}
EDGE=$EDGE_BUILD/edge/daemon/fl0wer-edge
RECEIVER=$EDGE_BUILD/tests/edge/fl0wer-test-receiver
REPLAY=$BUILD/tools/fl0wer-replay/fl0wer-replay
GEN=$BUILD/tools/fl0wer-gen/fl0wer-gen

# shellcheck source=tests/bench/lib.sh
. "$SRC/tests/bench/lib.sh" # free_port, cpu_ticks, wait_until, machine_line, bench_workdir, TICK

command -v nfcapd >/dev/null || { echo "nfcapd not installed (apt-get install nfdump)"; exit 1; }
for b in "$EDGE" "$RECEIVER" "$REPLAY" "$GEN"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done

bench_workdir lossfree # $WORK; every process is given to track (steps run in subshells)

"$RECEIVER" --keygen "$WORK/edge.key" bench || { echo "fl0wer-test-receiver --keygen failed"; exit 1; }
FROM=127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4

# Command prefixes (arrays, so a backgrounded collector's $! is the collector itself).
PIN_REPLAY=(); [ -n "$REPLAY_CPUS" ] && PIN_REPLAY=(taskset -c "$REPLAY_CPUS")
PIN_COLL=(); [ -n "$COLL_CPUS" ] && PIN_COLL=(taskset -c "$COLL_CPUS")
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
# "rx_queue_bytes drops" summed over the sockets bound to 127.0.0.1:PORT (/proc/net/udp).
udp_q() {
    local b=0 d=0 a q r
    while read -r _ a _ _ q _ _ _ _ _ _ _ r; do
        [ "$a" = "$(printf '0100007F:%04X' "$1")" ] || continue
        b=$((b + 16#${q#*:})); d=$((d + ${r:-0}))
    done < <(tail -n +2 /proc/net/udp)
    echo "$b $d"
}
# After the send: waits (at most 10 s) until the collector has read everything queued on its
# sockets, so what is still in a buffer is not counted lost; prints the sockets' kernel drops.
drain() {
    local q d n=50
    while :; do
        read -r q d < <(udp_q "$1")
        { [ "$q" = 0 ] || [ "$n" -le 0 ]; } && break
        sleep 0.2; n=$((n - 1))
    done
    echo "$d"
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# Waits up to 30 s for PID to exit after SIGTERM, then kills it.
stop() {
    kill -TERM "$1" 2>/dev/null
    local n=150
    while kill -0 "$1" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.2; n=$((n - 1)); done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    sed -i "/^$1\$/d" "$WORK/pids"
}

# Sends the workload's pcap at rate to port while PID (and PID2, the edge's hub stand-in, if
# given) runs; leaves "$WORK/replay.json" and prints "coll_ticks pid2_ticks busy_ticks
# replay_total_ticks wall_s".
send() { # wl rate port pid [pid2]
    local c0 h0 b0 t0 c1 h1 b1 t1 h=${5:-}
    c0=$(cpu_ticks "$4"); h0=0; [ -n "$h" ] && h0=$(cpu_ticks "$h"); b0=$(busy_ticks); t0=$(date +%s.%N)
    "${PIN_REPLAY[@]}" /usr/bin/time -o "$WORK/replay.time" -f '%U %S' "$REPLAY" \
        --to "127.0.0.1:$3" --pps "$2" --from-addrs "$FROM" "$WORK/$1.pcap" >"$WORK/replay.json"
    c1=$(cpu_ticks "$4"); h1=0; [ -n "$h" ] && h1=$(cpu_ticks "$h"); b1=$(busy_ticks); t1=$(date +%s.%N)
    echo "$((c1 - c0)) $((h1 - h0)) $((b1 - b0)) $(awk -v t="$TICK" '{ printf "%d", ($1 + $2) * t }' "$WORK/replay.time") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
}

# Per-thread CPU ticks of PID summed by thread name ("edge-rx0", "edge-rx1" -> "edge-rx"; nng's
# threads -> "nng"): one "name ticks" line each (as edge_vs_nfcapd.sh).
thread_ticks() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s\n' "$(cat "$t/comm" 2>/dev/null)" "$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null)"
    done | awk 'NF == 2 { n = $1; sub(/[0-9]+$/, "", n); if (n ~ /^nng/) n = "nng"; t[n] += $2 }
                END { for (n in t) print n, t[n] }' | sort
}

# One step; prints "received dropped_inside kernel_drops coll_ticks hub_ticks busy_ticks
# replay_total_ticks wall_s".
step_edge() { # wl rate
    local dir=$WORK/edge-$1-$2 udp tcp rp ep m kd line rec drop
    mkdir -p "$dir"; udp=$(free_port 2); tcp=$(free_port 1)
    nice -n "${RECEIVER_NICE:-0}" "$RECEIVER" --url "tcp://127.0.0.1:$tcp" --key "$WORK/edge.key" --state "$dir/recv.json" 2>/dev/null &
    rp=$!; track "$rp"
    "${PIN_COLL[@]}" "$EDGE" --listen "127.0.0.1:$udp" --hub "tcp://127.0.0.1:$tcp" \
        --key "$WORK/edge.key" --spool "$dir/spool" "${EDGE_RCVBUF[@]}" --stats-interval 0 \
        ${EDGE_ARGS:-} 2>"$dir/edge.log" &
    ep=$!; track "$ep"
    wait_until 10 grep -qs 'listening on udp' "$dir/edge.log"
    # the workers name themselves once started: before that their start-up CPU would be counted
    # under "fl0wer-edge" in the first snapshot and under "edge-rx" in the second
    wait_until 5 grep -qs '^edge-rx' /proc/"$ep"/task/*/comm
    thread_ticks "$ep" >"$WORK/threads0"
    m=$(send "$1" "$2" "$udp" "$ep" "$rp")
    thread_ticks "$ep" >"$WORK/threads1"
    kd=$(drain "$udp")
    stop "$ep"; stop "$rp"
    line=$(grep ' final: ' "$dir/edge.log")
    rec=$(sed -nE 's/.* records_decoded=([0-9]+).*/\1/p' <<<"$line")
    drop=$(sed -nE 's/.* records_dropped=([0-9]+).*/\1/p' <<<"$line")
    echo "${rec:-0} ${drop:-0} $kd $m"
    rm -rf "$dir"
}
step_nfcapd() { # wl rate
    local dir=$WORK/nfcapd-$1-$2 udp np m kd flows
    mkdir -p "$dir"; udp=$(free_port 2)
    "${PIN_COLL[@]}" nfcapd -w "$dir" -b 127.0.0.1 -p "$udp" -t 3600 -y -B "$NFCAPD_RCVBUF" \
        >"$dir/nfcapd.log" 2>&1 &
    np=$!; track "$np"
    wait_until 10 grep -qs 'Startup nfcapd' "$dir/nfcapd.log"
    m=$(send "$1" "$2" "$udp" "$np")
    kd=$(drain "$udp")
    stop "$np"
    flows=$(nfdump -R "$dir" -I 2>/dev/null | awk '/^Flows:/ { print $2; exit }')
    echo "${flows:-0} 0 $kd $m"
    rm -rf "$dir"
}

declare -A LO HI HI_ACH NSTEP FIN NBIS BOUND BEST_LINE FLOWS_OF DGRAMS_OF BYTES_OF START_OF
COLLS=(fl0wer-edge nfcapd)

# Next rate of search key k (wl/coll), or "" when it is finished.
next_rate() {
    local k=$1 wl=${1%%/*}
    [ "${FIN[$k]:-0}" = 1 ] && return
    [ "${NSTEP[$k]:-0}" -ge "$MAX_STEPS" ] && { FIN[$k]=1; return; }
    if [ -z "${HI[$k]:-}" ]; then
        if [ -z "${LO[$k]:-}" ]; then echo "${START_OF[$wl]}"; else echo $(( LO[$k] * 2 )); fi
    elif [ -z "${LO[$k]:-}" ]; then
        [ "${HI[$k]}" -le 100 ] && { FIN[$k]=1; return; }
        echo $(( HI[$k] / 2 ))
    else
        if [ "${NBIS[$k]:-0}" -ge "$BISECT" ] || [ $(( HI[$k] - LO[$k] )) -le $(( LO[$k] / 20 )) ]; then
            FIN[$k]=1; return
        fi
        echo $(( (LO[$k] + HI[$k]) / 2 ))
    fi
}

# Records a step's outcome in the search state of k.
record() { # k rate achieved lost limited
    local k=$1 rate=$2 ach=$3 lost=$4 lim=$5
    NSTEP[$k]=$(( ${NSTEP[$k]:-0} + 1 ))
    [ -n "${HI[$k]:-}" ] && [ -n "${LO[$k]:-}" ] && NBIS[$k]=$(( ${NBIS[$k]:-0} + 1 ))
    if [ "$lost" -le 0 ]; then
        if [ -z "${LO[$k]:-}" ] || [ "$rate" -gt "${LO[$k]}" ]; then LO[$k]=$rate; fi
        if [ "$lim" = 1 ]; then BOUND[$k]=replay; FIN[$k]=1; fi
    else
        # the asked rate bounds the search even when the replay fell short of it (the achieved
        # rate is shown beside it)
        if [ -z "${HI[$k]:-}" ] || [ "$rate" -lt "${HI[$k]}" ]; then HI[$k]=$rate; HI_ACH[$k]=$ach; fi
        if [ -n "${LO[$k]:-}" ] && [ "${HI[$k]}" -le "${LO[$k]}" ]; then FIN[$k]=1; fi
    fi
}

echo "edge_lossfree: $(machine_line)"
echo "edge: $EDGE, nfcapd $(nfcapd -V 2>&1 | awk '{ print $NF; exit }'); RCVBUF=$RCVBUF EXPORTERS=$EXPORTERS REPLAY_CPUS=${REPLAY_CPUS:-any} COLL_CPUS=${COLL_CPUS:-any}"
base_s=$(( ($(date +%s) / 3600 - 3) * 3600 ))
for wl in $WORKLOADS; do
    case $wl in
    std) args=(--flows "$FLOWS_STD" --versions 5,9,10); START_OF[$wl]=$START_STD ;;
    fat) args=(--flows "$FLOWS_FAT" --versions 9,10 --records-per-packet "$FAT_RPP"); START_OF[$wl]=$START_FAT ;;
    *) echo "unknown workload '$wl' (std, fat)"; exit 2 ;;
    esac
    "$GEN" --seed 1 --exporters "$EXPORTERS" --start "$((base_s * 1000))" --window 60000 \
        "${args[@]}" --pcap "$WORK/$wl.pcap" >"$WORK/$wl.json" &
    track "$!"
done
wait
: >"$WORK/pids" # the generators are done
for wl in $WORKLOADS; do
    [ -s "$WORK/$wl.json" ] || { echo "fl0wer-gen failed for $wl"; exit 1; }
    FLOWS_OF[$wl]=$(json "$WORK/$wl.json" records)
    DGRAMS_OF[$wl]=$(json "$WORK/$wl.json" packets)
    BYTES_OF[$wl]=$(json "$WORK/$wl.json" packet_bytes)
    echo "workload $wl: ${FLOWS_OF[$wl]} flows in ${DGRAMS_OF[$wl]} datagrams," \
         "$(awk -v f="${FLOWS_OF[$wl]}" -v d="${DGRAMS_OF[$wl]}" -v b="${BYTES_OF[$wl]}" 'BEGIN { printf "%.1f flows and %d bytes per datagram", f / d, b / d }')"
done

# The replay alone, as fast as it goes, into a socket nobody reads (the kernel drops what does
# not fit): the most it can send here, with what it costs.
sink_port=$(free_port 2)
python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); time.sleep(600)' "$sink_port" &
sink_pid=$!; track "$sink_pid"
wait_until 10 grep -q "$(printf '0100007F:%04X' "$sink_port")" /proc/net/udp
for wl in $WORKLOADS; do
    "${PIN_REPLAY[@]}" "$REPLAY" --to "127.0.0.1:$sink_port" --from-addrs "$FROM" "$WORK/$wl.pcap" >"$WORK/replay.json"
    python3 - "$WORK/replay.json" "$wl" "${FLOWS_OF[$wl]}" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); s = max(d["seconds"], 1e-3); cpu = d["cpu_user_s"] + d["cpu_sys_s"]
print("replay ceiling %s (unread socket, --pps 0): %d datagrams/s, %.2f M flows/s, replay CPU %.2f cores (user %.2f s, sys %.2f s in %.2f s)"
      % (sys.argv[2], d["datagrams"] / s, int(sys.argv[3]) / s / 1e6, cpu / s, d["cpu_user_s"], d["cpu_sys_s"], s))
EOF
done
stop "$sink_pid"
echo
printf "%-4s %-11s %8s %8s %10s %9s %7s %6s %6s %6s %6s %s\n" wl collector asked achieved flows/s lost kdrops coll hub replay other verdict
for wl in $WORKLOADS; do
    while :; do
        ran=0
        for coll in "${COLLS[@]}"; do
            k=$wl/$coll
            rate=$(next_rate "$k")
            [ -z "$rate" ] && continue
            ran=1
            if [ "$coll" = nfcapd ]; then read -r got drop kd ct ht bt rt wall < <(step_nfcapd "$wl" "$rate")
            else read -r got drop kd ct ht bt rt wall < <(step_edge "$wl" "$rate"); fi
            sent=${FLOWS_OF[$wl]}
            lost=$(( sent - got + drop ))
            read -r ach fps cc hc rc oc lim < <(python3 - "$WORK/replay.json" "$rate" "$sent" "$ct" "$ht" "$bt" "$rt" "$wall" "$TICK" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1])); rate = int(sys.argv[2]); sent = int(sys.argv[3])
ct, ht, bt, rt, wall, tick = (float(x) for x in sys.argv[4:10])
s = max(d["seconds"], 1e-3)
ach = d["datagrams"] / s
other = max(0.0, (bt - ct - ht - rt) / tick / max(wall, 1e-3))
print(int(ach), int(sent / s), "%.2f" % (ct / tick / s), "%.2f" % (ht / tick / s),
      "%.2f" % ((d["cpu_user_s"] + d["cpu_sys_s"]) / s), "%.2f" % other, 1 if ach < 0.95 * rate else 0)
EOF
)
            [ "$coll" = nfcapd ] && hc=-
            record "$k" "$rate" "$ach" "$lost" "$lim"
            verdict=ok
            [ "$lost" -gt 0 ] && verdict=LOSS
            [ "$drop" -gt 0 ] && verdict="$verdict (edge dropped $drop)"
            [ "$lim" = 1 ] && verdict="$verdict, replay-limited"
            printf "%-4s %-11s %8d %8d %10d %9d %7d %6s %6s %6s %6s %s\n" "$wl" "$coll" "$rate" "$ach" "$fps" "$lost" "$kd" "$cc" "$hc" "$rc" "$oc" "$verdict"
            if [ "$coll" != nfcapd ]; then # the edge's threads over the send, in cores
                echo "     edge threads (cores): $(join -a 2 -e 0 -o 0,1.2,2.2 "$WORK/threads0" "$WORK/threads1" |
                    awk -v t="$TICK" -v s="$(json "$WORK/replay.json" seconds)" '$3 > $2 { printf "%s=%.2f ", $1, ($3 - $2) / t / s }')"
            fi
            if [ "$lost" -le 0 ] && [ "$rate" = "${LO[$k]}" ]; then
                BEST_LINE[$k]="$ach $fps $cc $rc $hc"
            fi
        done
        [ "$ran" = 0 ] && break
    done
done

echo
echo "| workload (flows/datagram, bytes/datagram) | collector | loss-free datagrams/s | loss-free flows/s | collector CPU (cores) | replay CPU (cores) | limit |"
echo "|---|---|---:|---:|---:|---:|---|"
for wl in $WORKLOADS; do
    desc=$(awk -v f="${FLOWS_OF[$wl]}" -v d="${DGRAMS_OF[$wl]}" -v b="${BYTES_OF[$wl]}" 'BEGIN { printf "%.1f, %d B", f / d, b / d }')
    for coll in "${COLLS[@]}"; do
        k=$wl/$coll
        if [ -z "${BEST_LINE[$k]:-}" ]; then
            echo "| $wl ($desc) | $coll | none (lost at ${HI[$k]:-?}/s asked) | - | - | - | collector |"
            continue
        fi
        read -r ach fps cc rc hc <<<"${BEST_LINE[$k]}"
        [ "$hc" != - ] && cc="$cc (hub stand-in $hc)"
        if [ "${BOUND[$k]:-}" = replay ]; then
            if awk -v r="$rc" 'BEGIN { exit !(r < 0.8) }'; then
                lim="replay, starved by other load ($rc cores): lower bound"
            else
                lim="replay at its CPU limit: lower bound"
            fi
            pre=">= "
        elif [ -n "${HI[$k]:-}" ]; then
            lim="collector (lost at ${HI[$k]}/s asked, ${HI_ACH[$k]}/s sent)"; pre=""
        else
            lim="search steps ran out (lower bound)"; pre=">= "
        fi
        printf "| %s (%s) | %s | %s%'d | %s%'d | %s | %s | %s |\n" "$wl" "$desc" "$coll" "$pre" "$ach" "$pre" "$fps" "$cc" "$rc" "$lim"
    done
done
