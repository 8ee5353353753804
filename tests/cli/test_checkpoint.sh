#!/usr/bin/env bash
# End-to-end: runs that survive. --checkpoint/--checkpoint-every/--resume on the real binary:
# resumed runs give the uninterrupted run's model bytes, the documented exit codes (65, 64, 66,
# 70, 74), failed writes and non-finite losses leave the last good checkpoint intact, kill -9
# never leaves a torn one, the checkpoint keeps --deterministic and knows its data. Stops by
# signals and a second writer are test_checkpoint_signals.sh.
set -u
DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/ckpt_lib.sh"

# ---- resume at an epoch boundary gives the uninterrupted run's bytes ----
for optim in sgd momentum adam; do
    d="$tmp/a-$optim"
    mkdir -p "$d"
    "$DPMLP" train "${SMALL[@]}" --optim $optim --epochs 4 --save "$d/A.model"
    check "$optim: uninterrupted 4 epochs exits 0" [ $? -eq 0 ]
    "$DPMLP" train "${SMALL[@]}" --optim $optim --epochs 2 --checkpoint "$d/C"
    check "$optim: 2 epochs with --checkpoint exits 0" [ $? -eq 0 ]
    check "$optim: checkpoint holds 2 completed epochs" [ "$(completed "$d/C")" = 2 ]
    "$DPMLP" train "${SMALL[@]}" --optim $optim --resume "$d/C" --epochs 4 --save "$d/B.model"
    check "$optim: --resume C --epochs 4 exits 0" [ $? -eq 0 ]
    check "$optim: resumed model is byte-identical to the uninterrupted one" \
        cmp -s "$d/A.model" "$d/B.model"
    check "$optim: the resumed run checkpoints on to C (4 epochs)" [ "$(completed "$d/C")" = 4 ]
    check "$optim: no temp files left" no_temps "$d"
done

# ---- --checkpoint-every N, counted through the injected write fault ----
# DPMLP_FAULT_WRITE=K fails the K-th atomic write of the process (no --save here: only
# checkpoints write). With every 2 over 3 epochs: writes after epoch 2 and at the end.
d="$tmp/every"
mkdir -p "$d"
DPMLP_FAULT_WRITE=3 "$DPMLP" train "${SMALL[@]}" --epochs 3 --checkpoint-every 2 \
    --checkpoint "$d/C"
check "--checkpoint-every 2 over 3 epochs: at most 2 writes (a 3rd-write fault never fires)" \
    [ $? -eq 0 ]
check "the end-of-run checkpoint holds 3 epochs" [ "$(completed "$d/C")" = 3 ]
rm -f "$d/C"
DPMLP_FAULT_WRITE=2 "$DPMLP" train "${SMALL[@]}" --epochs 3 --checkpoint-every 2 \
    --checkpoint "$d/C" 2>"$d/err"
rc=$?
check "--checkpoint-every 2: the 2nd write (end of run) fails -> exit 74 (got $rc)" [ $rc -eq 74 ]
check "after the failed write, C still holds epoch 2 (valid CRC)" [ "$(completed "$d/C")" = 2 ]
check "the write failure names the checkpoint file" has "$d/err" "$d/C"

# ---- a failed checkpoint write -> 74, the previous checkpoint intact and resumable ----
d="$tmp/fail"
mkdir -p "$d"
"$DPMLP" train "${SMALL[@]}" --epochs 3 --save "$d/A.model"
DPMLP_FAULT_WRITE=2 "$DPMLP" train "${SMALL[@]}" --epochs 3 --checkpoint "$d/C" 2>"$d/err"
rc=$?
check "failed checkpoint write exits 74 (got $rc)" [ $rc -eq 74 ]
check "its message names the file" has "$d/err" "$d/C"
check "no temp file left behind" no_temps "$d"
check "the epoch-1 checkpoint is intact (valid CRC, 1 epoch)" [ "$(completed "$d/C")" = 1 ]
# The same epoch-1 checkpoint written by a run that stops after epoch 1 on its own (--steps =
# one epoch of ceil(3000/64) = 47 steps): byte for byte what the failed run left.
"$DPMLP" train "${SMALL[@]}" --epochs 3 --steps 47 --checkpoint "$d/D"
check "the surviving checkpoint is byte-identical to a clean epoch-1 checkpoint" \
    cmp -s "$d/C" "$d/D"
