#!/usr/bin/env bash
# make bench: training throughput of dpmlp on this machine, at 1 and all threads, for three
# network widths (the default 784-256-128-10 at three batch sizes, 784-1024-1024-10 and
# 784-4096-4096-10 at batch 256), beside the same models in PyTorch (when installed) and the
# machine's measured FP32 FMA peak. Prints a table and writes it as CSV (OUT/bench.csv); each
# figure is the median of --reps runs. Raw per-run records go to OUT/raw.jsonl.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: scripts/bench.sh [options]
  --reps N           runs per figure, the median is reported           [3]
  --nets LIST        network rows: default (784-256-128-10), wide (784-1024-1024-10),
                     w4096 (784-4096-4096-10)                  [default,wide,w4096]
  --samples N        default net: training samples per timed run (steps = N / batch) [131072]
  --wide-samples N   wide net (batch 256): samples per timed run          [32768]
  --w4096-steps N    w4096 net (batch 256): steps per timed run           [8]
  --steps N          fixed optimizer steps per run, every net (overrides the above)
  --batches LIST     batch sizes of the default net                      [32,128,512]
  --threads LIST     thread counts                   [1,$THREADS or 1,nproc]
  --data DIR         MNIST-layout data  [data/fashion, else Debian's fashion-mnist, else synthetic:60000]
  --out DIR          where bench.csv, bench.txt and raw.jsonl go         [build/bench]
  --dpmlp PATH       the binary                                          [$DPMLP or build/dpmlp]
  --no-torch         skip the PyTorch column
  --no-peak          skip the FMA peak probe (no % of peak column)
  --bf16             also the bf16 rows (scripts/bench_bf16.sh: dpmlp fp32/bf16, PyTorch
                     fp32/bf16 autocast, test accuracy; make bench passes it)
  --torch-coretypes LIST   OpenBLAS core types tried for torch, 'auto' = OpenBLAS's own
                     detection; the fastest is used          [auto,SkylakeX,Haswell]
Environment: PYTHON (torch's interpreter, default /usr/bin/python3), CC (for the probe).
EOF
}

reps=3 samples=131072 steps=0 batches=32,128,512 nets=default,wide,w4096
wide_samples=32768 w4096_steps=8 threads="" data="" out=build/bench
dpmlp=${DPMLP:-build/dpmlp} torch=1 peak=1 coretypes=auto,SkylakeX,Haswell bf16=0
py=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "bench: $*" >&2; exit 64; }
posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1: '$2' is not a positive integer"; }
poslist() { [[ $2 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "$1: '$2' is not a list of positive integers"; }
while [ $# -gt 0 ]; do
    case $1 in
        --reps) posint "$1" "${2-}"; reps=$2; shift ;;
        --samples) posint "$1" "${2-}"; samples=$2; shift ;;
        --steps) posint "$1" "${2-}"; steps=$2; shift ;;
        --wide-samples) posint "$1" "${2-}"; wide_samples=$2; shift ;;
        --w4096-steps) posint "$1" "${2-}"; w4096_steps=$2; shift ;;
        --nets) [[ ${2-} =~ ^(default|wide|w4096)(,(default|wide|w4096))*$ ]] ||
                    die "--nets: '${2-}' is not a list of default, wide, w4096"; nets=$2; shift ;;
        --batches) poslist "$1" "${2-}"; batches=$2; shift ;;
        --threads) poslist "$1" "${2-}"; threads=$2; shift ;;
        --data) [ -n "${2-}" ] || die "--data needs a directory"; data=$2; shift ;;
        --out) [ -n "${2-}" ] || die "--out needs a directory"; out=$2; shift ;;
        --dpmlp) [ -n "${2-}" ] || die "--dpmlp needs a path"; dpmlp=$2; shift ;;
        --no-torch) torch=0 ;;
        --no-peak) peak=0 ;;
        --bf16) bf16=1 ;;
        --torch-coretypes) [ -n "${2-}" ] || die "--torch-coretypes needs a list"; coretypes=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
    shift
done

[ -x "$dpmlp" ] || { echo "bench: $dpmlp not found or not executable: run make first" >&2; exit 66; }
if [ -z "$threads" ]; then
    tmax=${THREADS:-$(nproc)}
    posint THREADS "$tmax"
    threads=1; [ "$tmax" -gt 1 ] && threads="1,$tmax"
