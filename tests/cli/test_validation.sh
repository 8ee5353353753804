#!/usr/bin/env bash
# End-to-end: validation, early stopping, lr schedules, metrics. Early stopping stops, --save
# holds the best epoch's weights (eval of the saved model reproduces that epoch's test and
# validation numbers from the log), a cosine run stopped mid-schedule (--steps, SIGTERM) and
# resumed gives the uninterrupted run's bytes, the log's header says what produced the run,
# eval --metrics, and bad combinations exit 64.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
bg_pid=
trap '[ -n "$bg_pid" ] && kill -9 "$bg_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# Three overlapping Gaussian blobs in 4 dimensions: noisy enough that validation loss turns.
$PY - "$tmp" <<'EOF'
import random, sys
random.seed(11)
def rows(n, path):
    with open(path, "w") as f:
        for _ in range(n):
            k = random.randrange(3)
            x = [random.gauss((k - 1) * 1.2, 1.3), random.gauss((k % 2) * 2 - 1, 1.3),
                 random.gauss(0, 1), random.gauss(0, 1)]
            f.write(",".join(f"{v:.4f}" for v in x) + f",{k}\n")
rows(400, f"{sys.argv[1]}/train.csv")
rows(200, f"{sys.argv[1]}/val.csv")
rows(300, f"{sys.argv[1]}/test.csv")
EOF
C=(--train "$tmp/train.csv" --test "$tmp/test.csv" --layers 4,64,3 --batch 8 --threads 2)

# log_get LOG EPOCH KEY: KEY of EPOCH's line.
log_get() {
    $PY -c 'import json,sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o.get("epoch") == int(sys.argv[2]): print(o[sys.argv[3]])' "$@"
}
# same A B: two numbers agree to 1e-9 (both come from the same float sums).
same() { $PY -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 1e-9)' "$1" "$2"; }
# last_field LOG KEY: KEY of the log's last line.
last_field() { tail -1 "$1" | $PY -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1]))' "$2"; }
# eval_of MODEL CSV: "accuracy loss" of eval.
eval_of() {
    $DPMLP eval --model "$1" --test "$2" --threads 2 2>/dev/null |
        $PY -c 'import json,sys; o=json.load(sys.stdin); print(o["accuracy"], o["loss"])'
}

# ---- early stopping with a held-out split: stops, and --save holds the best epoch ----
$DPMLP train "${C[@]}" --epochs 300 --lr 0.02 --val-split 0.25 --early-stop 4 --seed 3 \
    --log "$tmp/es.jsonl" --save "$tmp/es.model" 2>"$tmp/es.err"
check "early-stopped run exits 0" [ $? -eq 0 ]
last_epoch=$(last_field "$tmp/es.jsonl" epoch)
stopped=$(last_field "$tmp/es.jsonl" early_stop)
best=$(last_field "$tmp/es.jsonl" best_epoch)
check "it stopped early (epoch $last_epoch of 300, flagged: $stopped)" \
    [ "$last_epoch" -lt 300 -a "$stopped" = True ]
check "it stopped 4 epochs after the best ($best)" [ $((last_epoch - best)) -eq 4 ]
check "stderr says which epoch the saved model holds" \
    grep -q "model saved to $tmp/es.model: epoch $best's weights" "$tmp/es.err"
check "the header line: validation split, early stop, data sizes" $PY - "$tmp/es.jsonl" <<'EOF'
import json, sys
run = json.loads(open(sys.argv[1]).readline())["run"]
assert run["val_split"] == 0.25 and run["early_stop"] == 4, run
assert run["n_train"] == 300 and run["n_val"] == 100 and run["n_test"] == 300, run
assert run["layers"] == [4, 64, 3] and run["optim"] == "adam" and run["seed"] == 3, run
EOF
read -r acc loss <<<"$(eval_of "$tmp/es.model" "$tmp/test.csv")"
check "eval of the saved model = epoch $best's test accuracy ($acc)" \
    same "${acc:-0}" "$(log_get "$tmp/es.jsonl" "$best" test_accuracy)"
