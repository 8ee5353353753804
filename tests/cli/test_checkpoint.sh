#!/usr/bin/env bash
# End-to-end: runs that survive. --checkpoint/--checkpoint-every/--resume on the real binary:
# resumed runs give the uninterrupted run's model bytes (epoch boundary and mid-epoch stops by
# SIGTERM/SIGINT), the documented exit codes (130, 143, 65, 64, 66, 70, 74), failed writes and
# non-finite losses leave the last good checkpoint intact, and kill -9 never leaves a torn one.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
bg_pid=
trap '[ -n "$bg_pid" ] && kill -9 "$bg_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

if ! "$DPMLP" train --help 2>/dev/null | grep -q -- '--resume'; then
    bad "$DPMLP train --help lists --checkpoint and --resume"
    finish
fi

# ckinfo FILE: validates a checkpoint independently of dpmlp (magic, exact size, CRC-32, perm)
# and prints "epoch next_step steps_per_epoch completed_epochs"; exit 1 if invalid.
ckinfo() {
    python3 - "$1" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
def die(m): sys.exit(f"ckinfo {sys.argv[1]}: {m}")
if len(b) < 20 or b[:8] != b"DPMLPCKP": die("bad magic or too short")
ver, marker, ns = struct.unpack_from("<III", b, 8)
if ver not in (1, 2, 3) or marker != 0x01020304: die("version/marker")
p = 20 + 4 * ns + 8
batch = struct.unpack_from("<I", b, p + 32)[0]
s = p + 52
epoch, next_step, gstep, n_train = struct.unpack_from("<IQQQ", b, s)
n_params, n_mom = struct.unpack_from("<QI", b, s + 52)
hlen = s + 64 + (12 if ver >= 2 else 0)  # v2: + u64 data_fingerprint, u32 deterministic
hlen += 8 + 4 * 31 + 4 * 30 if ver >= 3 else 0  # v3: n_act, slope, act[31], dropout[30]
best = 0
if ver >= 3:  # v3: 40 bytes of validation/schedule config, then best_epoch and 20 more, precision
    best = struct.unpack_from("<I", b, hlen + 40)[0]
    hlen += 64 + 4
arrays = 1 + n_mom + (best > 0)  # v3: the best epoch's weights after the moments
if len(b) != hlen + 4 * n_params * arrays + 4 * n_train + 4: die("size")
if struct.unpack_from("<I", b, len(b) - 4)[0] != zlib.crc32(b[:-4]): die("crc")
perm = struct.unpack_from(f"<{n_train}I", b, len(b) - 4 - 4 * n_train)
if sorted(perm) != list(range(n_train)): die("perm")
spe = -(-n_train // min(batch, n_train))
print(epoch, next_step, spe, epoch - 1 + (next_step == spe))
EOF
}
completed() { ckinfo "$1" | awk '{print $4}'; }
no_temps() { ! compgen -G "$1/*.tmp.*" >/dev/null; }
has() { grep -q -- "$2" "$1"; }

# waits (up to 60 s) until the run in the background has started its workers, per its stderr.
wait_started() {
    local err=$1 i
    for i in $(seq 600); do
        grep -q 'workers' "$err" 2>/dev/null && return 0
        kill -0 "$bg_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- (a) resume at an epoch boundary gives the uninterrupted run's bytes ----
# small_args [--flag value]...: the small run's flags, with the given ones replacing defaults.
small_args() {
    local -A v=([--layers]=20,32,10 [--batch]=64 [--seed]=5)
    while [ $# -gt 0 ]; do v[$1]=$2; shift 2; done
    local k
    SMALL=(--data synthetic:3000 --threads 2 --quiet)
    for k in "${!v[@]}"; do SMALL+=("$k" "${v[$k]}"); done
}
small_args
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

# ---- (b) mid-epoch stops: SIGTERM -> 143, SIGINT -> 130, then resume == uninterrupted ----
# The signal goes out as soon as epoch 1's log line appears, so it lands inside epoch 2
# whatever the machine's speed (an epoch takes a good fraction of a second here).
BIG=(--data synthetic:1000000 --layers 20,256,10 --batch 128 --seed 9 --threads 2 --epochs 3)
d="$tmp/big"
mkdir -p "$d"
"$DPMLP" train "${BIG[@]}" --quiet --save "$d/A.model"
check "big: uninterrupted run exits 0" [ $? -eq 0 ]
# SIGHUP (a closed terminal) stops like SIGTERM, exit 129; unless this shell was started with
# it ignored (nohup), which its children inherit and dpmlp then honours.
sigs="TERM INT HUP"
if (( 0x$(awk '/^SigIgn:/ {print $2}' /proc/$$/status 2>/dev/null || echo 0) & 1 )); then
    echo "SIGHUP is ignored in this shell (nohup?): the SIGHUP case is skipped"
    sigs="TERM INT"
fi
# epochs_once LOG: epochs 1..3, each once, in order, none partial (a resumed run with the same
# --log keeps the epochs before the one it redoes and appends).
epochs_once() {
    python3 - "$1" <<'EOF2'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines = [l for l in lines if "run" not in l]  # header lines: the run's and each resume's
epochs = [l["epoch"] for l in lines]
assert epochs == [1, 2, 3], epochs
assert not any(l.get("partial") for l in lines), lines
EOF2
}
for sig in $sigs; do
    case $sig in TERM) want=143 ;; INT) want=130 ;; HUP) want=129 ;; esac
    rm -f "$d/C" "$d/L"
    "$DPMLP" train "${BIG[@]}" --checkpoint "$d/C" --log "$d/L" 2>"$d/err.$sig" &
    bg_pid=$!
    if wait_started "$d/err.$sig"; then
        for _ in $(seq 3000); do
            grep -q '^{"epoch"' "$d/L" 2>/dev/null && break  # past the header line
            kill -0 "$bg_pid" 2>/dev/null || break
            sleep 0.02
        done
        kill -$sig $bg_pid
    fi
    wait $bg_pid
    rc=$?
    bg_pid=
    check "SIG$sig mid-run exits $want (got $rc)" [ "$rc" -eq "$want" ]
    info=$(ckinfo "$d/C")
    check "SIG$sig: a valid checkpoint was written ($info)" [ -n "$info" ]
    read -r ep ns spe _ <<<"${info:-0 0 0 0}"
    check "SIG$sig: the checkpoint is mid-epoch (epoch $ep, step $ns of $spe)" \
        eval '[ "$ns" -gt 0 ] && [ "$ns" -lt "$spe" ]'
    check "SIG$sig: stderr says a checkpoint was written" has "$d/err.$sig" "checkpoint written"
    check "SIG$sig: the log was flushed: every line is complete JSON" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
