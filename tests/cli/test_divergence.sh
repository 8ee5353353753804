#!/usr/bin/env bash
# An update that makes the weights non-finite, or a loss that grows 1000-fold over its best
# epoch mean, stops the run with exit 70 naming epoch and step,
# and nothing non-finite is kept: no --save file, the previous checkpoint untouched. Before,
# the check looked only at the loss before the update, so the last update of a run (or of an
# epoch, for the checkpoint) could blow up the weights and be saved with exit 0.
set -u

DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-div.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# 200 regression rows (2 steps of 128 per epoch); row 8's target 3e38 makes the second
# update overflow. good.csv is the same data with a sane target.
awk 'BEGIN { srand(1); for (i = 0; i < 200; i++) { s = 0; line = "";
    for (j = 0; j < 4; j++) { x = rand(); s += x; line = line sprintf("%.6f,", x) }
    print line (i == 7 ? "3e38" : sprintf("%.6f", s)) > "'"$tmp"'/bad.csv";
    print line sprintf("%.6f", s) > "'"$tmp"'/good.csv" } }'
ARGS=(--layers 4,8,1 --loss mse --threads 2 --quiet)

"$DPMLP" train --train "$tmp/bad.csv" "${ARGS[@]}" --epochs 1 --save "$tmp/bad.model" \
    2>"$tmp/bad.err"
rc=$?
check "3e38 target: exit 70 (got $rc)" [ "$rc" -eq 70 ]
check "3e38 target: the message names epoch, step and the update" \
    grep -q "epoch 1 step 2: the update made [0-9]* parameters non-finite" "$tmp/bad.err"
check "3e38 target: no model saved" [ ! -e "$tmp/bad.model" ]

# A finite checkpoint first, then the diverging run on the same path: it must stay as it was.
"$DPMLP" train --train "$tmp/good.csv" "${ARGS[@]}" --epochs 1 --checkpoint "$tmp/run.ckpt" \
    2>"$tmp/good.err"
check "a finite checkpoint to protect" [ -s "$tmp/run.ckpt" ]
cp "$tmp/run.ckpt" "$tmp/before.ckpt"
"$DPMLP" train --train "$tmp/bad.csv" "${ARGS[@]}" --epochs 3 --checkpoint "$tmp/run.ckpt" \
    --save "$tmp/bad2.model" 2>"$tmp/bad2.err"
rc=$?
check "3e38 target with --checkpoint: exit 70 (got $rc)" [ "$rc" -eq 70 ]
check "3e38 target with --checkpoint: the checkpoint is the previous one" \
    cmp -s "$tmp/run.ckpt" "$tmp/before.ckpt"
check "3e38 target with --checkpoint: no model saved" [ ! -e "$tmp/bad2.model" ]

# SGD with lr = weight decay = 1e6 grows every weight ~1e12-fold per step: the loss of
# step 3 overflows before its update (exit 70, nothing saved).
"$DPMLP" train --data synthetic:1000 --layers 784,32,10 --threads 2 --optim sgd --lr 1e6 \
    --weight-decay 1e6 --steps 3 --quiet --save "$tmp/sgd.model" 2>"$tmp/sgd.err"
rc=$?
check "--lr 1e6 --weight-decay 1e6: exit 70 (got $rc)" [ "$rc" -eq 70 ]
check "--lr 1e6 --weight-decay 1e6: no model saved" [ ! -e "$tmp/sgd.model" ]

# A loss that grows past 1000 times its best epoch mean while still finite (huge MSE targets,
# ~1e4, with SGD overshooting) stops the run with exit 70 before that step's update; before,
# such a run went on (and could exit 0) with a loss of 1e12 or worse.
awk 'BEGIN { srand(1); for (i = 0; i < 200; i++) { line = ""; s = 0;
    for (j = 0; j < 4; j++) { x = rand(); s += x; line = line sprintf("%.6f,", x) }
    print line sprintf("%.1f", 1e4 * s) } }' >"$tmp/huge.csv"
"$DPMLP" train --train "$tmp/huge.csv" --layers 4,8,1 --loss mse --optim sgd --lr 0.001 \
    --threads 2 --epochs 30 --quiet --save "$tmp/huge.model" 2>"$tmp/huge.err"
rc=$?
check "huge MSE targets, finite but growing loss: exit 70 (got $rc)" [ "$rc" -eq 70 ]
check "huge MSE targets: the message says the loss grew 1000-fold and names the step" \
    grep -q "epoch [0-9]* step [0-9]*: the loss grew more than 1000-fold over its best" \
    "$tmp/huge.err"
check "huge MSE targets: no model saved" [ ! -e "$tmp/huge.model" ]
# The same data at a step size that converges is not stopped (an overshooting first epoch is
# not a divergence).
"$DPMLP" train --train "$tmp/huge.csv" --layers 4,8,1 --loss mse --optim sgd --lr 0.01 \
    --threads 2 --epochs 5 --quiet --save "$tmp/huge-ok.model" 2>/dev/null
rc=$?
check "huge MSE targets at --lr 0.01: converging, exit 0 (got $rc)" [ "$rc" -eq 0 ]

# Cross-entropy clamps its log at 1e-7, so the loss of a blown-up classifier stays finite
# (~16 per sample) while its weights run off: exit 70, nothing saved.
"$DPMLP" train --data synthetic:1000 --layers 784,32,10 --optim sgd --lr 1000 --threads 2 \
    --epochs 5 --quiet --save "$tmp/xent.model" 2>"$tmp/xent.err"
rc=$?
check "clamped xent at --lr 1000: exit 70 (got $rc)" [ "$rc" -eq 70 ]
check "clamped xent: no model saved" [ ! -e "$tmp/xent.model" ]

finish
