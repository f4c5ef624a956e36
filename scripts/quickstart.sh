#!/usr/bin/env bash
# Runs Fl0wer on this machine in one command: installs what is missing (scripts/install-deps.sh),
# builds Release binaries (build/release), creates an edge key, the hub's authorized edges file
# and an admin API token in a local state folder (.fl0wer/), starts fl0wer-hub and fl0wer-edge in
# the background and prints what to point exporters at and which `fl0wer` commands to try.
# Running it again reuses the key, token and data, and leaves running daemons alone.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
    cat <<EOF
usage: ./scripts/quickstart.sh [--demo] [--stop] [--status] [--state DIR]
                               [--udp ADDR:PORT] [--hub-port PORT] [--api-port PORT]

Starts a local fl0wer-hub and fl0wer-edge (background processes, logs and pid files in the
state folder) and prints how to use them.

  --demo            also send sample data: the bundled captures (old timestamps: use
                    --from 2000-01-01) and a fl0wer-gen workload of the last few minutes
                    (shows up in 'fl0wer top' right away); waits until it is at the hub
  --stop            stop the edge (it flushes its buffers first), then the hub
  --status          say whether the hub and the edge are running
  --state DIR       state folder: keys, tokens, data, spool, logs (default .fl0wer in the
                    repository)                                   [FL0WER_QS_STATE]
  --udp ADDR:PORT   where the edge receives NetFlow/IPFIX (default 0.0.0.0:2056)
                                                                  [FL0WER_QS_UDP]
  --hub-port PORT   hub's batch port on 127.0.0.1 (default 4800)  [FL0WER_QS_HUB_PORT]
  --api-port PORT   hub's HTTPS API port on 127.0.0.1 (default 7443) [FL0WER_QS_API_PORT]
  --help            this text

Environment:
  FL0WER_SKIP_INSTALL=1  do not run scripts/install-deps.sh
  FL0WER_BUILD_DIR=DIR   use the binaries already built in DIR (no build)
EOF
}

STATE="${FL0WER_QS_STATE:-$ROOT/.fl0wer}"
UDP="${FL0WER_QS_UDP:-0.0.0.0:2056}"
HUB_PORT="${FL0WER_QS_HUB_PORT:-4800}"
API_PORT="${FL0WER_QS_API_PORT:-7443}"
ACTION=start
DEMO=0
while [ $# -gt 0 ]; do
    case "$1" in
        --demo) DEMO=1 ;;
        --stop) ACTION=stop ;;
        --status) ACTION=status ;;
        --state) STATE="${2:?--state needs a folder}"; shift ;;
        --udp) UDP="${2:?--udp needs ADDR:PORT}"; shift ;;
        --hub-port) HUB_PORT="${2:?--hub-port needs a port}"; shift ;;
        --api-port) API_PORT="${2:?--api-port needs a port}"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "quickstart: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
case "$UDP" in *:*) ;; *) echo "quickstart: --udp wants ADDR:PORT" >&2; exit 2 ;; esac
mkdir -p "$STATE"
STATE="$(cd "$STATE" && pwd)"

# pid_alive NAME: true when STATE/NAME.pid names a running process of that program.
pid_alive() {
    local f="$STATE/$1.pid" pid
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "fl0wer-$1"
}

stop_one() {
    local name="$1" pid i
    if ! pid_alive "$name"; then
        rm -f "$STATE/$name.pid"
        echo "fl0wer-$name: not running"
        return 0
    fi
    pid="$(cat "$STATE/$name.pid")"
    kill -TERM "$pid"
    for i in $(seq 1 300); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
        echo "fl0wer-$name (pid $pid) did not stop in 30 s; killing it" >&2
        kill -KILL "$pid" || true
    fi
    rm -f "$STATE/$name.pid"
    echo "fl0wer-$name (pid $pid): stopped"
}

if [ "$ACTION" = stop ]; then
    stop_one edge   # first: on SIGTERM it flushes its buckets and waits for the hub's acks
    stop_one hub
    exit 0
fi
if [ "$ACTION" = status ]; then
    rc=0
    for n in hub edge; do
        if pid_alive "$n"; then echo "fl0wer-$n: running (pid $(cat "$STATE/$n.pid"))"
        else echo "fl0wer-$n: not running"; rc=1; fi
    done
    exit $rc
fi

# ---- dependencies and binaries
if [ "${FL0WER_SKIP_INSTALL:-0}" != 1 ]; then
    "$ROOT/scripts/install-deps.sh"
fi
if [ -n "${FL0WER_BUILD_DIR:-}" ]; then
    BUILD="$(cd "$FL0WER_BUILD_DIR" && pwd)"
