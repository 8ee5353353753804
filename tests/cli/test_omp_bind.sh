#!/usr/bin/env bash
# OMP_PROC_BIND/OMP_PLACES make the OpenMP runtime bind the initial thread to its first place
# before main; dpmlp's workers inherit that. Unbound workers (--bind none) must be widened back
# to the allowed PUs, the start-up report must say where each worker really may run (read
# back), and the topology must still see every allowed PU. Needs 2 allowed PUs.
set -u

DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-omp.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
if [ "$(nproc)" -lt 2 ]; then echo "omp-bind: skipped (fewer than 2 CPUs allowed)"; finish; fi

ARGS=(--data synthetic:1000 --layers 784,32,10 --threads 2 --epochs 1)
OMP=(env OMP_PROC_BIND=true OMP_PLACES=cores)
"${OMP[@]}" "$DPMLP" train "${ARGS[@]}" --bind none 2>"$tmp/none.err"
check "OMP_PROC_BIND, --bind none: runs" [ $? -eq 0 ]
line=$(grep "workers run on (read back)" "$tmp/none.err")
check "OMP_PROC_BIND, --bind none: the report reads back each worker's PUs" \
    grep -q "worker 1 -> PUs" <<<"$line"
# Before: every worker inherited OpenMP's first place, PU 0 alone.
check "OMP_PROC_BIND, --bind none: workers are not confined to CPU 0 ($line)" \
    bash -c '! grep -qE "worker [01] -> PUs 0(,|$)" <<<"$1"' _ "$line"

"${OMP[@]}" "$DPMLP" train "${ARGS[@]}" --bind compact 2>"$tmp/compact.err"
line=$(grep "workers run on (read back)" "$tmp/compact.err")
check "OMP_PROC_BIND, --bind compact: two workers on two different PUs ($line)" \
    bash -c 'a=$(sed -E "s/.*worker 0 -> PUs ([0-9]+).*/\1/" <<<"$1");
             b=$(sed -E "s/.*worker 1 -> PUs ([0-9]+).*/\1/" <<<"$1"); [ -n "$a" ] && [ "$a" != "$b" ]' _ "$line"

plain=$("$DPMLP" topo | grep '^allowed:')
omp=$("${OMP[@]}" "$DPMLP" topo | grep '^allowed:' | sed 's/ and process binding//')
check "OMP_PROC_BIND: the topology sees the same allowed PUs ($omp)" \
    [ "${plain%%(*}" = "${omp%%(*}" ]
finish