"$DPMLP" train "${SMALL[@]}" --resume "$d/C" --save "$d/B.model"
check "resuming from the surviving checkpoint gives the uninterrupted model" \
    cmp -s "$d/A.model" "$d/B.model"

# ---- bad checkpoints on --resume ----
d="$tmp/bad"
mkdir -p "$d"
"$DPMLP" train "${SMALL[@]}" --epochs 1 --checkpoint "$d/C" --save "$d/M.model"
size=$(stat -c %s "$d/C")
resume_rc() {
    "$DPMLP" train "${SMALL[@]}" --resume "$1" --epochs 2 --checkpoint "$d/out" 2>"$d/err"
}
cp "$d/C" "$d/flip"
printf '\x5a' | dd of="$d/flip" bs=1 seek=$((size / 2)) conv=notrunc status=none
resume_rc "$d/flip"; rc=$?
check "flipped byte: --resume exits 65 (got $rc)" [ $rc -eq 65 ]
check "flipped byte: message names the file and the checksum" \
    eval 'has "$d/err" "$d/flip" && has "$d/err" "checksum mismatch"'
head -c $((size - 100)) "$d/C" >"$d/short"
resume_rc "$d/short"; rc=$?
check "truncated: --resume exits 65 (got $rc)" [ $rc -eq 65 ]
check "truncated: message says truncated" has "$d/err" "truncated"
resume_rc "$d/M.model"; rc=$?
check "model file as checkpoint: exits 65 (got $rc)" [ $rc -eq 65 ]
check "model file as checkpoint: says so" has "$d/err" "is a model file, not a checkpoint"
resume_rc "$d/nope"; rc=$?
check "missing checkpoint: exits 66 (got $rc)" [ $rc -eq 66 ]
check "nothing was written from a refused checkpoint" [ ! -e "$d/out" ]

# ---- resume with a different model, optimizer, batch or seed: 64 naming the flag ----
for change in "--layers 20,64,10" "--loss mse" "--act tanh" "--optim sgd" "--batch 32" \
              "--seed 6"; do
    flag=${change%% *}
    # shellcheck disable=SC2086
    small_args $change
    "$DPMLP" train "${SMALL[@]}" --resume "$d/C" --epochs 2 2>"$d/err"
    rc=$?
    check "resume with $change exits 64 (got $rc)" [ $rc -eq 64 ]
    check "resume with $change: message names $flag" has "$d/err" "$flag"
done
small_args

# ---- non-finite loss: 70 naming epoch, step and --lr; the last good checkpoint unchanged ----
d="$tmp/nan"
mkdir -p "$d"
REG=(--data synthetic:3000 --layers 20,32,4 --loss mse --optim sgd --batch 64 --seed 2
     --threads 2 --quiet)
"$DPMLP" train "${REG[@]}" --lr 0.01 --epochs 1 --checkpoint "$d/C"
cp "$d/C" "$d/C.before"
"$DPMLP" train "${REG[@]}" --lr 1e6 --epochs 3 --checkpoint "$d/C" 2>"$d/err"
rc=$?
check "diverging fresh run exits 70 (got $rc)" [ $rc -eq 70 ]
check "its message names epoch, step and --lr" \
    eval 'has "$d/err" "epoch 1" && has "$d/err" "step" && has "$d/err" "--lr"'
check "the existing checkpoint is byte-identical afterwards" cmp -s "$d/C" "$d/C.before"
"$DPMLP" train "${REG[@]}" --resume "$d/C" --lr 1e6 --epochs 3 2>"$d/err"
rc=$?
check "diverging resumed run exits 70 (got $rc)" [ $rc -eq 70 ]
check "its message names epoch 2, step and --lr" \
    eval 'has "$d/err" "epoch 2" && has "$d/err" "step" && has "$d/err" "--lr"'
check "the checkpoint it resumed from is byte-identical afterwards" cmp -s "$d/C" "$d/C.before"

# ---- kill -9 at random moments of a run checkpointing every epoch: never a torn file ----
d="$tmp/kill"
mkdir -p "$d"
MID=(--data synthetic:100000 --layers 20,128,10 --batch 128 --seed 4 --threads 2 --epochs 60
     --quiet)