else
    BUILD="$ROOT/build/release"
    echo "quickstart: building Release binaries in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DFL0WER_SANITIZE=OFF \
        -DFL0WER_BENCH=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target fl0wer-hub fl0wer-edge fl0wer fl0wer-replay \
        fl0wer-gen >/dev/null
fi
HUB="$BUILD/hub/daemon/fl0wer-hub"
EDGE="$BUILD/edge/daemon/fl0wer-edge"
CLI="$BUILD/tools/fl0wer/fl0wer"
REPLAY="$BUILD/tools/fl0wer-replay/fl0wer-replay"
GEN="$BUILD/tools/fl0wer-gen/fl0wer-gen"
for b in "$HUB" "$EDGE" "$CLI"; do
    [ -x "$b" ] || { echo "quickstart: $b is missing" >&2; exit 1; }
done

# ---- state: edge key, authorized edges, API token (created once, then reused)
umask 077
mkdir -p "$STATE/hub-data" "$STATE/edge-spool"
if [ ! -f "$STATE/edge.key" ]; then
    "$CLI" keygen --out "$STATE/edge.key" --name quickstart | tail -n 1 >"$STATE/authorized_edges"
    echo "quickstart: created edge key $STATE/edge.key"
elif [ ! -s "$STATE/authorized_edges" ]; then
    # Rebuild the line from the key file: the secret is seed || public key (keys.h).
    pub="$(sed -n 's/^secret //p' "$STATE/edge.key" | base64 -d | tail -c 32 | base64 -w0)"
    name="$(sed -n 's/^name //p' "$STATE/edge.key")"
    echo "ed25519 $pub $name" >"$STATE/authorized_edges"
fi
if [ ! -f "$STATE/api-tokens" ]; then
    token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    printf '# NAME ROLE TOKEN (created by scripts/quickstart.sh)\nadmin admin %s\n' "$token" \
        >"$STATE/api-tokens"
    echo "quickstart: created admin API token in $STATE/api-tokens"
fi
TOKEN="$(awk '!/^#/ && $2 == "admin" { print $3; exit }' "$STATE/api-tokens")"
[ -n "$TOKEN" ] || { echo "quickstart: no admin token in $STATE/api-tokens" >&2; exit 1; }

# wait_until SECONDS CMD...: polls CMD every 0.2 s.
wait_until() {
    local n=$(($1 * 5)); shift
    while [ "$n" -gt 0 ]; do
        if "$@"; then return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

# The daemons get a clean environment: stray FL0WER_* variables (FL0WER_CONFIG of the CLI, ...)
# must not change their settings.
DENV=(env -i "PATH=$PATH" "HOME=${HOME:-/}")

# ---- hub
if pid_alive hub; then
    echo "quickstart: fl0wer-hub already running (pid $(cat "$STATE/hub.pid"))"
else
    rm -f "$STATE/hub.ready"
    # the heap setting the systemd unit ships: huge pages for the hub (docs/hub.md, Memory)
    setsid "${DENV[@]}" GLIBC_TUNABLES=glibc.malloc.hugetlb=1 "$HUB" --listen "tcp://127.0.0.1:$HUB_PORT" --data "$STATE/hub-data" \
        --authorized-edges "$STATE/authorized_edges" --api "127.0.0.1:$API_PORT" \
        --api-tokens "$STATE/api-tokens" --ready-file "$STATE/hub.ready" \
        >>"$STATE/hub.log" 2>&1 </dev/null &
    echo $! >"$STATE/hub.pid"
    hub_ready() { grep -q '^api ' "$STATE/hub.ready" 2>/dev/null || ! pid_alive hub; }
    if ! wait_until 60 hub_ready || ! pid_alive hub; then
        echo "quickstart: fl0wer-hub did not start; last lines of $STATE/hub.log:" >&2
        tail -n 20 "$STATE/hub.log" >&2
        exit 1
    fi
    echo "quickstart: fl0wer-hub started (pid $(cat "$STATE/hub.pid"))"
fi
FP="$(openssl x509 -noout -fingerprint -sha256 -in "$STATE/hub-data/api-cert.pem" 2>/dev/null |
      sed 's/.*=//')" || true
if [ -z "$FP" ]; then
    FP="$(grep -o 'sha-256 fingerprint [0-9A-F:]*' "$STATE/hub.log" | tail -n 1 | awk '{print $3}')"
fi

# ---- edge: short buckets so flows reach the hub within seconds
if pid_alive edge; then
    echo "quickstart: fl0wer-edge already running (pid $(cat "$STATE/edge.pid"))"
