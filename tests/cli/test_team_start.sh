#!/usr/bin/env bash
# A worker thread that cannot be created ends train and eval within seconds with exit 71
# (DP_EOSERR) and a message naming the worker, for both teams: never a hang, never exit 1.
# The LD_PRELOAD shim built by `make tests` makes the k-th pthread_create fail (EAGAIN), as a
# tight RLIMIT_NPROC does.
set -u

DPMLP=${DPMLP:-build/dpmlp}
BUILD=${BUILD:-build}
. "$(dirname "$0")/lib.sh"
SHIM=$BUILD/tests/engine/shim_fail_pthread_create.so
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-team.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
[ -f "$SHIM" ] || { bad "shim $SHIM missing (make tests builds it)"; echo "$passed passed, $failed failed"; exit 1; }
# A sanitized binary wants its runtime first in the library list; the shim is harmless there.
export ASAN_OPTIONS=${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0

ARGS=(--data synthetic:1000 --layers 784,32,10 --threads 8 --epochs 1 --quiet --bind none)

# under_shim K NAME CMD...: runs CMD with the K-th pthread_create failing; leaves $rc, $secs.
under_shim() {
    local k=$1 name=$2
    shift 2
    local t0 t1
    t0=$(date +%s%N)
    LD_PRELOAD=$SHIM DPMLP_TEST_FAIL_PTHREAD_CREATE=$k timeout -k 2 20 "$@" >"$tmp/$name.out" \
        2>"$tmp/$name.err"
    rc=$?
    t1=$(date +%s%N)
    secs=$(( (t1 - t0) / 1000000000 ))
}

for team in pthreads openmp; do
    for k in 1 5; do
        under_shim $k "train-$team-$k" "$DPMLP" train "${ARGS[@]}" --team $team
        check "train --team $team, create $k fails: exit 71 (got $rc)" [ "$rc" -eq 71 ]
        check "train --team $team, create $k fails: ends within 5 s (${secs} s)" [ "$secs" -lt 5 ]
        check "train --team $team, create $k fails: names the worker" \
            grep -q "cannot start worker [0-9]* of 8" "$tmp/train-$team-$k.err"
    done
    # The shim itself changes nothing when no call fails.
    under_shim 0 "train-$team-ok" "$DPMLP" train "${ARGS[@]}" --team $team
    check "train --team $team under the shim, nothing failing: exit 0 (got $rc)" [ "$rc" -eq 0 ]
done

"$DPMLP" train --data synthetic:1000 --layers 784,32,10 --threads 1 --epochs 1 --quiet \
    --save "$tmp/m.model" 2>"$tmp/save.err"
check "a model to evaluate" [ -s "$tmp/m.model" ]
for cmd in eval predict; do
    under_shim 3 "$cmd" "$DPMLP" $cmd --model "$tmp/m.model" --data synthetic:500 --threads 8
    check "$cmd, create 3 fails: exit 71 (got $rc)" [ "$rc" -eq 71 ]
    check "$cmd, create 3 fails: ends within 5 s (${secs} s)" [ "$secs" -lt 5 ]
    check "$cmd, create 3 fails: names the worker" \
        grep -q "cannot start worker 3 of 8" "$tmp/$cmd.err"
done

finish
