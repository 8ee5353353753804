#!/usr/bin/env bash
# End-to-end: --precision bf16 on the real binary. The start-up line names the bf16 path and
# why, the log says "precision":"bf16", forcing works (DPMLP_BF16_KERNELS) and a refused path
# is reported; same seed and threads give the same bytes; the model file stays fp32 and loads
# for eval/predict in both precisions; a checkpoint keeps bf16 on resume (format 3) and the
# resumed bytes equal the uninterrupted run's; bad values exit 64.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

run() { $DPMLP train --data synthetic:3000 --layers 32,48,24,4 --epochs 3 --batch 64 \
    --threads 2 --seed 1 "$@"; }  # seed 1: the data eval and predict generate

run --precision bf16 --log "$tmp/log.jsonl" --save "$tmp/a.model" 2>"$tmp/a.err"
check "bf16 train exits 0" [ $? -eq 0 ]
check "start-up line names the bf16 path and why" \
    grep -Eq "precision bf16: .*kernels (amx|avx512bf16|portable) \(" "$tmp/a.err"
check "start line says precision bf16" grep -q "precision bf16$" "$tmp/a.err"
check "log lines say precision bf16" [ "$(grep '"epoch":' "$tmp/log.jsonl" | grep -c '"precision":"bf16"')" -eq 3 ]
run --save "$tmp/f.model" --log "$tmp/f.jsonl" 2>/dev/null
check "fp32 log says precision fp32" grep -q '"precision":"fp32"' "$tmp/f.jsonl"
run --precision bf16 --save "$tmp/b.model" 2>/dev/null
check "bf16: same seed and threads, same bytes" cmp -s "$tmp/a.model" "$tmp/b.model"
check "bf16 and fp32 models differ" bash -c "! cmp -s '$tmp/a.model' '$tmp/f.model'"
check "model file size is the fp32 one" [ "$(stat -c %s "$tmp/a.model")" -eq "$(stat -c %s "$tmp/f.model")" ]

DPMLP_BF16_KERNELS=portable run --precision bf16 --save "$tmp/p.model" 2>"$tmp/p.err"
check "DPMLP_BF16_KERNELS=portable is used" grep -q "kernels portable (forced portable" "$tmp/p.err"
if grep -q "kernels avx512bf16" "$tmp/a.err"; then
    check "portable emulation gives the AVX512-BF16 bytes" cmp -s "$tmp/a.model" "$tmp/p.model"
fi
DPMLP_BF16_KERNELS=amx run --precision bf16 --epochs 1 2>"$tmp/amx.err"
check "forced amx runs (or falls back saying why)" \
    grep -Eq "kernels amx \(forced|AMX not used|no AMX path" "$tmp/amx.err"
DPMLP_KERNELS=portable run --precision bf16 --epochs 1 2>"$tmp/pk.err"
check "DPMLP_KERNELS=portable makes bf16 portable too" grep -q "kernels portable" "$tmp/pk.err"

$DPMLP eval --model "$tmp/a.model" --data synthetic:500 --precision bf16 >"$tmp/e16.json"
check "eval --precision bf16 exits 0" [ $? -eq 0 ]
$DPMLP eval --model "$tmp/a.model" --data synthetic:500 >"$tmp/e32.json"
check "eval accuracies agree within 2 points" /usr/bin/python3 - "$tmp/e16.json" "$tmp/e32.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["accuracy"] for p in sys.argv[1:3])
sys.exit(0 if abs(a - b) <= 0.02 and a > 0.5 else 1)
EOF
$DPMLP predict --model "$tmp/a.model" --data synthetic:200 --precision bf16 >"$tmp/pred.txt"
check "predict --precision bf16 prints one line a sample" [ "$(wc -l <"$tmp/pred.txt")" -eq 200 ]

# Checkpoint: stop after epoch 2, resume without --precision: bf16 kept, same bytes.
run --precision bf16 --epochs 2 --checkpoint "$tmp/run.ckpt" 2>/dev/null
run --epochs 3 --resume "$tmp/run.ckpt" --save "$tmp/r.model" 2>"$tmp/r.err"
check "resume keeps bf16 from the checkpoint" grep -q "precision bf16:" "$tmp/r.err"
check "resumed bf16 run gives the uninterrupted bytes" cmp -s "$tmp/a.model" "$tmp/r.model"
run --epochs 3 --resume "$tmp/run.ckpt" --precision fp32 2>"$tmp/r32.err"
check "resume --precision fp32 says the change" grep -q "\-\-precision bf16 -> fp32" "$tmp/r32.err"

run --precision fp16 2>"$tmp/bad.err"
check "--precision fp16 exits 64" [ $? -eq 64 ]
check "and names the choices" grep -q "expected fp32|bf16" "$tmp/bad.err"
$DPMLP eval --model "$tmp/a.model" --data synthetic:10 --precision x 2>/dev/null
check "eval --precision x exits 64" [ $? -eq 64 ]
finish