check "... and its test loss" same "${loss:-0}" "$(log_get "$tmp/es.jsonl" "$best" test_loss)"
check "... not the last epoch's weights" \
    bash -c "! $PY -c 'import sys; sys.exit(float(sys.argv[1]) != float(sys.argv[2]))' \
             '${loss:-0}' '$(log_get "$tmp/es.jsonl" "$last_epoch" test_loss)'"

# ---- --val FILE: the saved model reproduces the best epoch's validation numbers ----
$DPMLP train "${C[@]}" --epochs 300 --lr 0.02 --val "$tmp/val.csv" --early-stop 3 --seed 4 \
    --quiet --log "$tmp/v.jsonl" --save "$tmp/v.model"
check "--val FILE run exits 0" [ $? -eq 0 ]
best=$(last_field "$tmp/v.jsonl" best_epoch)
read -r acc loss <<<"$(eval_of "$tmp/v.model" "$tmp/val.csv")"
check "eval on the validation file = epoch $best's val_accuracy ($acc)" \
    same "${acc:-0}" "$(log_get "$tmp/v.jsonl" "$best" val_accuracy)"
check "... and its val_loss" same "${loss:-0}" "$(log_get "$tmp/v.jsonl" "$best" val_loss)"

# ---- the split is the seed's: the same run twice gives the same bytes ----
for i in 1 2; do
    $DPMLP train "${C[@]}" --epochs 5 --val-split 0.3 --seed 8 --quiet --save "$tmp/r$i.model"
done
check "same seed and threads with --val-split: identical model files" \
    cmp -s "$tmp/r1.model" "$tmp/r2.model"

# ---- a cosine schedule stopped mid-way and resumed: the uninterrupted run's bytes ----
S=(--data synthetic:300000 --layers 20,64,10 --batch 128 --seed 9 --threads 2 --epochs 3
   --val-split 0.1 --schedule cosine --warmup 50 --lr-min 1e-5 --early-stop 5)
$DPMLP train "${S[@]}" --quiet --log "$tmp/A.jsonl" --save "$tmp/A.model"
check "cosine: uninterrupted run exits 0" [ $? -eq 0 ]
check "cosine: the log's lr falls epoch by epoch" $PY - "$tmp/A.jsonl" <<'EOF'
import json, sys
lr = [o["lr"] for o in map(json.loads, open(sys.argv[1])) if "epoch" in o]
assert len(lr) == 3 and lr[0] > lr[1] > lr[2] >= 1e-5, lr
EOF
# --steps 3000 stops inside epoch 2 (2110 steps an epoch) and checkpoints there.
$DPMLP train "${S[@]}" --quiet --steps 3000 --checkpoint "$tmp/C1"
$DPMLP train "${S[@]}" --quiet --resume "$tmp/C1" --save "$tmp/B1.model"
check "cosine: stopped by --steps mid-epoch and resumed: identical model" \
    cmp -s "$tmp/A.model" "$tmp/B1.model"
$DPMLP train "${S[@]}" --checkpoint "$tmp/C2" --log "$tmp/L2" 2>"$tmp/C2.err" &
bg_pid=$!
for _ in $(seq 3000); do
    grep -q '^{"epoch"' "$tmp/L2" 2>/dev/null && break
    kill -0 "$bg_pid" 2>/dev/null || break
    sleep 0.02
done
kill -TERM "$bg_pid"
wait "$bg_pid"
rc=$?
bg_pid=
check "cosine: SIGTERM mid-run exits 143 (got $rc)" [ "$rc" -eq 143 ]
check "cosine: ... inside epoch 2 (logged partial)" grep -q '"epoch":2,.*"partial":true' "$tmp/L2"
$DPMLP train "${S[@]}" --quiet --resume "$tmp/C2" --log "$tmp/L2" --save "$tmp/B2.model"
check "cosine: resumed after SIGTERM: identical model" cmp -s "$tmp/A.model" "$tmp/B2.model"
check "cosine: the resumed log repeats the uninterrupted lr and val_loss" \
    $PY - "$tmp/A.jsonl" "$tmp/L2" <<'EOF'
import json, sys
def ep(p):
    return [(o["epoch"], o["lr"], o["val_loss"]) for o in map(json.loads, open(p)) if "epoch" in o]
