#!/usr/bin/env bash
# test_deploy.sh - checks deploy/ against the real programs:
#  1. static checks (check_static.py): options/variables in the examples, units, Dockerfiles and
#     compose.yaml exist in the daemons' --help; hardening; Debian packages; library coverage;
#  2. systemd-analyze verify of both units, systemd-sysusers + systemd-tmpfiles into a temp root;
#  3. the example configs and env files are accepted: each daemon starts with them (paths and
#     ports overridden to temp dirs and loopback), gets ready, and exits 0 on SIGTERM;
#  4. the procedures of docs/deploy.md: make-secrets.sh's CA, hub certificate and edge keys carry
#     two edges' flows over tls+tcp:// to the hub (totals checked through the API with --cacert),
#     revoking an edge (delete its line, SIGHUP) makes the hub reject it, and rotating an API
#     token (add, SIGHUP, remove, SIGHUP) switches which token works.
# Needs the built fl0wer-hub, fl0wer-edge, fl0wer and fl0wer-gen, python3 and openssl.
set -uo pipefail

SRC=${FL0WER_SOURCE_DIR:?FL0WER_SOURCE_DIR not set}
BIN=${FL0WER_BINARY_DIR:?FL0WER_BINARY_DIR not set}
HUB=$BIN/hub/daemon/fl0wer-hub
EDGE=$BIN/edge/daemon/fl0wer-edge
CLI=$BIN/tools/fl0wer/fl0wer
GEN=$BIN/tools/fl0wer-gen/fl0wer-gen
CONF=$SRC/deploy/config
failures=0
pids=()

W=$(mktemp -d /tmp/fl0wer-deploy.XXXXXX)
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    if [ -n "${FL0WER_KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

t0=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }
fail() { echo "FAIL: $* [$(elapsed)]"; failures=$((failures + 1)); }
ok() { echo "ok: $* [$(elapsed)]"; }

for b in "$HUB" "$EDGE" "$CLI" "$GEN"; do
    [ -x "$b" ] || { echo "FAIL: $b not built"; exit 1; }
done
command -v openssl >/dev/null || { echo "FAIL: openssl is needed"; exit 1; }

# The interpreter itself (a pyenv-style shim costs a second per call on a loaded machine).
PY=$(python3 -c 'import sys; print(sys.executable)') || { echo "FAIL: python3 is needed"; exit 1; }

free_port() { # free_port tcp|udp: a port free on 127.0.0.1 right now
    "$PY" -c 'import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

# wait_for COND_CMD SECONDS: polls every 0.1 s.
wait_for() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        eval "$1" && return 0
        sleep 0.1
    done
    return 1
}

# stop PID NAME: SIGTERM, then expects exit status 0 within 15 s.
stop() {
    local pid=$1 name=$2 rc i
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
        fail "$name did not stop within 15 s of SIGTERM"
        return 1
    fi
    wait "$pid"
    rc=$?
    [ "$rc" -eq 0 ] || { fail "$name exited $rc after SIGTERM"; return 1; }
    return 0
}

# --- 1. make-secrets.sh (used by the static checks and by part 4) ------------------------------
S=$W/secrets
if FL0WER=$CLI "$SRC/deploy/container/make-secrets.sh" --dir "$S" >"$W/make-secrets.log" 2>&1 &&
   [ "$(wc -l <"$S/hub/authorized_edges")" -eq 2 ] &&
   openssl verify -CAfile "$S/ca/ca.pem" "$S/hub/hub-cert.pem" >/dev/null &&
   grep -q '^admin admin [0-9a-f]\{64\}$' "$S/hub/api-tokens"; then
    ok "make-secrets.sh: CA, hub certificate, 2 edge keys, authorized_edges, api-tokens"
else
    fail "make-secrets.sh"; cat "$W/make-secrets.log"
fi

# --- 2. static checks --------------------------------------------------------------------------
"$PY" "$SRC/tests/deploy/check_static.py" "$SRC" "$BIN" "$S" || fail "static checks"
echo "static checks done [$(elapsed)]"