fi
IFS=, read -r -a tlist <<<"$threads"
IFS=, read -r -a blist <<<"$batches"
IFS=, read -r -a nlist <<<"$nets"
IFS=, read -r -a ctlist <<<"$coretypes"
mkdir -p "$out"
raw=$out/raw.jsonl
: >"$raw"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- data: the real thing if we can find it, else seeded random samples (said below) ---
note=""
has_idx() { [ -e "$1/train-images-idx3-ubyte.gz" ] || [ -e "$1/train-images-idx3-ubyte" ]; }
if [ -n "$data" ]; then
    if [[ $data != synthetic:* ]] && ! has_idx "$data"; then
        echo "bench: --data $data has no train-images-idx3-ubyte[.gz]" >&2; exit 66
    fi
elif has_idx data/fashion; then
    data=data/fashion
elif has_idx "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"; then
    data=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
else
    data=synthetic:60000
    note="NOTE: Fashion-MNIST not found (scripts/fetch-data.sh data/fashion): dpmlp ran on --data synthetic:60000"
fi

# --- machine ---
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
[ -n "$cpu" ] || cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
load=$(cut -d' ' -f1 /proc/loadavg)
{
    echo "dpmlp benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(hostname)"
    echo "CPU: ${cpu:-unknown}, $(nproc) CPUs allowed; load average at start: $load"
    echo "dpmlp: $("$dpmlp" --version 2>/dev/null | head -1)"
    echo "model: ReLU MLPs ($nets), softmax cross-entropy, SGD lr 0.05; data: $data"
    echo "runs: $reps per figure (median); $([ "$steps" -gt 0 ] && echo "$steps steps per run" ||
        echo "default net $samples samples, wide $wide_samples samples, w4096 $w4096_steps steps per run")"
    if [ -n "$note" ]; then echo "$note"; fi
} | tee "$out/bench.txt"
awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' &&
    echo "WARNING: the machine is busy (load $load): figures are noisy; rerun on a quiet machine" |
    tee -a "$out/bench.txt"

# --- FMA peak: the denominator of "% of peak", measured before and after the training runs
# (the best counts: a busy neighbour can only lower it) ---
peak_ok=0
if [ "$peak" = 1 ]; then
    if ${CC:-cc} -O2 -pthread -o "$out/peak_flops" "$here/peak_flops.c" 2>"$tmp/cc.err"; then
        peak_ok=1
    else
        echo "bench: cannot compile scripts/peak_flops.c with ${CC:-cc}: no % of peak column" >&2
        cat "$tmp/cc.err" >&2
    fi
fi
measure_peak() { # when
    [ "$peak_ok" = 1 ] || return 0
    "$out/peak_flops" --threads "$threads" >"$tmp/peak.txt" || { echo "bench: peak_flops failed" >&2; exit 70; }
    sed "s/^peak_flops /  peak ($1): /" "$tmp/peak.txt" | tee -a "$out/bench.txt"
    awk -v when="$1" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); o[kv[1]] = kv[2] }
           printf "{\"kind\":\"peak\",\"when\":\"%s\",\"threads\":%d,\"isa\":\"%s\",\"gflops\":%s}\n",
                  when, o["threads"], o["isa"], o["gflops"] }' "$tmp/peak.txt" >>"$raw"
}
measure_peak before

# --- the network rows: one function each, "LAYERS BATCHES STEPS-PER-BATCH-RULE" ---
# A row's runs (dpmlp_row, torch_row below) take their shape from here, so a new column (a
# precision, a backend) is one more argument to those two functions, not a new loop per net.
net_default() { echo "784,256,128,10 $batches samples:$samples"; }
net_wide() { echo "784,1024,1024,10 256 samples:$wide_samples"; }
net_w4096() { echo "784,4096,4096,10 256 steps:$w4096_steps"; }
net_layers() { local l; read -r l _ _ < <("net_$1"); echo "$l"; }
net_batches() { local _l b; read -r _l b _ < <("net_$1"); echo "$b"; }
steps_for() { # net batch
    local _l _b rule
    read -r _l _b rule < <("net_$1")
    if [ "$steps" -gt 0 ]; then echo "$steps"; return; fi
    case $rule in
        steps:*) echo "${rule#steps:}" ;;
        samples:*) local n=${rule#samples:}; echo $(( n / $2 > 10 ? n / $2 : 10 )) ;;
    esac
}

