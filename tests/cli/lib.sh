# Shared by the end-to-end scripts (sourced, not run): pass/fail bookkeeping and the closing
# "N passed, M failed" line that the test runner and CI read.
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
# check NAME COMMAND...: passes when COMMAND succeeds.
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# finish: the closing line, and the exit status that says whether every check passed.
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
