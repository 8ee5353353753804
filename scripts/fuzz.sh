#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) against an ASan+UBSan, coverage-
# instrumented copy of the library under build/fuzz/, seeds the corpora, runs each harness
# for SECONDS and copies every new crash input to tests/fuzz/regressions/<harness>/.
#
# Usage: scripts/fuzz.sh [SECONDS]   (default $FUZZ_SECONDS, else 60; 20 is the CI smoke run)
# Env:   FUZZ_CC (clang), FUZZ_HARNESSES ("idx_raw idx_gz csv ckpt flags"), FUZZ_JOBS (2:
#        compiler processes, and harnesses fuzzing at once)
# Prints "harness: N execs, M new units, K crashes" per harness; exits 1 if any crashed.
# A regression file named known-* is a reported, not yet fixed contract violation: hitting it
# again is printed as "known" and does not fail the run (libFuzzer is restarted for the rest
# of the harness's time), so CI does not go red at random on a bug already on file. Memory
# errors, leaks and timeouts never count as known.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${1:-${FUZZ_SECONDS:-60}}
CC=${FUZZ_CC:-clang}
JOBS=${FUZZ_JOBS:-2}
HARNESSES=${FUZZ_HARNESSES:-"idx_raw idx_gz csv ckpt flags"}
OUT=build/fuzz
REGRESSIONS=tests/fuzz/regressions

case $RUN_SECONDS in '' | *[!0-9]*) echo "fuzz: SECONDS must be a whole number, got '$RUN_SECONDS'" >&2; exit 64 ;; esac
command -v "$CC" >/dev/null || { echo "fuzz: $CC not found (libFuzzer needs clang)" >&2; exit 69; }

PKG_CFLAGS=$(pkg-config --cflags hwloc zlib 2>/dev/null || true)
PKG_LIBS=$(pkg-config --libs hwloc zlib 2>/dev/null || echo "-lhwloc -lz")
BASE="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -fopenmp -pthread -Iinclude -Isrc/base -Isrc/math -Isrc/io -Isrc/platform -Isrc/engine -Isrc/cli -Itests $PKG_CFLAGS"
# The library gets coverage instrumentation (fuzzer-no-link) but not libFuzzer's main, so the
# fuzzer is guided by the loaders' branches, not only by the harness's.
LIB_SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
BIN_SAN="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
export BASE LIB_SAN CC OUT

