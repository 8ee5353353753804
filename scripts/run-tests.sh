#!/usr/bin/env bash
# Runs the Check suites given as arguments, then (unless SKIP_CLI=1) every tests/cli/test_*.sh
# end-to-end script against $DPMLP. Prints each suite's result and a closing
# "N passed, M failed" line counting suites; exits non-zero if any failed.
set -u
passed=0 failed=0 failures=()
for t in "$@"; do
    echo "== $(basename "$t")"
    if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$t"); fi
done
if [ "${SKIP_CLI:-0}" != 1 ]; then
    for s in tests/cli/test_*.sh; do
        [ -e "$s" ] || continue
        echo "== $(basename "$s")"
        if bash "$s"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$s"); fi
    done
fi
[ ${#failures[@]} -gt 0 ] && printf 'FAILED: %s\n' "${failures[@]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
