#!/usr/bin/env bash
# make bench's bf16 columns (issue 10; bench.sh --bf16 runs this): dpmlp fp32 and bf16 and
# PyTorch fp32 and bf16 autocast on the same network, batch and threads, interleaved in one
# run, with the test accuracy each reached after the same number of SGD steps (lr 0.05).
# Rows: 784-256-128-10 at batch 512 and 128, 784-1024-1024-10 at batch 256. Each figure is
# the median of --reps runs; CSV in OUT/bench_bf16.csv, raw records in OUT/raw_bf16.jsonl.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/bench_bf16.sh [--threads T] [--reps N] [--steps N] [--data DIR] [--out DIR]
                             [--dpmlp PATH] [--rows LIST] [--no-torch]
  --rows LIST   layers:batch pairs  [784,256,128,10:512 784,256,128,10:128 784,1024,1024,10:256]
                (space-separated in one argument)
  --steps N     timed SGD steps per run                              [200]
EOF
}

threads=${THREADS:-$(nproc)} reps=3 steps=200 data=data/fashion out=build/bench
dpmlp=${DPMLP:-build/dpmlp} torch=1 py=${PYTHON:-/usr/bin/python3}
rows="784,256,128,10:512 784,256,128,10:128 784,1024,1024,10:256"
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "bench_bf16: $*" >&2; exit 64; }
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1: '$2' is not a positive integer"; }
while [ $# -gt 0 ]; do
    case $1 in
        --threads) posint "$1" "${2-}"; threads=$2; shift ;;
        --reps) posint "$1" "${2-}"; reps=$2; shift ;;
        --steps) posint "$1" "${2-}"; steps=$2; shift ;;
        --data) [ -n "${2-}" ] || die "--data needs a directory"; data=$2; shift ;;
        --out) [ -n "${2-}" ] || die "--out needs a directory"; out=$2; shift ;;
        --dpmlp) [ -n "${2-}" ] || die "--dpmlp needs a path"; dpmlp=$2; shift ;;
        --rows) [[ ${2-} =~ ^[0-9,]+:[0-9]+( [0-9,]+:[0-9]+)*$ ]] || die "--rows: '${2-}'"; rows=$2; shift ;;
        --no-torch) torch=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done
