#!/usr/bin/env bash
# Networks as users write them: the seed's XOR network (2-2-1, sigmoid hidden and output, MSE,
# full-batch SGD) learns for most seeds; per-layer activations and --out reach the model file;
# bad loss/output pairs and bad lists exit 64 with the rule in one line; dropout keeps same seed
# -> same bytes, --deterministic -> the same bytes for 1, 2 and 3 threads, and exact resume.
set -u

DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-layers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
XOR=${XOR_CSV:-data/xor.csv}

# ---- the seed's example: 10 seeds, at least 7 must separate all four rows at 0.5 ----
learned=0
for seed in 1 2 3 4 5 6 7 8 9 10; do
    "$DPMLP" train --train "$XOR" --layers 2,2,1 --act sigmoid --out sigmoid --loss mse \
        --optim sgd --lr 2 --epochs 3000 --batch 4 --seed "$seed" --threads 1 --quiet \
        --save "$tmp/xor.model" 2>/dev/null || continue
    "$DPMLP" predict --model "$tmp/xor.model" --input "$XOR" >"$tmp/xor.pred" 2>/dev/null || continue
    # rows 00 01 10 11 -> 0 1 1 0, and every output a sigmoid's (in (0, 1))
    if awk 'BEGIN { split("0 1 1 0", want) } { p = $1 + 0; if (p <= 0 || p >= 1) bad = 1;
            if ((p > 0.5) != want[NR]) bad = 1 } END { exit bad || NR != 4 }' "$tmp/xor.pred"; then
        learned=$((learned + 1))
    fi
done
check "XOR 2-2-1 sigmoid/sigmoid MSE learns for $learned of 10 seeds (want >= 7)" [ "$learned" -ge 7 ]

# ---- bad combinations: exit 64, one line naming the rule ----
expect_usage() {  # NAME WORD ARGS...
    local name=$1 word=$2; shift 2
    "$DPMLP" train --data synthetic:64 --epochs 1 --quiet "$@" 2>"$tmp/err"
    local rc=$?
    check "$name: exit 64 (got $rc)" [ "$rc" -eq 64 ]
    check "$name: one line saying '$word'" \
        bash -c '[ "$(wc -l <"$1")" -eq 1 ] && grep -qF -- "$2" "$1"' _ "$tmp/err" "$word"
}
expect_usage "--loss xent --out sigmoid" "xent needs --out softmax" \
    --layers 8,4,3 --loss xent --out sigmoid
expect_usage "--loss bce --out tanh" "bce needs --out sigmoid" --layers 8,4,1 --loss bce --out tanh
expect_usage "--loss mse --out relu" "mse and mae take softmax, sigmoid, tanh or linear" \
    --layers 8,4,1 --loss mse --out relu
expect_usage "--act softmax" "hidden layer 1 cannot be 'softmax'" --layers 8,4,3 --act softmax
expect_usage "--act list too short" "one per hidden layer" --layers 8,4,4,4,3 --act tanh,relu
expect_usage "--act list too long" "one per hidden layer" --layers 8,4,3 --act tanh,relu
expect_usage "--act unknown" "expected relu|sigmoid" --layers 8,4,3 --act swish
expect_usage "--leaky-slope 2" "--leaky-slope" --layers 8,4,3 --act leaky_relu --leaky-slope 2
expect_usage "--dropout 1" "--dropout" --layers 8,4,3 --dropout 1
expect_usage "--dropout list too long" "one per hidden layer" --layers 8,4,3 --dropout 0.1,0.2
expect_usage "--dropout without hidden layers" "no hidden layer" --layers 8,3 --dropout 0.5

# ---- per-layer activations and --out in the model file ----
"$DPMLP" train --data synthetic:256 --layers 8,6,5,2 --act gelu,leaky_relu --leaky-slope 0.05 \
    --out tanh --loss mse --epochs 2 --threads 2 --quiet --save "$tmp/reg.model" 2>"$tmp/reg.err"
