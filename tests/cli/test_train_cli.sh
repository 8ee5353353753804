#!/usr/bin/env bash
# End-to-end: the real binary on small generated data. Training reaches an accuracy, the model
# round-trips through save -> eval/predict, the log is JSON Lines with the documented keys,
# XOR is learned, flags are validated (exit 64), --help/--version work, runs are reproducible.
# run-tests: alone (make xor writes build/xor.model and xor.pred)
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# Three Gaussian blobs in 4 dimensions: 600 training rows with a header, 300 test rows.
python3 - "$tmp" <<'EOF'
import random, sys
d = sys.argv[1]
random.seed(7)
centers = [(2, 0, 0, 1), (-2, 1, 0, -1), (0, -2, 2, 0)]
def rows(n):
    for i in range(n):
        c = i % 3
        yield [round(x + random.gauss(0, 0.7), 4) for x in centers[c]] + [c]
for name, n in (("train.csv", 600), ("test.csv", 300)):
    with open(f"{d}/{name}", "w") as f:
        f.write("a,b,c,d,label\n")
        for r in rows(n):
            f.write(",".join(map(str, r)) + "\n")
# Regression: y = (x0 - 2 x1, x0 * 0.5) plus noise, two targets.
with open(f"{d}/reg.csv", "w") as f:
    for i in range(500):
        x0, x1 = random.uniform(-1, 1), random.uniform(-1, 1)
        f.write(f"{x0:.5f},{x1:.5f},{x0 - 2 * x1 + random.gauss(0, 0.01):.5f},{0.5 * x0:.5f}\n")
EOF

# --- training on CSV reaches an accuracy, saves, and reports JSON Lines ---
$DPMLP train --train "$tmp/train.csv" --test "$tmp/test.csv" --layers 4,16,3 --epochs 20 \
    --batch 32 --lr 0.01 --threads 2 --log "$tmp/log.jsonl" --save "$tmp/m.model" \
    2>"$tmp/train.err"
rc=$?
check "train exits 0" [ $rc -eq 0 ]
check "log has a header line and one line per epoch" [ "$(wc -l <"$tmp/log.jsonl")" -eq 21 ]
check "log lines are JSON with the documented keys" python3 - "$tmp/log.jsonl" <<'EOF'
import json, sys
keys = {"epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "samples_per_sec",
        "forward_s", "backward_s", "reduce_s", "update_s"}
lines = [json.loads(l) for l in open(sys.argv[1])]
run = lines.pop(0)["run"]  # the header: what produced the run
assert run["layers"] == [4, 16, 3] and run["batch"] == 32 and run["n_train"] == 600, run
assert all(keys <= set(l) for l in lines), lines[0].keys()
assert [l["epoch"] for l in lines] == list(range(1, 21))
assert lines[-1]["test_accuracy"] > 0.95, lines[-1]
EOF
check "stderr reports workers and pinning" grep -q "workers" "$tmp/train.err"

acc=$($DPMLP eval --model "$tmp/m.model" --test "$tmp/test.csv" | python3 -c \
    'import json,sys; o=json.load(sys.stdin); assert o["samples"]==300; print(o["accuracy"])')
