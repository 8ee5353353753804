#!/usr/bin/env bash
# End-to-end: scripts/scaling.sh with tiny settings writes scaling.csv with the documented
# columns, the expected rows per mode, numbers that agree with each other (1-thread speedup
# 1, efficiency = speedup / threads, gflops from the layer sizes) and four valid PNGs;
# scripts/plot-log.sh turns a real training log into a PNG; both fail with the documented
# exit codes. Takes a few seconds; needs python3 and gnuplot.
set -u
DPMLP=${DPMLP:-build/dpmlp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"
is_png() { [ -s "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

if [ ! -x "$DPMLP" ]; then
    echo "FAIL no dpmlp binary at $DPMLP (build it, or set DPMLP)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v gnuplot >/dev/null || ! command -v python3 >/dev/null; then
    echo "FAIL gnuplot and python3 are needed (scripts/deps.sh installs them)"
    echo "0 passed, 1 failed"
    exit 1
fi

# --- scaling.sh, tiny: threads 1,2; three bind policies; two batches; two reduce strategies ---
out=$tmp/scaling
scripts/scaling.sh --dpmlp "$DPMLP" --layers 64,32,10 --data synthetic:2000 --threads 1,2 \
    --reps 1 --steps 20 --warmup 5 --batch 32,64 --strong-batch 64 --weak-batch 32 \
    --reduce segmented,tree --out "$out" >"$tmp/scaling.out" 2>"$tmp/scaling.err"
rc=$?
check "scaling.sh exits 0" [ $rc -eq 0 ]
[ $rc -eq 0 ] || sed 's/^/    /' "$tmp/scaling.err" | tail -n 5
check "scaling.csv exists" [ -s "$out/scaling.csv" ]
check "scaling.csv: columns, rows per mode, numbers agree" python3 - "$out/scaling.csv" <<'EOF'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
need = ("mode threads bind batch reduce samples_per_sec speedup efficiency forward_s "
        "backward_s reduce_s update_s imbalance gflops").split()
missing = [c for c in need if c not in rows[0]]
assert not missing, f"missing columns {missing}"
count = {}
for r in rows:
    count[r["mode"]] = count.get(r["mode"], 0) + 1
# strong: 3 binds x 2 thread counts; weak: 2; batch: 2 batches x {1, 2 threads}; reduce: 2 x 2
assert count == {"strong": 6, "weak": 2, "batch": 4, "reduce": 4}, count
numeric = [c for c in need if c not in ("mode", "bind", "reduce")]
for r in rows:
    for c in numeric:
        v = float(r[c])
        assert math.isfinite(v) and v >= 0, (c, r[c], r)
    assert float(r["samples_per_sec"]) > 0, r
    t = int(r["threads"])
    if t == 1:
        assert float(r["speedup"]) == 1.0, r
    assert abs(float(r["efficiency"]) - float(r["speedup"]) / t) < 1e-4 * float(r["speedup"]), r
    # 64,32,10: W = 2048 + 320, first layer 2048 -> 6W - 2*2048 = 10112 flop per sample
    g = float(r["samples_per_sec"]) * 10112 / 1e9
    assert abs(float(r["gflops"]) - g) <= 1e-4 * g, (g, r)
    assert float(r["imbalance"]) >= 1.0 - 1e-6, r
weak = {int(r["threads"]): int(r["batch"]) for r in rows if r["mode"] == "weak"}
assert weak == {1: 32, 2: 64}, weak
assert {int(r["batch"]) for r in rows if r["mode"] == "strong"} == {64}
assert {(r["bind"], r["threads"]) for r in rows if r["mode"] == "strong"} == \
    {(b, t) for b in ("compact", "spread", "none") for t in ("1", "2")}
assert {r["reduce"] for r in rows if r["mode"] == "reduce"} == {"segmented", "tree"}
EOF
for p in speedup efficiency phases batch; do
    check "$p.png is a PNG" is_png "$out/$p.png"
done
# 16 rows but 10 distinct configurations: a configuration shared by two modes (e.g. strong
# 2 threads compact batch 64 = weak 2 x 32) is measured once.
check "raw logs kept, shared configurations measured once" \
    [ "$(find "$out/runs" -name '*.r1.jsonl' | wc -l)" -eq 10 ]

# --- scaling.sh errors ---
scripts/scaling.sh --frobnicate >/dev/null 2>"$tmp/e1"
check "scaling.sh: unknown option exits 64" [ $? -eq 64 ]
check "scaling.sh: one-line error naming the option" grep -q -- "--frobnicate" "$tmp/e1"
scripts/scaling.sh --threads 0,1 --out "$tmp/x" >/dev/null 2>&1
check "scaling.sh: --threads 0 exits 64" [ $? -eq 64 ]
scripts/scaling.sh --bind diagonal --out "$tmp/x" >/dev/null 2>&1
check "scaling.sh: unknown --bind exits 64" [ $? -eq 64 ]
scripts/scaling.sh --data "$tmp/no-such-dir" --out "$tmp/x" >/dev/null 2>&1
check "scaling.sh: missing --data directory exits 66" [ $? -eq 66 ]
scripts/scaling.sh --dpmlp "$tmp/no-such-binary" --out "$tmp/x" >/dev/null 2>&1
check "scaling.sh: missing binary exits 66" [ $? -eq 66 ]
check "scaling.sh --help documents --steps and the CSV" \
    bash -c 'scripts/scaling.sh --help | grep -q -- "--steps" && scripts/scaling.sh --help | grep -q samples_per_sec'

# --- plot-log.sh on a real log with test values (classification), and one without ---
python3 - "$tmp" <<'EOF'
import random, sys
random.seed(3)
centers = [(2, 0, 0, 1), (-2, 1, 0, -1), (0, -2, 2, 0)]
for name, n in (("train.csv", 300), ("test.csv", 150)):
    with open(f"{sys.argv[1]}/{name}", "w") as f:
        for i in range(n):
            c = i % 3
            f.write(",".join(str(round(x + random.gauss(0, 0.8), 4)) for x in centers[c]))
            f.write(f",{c}\n")
EOF
"$DPMLP" train --train "$tmp/train.csv" --test "$tmp/test.csv" --layers 4,8,3 --epochs 6 \
    --batch 32 --threads 2 --log "$tmp/cls.jsonl" --quiet
check "training log written (its header and 6 epochs)" [ "$(wc -l <"$tmp/cls.jsonl")" -eq 7 ]
scripts/plot-log.sh "$tmp/cls.jsonl" "$tmp/cls.png"
check "plot-log.sh on a classification log exits 0" [ $? -eq 0 ]
check "plot-log.sh wrote a PNG" is_png "$tmp/cls.png"
"$DPMLP" train --data synthetic:500 --layers 64,8,10 --epochs 3 --log "$tmp/syn.jsonl" --quiet
scripts/plot-log.sh "$tmp/syn.jsonl" "$tmp/syn.png"
check "plot-log.sh on a log with null test fields exits 0" [ $? -eq 0 ]
check "... and wrote a PNG" is_png "$tmp/syn.png"

# --- plot-log.sh errors ---
scripts/plot-log.sh "$tmp/no-such.jsonl" "$tmp/x.png" 2>"$tmp/e2"
check "plot-log.sh: missing log exits 66" [ $? -eq 66 ]
one_line_naming() { [ "$(wc -l <"$1")" -eq 1 ] && grep -q -- "$2" "$1"; }
check "plot-log.sh: one-line error naming the file" one_line_naming "$tmp/e2" no-such.jsonl
check "plot-log.sh: no PNG after a failure" [ ! -e "$tmp/x.png" ]
scripts/plot-log.sh "$tmp/cls.jsonl" 2>/dev/null
check "plot-log.sh: one argument exits 64" [ $? -eq 64 ]
echo "not json" >"$tmp/bad.jsonl"
scripts/plot-log.sh "$tmp/bad.jsonl" "$tmp/x.png" 2>/dev/null
check "plot-log.sh: a non-JSON log exits 65" [ $? -eq 65 ]

# --- ranks x threads (MPI): needs mpirun and the MPI build test_mpi.sh makes ---
mpibin=${DPMLP_MPI:-build/mpi/dpmlp}
if command -v mpirun >/dev/null && [ -x "$mpibin" ]; then
    scripts/scaling.sh --layers 64,32,10 --data synthetic:2000 --threads 1,2 --ranks 1,2 \
        --reps 1 --steps 10 --warmup 0 --modes ranks --mpi-dpmlp "$mpibin" --no-plots \
        --out "$tmp/ranks" >/dev/null 2>"$tmp/ranks.err"
    check "ranks sweep exits 0" [ $? -eq 0 ]
    check "ranks sweep: 4 rows (1,2 ranks x 1,2 threads), 2-rank rows with allreduce time" \
        python3 - "$tmp/ranks/scaling.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert sorted((int(r["ranks"]), int(r["threads"])) for r in rows) == [(1, 1), (1, 2), (2, 1), (2, 2)], rows
assert all(float(r["allreduce_s"]) > 0 for r in rows if r["ranks"] == "2"), rows
assert all(float(r["samples_per_sec"]) > 0 for r in rows)
EOF
else
    echo "skip ranks sweep: no mpirun or no MPI build at $mpibin"
fi

finish