# --- 3. systemd --------------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null; then
    # The units name /usr/local/bin/...; verify copies pointing at this build's binaries (the
    # analyzer refuses an ExecStart that does not exist).
    mkdir -p "$W/units"
    for u in fl0wer-hub fl0wer-edge; do
        sed -e "s|/usr/local/bin/fl0wer-hub|$HUB|" -e "s|/usr/local/bin/fl0wer-edge|$EDGE|" \
            "$SRC/deploy/systemd/$u.service" >"$W/units/$u.service"
    done
    if out=$(systemd-analyze verify "$W/units/fl0wer-hub.service" "$W/units/fl0wer-edge.service" 2>&1) &&
       [ -z "$out" ]; then
        ok "systemd-analyze verify: both units clean"
    else
        fail "systemd-analyze verify: $out"
    fi
    # Exposure score (0 = fully locked down, 10 = none): docs/deploy.md promises "OK" (<= 2.0).
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        if systemd-analyze security --offline=yes --threshold=20 "$W/units/fl0wer-hub.service" \
               "$W/units/fl0wer-edge.service" >"$W/security.log" 2>&1; then
            ok "systemd-analyze security: $(grep -o 'fl0wer-[a-z]*.service: [0-9.]*' "$W/security.log" | tr '\n' ' ')(<= 2.0)"
        else
            fail "systemd-analyze security: exposure above 2.0: $(grep 'Overall' "$W/security.log")"
        fi
    else
        echo "SKIPPED: systemd-analyze security (no --offline in this systemd)"
    fi
else
    echo "SKIPPED: systemd-analyze verify (systemd-analyze absent)"
fi
if ! command -v systemd-sysusers >/dev/null || ! command -v systemd-tmpfiles >/dev/null; then
    echo "SKIPPED: sysusers/tmpfiles check (systemd-sysusers or systemd-tmpfiles absent)"