check "eval prints samples and accuracy > 0.95 ($acc)" python3 -c "import sys; sys.exit(not float('${acc:-0}') > 0.95)"
last=$(tail -1 "$tmp/log.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["test_accuracy"])')
check "eval agrees with the last epoch's test accuracy" python3 -c "import sys; sys.exit(abs(float('${acc:-0}') - float('$last')) > 1e-9)"

$DPMLP predict --model "$tmp/m.model" --input "$tmp/test.csv" >"$tmp/pred.txt"
check "predict prints one class per sample" [ "$(wc -l <"$tmp/pred.txt")" -eq 300 ]
check "predictions match labels > 95%" python3 - "$tmp/pred.txt" "$tmp/test.csv" <<'EOF'
import sys
pred = [int(l) for l in open(sys.argv[1])]
labels = [int(l.rsplit(",", 1)[1]) for l in list(open(sys.argv[2]))[1:]]
assert sum(p == l for p, l in zip(pred, labels)) / len(labels) > 0.95
EOF
cut -d, -f1-4 "$tmp/test.csv" >"$tmp/features.csv"
$DPMLP predict --model "$tmp/m.model" --input "$tmp/features.csv" >"$tmp/pred2.txt"
check "predict on features-only rows gives the same classes" cmp -s "$tmp/pred.txt" "$tmp/pred2.txt"
$DPMLP predict --model "$tmp/m.model" --input "$tmp/test.csv" --proba >"$tmp/proba.txt"
check "--proba: CSV header, 3 probabilities summing to 1, then the top class" python3 - "$tmp/proba.txt" "$tmp/pred.txt" <<'EOF'
import sys
lines = open(sys.argv[1]).read().splitlines()
assert lines[0] == "p0,p1,p2,class", lines[0]
rows = [list(map(float, l.split(","))) for l in lines[1:]]
pred = [int(l) for l in open(sys.argv[2])]
assert len(rows) == 300 and all(len(r) == 4 and abs(sum(r[:3]) - 1) < 1e-4 for r in rows)
assert all(int(r[3]) == max(range(3), key=lambda j: r[j]) == p for r, p in zip(rows, pred))
EOF

# --- reproducibility: same seed and threads -> identical model bytes ---
for i in 1 2; do
    $DPMLP train --train "$tmp/train.csv" --layers 4,8,3 --epochs 2 --batch 10 --threads 2 \
        --seed 5 --quiet --save "$tmp/r$i.model"
done
check "same seed and threads give identical model files" cmp -s "$tmp/r1.model" "$tmp/r2.model"

# --- regression with mse, predict prints values ---
$DPMLP train --train "$tmp/reg.csv" --layers 2,16,2 --loss mse --epochs 40 --batch 16 --lr 0.01 \
    --threads 2 --quiet --save "$tmp/reg.model"
check "regression trains" [ $? -eq 0 ]
mae=$($DPMLP eval --model "$tmp/reg.model" --test "$tmp/reg.csv" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mae"])')
check "regression mae < 0.1 ($mae)" python3 -c "import sys; sys.exit(not float('${mae:-9}') < 0.1)"
check "regression predict prints 2 values per row" python3 -c "
import subprocess, sys
out = subprocess.run(['$DPMLP', 'predict', '--model', '$tmp/reg.model', '--input', '$tmp/reg.csv'],
                     capture_output=True, text=True, check=True).stdout.split()
assert len(out) == 500 and all(len(l.split(',')) == 2 for l in out)"

# --- XOR: the classic 2-2-1 sigmoid network ---
make -s xor >"$tmp/xor.txt" 2>&1
check "make xor succeeds" [ $? -eq 0 ]
check "XOR predictions round to 0 1 1 0" python3 - "$tmp/xor.txt" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if " XOR " in l]
assert [int(r[-1]) for r in rows] == [0, 1, 1, 0], rows
assert all(abs(float(r[4]) - int(r[-1])) < 0.2 for r in rows), rows
EOF

# --- usage errors: exit 64 with one line ---
usage() {
    local name=$1; shift
    "$DPMLP" "$@" >/dev/null 2>"$tmp/u.err"
    local rc=$?
    if [ $rc -eq 64 ] && [ "$(wc -l <"$tmp/u.err")" -eq 1 ]; then ok "usage: $name"; else
        bad "usage: $name (exit $rc: $(head -c 200 "$tmp/u.err"))"; fi
}
usage "unknown flag" train --train "$tmp/train.csv" --layers 4,3 --bogus 1
usage "batch 0" train --train "$tmp/train.csv" --layers 4,3 --batch 0
usage "lr 0" train --train "$tmp/train.csv" --layers 4,3 --lr 0
usage "negative lr" train --train "$tmp/train.csv" --layers 4,3 --lr -1
usage "layer size 0" train --train "$tmp/train.csv" --layers 4,0,3
usage "threads 0" train --train "$tmp/train.csv" --layers 4,3 --threads 0
usage "bad activation" train --train "$tmp/train.csv" --layers 4,3 --act swish
usage "missing value" train --train "$tmp/train.csv" --layers
usage "no data" train --layers 4,3
usage "unknown command" frobnicate
usage "eval without model" eval --test "$tmp/test.csv"
usage "non-numeric epochs" train --train "$tmp/train.csv" --layers 4,3 --epochs ten
usage "seed with a leading space and sign" train --train "$tmp/train.csv" --layers 4,3 --seed " -1"
# Every path flag given "" is a usage error naming the flag (was "dpmlp: : cannot open").
for flag in --save --log --checkpoint --resume --test; do
    usage "empty $flag" train --train "$tmp/train.csv" --layers 4,3 $flag ""
    check "empty $flag: the message names $flag" grep -q -- "$flag" "$tmp/u.err"
done
usage "empty --model" eval --model "" --test "$tmp/test.csv"
usage "empty --input" predict --model "$tmp/m.model" --input ""
$DPMLP train --train "$tmp/train.csv" --layers 4,3 --epochs 1 --threads 1 2>"$tmp/one.err"
check "start-up line says '1 worker' (singular)" grep -q "; 1 worker (" "$tmp/one.err"

for sub in train eval predict topo; do
    check "$sub --help" bash -c "'$DPMLP' $sub --help | grep -q usage"
done
check "--version names OpenMP, hwloc and the kernel path" bash -c \
    "'$DPMLP' --version | grep -q 'OpenMP' && '$DPMLP' --version | grep -q 'hwloc' && '$DPMLP' --version | grep -q 'kernels'"
check "topo lists every worker" bash -c "'$DPMLP' topo --threads 3 | grep -c '^worker [0-9]' | grep -qx 3"

# --- model files that are not to be trusted ---
$DPMLP eval --model "$tmp/missing.model" --test "$tmp/test.csv" 2>"$tmp/e.err"
check "missing model exits 66" [ $? -eq 66 ]
head -c 100 "$tmp/m.model" >"$tmp/trunc.model"
$DPMLP eval --model "$tmp/trunc.model" --test "$tmp/test.csv" 2>"$tmp/e.err"
check "truncated model exits 65 naming the file" bash -c "[ $? -eq 65 ] && grep -q trunc.model '$tmp/e.err'"
$DPMLP eval --model "$tmp/m.model" --test "$tmp/reg.csv" 2>"$tmp/e.err"
check "test set that does not fit the model exits 65" [ $? -eq 65 ]

# --- the save is atomic: an unwritable destination fails with 74 and no partial file ---
$DPMLP train --train "$tmp/train.csv" --layers 4,3 --epochs 1 --quiet \
    --save "$tmp/no/such/dir/m.model" 2>"$tmp/s.err"
check "save into a missing directory exits 74" [ $? -eq 74 ]

# --- every output is checked before any data is loaded (the data here does not exist: a
# check that came after loading would exit 66 instead) ---
out_first() {
    local name=$1 want=$2; shift 2
    "$DPMLP" train --train "$tmp/no-such-data.csv" --layers 4,3 --epochs 1 --quiet "$@" \
        2>"$tmp/o.err"
    local rc=$?
    check "$name: exits $want before loading data (got $rc: $(head -c 160 "$tmp/o.err"))" \
        [ $rc -eq "$want" ]
}
mkdir -p "$tmp/outdir"
out_first "--save DIR" 74 --save "$tmp/outdir"
check "--save DIR: says it is a directory" grep -q "is a directory" "$tmp/o.err"
out_first "--checkpoint DIR" 74 --checkpoint "$tmp/outdir"
out_first "--log DIR" 74 --log "$tmp/outdir"
out_first "--save in a missing directory" 74 --save "$tmp/none/m.model"
out_first "--checkpoint \"\"" 64 --checkpoint ""
out_first "--log \"\"" 64 --log ""
long=$(printf 'n%.0s' $(seq 250))   # 250 fits NAME_MAX, 250 + ".tmp.XXXXXX" does not
out_first "--save with a 250-byte name (its temp name too long)" 74 --save "$tmp/$long"
check "... the message says the name is too long" grep -q "too long" "$tmp/o.err"
out_first "--checkpoint with a 250-byte name" 74 --checkpoint "$tmp/$long"
if [ "$(id -u)" != 0 ]; then   # root writes anywhere: the check cannot fail for it
    mkdir -p "$tmp/ro" && chmod 555 "$tmp/ro"
    out_first "--save in an unwritable directory" 74 --save "$tmp/ro/m.model"
    chmod 755 "$tmp/ro"
fi

# --- two flags naming one file, one of them an output: 64 naming both, nothing written ---
d="$tmp/same"
mkdir -p "$d/mnist"
$DPMLP train --data synthetic:300 --layers 4,3 --epochs 1 --quiet --checkpoint "$d/C"
cp "$d/C" "$d/C.orig"
cp "$tmp/train.csv" "$d/t.csv"
ln "$d/t.csv" "$d/hard.csv"
printf 'not an idx file' >"$d/mnist/train-images-idx3-ubyte.gz"
collide() {
    local want=$1; shift
    "$DPMLP" train --layers 4,3 --epochs 2 --quiet "$@" >/dev/null 2>"$tmp/c.err"
    local rc=$?
    check "collision $*: exits 64 (got $rc)" [ $rc -eq 64 ]
    check "collision $*: the message names $want" grep -q -- "$want name the same file" "$tmp/c.err"
}
collide "--save and --checkpoint" --data synthetic:300 --save "$d/X" --checkpoint "$d/X"
check "... and wrote nothing" [ ! -e "$d/X" ]
collide "--resume and --log" --data synthetic:300 --resume "$d/C" --log "$d/C"
collide "--resume and --save" --data synthetic:300 --resume "$d/C" --save "$d/../same/C"
check "... the checkpoint is untouched" cmp -s "$d/C" "$d/C.orig"
collide "--train and --save" --train "$d/t.csv" --save "$d/t.csv"
collide "--train and --log" --train "$d/hard.csv" --log "$d/t.csv"
check "... the training data is untouched" cmp -s "$d/t.csv" "$tmp/train.csv"
collide "--test and --checkpoint" --train "$tmp/train.csv" --test "$d/t.csv" --checkpoint "$d/t.csv"
collide "--data and --save" --data "$d/mnist" --save "$d/mnist/train-images-idx3-ubyte.gz"
collide "--save and --log" --data synthetic:300 --save "$d/new" --log "$d/./new"
$DPMLP train --data synthetic:300 --layers 4,3 --epochs 2 --quiet --resume "$d/C" --checkpoint "$d/C"
check "--resume X --checkpoint X (the normal pattern) is allowed" [ $? -eq 0 ]

# --- a result that cannot be written is a failure (74), not a silent 0 ---
if [ -w /dev/full ]; then
    full() {
        local name=$1; shift
        "$DPMLP" "$@" >/dev/full 2>"$tmp/f.err"
        local rc=$?
        check "$name > /dev/full exits 74 (got $rc)" [ $rc -eq 74 ]
        check "$name > /dev/full says so" grep -q "$want: No space left" "$tmp/f.err"
    }
    want="cannot write to standard output"
    full "eval" eval --model "$tmp/m.model" --test "$tmp/test.csv"
    full "predict" predict --model "$tmp/m.model" --input "$tmp/test.csv"
    full "topo" topo --threads 2
    full "--version" --version
    full "--help" --help
    full "train --help" train --help
    want="cannot write log"
    full "train --log -" train --train "$tmp/train.csv" --layers 4,3 --epochs 1 --quiet --log -
fi
# `--log - | head -1`: the reader leaves, the run goes on and saves its model (epochs long
# enough that head has gone before the second line).
rm -f "$tmp/pipe.model"
"$DPMLP" train --data synthetic:200000 --layers 20,64,10 --epochs 3 --threads 2 --quiet \
    --log - --save "$tmp/pipe.model" 2>"$tmp/pipe.err" | head -1 >"$tmp/pipe.out"
rc=${PIPESTATUS[0]}
check "train --log - | head -1: dpmlp exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "... the model is saved" [ -s "$tmp/pipe.model" ]
check "... head got the header line" grep -q '^{"run":{' "$tmp/pipe.out"
check "... one warning says logging stopped" \
    bash -c "[ \$(grep -c 'logging stopped, the run goes on' '$tmp/pipe.err') -eq 1 ]"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