check "gelu,leaky_relu / tanh / mse trains (exit $?)" [ -s "$tmp/reg.model" ]
# 8 features and 2 (ignored) target columns, spread wide so a linear output would leave (-1, 1)
awk 'BEGIN { srand(3); for (i = 0; i < 20; i++) { l = ""; for (j = 0; j < 10; j++)
    l = l (j ? "," : "") sprintf("%.4f", 80 * rand() - 40); print l } }' >"$tmp/in.csv"
"$DPMLP" predict --model "$tmp/reg.model" --input "$tmp/in.csv" >"$tmp/reg.pred" 2>/dev/null
check "the loaded model keeps its tanh output: every prediction in [-1, 1]" \
    awk -F, 'NF != 2 { exit 1 } { for (i = 1; i <= 2; i++) if ($i < -1 || $i > 1) exit 1 }
             END { exit NR != 20 }' "$tmp/reg.pred"

# ---- dropout and the byte guarantees ----
D=(--data synthetic:600 --layers 784,32,16,10 --act relu,tanh --dropout 0.3,0.1 --epochs 2
   --batch 50 --seed 5 --quiet)
"$DPMLP" train "${D[@]}" --threads 2 --save "$tmp/d2a.model" 2>/dev/null
"$DPMLP" train "${D[@]}" --threads 2 --save "$tmp/d2b.model" 2>/dev/null
check "dropout: same seed and threads -> same bytes" cmp -s "$tmp/d2a.model" "$tmp/d2b.model"
for t in 1 2 3; do
    "$DPMLP" train "${D[@]}" --deterministic --threads "$t" --save "$tmp/det$t.model" 2>/dev/null
done
check "dropout --deterministic: 1 and 2 threads give the same bytes" \
    cmp -s "$tmp/det1.model" "$tmp/det2.model"
check "dropout --deterministic: 1 and 3 threads give the same bytes" \
    cmp -s "$tmp/det1.model" "$tmp/det3.model"
"$DPMLP" train --data synthetic:600 --layers 784,32,16,10 --act relu,tanh --epochs 2 \
    --batch 50 --seed 5 --quiet --deterministic --threads 1 --save "$tmp/nodrop.model" 2>/dev/null
check "dropout changes the trained model" bash -c '! cmp -s "$1" "$2"' _ "$tmp/det1.model" \
    "$tmp/nodrop.model"
"$DPMLP" eval --model "$tmp/det1.model" --data synthetic:600 >"$tmp/e1" 2>/dev/null
"$DPMLP" eval --model "$tmp/det1.model" --data synthetic:600 --threads 3 >"$tmp/e3" 2>/dev/null
check "eval of a dropout-trained model is dropout-free (1 and 3 threads agree)" \
    cmp -s "$tmp/e1" "$tmp/e3"
"$DPMLP" train "${D[@]}" --epochs 1 --threads 2 --checkpoint "$tmp/run.ckpt" 2>/dev/null
"$DPMLP" train "${D[@]}" --resume "$tmp/run.ckpt" --threads 2 --save "$tmp/resumed.model" \
    2>/dev/null
check "dropout: resume gives the uninterrupted run's bytes" \
    cmp -s "$tmp/resumed.model" "$tmp/d2a.model"
"$DPMLP" train "${D[@]}" --resume "$tmp/run.ckpt" --dropout 0.5 --threads 2 2>"$tmp/rerr"
rc=$?
check "resume with another --dropout: exit 64 (got $rc)" [ "$rc" -eq 64 ]

# ---- adamw: decoupled decay, a different model from adam's L2 ----
A=(--data synthetic:300 --layers 784,16,10 --epochs 1 --seed 2 --threads 1 --quiet
   --weight-decay 0.1)
"$DPMLP" train "${A[@]}" --optim adam --save "$tmp/adam.model" 2>/dev/null
"$DPMLP" train "${A[@]}" --optim adamw --save "$tmp/adamw.model" 2>/dev/null
check "--optim adamw trains" [ -s "$tmp/adamw.model" ]
check "adamw's decoupled decay is not adam's L2" bash -c '! cmp -s "$1" "$2"' _ \
    "$tmp/adam.model" "$tmp/adamw.model"

finish