elif [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: sysusers/tmpfiles check (creating files owned by other users needs root)"
else
    R=$W/root
    mkdir -p "$R/etc"
    if systemd-sysusers --root="$R" "$SRC/deploy/systemd/fl0wer.sysusers.conf" >/dev/null 2>&1 &&
       systemd-tmpfiles --root="$R" --create "$SRC/deploy/systemd/fl0wer.tmpfiles.conf" 2>"$W/tmpfiles.err" &&
       hub_uid=$(awk -F: '$1=="fl0wer"{print $3}' "$R/etc/passwd") &&
       edge_uid=$(awk -F: '$1=="fl0wer-edge"{print $3}' "$R/etc/passwd") &&
       [ -n "$hub_uid" ] && [ -n "$edge_uid" ] &&
       [ "$(stat -c %u:%a "$R/var/lib/fl0wer")" = "$hub_uid:750" ] &&
       [ "$(stat -c %u:%a "$R/var/lib/fl0wer-edge/spool")" = "$edge_uid:750" ]; then
        ok "sysusers creates fl0wer ($hub_uid) and fl0wer-edge ($edge_uid); tmpfiles their state dirs"
    else
        fail "sysusers/tmpfiles into a temp root: $(cat "$W/tmpfiles.err" 2>/dev/null)"
    fi
fi

# --- 4. example configs and env files start the daemons ----------------------------------------
# Uncommented variants: every "#name = value" / "#FL0WER_X=value" line enabled.
sed -E 's/^#([a-z][a-z0-9-]*[[:space:]]*=)/\1/' "$CONF/hub.conf.example" >"$W/hub-all.conf"
sed -E 's/^#([a-z][a-z0-9-]*[[:space:]]*=)/\1/' "$CONF/edge.conf.example" >"$W/edge-all.conf"
sed -n 's/^# \(ed25519 .*\)$/\1/p' "$CONF/authorized_edges.example" >"$W/authorized_edges"
sed -n 's/^# \([^ ]* \(read\|admin\) [^ ]*\)$/\1/p' "$CONF/api-tokens.example" >"$W/api-tokens"
[ "$(wc -l <"$W/authorized_edges")" -eq 2 ] || fail "authorized_edges.example: want 2 example lines"
[ "$(wc -l <"$W/api-tokens")" -eq 2 ] || fail "api-tokens.example: want 2 example lines"

# run_hub NAME ENV-FILE ARGS...: starts the hub with the (uncommented) env file, loopback ports
# and temp paths; checks that it gets ready and stops with status 0.
run_hub() {
    local name=$1 envfile=$2 d=$W/$1
    shift 2
    mkdir -p "$d"
    env -i PATH="$PATH" $(sed -n 's/^#\{0,1\}\(FL0WER_[A-Z_]*=.*\)$/\1/p' "$envfile" | grep -v '^FL0WER_HUB_CONFIG=') \
        "$HUB" "$@" --listen tcp://127.0.0.1:0 --data "$d/data" --api 127.0.0.1:0 \
        --authorized-edges "$W/authorized_edges" --api-tokens "$W/api-tokens" \
        --ready-file "$d/ready" >"$d/log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    if wait_for "[ -s '$d/ready' ] || ! kill -0 $pid 2>/dev/null" 10 && [ -s "$d/ready" ] &&
       grep -q '^api https://127.0.0.1:' "$d/ready"; then
        stop "$pid" "fl0wer-hub ($name)" && ok "fl0wer-hub accepts $name"
    else
        fail "fl0wer-hub did not start with $name"
        kill -KILL "$pid" 2>/dev/null
        cat "$d/log"
    fi
}
empty_env=$W/empty.env
: >"$empty_env"
run_hub hub.conf.example "$empty_env" --config "$CONF/hub.conf.example"
# All settings enabled: the files and the webhook the example names are replaced by real ones.
printf '192.0.2.0/24\n2001:db8::/32\n' >"$W/blocklist.txt"
files=(--tls-cert "$S/hub/hub-cert.pem" --tls-key "$S/hub/hub-key.pem"
       --api-cert "$S/hub/hub-cert.pem" --api-key "$S/hub/hub-key.pem"
       --blocklist "$W/blocklist.txt" --webhook-ca "$S/ca/ca.pem"
       --webhook "https://localhost:$(free_port tcp)/alerts")
run_hub "hub.conf.example (all settings)" "$empty_env" --config "$W/hub-all.conf" "${files[@]}" \
    --no-api=false --no-analyzer=false
# hub.env.example: its values (paths replaced through flags, which win over the environment).
run_hub hub.env.example "$CONF/hub.env.example" "${files[@]}" --no-api=false --no-analyzer=false

# run_edge NAME ENV-FILE ARGS...: as run_hub; ready = "listening on udp" logged.
run_edge() {
    local name=$1 envfile=$2 d=$W/$1 udp tcp
    shift 2
    mkdir -p "$d"
    udp=$(free_port udp)
    tcp=$(free_port tcp)
    : >"$d/log"
    env -i PATH="$PATH" $(sed -n 's/^#\{0,1\}\(FL0WER_[A-Z_]*=.*\)$/\1/p' "$envfile" | grep -v '^FL0WER_EDGE_CONFIG=') \
        "$EDGE" "$@" --listen "127.0.0.1:$udp" --hub "tcp://127.0.0.1:$tcp" \
        --key "$S/site-a/edge.key" --spool "$d/spool" --ready-file "$d/ready" --shutdown-wait-ms 200 >"$d/log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    if wait_for "grep -q 'listening on udp' '$d/log' || ! kill -0 $pid 2>/dev/null" 10 &&
       grep -q 'listening on udp' "$d/log"; then
        stop "$pid" "fl0wer-edge ($name)" && ok "fl0wer-edge accepts $name"
    else
        fail "fl0wer-edge did not start with $name"
        kill -KILL "$pid" 2>/dev/null
        cat "$d/log"
    fi
}
run_edge edge.conf.example "$empty_env" --config "$CONF/edge.conf.example"
run_edge "edge.conf.example (all settings)" "$empty_env" --config "$W/edge-all.conf" \
    --hub-ca "$S/ca/ca.pem"
run_edge edge.env.example "$CONF/edge.env.example" --hub-ca "$S/ca/ca.pem"

# --- 5. the multi-site procedure over tls+tcp:// -----------------------------------------------
T=$W/tls
mkdir -p "$T"
"$HUB" --listen tls+tcp://127.0.0.1:0 --tls-cert "$S/hub/hub-cert.pem" --tls-key "$S/hub/hub-key.pem" \
    --api-cert "$S/hub/hub-cert.pem" --api-key "$S/hub/hub-key.pem" --api 127.0.0.1:0 \
    --authorized-edges "$S/hub/authorized_edges" --api-tokens "$S/hub/api-tokens" \
    --data "$T/data" --ready-file "$T/ready" >"$T/hub.log" 2>&1 &
hub_pid=$!
pids+=("$hub_pid")
if ! wait_for "[ -s '$T/ready' ]" 10; then
    fail "tls hub did not start"; cat "$T/hub.log"
    echo "$failures failure(s)"; exit 1
fi
ingest_port=$(sed -n 's|^tls+tcp://127.0.0.1:||p' "$T/ready")
api_port=$(sed -n 's|^api https://127.0.0.1:||p' "$T/ready")
# The hub certificate names "localhost" (make-secrets.sh's default --hub-name list): the edges
# and the CLI must use that name, as remote edges use hub.example.net.
api() { "$CLI" "$@" --server "https://localhost:$api_port" --cacert "$S/ca/ca.pem" --format json; }
start_ms=$(( ($(date +%s) - 600) * 1000 ))

# send_site SITE FLOWS SEED [SHUTDOWN-WAIT-MS]: runs SITE's edge, sends FLOWS generated flows, stops it (SIGTERM
# flushes the buckets and waits for the acks). Sets sent to fl0wer-gen's flow total.
send_site() {
    local site=$1 d=$T/$1.$3 port
    mkdir -p "$d"
    port=$(free_port udp)
    : >"$d/log"
    "$EDGE" --listen "127.0.0.1:$port" --hub "tls+tcp://localhost:$ingest_port" \
        --hub-ca "$S/$site/ca.pem" --key "$S/$site/edge.key" --spool "$d/spool" \
        --shutdown-wait-ms "${4:-5000}" >"$d/log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_for "grep -q 'listening on udp' '$d/log'" 10 || fail "edge $site did not start"
    "$GEN" --seed "$3" --flows "$2" --exporters 2 --versions 5,10 --start "$start_ms" \
        --send "127.0.0.1:$port" >"$d/gen.json" || fail "fl0wer-gen to $site"
    sleep 0.3
    stop "$pid" "fl0wer-edge $site"
    sent=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["flows"])' "$d/gen.json")
}
json_get() { "$PY" -c 'import json,sys
d=json.load(sys.stdin)
for k in sys.argv[1:]: d=d[int(k)] if isinstance(d,list) else d[k]
print(d)' "$@"; }
edge_records() { # edge_records NAME: records the hub stored from edge NAME (0 if unknown)
    FL0WER_TOKEN=$1 api edges | "$PY" -c 'import json,sys
print(sum(e["records"] for e in json.load(sys.stdin)["edges"] if e["name"]==sys.argv[1]))' "$2"
}

token=$(cat "$S/admin-token")
send_site site-a 400 1
fa=$sent
send_site site-b 300 2
fb=$sent
total=$(FL0WER_TOKEN=$token api summary --from "$((start_ms / 1000 - 60))" --to now | json_get flows)
ra=$(edge_records "$token" site-a)
rb=$(edge_records "$token" site-b)
if [ "$fa" = 400 ] && [ "$fb" = 300 ] && [ "$total" = 700 ] && [ "$ra" -gt 0 ] && [ "$rb" -gt 0 ]; then
    ok "tls+tcp: site-a and site-b delivered 400 + 300 flows; the hub reports $total ($ra + $rb records)"
else
    fail "tls+tcp delivery: generated $fa + $fb flows, hub summary $total, records site-a $ra site-b $rb"
    tail -5 "$T/hub.log"
fi

# Revoke site-b: delete its line, reload; the hub then rejects its batches as an unknown key
# (logging the key) and stores nothing more.
b_key=$(awk '$3=="site-b"{print $2}' "$S/hub/authorized_edges")
sed -i '/ site-b$/d' "$S/hub/authorized_edges"
kill -HUP "$hub_pid"
wait_for "grep -q 'reloaded .*: 1 authorized edges' '$T/hub.log'" 5 || fail "hub did not reload the authorized edges"
send_site site-b 100 3 1000
total2=$(FL0WER_TOKEN=$token api summary --from "$((start_ms / 1000 - 60))" --to now | json_get flows)
if grep -qF "rejected batch from edge unknown: unknown_key (key ed25519 $b_key)" "$T/hub.log" &&
   [ "$total2" = 700 ] && [ "$(edge_records "$token" site-b)" = "$rb" ]; then
    ok "revoked site-b: the hub rejects its key and still reports $total2 flows"
else
    fail "revoking site-b: hub flows $total2 (want 700); hub log: $(grep -c unknown_key "$T/hub.log") unknown_key lines"
fi

# Rotate the API token: add the new one, reload, switch, remove the old one, reload.
new=$(openssl rand -hex 32)
echo "admin2 admin $new" >>"$S/hub/api-tokens"
kill -HUP "$hub_pid"
sleep 0.5
if ! FL0WER_TOKEN=$new api status >/dev/null 2>&1; then fail "new token refused after reload"; fi
sed -i "/ $token\$/d" "$S/hub/api-tokens"
kill -HUP "$hub_pid"
sleep 0.5
if FL0WER_TOKEN=$new api status >/dev/null 2>&1 && ! FL0WER_TOKEN=$token api status >/dev/null 2>&1; then
    ok "token rotation: the new token works, the removed one is refused"
else
    fail "token rotation"
fi
stop "$hub_pid" "tls fl0wer-hub" || tail -5 "$T/hub.log"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "deploy: all checks passed"
