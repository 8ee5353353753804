#!/usr/bin/env bash
# make bench's script on tiny settings: it runs, its CSV has every documented column with
# positive numbers where a figure was measured, the FMA peak probe builds and reports a
# positive GFLOP/s, bad flags are refused, and the PyTorch side runs when torch is installed.
# Quick (seconds); it checks that the benchmark works, not how fast anything is.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

cols=network,layers,threads,batch,dpmlp_samples_per_sec,dpmlp_gflops,peak_gflops,dpmlp_pct_peak,torch_samples_per_sec,torch_pct_peak,dpmlp_over_torch,dpmlp_rss_mib,torch_rss_mib,dpmlp_speedup,torch_speedup

# --- peak probe on its own ---
check "peak_flops.c compiles without warnings" \
    "${CC:-cc}" -O2 -pthread -std=c11 -Wall -Wextra -Werror -o "$tmp/peak_flops" scripts/peak_flops.c
"$tmp/peak_flops" --threads 1,2 --seconds 0.05 --reps 1 >"$tmp/peak.txt" 2>&1
check "peak_flops exits 0" [ $? -eq 0 ]
check "peak_flops reports a positive GFLOP/s per thread count" python3 - "$tmp/peak.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
got = {}
for l in lines:
    m = re.fullmatch(r"peak_flops threads=(\d+) isa=(avx512f|avx2|scalar) gflops=([0-9.]+)", l)
    assert m, l
    got[int(m[1])] = float(m[3])
assert sorted(got) == [1, 2] and all(v > 0 for v in got.values()), got
PY
"$tmp/peak_flops" --threads 0 >/dev/null 2>&1
check "peak_flops --threads 0 exits 64" [ $? -eq 64 ]

# --- the whole script, tiny: the default net at 2 batches, 20 steps, 2 thread counts, no torch ---
DPMLP=$DPMLP scripts/bench.sh --nets default --reps 1 --steps 20 --batches 32,64 --threads 1,2 \
    --no-torch --out "$tmp/out" >"$tmp/bench.out" 2>&1
rc=$?
check "bench.sh exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$tmp/bench.out"
check "bench.csv has the documented header" [ "$(head -1 "$tmp/out/bench.csv" 2>/dev/null)" = "$cols" ]
check "bench.csv: one row per config, measured columns numeric and positive, torch NA" \
    python3 - "$tmp/out/bench.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [(r["network"], r["layers"], r["threads"], r["batch"]) for r in rows] == [
    ("default", "784-256-128-10", t, b) for t in ("1", "2") for b in ("32", "64")], rows
for r in rows:
    for k in ("dpmlp_samples_per_sec", "dpmlp_gflops", "peak_gflops", "dpmlp_pct_peak",
              "dpmlp_rss_mib", "dpmlp_speedup"):
        assert float(r[k]) > 0, (k, r)
    for k in ("torch_samples_per_sec", "torch_pct_peak", "dpmlp_over_torch", "torch_rss_mib",
              "torch_speedup"):
        assert r[k] == "NA", (k, r)
    # effective GFLOP/s is samples/s x 1.007104 MFLOP
    assert abs(float(r["dpmlp_gflops"]) - float(r["dpmlp_samples_per_sec"]) * 1.007104e-3) < 0.01 + 1e-3 * float(r["dpmlp_gflops"]), r
assert all(float(r["dpmlp_speedup"]) == 1.0 for r in rows if r["threads"] == "1"), rows
PY
check "stdout prints the table and names the data" \
    bash -c "grep -q 'dpmlp smp/s' '$tmp/bench.out' && grep -q '^model: .*data: ' '$tmp/bench.out'"
check "raw.jsonl has one dpmlp record per run" [ "$(grep -c '"kind":"dpmlp"' "$tmp/out/raw.jsonl")" -eq 4 ]
check "the top names the CPU and dpmlp's kernel path" \
    bash -c "grep -q '^CPU: ' '$tmp/bench.out' && grep -q '^dpmlp: dpmlp .*kernels ' '$tmp/bench.out'"

# --- the width rows, 1 step each on synthetic data (no test set to evaluate), no peak probe ---
DPMLP=$DPMLP scripts/bench.sh --nets wide,w4096 --reps 1 --steps 1 --threads 1,2 --no-torch --no-peak \
    --data synthetic:512 --out "$tmp/wide" >"$tmp/wide.out" 2>&1