else
    setsid "${DENV[@]}" "$EDGE" --listen "$UDP" --hub "tcp://127.0.0.1:$HUB_PORT" \
        --key "$STATE/edge.key" --spool "$STATE/edge-spool" --bucket 5 --bucket-grace 1 \
        --batch-age-ms 500 --rcvbuf 8M --stats-interval 300 \
        >>"$STATE/edge.log" 2>&1 </dev/null &
    echo $! >"$STATE/edge.pid"
    edge_ready() { grep -q "listening on udp $UDP" "$STATE/edge.log" 2>/dev/null || ! pid_alive edge; }
    if ! wait_until 30 edge_ready || ! pid_alive edge; then
        echo "quickstart: fl0wer-edge did not start; last lines of $STATE/edge.log:" >&2
        tail -n 20 "$STATE/edge.log" >&2
        exit 1
    fi
    echo "quickstart: fl0wer-edge started (pid $(cat "$STATE/edge.pid"))"
fi

SERVER="https://127.0.0.1:$API_PORT"
cli() { "$CLI" "$@" --server "$SERVER" --token "$TOKEN" --fingerprint "$FP"; }
# A CLI config file for this hub (FL0WER_CONFIG names it; see docs/api.md).
printf 'server = %s\ntoken = %s\nfingerprint = %s\n' "$SERVER" "$TOKEN" "$FP" >"$STATE/cli.conf"

# ---- demo data
if [ "$DEMO" = 1 ]; then
    to="127.0.0.1:${UDP##*:}"
    caps="$ROOT/tests/data/captures"
    lc="$caps/logstash-codec-netflow"
    # Template files before their data files; all raw files are one exporter.
    files=("$caps"/graylog-plugin-netflow/*.pcap)
    for f in netflow5.dat netflow5_test_juniper_mx80.dat netflow9_test_valid01.dat \
             netflow9_test_juniper_srx_tplopt.dat ipfix.dat ipfix_test_netscaler_tpl.dat \
             ipfix_test_netscaler_data.dat ipfix_test_ixia_tpldata256.dat; do
        files+=("$lc/$f")
    done
    before="$(cli summary --from 1 --to 4102444800 --format csv | tail -n 1 | cut -d, -f3)"
    echo "quickstart: --demo: replaying ${#files[@]} bundled capture files to $to"
    "$REPLAY" --to "$to" --pps 5000 "${files[@]}" >/dev/null
    # Flows of the last few minutes (ending 70 s ago at the latest, so the edge's buckets close
    # right away): 3 exporters, NetFlow v5, v9 and IPFIX, some IPv6.
    start_ms=$(( ($(date +%s) - 190) * 1000 ))
    echo "quickstart: --demo: sending a fl0wer-gen workload of 5000 flows to $to"
    gen_out="$("$GEN" --seed 1 --flows 5000 --exporters 3 --versions 5,9,10 --ipv6-share 0.2 \
        --start "$start_ms" --window 120000 --pps 2000 --send "$to")"
    echo "$gen_out" >"$STATE/demo-gen.json"
    echo "quickstart: --demo: waiting for the flows to reach the hub"
    settled() {
        local now
        now="$(cli summary --from 1 --to 4102444800 --format csv | tail -n 1 | cut -d, -f3)"
        [ "$now" = "${last:-}" ] && [ "$now" != "$before" ] && return 0
        last="$now"
        sleep 2
        return 1
    }
    last=""
    wait_until 60 settled || echo "quickstart: --demo: data still arriving" >&2
fi

addrs="$(hostname -I 2>/dev/null | xargs || true)"
[ -n "$addrs" ] || addrs="this host's addresses"
cat <<EOF

Fl0wer is running (state in $STATE, logs hub.log / edge.log there).

Point your exporters (NetFlow v5, v9 or IPFIX) at UDP port ${UDP##*:} of: $addrs
(the edge listens on $UDP).

Try:
  export FL0WER_SERVER=$SERVER
  export FL0WER_TOKEN=$TOKEN
  export FL0WER_FINGERPRINT=$FP
  $CLI summary
  $CLI top --by dstport
  $CLI top --by srcip --from 2000-01-01      # includes the old bundled sample captures
  $CLI exporters
  $CLI edges

Or, without exporting anything:
  $CLI top --server $SERVER --token $TOKEN --fingerprint $FP

Stop it:  ./scripts/quickstart.sh --stop$( [ "$STATE" = "$ROOT/.fl0wer" ] || echo " --state $STATE")
EOF
