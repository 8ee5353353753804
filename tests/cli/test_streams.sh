#!/usr/bin/env bash
# End-to-end: Unix stream conventions. '-' (and /dev/stdin) is standard input for --train,
# --test and --input CSVs (a pipe: no seeking, read once), and the results equal those of the
# same file; predict writes to stdout and ends quietly when its reader goes (| head -1: exit
# 141 by SIGPIPE, or 0 if it had finished); a full device exits 74 with one message; models and
# checkpoints are never written to '-' or over a device node (exit 64).
set -u
DPMLP=$(realpath "${DPMLP:-build/dpmlp}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
cd "$tmp" || exit 1

python3 - <<'EOF2'
import random
random.seed(11)
c = [(2, 0, 0, 1), (-2, 1, 0, -1), (0, -2, 2, 0)]
with open("train.csv", "w") as f, open("x.csv", "w") as g:
    f.write("a,b,c,d,label\n")
    for i in range(300):
        x = [round(v + random.gauss(0, 0.7), 4) for v in c[i % 3]]
        f.write(",".join(map(str, x)) + f",{i % 3}\n")
        g.write(",".join(map(str, x)) + "\n")
EOF2
T=(--layers 4,8,3 --epochs 2 --batch 32 --threads 1 --seed 3 --quiet)

# --- stdin in ---
$DPMLP train --train train.csv "${T[@]}" --save file.model 2>/dev/null
cat train.csv | $DPMLP train --train - "${T[@]}" --save pipe.model 2>pipe.err
check "train --train - from a pipe exits 0" [ $? -eq 0 ]
check "... and gives the same model bytes as the file" cmp -s file.model pipe.model
check "... its header note names <stdin>" grep -q "<stdin>: first row taken as a header" pipe.err
cat train.csv | $DPMLP train --train /dev/stdin "${T[@]}" --save devstdin.model 2>/dev/null
check "train --train /dev/stdin from a pipe: same bytes" cmp -s file.model devstdin.model
cat train.csv | $DPMLP train --train - --test train.csv "${T[@]}" --log l1.jsonl 2>/dev/null
$DPMLP train --train train.csv --test - "${T[@]}" --log l2.jsonl <train.csv 2>/dev/null
check "--test - evaluates the same rows as the file" \
    [ "$(cut -d, -f1-6 l1.jsonl)" = "$(cut -d, -f1-6 l2.jsonl)" ]
cat train.csv | $DPMLP train --train - --test - "${T[@]}" 2>both.err
check "--train - --test - together exit 64" [ $? -eq 64 ]
$DPMLP predict --model file.model --input x.csv --proba >file.out
cat x.csv | $DPMLP predict --model file.model --input - --proba >pipe.out
check "predict --input - (features only, from a pipe) equals the file's output" cmp -s file.out pipe.out
cat train.csv | $DPMLP predict --model file.model --input - --proba >pipe2.out
check "predict --input - with label columns (the fallback re-reads stdin) equals it too" \
    cmp -s file.out pipe2.out
cat train.csv | $DPMLP eval --model file.model --test - >eval_pipe.json
$DPMLP eval --model file.model --test train.csv >eval_file.json
check "eval --test - equals eval on the file" cmp -s eval_pipe.json eval_file.json
: | $DPMLP predict --model file.model --input - 2>empty.err
check "empty stdin exits 65 naming <stdin>" [ $? -eq 65 ] && grep -q "<stdin>" empty.err

# A regression model predicts from features only, on a pipe as from a file.
python3 -c '
import random
random.seed(2)
for i in range(120):
    a, b = random.uniform(-1, 1), random.uniform(-1, 1)
    print(f"{a:.4f},{b:.4f},{a - b:.4f}")' >reg.csv
cut -d, -f1-2 reg.csv >reg_x.csv
$DPMLP train --train reg.csv --layers 2,8,1 --loss mse --epochs 2 --threads 1 --quiet --save reg.model
$DPMLP predict --model reg.model --input reg.csv >reg_full.out
cat reg_x.csv | $DPMLP predict --model reg.model --input - >reg_pipe.out
check "regression predict --input - of features only exits 0" [ $? -eq 0 ]
check "... and equals predict on the rows with targets" cmp -s reg_full.out reg_pipe.out

# --- stdout out ---
$DPMLP predict --model file.model --data synthetic:200000 2>head.err | head -1 >head.out
rc=${PIPESTATUS[0]}
check "predict | head -1 ends with 141 (SIGPIPE) or 0" [ $rc -eq 141 ] || [ $rc -eq 0 ]
check "... quietly (nothing on stderr)" [ ! -s head.err ]
check "... and head got one whole line" grep -qx "[0-9]" head.out
$DPMLP predict --model file.model --data synthetic:5000 >/dev/full 2>full.err
check "predict >/dev/full exits 74" [ $? -eq 74 ]
check "... with one message" [ "$(grep -c 'cannot write to standard output' full.err)" -eq 1 ]
$DPMLP eval --model file.model --test train.csv >/dev/full 2>full2.err
check "eval >/dev/full exits 74" [ $? -eq 74 ]

# --- models never to a stream ---
$DPMLP train --train train.csv "${T[@]}" --save - 2>save.err
check "--save - exits 64" [ $? -eq 64 ]
check "... and creates no file named -" [ ! -e ./- ]
$DPMLP train --train train.csv "${T[@]}" --checkpoint - 2>ck.err
check "--checkpoint - exits 64" [ $? -eq 64 ]
check "... saying why" grep -q "written atomically" ck.err
mkfifo fifo
$DPMLP train --train train.csv "${T[@]}" --save fifo 2>fifo.err
check "--save FIFO exits 64 (a rename would replace it)" [ $? -eq 64 ]
check "... the FIFO is still there" [ -p fifo ]
$DPMLP train --train train.csv "${T[@]}" --save /dev/null 2>null.err
check "--save /dev/null exits 64" [ $? -eq 64 ]
check "... /dev/null is still a device" [ -c /dev/null ]
finish
