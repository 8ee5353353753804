#!/usr/bin/env bash
# make bench's bf16 rows (scripts/bench_bf16.sh) on tiny settings: it runs, its CSV has every
# column with positive throughputs where measured, bench.sh --bf16 appends the table, bad
# flags exit 64. It checks that the benchmark works, not how fast anything is.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

# PyTorch's side only with BENCH_TORCH=1 (its start-up alone costs CI tens of seconds).
torch=--no-torch
[ "${BENCH_TORCH:-0}" = 1 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null && torch=""
scripts/bench_bf16.sh --dpmlp "$DPMLP" --threads 2 --reps 1 --steps 3 --rows "784,16,10:32" \
    --data synthetic:300 --out "$tmp" $torch >"$tmp/out.txt" 2>&1
check "bench_bf16.sh exits 0" [ $? -eq 0 ]
check "its CSV has the columns and positive dpmlp figures" /usr/bin/python3 - "$tmp/bench_bf16.csv" "$torch" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 1, rows
r = rows[0]
want = ["layers", "batch", "dpmlp_fp32", "dpmlp_bf16", "bf16_over_fp32", "torch_fp32",
        "torch_bf16", "dpmlp_bf16_over_torch_bf16", "acc_dpmlp_fp32", "acc_dpmlp_bf16",
        "acc_torch_fp32", "acc_torch_bf16"]
assert list(r) == want, list(r)
assert float(r["dpmlp_fp32"]) > 0 and float(r["dpmlp_bf16"]) > 0, r
if sys.argv[2] == "":
    assert float(r["torch_fp32"]) > 0 and float(r["torch_bf16"]) > 0, r
EOF
check "the start line names the bf16 kernels" grep -q "dpmlp bf16 kernels: [a-z]" "$tmp/out.txt"
DPMLP=$DPMLP scripts/bench.sh --reps 1 --steps 3 --batches 32 --threads 1 --no-torch --no-peak \
    --bf16 --data synthetic:300 --out "$tmp/b" >"$tmp/b.txt" 2>&1
check "bench.sh --bf16 exits 0 and appends the bf16 table" grep -q "dpmlp/torch bf16" "$tmp/b/bench.txt"
scripts/bench_bf16.sh --steps 0 >/dev/null 2>&1
check "--steps 0 exits 64" [ $? -eq 64 ]
scripts/bench_bf16.sh --rows "x" >/dev/null 2>&1
check "--rows x exits 64" [ $? -eq 64 ]
finish