[json.loads(l) for l in lines]' "$d/L"
    check "SIG$sig: the stopped run logged epoch 2 as partial" \
        grep -q '"epoch":2,.*"partial":true' "$d/L"
    "$DPMLP" train "${BIG[@]}" --quiet --resume "$d/C" --log "$d/L" --save "$d/B.$sig.model"
    check "SIG$sig: resume exits 0" [ $? -eq 0 ]
    check "SIG$sig: resumed with the same --log: epochs 1..3 once, in order" epochs_once "$d/L"
    check "SIG$sig: resumed model is byte-identical to the uninterrupted one" \
        cmp -s "$d/A.model" "$d/B.$sig.model"
done

# ---- the log of the resumed runs above: every epoch once; a rerun keeps it ----
cp "$d/L" "$d/L.done"
"$DPMLP" train "${BIG[@]}" --quiet --resume "$d/C" --log "$d/L"
check "log: rerunning the finished job exits 0" [ $? -eq 0 ]
check "log: ... and keeps the log as it was" cmp -s "$d/L" "$d/L.done"
"$DPMLP" train "${SMALL[@]}" --epochs 1 --log "$d/L"
check "log: a fresh run (no --resume) starts the log afresh (its header and one epoch)" \
    bash -c "[ \$(wc -l <'$d/L') -eq 2 ]"

# ---- two runs on one --checkpoint: the second exits 75 at once, the first is unharmed ----
rm -f "$d/K" "$d/K.lock"
"$DPMLP" train "${BIG[@]}" --epochs 2 --checkpoint "$d/K" 2>"$d/err.first" &
bg_pid=$!
if wait_started "$d/err.first"; then
    start=$(date +%s%N)
    "$DPMLP" train "${SMALL[@]}" --epochs 1 --checkpoint "$d/K" 2>"$d/err.second"
    rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    check "second writer on one checkpoint exits 75 (got $rc)" [ $rc -eq 75 ]
    check "... its message names the checkpoint" has "$d/err.second" "$d/K"
    check "... at once, before loading data ($ms ms; the first run is still going)" \
        kill -0 $bg_pid
fi
wait $bg_pid
rc=$?
bg_pid=
check "the first writer finishes (exit $rc)" [ $rc -eq 0 ]
check "... with a loadable checkpoint of 2 epochs" [ "$(completed "$d/K")" = 2 ]
check "... and no temp files" no_temps "$d"
"$DPMLP" train "${BIG[@]}" --quiet --epochs 3 --resume "$d/K" --steps 7814 >/dev/null
check "... which resumes (the lock went with the first run)" [ $? -eq 0 ]

# Under nohup (SIGHUP ignored on entry) a hang-up does not stop the run.
nohup "$DPMLP" train "${BIG[@]}" --epochs 1 --checkpoint "$d/H" >/dev/null 2>"$d/err.nohup" &
bg_pid=$!
wait_started "$d/err.nohup" && kill -HUP $bg_pid
wait $bg_pid
rc=$?
bg_pid=
check "nohup: SIGHUP leaves the run going, exit 0 (got $rc)" [ $rc -eq 0 ]

# Without --checkpoint a stop still exits 143, writes nothing, and says so.
rm -f "$d/C"
"$DPMLP" train "${BIG[@]}" --save "$d/N.model" 2>"$d/err.nock" &
bg_pid=$!
wait_started "$d/err.nock" && sleep 0.3 && kill -TERM $bg_pid
wait $bg_pid
rc=$?
bg_pid=
check "SIGTERM without --checkpoint exits 143 (got $rc)" [ $rc -eq 143 ]
check "... and saves no model" [ ! -e "$d/N.model" ]
check "... and says no checkpoint was written" has "$d/err.nock" "no checkpoint"

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