# Peak RSS of a command, KiB: GNU time if present, else VmHWM polled from /proc.
run_rss() { # rssfile cmd...
    local rssf=$1; shift
    if [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
        /usr/bin/time -f %M -o "$rssf" "$@" || return $?
        tail -1 "$rssf" >"$rssf.x" && mv "$rssf.x" "$rssf"
    else
        "$@" & local pid=$! hwm=0 v
        while kill -0 "$pid" 2>/dev/null; do
            v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
            sleep 0.02
        done
        wait "$pid" || return $?
        echo "$hwm" >"$rssf"
    fi
}

# One dpmlp run of a network row: its record appended to raw.jsonl.
dpmlp_row() { # net threads batch rep
    local net=$1 t=$2 b=$3 rep=$4 layers st
    layers=$(net_layers "$net")
    st=$(steps_for "$net" "$b")
    if ! run_rss "$tmp/rss" "$dpmlp" train --data "$data" --layers "$layers" \
            --optim sgd --lr 0.05 --batch "$b" --threads "$t" --steps "$st" --epochs 100 \
            --seed "$rep" --quiet --log "$tmp/log.jsonl" 2>"$tmp/err"; then
        echo "bench: dpmlp failed at net $net threads $t batch $b:" >&2; cat "$tmp/err" >&2; exit 70
    fi
    awk -v net="$net" -v layers="$layers" -v t="$t" -v b="$b" -v rep="$rep" -v rss="$(cat "$tmp/rss")" '
        { if (match($0, /"samples":[0-9.eE+-]+/)) n += substr($0, RSTART + 10, RLENGTH - 10)
          if (match($0, /"seconds":[0-9.eE+-]+/)) sec += substr($0, RSTART + 10, RLENGTH - 10) }
        END { if (sec <= 0 || n <= 0) exit 1
              printf "{\"kind\":\"dpmlp\",\"net\":\"%s\",\"layers\":\"%s\",\"threads\":%d,\"batch\":%d,\"rep\":%d,\"samples\":%d,\"seconds\":%.9g,\"samples_per_sec\":%.6g,\"maxrss_kb\":%d}\n",
                     net, layers, t, b, rep, n, sec, n / sec, rss }' "$tmp/log.jsonl" >>"$raw" ||
        { echo "bench: dpmlp's log has no samples/seconds (net $net threads $t batch $b)" >&2; exit 70; }
}

# --- dpmlp: reps outermost, so a burst of noise spreads over configs instead of one ---
echo "dpmlp: ${#nlist[@]} nets x ${#tlist[@]} thread counts x $reps reps ..."
for rep in $(seq 1 "$reps"); do
    for net in "${nlist[@]}"; do
        IFS=, read -r -a nb <<<"$(net_batches "$net")"
        for t in "${tlist[@]}"; do
            for b in "${nb[@]}"; do dpmlp_row "$net" "$t" "$b" "$rep"; done
        done
    done
done

# --- PyTorch: pick the fastest OpenBLAS core type on a short probe, then measure ---
# OpenBLAS's own pool would otherwise use every core even at set_num_threads(1), and inherit
# OPENBLAS_* from the caller: set both explicitly, for these runs only.
torch_env() { # coretype threads -> env(1) arguments, every -u before any NAME=VALUE
    local ct=$1 t=$2
    local u=(-u OPENBLAS_L2_SIZE) a=(OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t")
    if [ "$ct" = auto ]; then u+=(-u OPENBLAS_CORETYPE); else a+=(OPENBLAS_CORETYPE="$ct"); fi
    if [ "$t" -gt 1 ]; then a+=(OMP_WAIT_POLICY=PASSIVE); else u+=(-u OMP_WAIT_POLICY); fi
    printf '%s\n' "${u[@]}" "${a[@]}"
}
# PyTorch over every batch of a network row at one thread count (best core type): records
# appended to raw.jsonl, tagged with the row.
torch_row() { # net threads
    local net=$1 t=$2 _l nbs rule
    read -r _l nbs rule < <("net_$net")
    local targs=(--layers "$(net_layers "$net")" --threads "$t" --batches "$nbs" --reps "$reps")
    if [ "$steps" -gt 0 ]; then targs+=(--steps "$steps")
    elif [[ $rule == steps:* ]]; then targs+=(--steps "${rule#steps:}")
    else targs+=(--samples "${rule#samples:}"); fi
    mapfile -t e < <(torch_env "$best" "$t")
    env "${e[@]}" "$py" "$here/bench_torch.py" "${targs[@]}" >"$tmp/torch.out" 2>"$tmp/torch.err" || {
        echo "bench: bench_torch.py failed at net $net threads $t:" >&2; tail -5 "$tmp/torch.err" >&2; exit 70; }
    grep '^{' "$tmp/torch.out" | sed "s/^{/{\"kind\": \"torch\", \"net\": \"$net\", /" >>"$raw" || {
        echo "bench: bench_torch.py printed no results at net $net threads $t" >&2; exit 70; }
}
torch_info="not run (--no-torch)"
if [ "$torch" = 1 ] && ! "$py" -c 'import torch' 2>/dev/null; then
    torch=0
    torch_info="not installed: scripts/deps.sh --bench (python3-torch, libopenblas0)"
fi
if [ "$torch" = 1 ]; then
    # Two interleaved rounds, best of each: a probe is short, and noise only ever slows it.
    declare -A score core
    for _ in 1 2; do
        for ct in "${ctlist[@]}"; do
            mapfile -t e < <(torch_env "$ct" 1)
            if ! env "${e[@]}" OPENBLAS_VERBOSE=2 "$py" "$here/bench_torch.py" --threads 1 \
                    --batches "$batches" --samples 16384 --reps 1 --warmup 5 \
                    >"$tmp/probe.out" 2>"$tmp/probe.err"; then
                echo "bench: torch probe with OPENBLAS_CORETYPE=$ct failed:" >&2
                tail -3 "$tmp/probe.err" >&2
                continue
            fi
            core[$ct]=$(sed -n 's/^Core: *//p' "$tmp/probe.err" | head -1)
            sc=$({ grep '^{' "$tmp/probe.out" || true; } | sed 's/.*"samples_per_sec": \([0-9.eE+-]*\).*/\1/' |
                 awk '{ s += log($1); n++ } END { if (n) printf "%.0f", exp(s / n); else print 0 }')
            if [ "$sc" -gt "${score[$ct]:-0}" ]; then score[$ct]=$sc; fi
        done
    done
    best="" bestscore=0
    for ct in "${ctlist[@]}"; do
        [ -n "${score[$ct]:-}" ] || continue
        echo "  torch probe: OPENBLAS_CORETYPE=$ct (OpenBLAS core ${core[$ct]:-?}): ${score[$ct]} samples/s (1 thread, geomean over batches, best of 2)" |
            tee -a "$out/bench.txt"
        printf '{"kind":"torch_probe","coretype":"%s","openblas_core":"%s","samples_per_sec":%s}\n' \
            "$ct" "${core[$ct]:-}" "${score[$ct]}" >>"$raw"
        if [ "${score[$ct]}" -gt "$bestscore" ]; then best=$ct bestscore=${score[$ct]}; fi
    done
    if [ -z "$best" ]; then
        torch=0 torch_info="failed on every OpenBLAS core type (see above)"
    else
        ver=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null)
        torch_info="torch $ver, OPENBLAS_CORETYPE=$best (fastest of: $coretypes), OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=threads, OMP_WAIT_POLICY=PASSIVE above 1 thread"
        echo "torch: ${#nlist[@]} nets x ${#tlist[@]} thread counts x $reps reps ..."
        for net in "${nlist[@]}"; do
            for t in "${tlist[@]}"; do torch_row "$net" "$t"; done
        done
    fi
fi
echo "PyTorch: $torch_info" | tee -a "$out/bench.txt"
measure_peak after

# --- the table: medians, derived columns, CSV ---
nets_spec=$(for n in "${nlist[@]}"; do echo "$n:$(net_layers "$n"):$(net_batches "$n")"; done | paste -sd' ')
python3 - "$raw" "$out/bench.csv" "$threads" "$nets_spec" >>"$tmp/table.txt" <<'EOF'
import json, statistics, sys
raw, csv_path, threads, nets_spec = sys.argv[1:]
T = [int(x) for x in threads.split(",")]
NETS = []  # (name, sizes, batches)
for spec in nets_spec.split():
    name, layers, batches = spec.split(":")
    NETS.append((name, [int(x) for x in layers.split(",")], [int(x) for x in batches.split(",")]))
recs = [json.loads(l) for l in open(raw) if l.strip()]
peak = {}
for r in recs:
    if r["kind"] == "peak":
        peak[r["threads"]] = max(peak.get(r["threads"], 0), r["gflops"])

def flops_per_sample(sizes):
    # fwd 2W + weight grad 2W + input grad 2(W - W_first); bias and element-wise work not counted
    W = sum(a * b for a, b in zip(sizes, sizes[1:]))
    return 6 * W - 2 * sizes[0] * sizes[1]

def med(kind, net, t, b, key):
    v = [r[key] for r in recs if r["kind"] == kind and r.get("net", "default") == net
         and r["threads"] == t and r["batch"] == b]
    return statistics.median(v) if v else None

def f(x, fmt):
    return "NA" if x is None else format(x, fmt)

def mib(x):
    return "NA" if x is None else format(x, ".0f") + " MiB"

def div(a, b):
    return a / b if a and b else None

cols = ["network", "layers", "threads", "batch", "dpmlp_samples_per_sec", "dpmlp_gflops",
        "peak_gflops", "dpmlp_pct_peak", "torch_samples_per_sec", "torch_pct_peak",
        "dpmlp_over_torch", "dpmlp_rss_mib", "torch_rss_mib", "dpmlp_speedup", "torch_speedup"]
rows = []
for name, sizes, B in NETS:
    fl = flops_per_sample(sizes)
    for t in T:
        for b in B:
            d, p = med("dpmlp", name, t, b, "samples_per_sec"), med("torch", name, t, b, "samples_per_sec")
            d1, p1 = med("dpmlp", name, T[0], b, "samples_per_sec"), med("torch", name, T[0], b, "samples_per_sec")
            g = d * fl / 1e9 if d else None
            pg = p * fl / 1e9 if p else None
            pk = peak.get(t)
            dr, pr = med("dpmlp", name, t, b, "maxrss_kb"), med("torch", name, t, b, "maxrss_kb")
            rows.append([name, "-".join(map(str, sizes)), t, b, d, g, pk, div(100 * g, pk) if g else None,
                         p, div(100 * pg, pk) if pg else None, div(d, p),
                         dr / 1024 if dr else None, pr / 1024 if pr else None, div(d, d1), div(p, p1)])
fmts = ["s", "s", "d", "d", ".0f", ".2f", ".1f", ".1f", ".0f", ".1f", ".2f", ".1f", ".1f", ".2f", ".2f"]
with open(csv_path, "w") as out:
    out.write(",".join(cols) + "\n")
    for r in rows:
        out.write(",".join(f(x, s) for x, s in zip(r, fmts)) + "\n")

print("\nGFLOP/s = samples/s x (6W - 2W1) FLOP per sample (W weights, W1 of the first layer); "
      "%peak: of the best FMA peak measured at that thread count (all-core peak for all-thread rows)")
hdr = ["network", "thr", "batch", "dpmlp smp/s", "GFLOP/s", "%peak", "torch smp/s", "torch %pk",
       "dpmlp/torch", "RSS dpmlp", "RSS torch", f"{T[-1]}T/{T[0]}T dpmlp", f"{T[-1]}T/{T[0]}T torch"]
w = [16, 4, 6, 12, 8, 6, 12, 9, 12, 10, 10, 13, 13]
print("  ".join(h.rjust(n) for h, n in zip(hdr, w)))
for r in rows:
    last = r[2] == T[-1] and len(T) > 1
    cells = [r[1], f(r[2], "d"), f(r[3], "d"), f(r[4], ".0f"), f(r[5], ".2f"), f(r[7], ".1f"),
             f(r[8], ".0f"), f(r[9], ".1f"), f(r[10], ".2f"), mib(r[11]), mib(r[12]),
             f(r[13], ".2f") if last else "", f(r[14], ".2f") if last else ""]
    print("  ".join(c.rjust(n) for c, n in zip(cells, w)))
EOF
tee -a "$out/bench.txt" <"$tmp/table.txt"

# ---- bf16 rows (issue 10): their own script, same machine, same run, the top thread count ----
if [ "$bf16" = 1 ]; then
    bf16_args=(--threads "${tlist[-1]}" --reps "$reps" --data "$data" --out "$out" --dpmlp "$dpmlp")
    [ "$torch" = 1 ] || bf16_args+=(--no-torch)
    # --steps caps every run, the bf16 rows too (on a CPU without AVX512-BF16 they run the
    # scalar emulation, where 200 steps of the wide net take minutes)
    [ "$steps" -gt 0 ] && bf16_args+=(--steps "$steps")
    "$here/bench_bf16.sh" "${bf16_args[@]}" | tee -a "$out/bench.txt"
fi
echo "took ${SECONDS}s; load average at end: $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$out/bench.txt"
echo "wrote $out/bench.csv, $out/bench.txt, $raw"
