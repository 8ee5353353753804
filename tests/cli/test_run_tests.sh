#!/usr/bin/env bash
# The test runner itself (scripts/run-tests.sh), on fake suites in a temp tree: suites run
# TEST_JOBS at once but print whole and in the order given, failures are counted and named,
# the exit status says whether all passed, "# run-tests: alone" scripts run first and by
# themselves, and a bad TEST_JOBS is refused with 64.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/cli/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkdir -p tests/cli
# suite NAME SECONDS RC: prints two lines around a sleep, notes start/end in $tmp/trace.
suite() {
    printf '#!/bin/sh\necho "%s start" >>%s/trace\necho "%s one"\nsleep %s\necho "%s two"\necho "%s end" >>%s/trace\nexit %s\n' \
        "$1" "$tmp" "$1" "$2" "$1" "$1" "$tmp" "$3" >"$tmp/$1"
    chmod +x "$tmp/$1"
}
suite slow 0.6 0
suite quick 0.1 1
suite mid 0.3 0

TEST_JOBS=3 SKIP_CLI=1 "$REPO/scripts/run-tests.sh" "$tmp/slow" "$tmp/quick" "$tmp/mid" >"$tmp/out" 2>&1
rc=$?
check "one failing suite: exit status non-zero" [ $rc -ne 0 ]
check "closing line counts suites: 2 passed, 1 failed" grep -qx "suites: 2 passed, 1 failed" "$tmp/out"
check "the failing suite is named" grep -qx "FAILED: $tmp/quick" "$tmp/out"
check "outputs print in the order given, each whole (slow finished last)" \
    [ "$(grep -E '^(== |slow|quick|mid)' "$tmp/out" | tr '\n' '|')" = \
      "== slow|slow one|slow two|== quick|quick one|quick two|== mid|mid one|mid two|" ]
check "each suite ends with its wall time" \
    bash -c "grep -Eq '^-- slow: 0\.[5-9] s$|^-- slow: [1-9][0-9.]* s$' '$tmp/out' && grep -Eq '^-- quick: [0-9.]+ s$' '$tmp/out'"
check "with 3 jobs the three ran at once (all started before the first ended)" \
    [ "$(head -3 "$tmp/trace" | grep -c start)" -eq 3 ]

rm -f "$tmp/trace"
TEST_JOBS=1 SKIP_CLI=1 "$REPO/scripts/run-tests.sh" "$tmp/slow" "$tmp/mid" >"$tmp/out1" 2>&1
check "TEST_JOBS=1: all pass, exit 0" [ $? -eq 0 ]
check "TEST_JOBS=1: one at a time" \
    [ "$(tr '\n' '|' <"$tmp/trace")" = "slow start|slow end|mid start|mid end|" ]

# Scripts under tests/cli (relative to where it runs): the alone one first and by itself.
rm -f "$tmp/trace"
for s in b_together c_together; do
    printf '#!/bin/sh\necho "%s start" >>%s/trace\nsleep 0.3\necho "%s end" >>%s/trace\n' \
        "$s" "$tmp" "$s" "$tmp" >"tests/cli/test_$s.sh"
done
printf '#!/bin/sh\n# header\n# run-tests: alone (why)\necho "z_alone start" >>%s/trace\nsleep 0.2\necho "z_alone end" >>%s/trace\n' \
    "$tmp" "$tmp" >tests/cli/test_z_alone.sh
TEST_JOBS=2 "$REPO/scripts/run-tests.sh" >"$tmp/out2" 2>&1
check "tests/cli scripts: 3 passed" grep -qx "suites: 3 passed, 0 failed" "$tmp/out2"
check "the alone script ran first and by itself, then the other two at once" \
    [ "$(head -4 "$tmp/trace" | sed 's/_together//' | tr '\n' '|')" = "z_alone start|z_alone end|b start|c start|" -o \
      "$(head -4 "$tmp/trace" | sed 's/_together//' | tr '\n' '|')" = "z_alone start|z_alone end|c start|b start|" ]

TEST_JOBS=0 SKIP_CLI=1 "$REPO/scripts/run-tests.sh" "$tmp/mid" >/dev/null 2>"$tmp/err"
check "TEST_JOBS=0 exits 64" [ $? -eq 64 ]
check "... naming TEST_JOBS" grep -q "TEST_JOBS='0'" "$tmp/err"
finish