# ---- build ----
mkdir -p "$OUT/obj" "$OUT/bin"
stamp="$CC $BASE $LIB_SAN"
[ "$(cat "$OUT/obj/flags" 2>/dev/null)" = "$stamp" ] || { rm -f "$OUT"/obj/*.o; echo "$stamp" > "$OUT/obj/flags"; }
# Every library room plus the CLI's rooms (the flags harness uses the parser); not main().
lib_sources() {
    for src in src/*.c src/*/*.c; do
        case $src in src/platform/dist_mpi.c|src/cli/main.c) continue ;; esac
        echo "$src"
    done
}
newest_header=$(stat -c %Y src/*/*.h include/*.h | sort -n | tail -1)
stale=()
for src in $(lib_sources); do
    obj=$OUT/obj/$(basename "${src%.c}").o
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$(stat -c %Y "$obj")" -lt "$newest_header" ]; then
        stale+=("$src")
    fi
done
compile_one() {
    local src=$1 isa=""
    case $src in
        *_avx512.c) isa="-mavx512f -mavx512vl -mavx512bw -mavx512dq -mfma -mavx2" ;;
        *_avx2.c) isa="-mavx2 -mfma" ;;
    esac
    # shellcheck disable=SC2086 # flag lists are meant to split
    $CC $BASE $LIB_SAN -Wall -Wextra $isa -c "$src" -o "$OUT/obj/$(basename "${src%.c}").o"
}
export -f compile_one
if [ ${#stale[@]} -gt 0 ]; then
    echo "fuzz: compiling ${#stale[@]} library sources with $CC ($LIB_SAN)"
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash
    printf '%s\n' "${stale[@]}" | xargs -P "$JOBS" -I{} bash -c 'compile_one "$1"' _ {}
fi
lib=$OUT/libdpmlp-fuzz.a
objs=()
for src in $(lib_sources); do
    objs+=("$OUT/obj/$(basename "${src%.c}").o")
done
if [ ! -e "$lib" ] || [ ${#stale[@]} -gt 0 ]; then rm -f "$lib"; ar rcs "$lib" "${objs[@]}"; fi
for h in $HARNESSES; do
    src=tests/fuzz/fuzz_$h.c bin=$OUT/bin/fuzz_$h
    [ -f "$src" ] || { echo "fuzz: no harness $src" >&2; exit 64; }
    if [ ! -e "$bin" ] || [ "$lib" -nt "$bin" ] || [ "$src" -nt "$bin" ] ||
        [ tests/fuzz/fuzz_targets.h -nt "$bin" ] || [ tests/fuzz/fuzz_harness.h -nt "$bin" ]; then
        # shellcheck disable=SC2086
        $CC $BASE $BIN_SAN -Wall -Wextra -Werror "$src" "$lib" -o "$bin" $PKG_LIBS -lm
    fi
done

# ---- corpora ----
scripts/fuzz-corpus.sh "$OUT" >/dev/null

# ---- run ----
# Leaks count as crashes; UBSan already aborts (-fno-sanitize-recover), with a stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$OUT/logs"

# The known-* file of harness $1 whose contract violation is line $2, if any.
known_match() {
    local k
    [ -n "$2" ] || return 0
    for k in "$REGRESSIONS/$1"/known-*; do
        [ -f "$k" ] || continue
        if [ "$("$OUT/bin/fuzz_$1" "$k" 2>&1 | grep -m1 'contract violated')" = "$2" ]; then
            echo "$k"
            return 0
        fi
    done
}

# fuzz_one HARNESS: runs it for RUN_SECONDS (restarting libFuzzer after a known bug) and
# leaves its summary lines in logs/HARNESS.summary and its crash count in logs/HARNESS.crashes.
fuzz_one() {
    local h=$1
    corpus=$OUT/corpus/$h art=$OUT/artifacts/$h
    rm -rf "$art" "$OUT/logs/$h".*.log "$OUT/logs/$h.log"
    mkdir -p "$art"
    dict=()
    [ -f "$OUT/dict/$h.dict" ] && dict=(-dict="$OUT/dict/$h.dict")
    execs=0 newu=0 crashes=0 known_hits=0 try=0 notes=()
    deadline=$((SECONDS + RUN_SECONDS))
    while :; do
        left=$((deadline - SECONDS))
        [ "$left" -ge 1 ] || break
        try=$((try + 1))
        log=$OUT/logs/$h.$try.log
        mkdir -p "$art/$try"
        set +e
        "$OUT/bin/fuzz_$h" -max_total_time="$left" -rss_limit_mb=2048 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$art/$try/" "${dict[@]}" "$corpus" > "$log" 2>&1
        rc=$?
        set -e
        e=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)
        [ -n "$e" ] || e=$(sed -n 's/^Done \([0-9]*\) runs in .*/\1/p' "$log" | tail -1)
        n=$(sed -n 's/^stat::new_units_added: *\([0-9]*\).*/\1/p' "$log" | tail -1)
        execs=$((execs + ${e:-0})) newu=$((newu + ${n:-0}))
        [ "$rc" -eq 0 ] && break
        found=()
        for f in "$art/$try"/crash-* "$art/$try"/leak-* "$art/$try"/timeout-* "$art/$try"/oom-*; do
            [ -e "$f" ] && found+=("$f")
        done
        why=$(grep -m1 'contract violated' "$log" || true)
        known=""
        case ${found[0]:-} in */crash-*) known=$(known_match "$h" "$why") ;; esac
        if [ -n "$known" ] && [ "$try" -lt 20 ]; then
            known_hits=$((known_hits + 1))
            [ "$known_hits" -eq 1 ] && notes+=("  known: $known (${why#*contract violated: })")
            continue
        fi
        # A new finding (or a harness that died without leaving an input: its log says why).
        crashes=$((crashes + (${#found[@]} > 0 ? ${#found[@]} : 1)))
        notes+=("  libFuzzer exit $rc; log: $log")
        notes+=("  $(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|contract violated|SUMMARY' "$log" || true)")
        for f in "${found[@]}"; do
            mkdir -p "$REGRESSIONS/$h"
            cp "$f" "$REGRESSIONS/$h/"
            notes+=("  saved $REGRESSIONS/$h/$(basename "$f") (replay: $OUT/bin/fuzz_$h $f)")
        done
        break
    done
    extra=""
    [ "$known_hits" -gt 0 ] && extra=" ($known_hits hits of known bugs)"
    {
        echo "$h: $execs execs, $newu new units, $crashes crashes$extra"
        [ ${#notes[@]} -eq 0 ] || printf '%s\n' "${notes[@]}"
    } > "$OUT/logs/$h.summary"
    echo "$crashes" > "$OUT/logs/$h.crashes"
}

# Each libFuzzer process is single-threaded: JOBS harnesses run at once, each for its whole
# RUN_SECONDS, so the smoke run takes ceil(harnesses / JOBS) x RUN_SECONDS, not the sum.
running=0
for h in $HARNESSES; do
    rm -f "$OUT/logs/$h.summary" "$OUT/logs/$h.crashes"
    fuzz_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
# Summaries in the harnesses' order; a harness that left none died in this script itself.
total_crashes=0
for h in $HARNESSES; do
    if [ -f "$OUT/logs/$h.crashes" ]; then
        cat "$OUT/logs/$h.summary"
        total_crashes=$((total_crashes + $(cat "$OUT/logs/$h.crashes")))
    else
        echo "$h: the run stopped before its summary (see $OUT/logs/$h.*.log)"
        total_crashes=$((total_crashes + 1))
    fi
done
echo "fuzz: ${RUN_SECONDS}s per harness; $total_crashes crashes"
[ "$total_crashes" -eq 0 ]
