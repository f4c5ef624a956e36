# shellcheck shell=bash
# lib.sh - shell helpers shared by the benchmark scripts in tests/bench (sourced, not run).
#
# free_port KIND       a free 127.0.0.1 port: KIND 1 = TCP, 2 = UDP (socket type numbers)
# cpu_s PID            utime + stime of PID in seconds (2 decimals), from /proc/PID/stat
# cpu_ticks PID        the same in clock ticks (integer; 0 when PID is gone)
# wait_until SECS CMD  run CMD every 0.2 s until it succeeds (0) or SECS pass (1)
# now_s                wall clock, seconds with nanoseconds (for elapsed times)
# machine_line         "nproc=N, model=..., load average at start: a b c"
# bench_workdir NAME   a fresh /tmp/fl0wer-NAME-XXXXXX in $WORK, removed on exit (or INT/TERM)
#                      after every process given to `track PID` is killed; the pids are kept in
#                      $WORK/pids, so steps run in subshells can track processes too
TICK=$(getconf CLK_TCK)

free_port() {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,int(sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

cpu_s() { awk -v t="$TICK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

wait_until() {
    local n=$(($1 * 5)); shift
    while [ "$n" -gt 0 ]; do
        if "$@"; then return 0; fi
        sleep 0.2
        n=$((n - 1))
    done
    return 1
}

# hub_api READY DATA LOG: waits (60 s) for a started fl0wer-hub's "api" line in its ready file
# READY, then sets API (https://127.0.0.1:PORT) and FP (the SHA-256 fingerprint of DATA's
# self-signed api-cert.pem, as --fingerprint takes it); exits 1 with LOG's tail if it never comes.
hub_api() {
    wait_until 60 grep -qs '^api ' "$1" || { echo "hub did not start:" >&2; tail -5 "$3" >&2; exit 1; }
    API=$(sed -n 's/^api //p' "$1")
    FP=$(openssl x509 -noout -fingerprint -sha256 -in "$2/api-cert.pem" | sed 's/.*=//')
}

now_s() { date +%s.%N; }

machine_line() {
    local model
    model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "nproc=$(nproc), model=${model:-unknown}, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}

bench_workdir() {
    WORK=$(mktemp -d "/tmp/fl0wer-$1-XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}
track() { echo "$1" >>"$WORK/pids"; }
bench_cleanup() {
    local p
    if [ -f "$WORK/pids" ]; then while read -r p; do kill -9 "$p" 2>/dev/null; done <"$WORK/pids"; fi
    rm -rf "$WORK"
}
