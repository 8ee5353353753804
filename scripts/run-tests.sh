#!/usr/bin/env bash
# Runs the Check suites given as arguments, then (unless SKIP_CLI=1) every tests/cli/test_*.sh
# end-to-end script against $DPMLP. Prints each suite's result and a closing
# "N passed, M failed" line counting suites; exits non-zero if any failed.
#
# TEST_JOBS suites run at once (default: the CPUs this process may use). Each one's output goes
# to a file and is printed whole, in the order given, so nothing interleaves. A script whose
# header has the line "# run-tests: alone" runs first and by itself, in order: those run make
# targets that write into the shared build folder, or build what a later script reads.
set -u
jobs=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run-tests.sh: TEST_JOBS='$jobs' is not a positive integer" >&2; exit 64; }

suites=("$@") alone=()
if [ "${SKIP_CLI:-0}" != 1 ]; then
    for s in tests/cli/test_*.sh; do
        [ -e "$s" ] || continue
        if grep -q '^# run-tests: alone' "$s"; then alone+=("$s"); else suites+=("$s"); fi
    done
fi

passed=0 failed=0 failures=()
tally() { # tally SUITE RC
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$1"); fi
}
run() { if [[ $1 == *.sh ]]; then bash "$1"; else "$1"; fi; }
# secs START END: the seconds between two $EPOCHREALTIME readings, to 0.1 s.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for s in "${alone[@]}"; do
    echo "== $(basename "$s")"
    t0=$EPOCHREALTIME
    run "$s"; rc=$?
    echo "-- $(basename "$s"): $(secs "$t0" "$EPOCHREALTIME") s"
    tally "$s" $rc
done

out=$(mktemp -d "${TMPDIR:-/tmp}/run-tests.XXXXXX") || exit 70
pids=()
# On ^C or TERM: stop every running suite's whole process group (each runs under setsid:
# background jobs of a script ignore SIGINT, so the terminal's ^C would not reach them).
stop() {
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
    wait; rm -rf "$out"; exit "$1"
}
trap 'stop 130' INT
trap 'stop 143' TERM

next=0   # the next suite whose output is printed
flush() {
    while [ "$next" -lt "${#suites[@]}" ] && [ -e "$out/$next.rc" ]; do
        read -r rc t0 t1 <"$out/$next.rc"
        echo "== $(basename "${suites[$next]}")"
        cat "$out/$next.out"
        echo "-- $(basename "${suites[$next]}"): $(secs "$t0" "$t1") s"
        tally "${suites[$next]}" "$rc"
        next=$((next + 1))
    done
}
running=0
for i in "${!suites[@]}"; do
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); flush; fi
    # "rc start end" appears in the rc file (by rename) only once the suite's output is complete.
    setsid bash -c "$(declare -f run); t0=\$EPOCHREALTIME; run \"\$1\" >\"\$2.out\" 2>&1;
                    echo \$? \$t0 \$EPOCHREALTIME >\"\$2.rc.tmp\"; mv \"\$2.rc.tmp\" \"\$2.rc\"" \
        _ "${suites[$i]}" "$out/$i" </dev/null &
    pids+=($!) running=$((running + 1))
done
wait
flush
rm -rf "$out"

[ ${#failures[@]} -gt 0 ] && printf 'FAILED: %s\n' "${failures[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