[ -x "$dpmlp" ] || { echo "bench_bf16: $dpmlp not found: run make first" >&2; exit 66; }
torch_data=()
[[ $data == synthetic:* ]] || torch_data=(--data "$data")
[ "$torch" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null && torch=0
mkdir -p "$out"
raw=$out/raw_bf16.jsonl
: >"$raw"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
path=$(DPMLP_BF16_KERNELS=${DPMLP_BF16_KERNELS:-} "$dpmlp" train --data synthetic:64 --layers 4,4,2 \
       --epochs 1 --precision bf16 --threads 1 2>&1 | sed -n 's/^dpmlp: precision bf16: .*; kernels \(.*\)$/\1/p' | head -1)
echo "bf16 rows: $threads threads, $steps SGD steps per run, $reps reps, data $data; dpmlp bf16 kernels: ${path:-?}"

# dpmlp: samples/s from the log, test accuracy of the (partial) epoch's evaluation.
dpmlp_run() { # layers batch precision rep
    "$dpmlp" train --data "$data" --layers "$1" --optim sgd --lr 0.05 --batch "$2" \
        --threads "$threads" --steps "$steps" --epochs 100 --seed "$4" --precision "$3" \
        --quiet --log "$tmp/log.jsonl" 2>"$tmp/err" ||
        { echo "bench_bf16: dpmlp failed ($1 batch $2 $3):" >&2; cat "$tmp/err" >&2; exit 70; }
    "$py" - "$tmp/log.jsonl" "$1" "$2" "$3" "$4" >>"$raw" <<'EOF'
import json, sys
recs = [r for r in (json.loads(l) for l in open(sys.argv[1]) if l.strip()) if "run" not in r]  # the header line describes the run
n = sum(r["samples"] for r in recs); s = sum(r["seconds"] for r in recs)
acc = recs[-1].get("test_accuracy")
print(json.dumps({"kind": "dpmlp", "layers": sys.argv[2], "batch": int(sys.argv[3]),
                  "precision": sys.argv[4], "rep": int(sys.argv[5]),
                  "samples_per_sec": n / s, "test_accuracy": acc}))
EOF
}

torch_run() { # layers batch precision rep
    local ac=(); [ "$3" = bf16 ] && ac=(--autocast-bf16)
    # Each precision at its best: fp32 runs its GEMMs in OpenBLAS, whose pool and OpenMP's fight
    # over the cores when both spin (bench.sh does the same above one thread); bf16 autocast
    # runs in oneDNN on OpenMP alone, which measured 1.7x slower with passive waiting.
    local wait=(-u OMP_WAIT_POLICY)
    [ "$3" = fp32 ] && [ "$threads" -gt 1 ] && wait=(OMP_WAIT_POLICY=PASSIVE)
    env "${wait[@]}" OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" "$py" "$here/bench_torch.py" \
        --bf16-rows "${ac[@]}" "${torch_data[@]}" --layers "$1" --threads "$threads" --batches "$2" \
        --steps "$steps" --reps 1 --warmup 5 --seed "$4" >"$tmp/t.out" 2>"$tmp/t.err" ||
        { echo "bench_bf16: bench_torch.py failed ($1 batch $2 $3):" >&2; tail -5 "$tmp/t.err" >&2; exit 70; }
    grep '^{' "$tmp/t.out" | sed "s/^{/{\"kind\": \"torch\", \"precision\": \"$3\", \"bench_rep\": $4, /" >>"$raw"
}

# Reps outermost, the four columns interleaved: noise spreads over all of them.
for rep in $(seq 1 "$reps"); do
    for row in $rows; do
        layers=${row%:*} batch=${row#*:}
        for prec in fp32 bf16; do
            dpmlp_run "$layers" "$batch" "$prec" "$rep"
            [ "$torch" = 1 ] && torch_run "$layers" "$batch" "$prec" "$rep"
        done
    done
done

"$py" - "$raw" "$out/bench_bf16.csv" "$rows" <<'EOF'
import json, statistics, sys
raw, csv_path, rows = sys.argv[1], sys.argv[2], sys.argv[3].split()
recs = [json.loads(l) for l in open(raw) if l.strip()]
def med(kind, layers, batch, prec, key):
    v = [r[key] for r in recs if r["kind"] == kind and r["layers"] == layers
         and r["batch"] == batch and r["precision"] == prec and r.get(key) is not None]
    return statistics.median(v) if v else None
f = lambda x, s: "NA" if x is None else format(x, s)
ratio = lambda a, b: a / b if a and b else None
cols = ["layers", "batch", "dpmlp_fp32", "dpmlp_bf16", "bf16_over_fp32", "torch_fp32",
        "torch_bf16", "dpmlp_bf16_over_torch_bf16", "acc_dpmlp_fp32", "acc_dpmlp_bf16",
        "acc_torch_fp32", "acc_torch_bf16"]
out = []
for row in rows:
    layers, batch = row.split(":")[0], int(row.split(":")[1])
    d32, d16 = (med("dpmlp", layers, batch, p, "samples_per_sec") for p in ("fp32", "bf16"))
    t32, t16 = (med("torch", layers, batch, p, "samples_per_sec") for p in ("fp32", "bf16"))
    acc = [med(k, layers, batch, p, "test_accuracy") for k in ("dpmlp", "torch") for p in ("fp32", "bf16")]
    out.append([layers.replace(",", "-"), batch, d32, d16, ratio(d16, d32), t32, t16, ratio(d16, t16)] + acc)
fm = [None, "d", ".0f", ".0f", ".2f", ".0f", ".0f", ".2f", ".4f", ".4f", ".4f", ".4f"]
with open(csv_path, "w") as o:
    o.write(",".join(cols) + "\n")
    for r in out:
        o.write(",".join(str(x) if s is None else f(x, s) for x, s in zip(r, fm)) + "\n")
hdr = ["layers", "batch", "dpmlp fp32", "dpmlp bf16", "bf16/fp32", "torch fp32", "torch bf16",
       "dpmlp/torch bf16", "acc d32", "acc d16", "acc t32", "acc t16"]
w = [17, 5, 10, 10, 9, 10, 10, 16, 7, 7, 7, 7]
print("samples/s (median) and test accuracy after the same steps")
print("  ".join(h.rjust(n) for h, n in zip(hdr, w)))
for r in out:
    print("  ".join((str(x) if s is None else f(x, s)).rjust(n) for x, s, n in zip(r, fm, w)))
EOF
echo "wrote $out/bench_bf16.csv, $raw"
