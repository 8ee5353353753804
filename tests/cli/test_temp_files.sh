#!/usr/bin/env bash
# End-to-end: what the CLI does with the io layer's answers. Stale temp files are removed only
# when they match the writer's exact pattern and their writer is gone (a user's X.tmp.backup
# and a live process's temp stay); predict --input ignores a label column whatever it holds;
# a CSV header row that was skipped is said on stderr.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/lib.sh
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n' > "$tmp/xor.csv"
TRAIN=(train --train "$tmp/xor.csv" --layers 2,4,2 --epochs 2 --batch 4 --threads 1)

# ---- stale temps: only the exact pattern of a dead writer goes ----
dead=$(sh -c 'echo $$')   # a pid that has exited
touch "$tmp/C.tmp.backup" "$tmp/C.tmp.1.abcdef" "$tmp/C.tmp.$dead.abcdef" \
      "$tmp/M.tmp.$dead.zyx123" "$tmp/M.tmp.notes"
"$DPMLP" "${TRAIN[@]}" --checkpoint "$tmp/C" --save "$tmp/M" 2>"$tmp/err"
check "train with stale temps beside its outputs exits 0" [ $? -eq 0 ]
check "a user's C.tmp.backup stays" [ -e "$tmp/C.tmp.backup" ]
check "a user's M.tmp.notes stays" [ -e "$tmp/M.tmp.notes" ]
check "a live writer's temp (pid 1) stays" [ -e "$tmp/C.tmp.1.abcdef" ]
check "a dead writer's checkpoint temp is removed" [ ! -e "$tmp/C.tmp.$dead.abcdef" ]
check "a dead writer's model temp is removed" [ ! -e "$tmp/M.tmp.$dead.zyx123" ]
check "each removal is said on stderr" [ "$(grep -c 'removed .*interrupted write' "$tmp/err")" -eq 2 ]

# ---- predict --input: label columns are ignored, whatever they hold ----
printf '0,0,-1\n1,1,-7\n0,1,3\n' > "$tmp/rows.csv"
"$DPMLP" predict --model "$tmp/M" --input "$tmp/rows.csv" > "$tmp/pred" 2>"$tmp/err"
check "predict --input with labels -1, -7, 3 exits 0 ($(head -c 200 "$tmp/err"))" [ $? -eq 0 ]
check "predict prints one class per row" [ "$(grep -cE '^[01]$' "$tmp/pred")" -eq 3 ]

# ---- a skipped header row is said ----
printf 'x1,x2,y\n0,0,0\n1,1,0\n0,1,1\n1,0,1\n' > "$tmp/hdr.csv"
"$DPMLP" train --train "$tmp/hdr.csv" --layers 2,4,2 --epochs 1 --batch 4 --threads 1 --quiet \
    2>"$tmp/err"
check "the skipped header is said on stderr, naming the file" \
    grep -q "hdr.csv: first row taken as a header" "$tmp/err"
printf '0,0,0\n1,1,0\n0,1,1\n1,0,1\n' > "$tmp/nohdr.csv"
"$DPMLP" train --train "$tmp/nohdr.csv" --layers 2,4,2 --epochs 1 --batch 4 --threads 1 --quiet \
    2>"$tmp/err"
check "no note without a header" [ ! -s "$tmp/err" ]

finish