a, b = ep(sys.argv[1]), ep(sys.argv[2])
assert a == b, (a, b)
EOF
$DPMLP train "${S[@]}" --quiet --resume "$tmp/C2" --schedule step 2>"$tmp/rs.err"
rc=$?
check "resume with another --schedule exits 64 (got $rc)" [ "$rc" -eq 64 ]

# ---- plateau: cuts the lr when validation stops improving ----
$DPMLP train "${C[@]}" --epochs 40 --lr 0.02 --val-split 0.25 --schedule plateau \
    --plateau-patience 2 --plateau-factor 0.5 --seed 3 --log "$tmp/p.jsonl" 2>"$tmp/p.err"
check "plateau run exits 0" [ $? -eq 0 ]
check "plateau: the lr was cut (said, and smaller in the log)" \
    $PY - "$tmp/p.jsonl" "$tmp/p.err" <<'EOF'
import json, sys
lr = [o["lr"] for o in map(json.loads, open(sys.argv[1])) if "epoch" in o]
assert min(lr) < lr[0] and all(b <= a for a, b in zip(lr, lr[1:])), lr
assert "lr cut to" in open(sys.argv[2]).read()
EOF

# ---- eval --metrics ----
$DPMLP eval --model "$tmp/es.model" --test "$tmp/test.csv" --metrics >"$tmp/m.json" 2>/dev/null
check "eval --metrics: confusion, precision, recall, F1 that agree with accuracy" \
    $PY - "$tmp/m.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
c = o["confusion"]
assert o["classes"] == 3 and len(c) == 3 and sum(map(sum, c)) == o["samples"] == 300, o
assert abs(sum(c[i][i] for i in range(3)) / 300 - o["accuracy"]) < 1e-8  # %.9g
for k in range(3):
    tp, pred, true = c[k][k], sum(r[k] for r in c), sum(c[k])
    assert abs(o["precision"][k] - tp / pred) < 1e-9 and abs(o["recall"][k] - tp / true) < 1e-9
    p, r = o["precision"][k], o["recall"][k]
    assert abs(o["f1"][k] - 2 * p * r / (p + r)) < 1e-9
assert abs(o["macro_f1"] - sum(o["f1"]) / 3) < 1e-9
EOF
$PY - "$tmp" <<'EOF'
import random, sys
random.seed(5)
with open(f"{sys.argv[1]}/reg.csv", "w") as f:
    for _ in range(300):
        x = random.uniform(-1, 1)
        f.write(f"{x:.5f},{2 * x + random.gauss(0, 0.05):.5f}\n")
EOF
$DPMLP train --train "$tmp/reg.csv" --layers 1,8,1 --loss mse --epochs 30 --batch 16 --lr 0.01 \
    --threads 2 --quiet --save "$tmp/reg.model"
$DPMLP eval --model "$tmp/reg.model" --test "$tmp/reg.csv" --metrics >"$tmp/rm.json" 2>/dev/null
check "eval --metrics (regression): mae, rmse >= mae, r2 near 1" $PY - "$tmp/rm.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1]))
assert o["rmse"] >= o["mae"] > 0 and 0.9 < o["r2"] <= 1, o
EOF

# ---- bad combinations: 64 with the rule in one line ----
usage() {
    local name=$1 word=$2
    shift 2
    "$DPMLP" train "${C[@]}" --epochs 2 --quiet "$@" 2>"$tmp/u.err"
    local rc=$?
    check "$name exits 64 (got $rc)" [ "$rc" -eq 64 ]
    check "... and says '$word'" grep -q -- "$word" "$tmp/u.err"
}
usage "--early-stop without validation" "--early-stop watches" --early-stop 3
usage "--val-split 1.5" "--val-split" --val-split 1.5
usage "--val-split 0" "--val-split" --val-split 0
usage "--schedule plateau without validation" "plateau" --schedule plateau
usage "--val and --val-split together" "not both" --val "$tmp/val.csv" --val-split 0.2
usage "--schedule bogus" "constant|step|cosine|plateau" --schedule bogus
usage "--lr-min above --lr" "--lr-min" --lr 0.01 --lr-min 0.1
usage "--plateau-factor 1" "--plateau-factor" --val-split 0.2 --schedule plateau --plateau-factor 1
finish