rc=$?
check "bench.sh --nets wide,w4096 exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || tail -20 "$tmp/wide.out"
check "the width rows: batch 256 at both thread counts, GFLOP/s from their own layer sizes" \
    python3 - "$tmp/wide/bench.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
want = [(n, l, t, "256") for n, l in (("wide", "784-1024-1024-10"), ("w4096", "784-4096-4096-10"))
        for t in ("1", "2")]
assert [(r["network"], r["layers"], r["threads"], r["batch"]) for r in rows] == want, rows
mflop = {"wide": 6 * (784 * 1024 + 1024 * 1024 + 10240) - 2 * 784 * 1024,
         "w4096": 6 * (784 * 4096 + 4096 * 4096 + 40960) - 2 * 784 * 4096}
for r in rows:
    g, s = float(r["dpmlp_gflops"]), float(r["dpmlp_samples_per_sec"])
    f = mflop[r["network"]] / 1e9  # GFLOP per sample; samples/s is printed rounded to 1
    assert s > 0 and abs(g - s * f) < 0.5 * f + 0.01 + 1e-3 * g, r
    assert r["dpmlp_pct_peak"] == "NA" and r["torch_pct_peak"] == "NA", r
PY
scripts/bench.sh --nets default,huge >/dev/null 2>&1
check "--nets with an unknown net exits 64" [ $? -eq 64 ]

# --- no Fashion-MNIST anywhere: falls back to synthetic data and says so; --no-peak ---
abs_dpmlp=$(cd "$(dirname "$DPMLP")" && pwd)/$(basename "$DPMLP")
abs_bench=$PWD/scripts/bench.sh
(cd "$tmp" && FASHION_MNIST_DIR="$tmp/none" "$abs_bench" --dpmlp "$abs_dpmlp" --reps 1 \
    --nets default --steps 10 --batches 16 --threads 1 --no-torch --no-peak --out "$tmp/syn") >"$tmp/syn.out" 2>&1
check "bench.sh without data or peak exits 0" [ $? -eq 0 ]
check "it says it fell back to synthetic:60000" grep -q 'NOTE: .*synthetic:60000' "$tmp/syn.out"
check "--no-peak leaves the peak columns NA" \
    bash -c "tail -1 '$tmp/syn/bench.csv' | awk -F, '{ exit !(\$7 == \"NA\" && \$8 == \"NA\" && \$5 > 0) }'"

# --- bad flags ---
scripts/bench.sh --reps 0 >/dev/null 2>&1
check "--reps 0 exits 64" [ $? -eq 64 ]
scripts/bench.sh --batches 32,x >/dev/null 2>&1
check "--batches 32,x exits 64" [ $? -eq 64 ]
scripts/bench.sh --frobnicate >/dev/null 2>&1
check "unknown flag exits 64" [ $? -eq 64 ]
scripts/bench.sh --dpmlp "$tmp/nonexistent" >/dev/null 2>&1
check "missing binary exits 66" [ $? -eq 66 ]

# --- PyTorch side, when installed (scripts/deps.sh --bench) ---
py=${PYTHON:-/usr/bin/python3}
if "$py" -c 'import torch' 2>/dev/null; then
    OPENBLAS_NUM_THREADS=1 "$py" scripts/bench_torch.py --threads 1 --batches 8,16 --steps 5 \
        --warmup 2 --reps 1 >"$tmp/torch.out" 2>"$tmp/torch.err"
    check "bench_torch.py exits 0" [ $? -eq 0 ]
    check "bench_torch.py prints one JSON record per config with positive samples/s and RSS" \
        python3 - "$tmp/torch.out" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [(r["threads"], r["batch"]) for r in recs] == [(1, 8), (1, 16)], recs
assert all(r["samples_per_sec"] > 0 and r["maxrss_kb"] > 0 and r["steps"] == 5 for r in recs), recs
PY
    OPENBLAS_NUM_THREADS=1 "$py" scripts/bench_torch.py --layers 784,1024,1024,10 --threads 1 \
        --batches 256 --steps 1 --warmup 1 --reps 1 >"$tmp/torchw.out" 2>"$tmp/torchw.err"
    check "bench_torch.py runs the wide net" \
        python3 -c 'import json, sys; r = [json.loads(l) for l in open(sys.argv[1])]; assert len(r) == 1 and r[0]["batch"] == 256 and r[0]["samples_per_sec"] > 0, r' "$tmp/torchw.out"
else
    echo "skip bench_torch.py: torch not installed for $py (scripts/deps.sh --bench)"
fi

finish