"$DPMLP" train "${MID[@]}" --save "$d/A.model"
# Each run starts afresh and overwrites the previous run's checkpoint every epoch. 60 epochs
# (about a second here) so that most kills, at 0.02-0.8 s, land inside the run: with 20 epochs
# a run took 0.4 s and 60 runs often held fewer than 20 kills.
# A run that finished before its kill does not count: loop until 20 kills have landed.
kills=0 valid=0 absent=0 temps=0 runs=0
while [ $kills -lt 20 ] && [ $runs -lt 60 ]; do
    runs=$((runs + 1))
    i=$runs
    "$DPMLP" train "${MID[@]}" --checkpoint "$d/C" --checkpoint-every 1 2>/dev/null &
    bg_pid=$!
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.02, 0.8), 3))')"
    kill -9 $bg_pid 2>/dev/null && kills=$((kills + 1))
    wait $bg_pid 2>/dev/null
    bg_pid=
    no_temps "$d" || temps=$((temps + 1))
    rm -f "$d"/*.tmp.*
    if [ ! -e "$d/C" ]; then
        absent=$((absent + 1))
    elif ckinfo "$d/C" >/dev/null; then
        valid=$((valid + 1))
    else
        bad "kill -9 #$i left a torn checkpoint"
        cp "$d/C" "$tmp/torn.$i"
    fi
done
at=$(ckinfo "$d/C" 2>/dev/null | awk '{print "epoch " $1 " step " $2}')
echo "kill -9 loop: $kills kills, $valid checkpoints valid, $absent before the first write," \
     "$temps left a temp file; last at $at"
check "kill -9 loop: every checkpoint left is valid ($valid of $runs runs had one)" \
    [ $((valid + absent)) -eq $runs ]
check "kill -9 loop: 20 runs killed mid-way ($kills in $runs runs)" [ $kills -ge 20 ]
"$DPMLP" train "${MID[@]}" --resume "$d/C" --save "$d/B.model"
check "after 20 kills, resuming gives the uninterrupted model" cmp -s "$d/A.model" "$d/B.model"

# ---- the checkpoint keeps --deterministic: a resume without the flag, on another thread count,
# still gives the uninterrupted deterministic run's bytes ----
DET=(train --data synthetic:600 --layers 20,16,4 --batch 64 --seed 9 --deterministic --quiet)
d="$tmp/det"
mkdir -p "$d"
"$DPMLP" "${DET[@]}" --epochs 3 --threads 2 --save "$d/D3.model"
"$DPMLP" "${DET[@]}" --epochs 1 --threads 2 --checkpoint "$d/DC"
"$DPMLP" train --data synthetic:600 --layers 20,16,4 --batch 64 --seed 9 --quiet --epochs 3 \
    --threads 1 --resume "$d/DC" --save "$d/D3r.model"
check "resume without --deterministic keeps the checkpoint's (same bytes at 1 thread)" \
    cmp -s "$d/D3.model" "$d/D3r.model"

# ---- the checkpoint knows its training data: the same size relabelled is refused ----
python3 -c '
import random
random.seed(5)
rows = [[random.random() for _ in range(6)] for _ in range(200)]
for name, shift in (("fpA.csv", 0), ("fpB.csv", 1)):
    with open("'"$d"'/" + name, "w") as f:
        for i, r in enumerate(rows):
            f.write(",".join("%.4f" % v for v in r) + ",%d\n" % ((i + shift) % 3))
'
FP=(train --layers 6,8,3 --batch 50 --seed 4 --threads 1 --quiet)
"$DPMLP" "${FP[@]}" --train "$d/fpA.csv" --epochs 1 --checkpoint "$d/FC"
cp "$d/FC" "$d/FC2"   # a resumed run goes on checkpointing into the file it resumed from
"$DPMLP" "${FP[@]}" --train "$d/fpB.csv" --epochs 2 --resume "$d/FC" 2>"$d/fp.err"
check "resume on relabelled data of the same size exits 64" [ $? -eq 64 ]
check "... naming both fingerprints and --resume-any-data" \
    bash -c "grep -Eq '[0-9a-f]{16}.*[0-9a-f]{16}' '$d/fp.err' && grep -q -- --resume-any-data '$d/fp.err'"
"$DPMLP" "${FP[@]}" --train "$d/fpB.csv" --epochs 2 --resume "$d/FC" --resume-any-data \
    --save "$d/FB.model"
check "--resume-any-data resumes anyway" [ $? -eq 0 ] && [ -s "$d/FB.model" ]
"$DPMLP" "${FP[@]}" --train "$d/fpA.csv" --epochs 2 --resume "$d/FC2" --save "$d/FA.model"
check "the same data resumes" [ $? -eq 0 ]

finish
