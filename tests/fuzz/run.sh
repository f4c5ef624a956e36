#!/usr/bin/env bash
# Builds every libFuzzer harness (clang, -DFL0WER_FUZZ=ON, ASan + UBSan) and runs each for a
# bounded time, seeded with tests/fuzz/seeds/<harness>/, the bundled captures and, when present,
# ../shared/testdata/flows; tests/fuzz/dicts/<harness>.dict, when present, is its dictionary.
# A crash fails the run; the crashing input is left in build/fuzz/artifacts/.
# Harnesses run one per core at a time; with 10 harnesses at the default 15 s (scripts/test.sh
# passes 20) the stage stays well under 4 minutes on 2 cores, build included. Run longer
# locally, e.g. tests/fuzz/run.sh 300.
#   usage: tests/fuzz/run.sh [SECONDS_PER_HARNESS]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-15}"
if [ "$secs" = "0" ]; then
    echo "fuzz: SKIPPED (0 seconds requested)"
    exit 0
fi

build="${FL0WER_FUZZ_BUILD:-build/fuzz}" # build folder (override to keep several apart)
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFL0WER_FUZZ=ON \
    -DFL0WER_SANITIZE=ON -DFL0WER_BENCH=OFF >/dev/null
harnesses=$(grep -rhoE 'fl0wer_add_fuzzer\(([a-z0-9_]+)' --include=CMakeLists.txt tests proto hub edge tools \
    | sed 's/.*(//' | sort -u)
if [ -z "$harnesses" ]; then
    echo "fuzz: no harnesses defined"
    exit 1
fi
# shellcheck disable=SC2086
cmake --build "$build" -j"$(nproc)" --target $harnesses

shared="$(cd .. && pwd)/shared/testdata/flows"
mkdir -p "$build/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Runs harness $1 with its seeds; leaves its exit status in $build/$1.rc.
run_one() {
    local h=$1 bin corpus d
    local -a seeds=()
    bin=$(find "$build" -type f -name "$h" -perm -u+x | head -n1)
    corpus="$build/corpus/$h"
    mkdir -p "$corpus"
    for d in "tests/fuzz/seeds/$h" "tests/data/captures"; do
        [ -d "$d" ] && seeds+=("$d")
    done
    if [ -d "$shared" ] && [ -d "tests/fuzz/seeds/$h" ] && [ -f "tests/fuzz/seeds/$h/.use-shared" ]; then
        seeds+=("$shared")
    fi
    local -a opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048
                   -artifact_prefix="$build/artifacts/$h-")
    # tests/fuzz/dicts/<harness>.dict: keywords of a text format (libFuzzer dictionary syntax)
    [ -f "tests/fuzz/dicts/$h.dict" ] && opts+=(-dict="tests/fuzz/dicts/$h.dict")
    echo "fuzz: $h for ${secs}s (seeds: ${seeds[*]:-none})"
    local rc=0
    "$bin" "${opts[@]}" "$corpus" "${seeds[@]}" >"$build/$h.log" 2>&1 || rc=$?
    echo "$rc" >"$build/$h.rc"
}

# One harness per core at a time (FL0WER_FUZZ_JOBS overrides), so the stage's wall time is
# about harnesses x seconds / cores.
jobs="${FL0WER_FUZZ_JOBS:-$(nproc)}"
running=0
for h in $harnesses; do
    rm -f "$build/$h.rc"
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
    run_one "$h" &
    running=$((running + 1))
done
wait || true

fail=0
for h in $harnesses; do
    if [ "$(cat "$build/$h.rc" 2>/dev/null || echo missing)" != "0" ]; then
        echo "fuzz: $h FAILED, see $build/$h.log"
        tail -40 "$build/$h.log"
        fail=1
    else
        echo "fuzz: $h: $(tail -n 1 "$build/$h.log")"
    fi
done
exit $fail
