#!/usr/bin/env bash
# Scaling experiments for dpmlp on the machine it runs on: strong and weak scaling, pinning
# policies, a batch-size sweep and (optionally) the reduce strategies. Every point is the
# median of R fixed-step `dpmlp train` runs; results go to one CSV plus PNG plots (gnuplot).
set -euo pipefail

me=scaling.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    cat <<EOF
usage: scripts/scaling.sh [options] [-- extra dpmlp train flags]

Measures dpmlp training throughput on this machine and writes DIR/scaling.csv and PNG plots.
Every point is the median of R runs of
  dpmlp train --data D --layers L --threads T --bind P --batch B --reduce R
              --steps S --epochs 1000000 --log - --quiet
(synthetic:N with N < B*S runs several epochs; their log lines are summed). Before each
point's repetitions, one separate warm-up run of --warmup steps is made and discarded.

modes (--modes)
  strong   fixed global batch (--strong-batch), threads from --threads, for every --bind
  weak     fixed batch per thread (--weak-batch): global batch = per-thread batch x T,
           first --bind policy
  batch    throughput vs global batch (--batch) at 1 thread and at the largest thread
           count, first --bind policy
  reduce   every --reduce strategy at every thread count (strong batch, first --bind);
           only run when --reduce names two or more strategies
  ranks    MPI ranks x threads (strong batch): every --ranks count with every --threads
           count, started with --mpirun and the MPI build (--mpi-dpmlp); the threads are
           left unbound (--bind none: ranks given the whole machine would stack their
           threads on the same cores). Only run when --ranks is given.

options
  --layers LIST        model sizes, input to output             [784,256,128,10]
  --data D             synthetic:N or an MNIST directory (e.g. data/fashion)
                                                                 [synthetic:60000]
  --threads LIST       thread counts; may exceed the cores to show oversubscription
                                                                 [1..nproc, here: $(default_threads)]
  --bind LIST          pinning policies: compact,spread,none     [compact,spread,none]
  --reduce LIST        segmented,serial,tree; the first is used by all other modes
                                                                 [segmented]
  --batch LIST         global batches for the batch sweep        [32,64,128,256,512,1024]
  --strong-batch B     global batch of the strong-scaling runs   [256]
  --weak-batch B       per-thread batch of the weak-scaling runs [128]
  --reps R             repetitions per point (the median is kept) [3]
  --steps S            optimizer steps per measured run           [200]
  --warmup W           steps of the discarded warm-up run before each point; 0 = none [20]
  --modes LIST         subset of strong,weak,batch,reduce,ranks   [strong,weak,batch,reduce,ranks]
  --ranks LIST         MPI rank counts for the ranks mode, e.g. 1,2 [none: mode skipped]
  --mpirun CMD         how ranks start [mpirun --allow-run-as-root --oversubscribe --bind-to none]
  --mpi-dpmlp PATH     dpmlp built with make MPI=1 [\$DPMLP_MPI, else build/mpi/dpmlp]
  --out DIR            output directory (created; existing results are overwritten)
                                                                 [build/scaling]
  --dpmlp PATH         the binary                                 [\$DPMLP, else build/dpmlp]
  --no-plots           write the CSV only
  -h, --help           this text

output (in DIR)
  scaling.csv    one row per point: mode,ranks,threads,bind,batch,per_thread_batch,reduce,
                 samples_per_sec,speedup,efficiency,allreduce_s,forward_s,backward_s,reduce_s,
                 update_s,wait_s,step_s,imbalance,gflops,sps_min,sps_max,reps,steps,load1
                 (phase times are worker 0's seconds per optimizer step, medians over reps;
                 wait_s = step_s - the four phases: barrier waits and bookkeeping;
                 load1 = 1-minute load average before the point: a busy machine shows here)
                 speedup = samples_per_sec / that of the 1-thread point of the same mode, bind,
                 reduce and batch (per-thread batch for weak; 1 rank x 1 thread for ranks);
                 efficiency = speedup / (ranks x threads); allreduce_s = rank 0's seconds
                 per step in MPI_Allreduce;
                 gflops = samples_per_sec x (6W - 2W_first) / 1e9, W = weights in --layers
  speedup.png  efficiency.png  phases.png  batch.png  (and the .dat files behind them)
  runs/          the raw JSON Lines log of every run;  meta.txt  machine and settings

exit codes: 0 ok, 64 usage, 66 missing input (binary, data directory), 69 gnuplot or
python3 missing, 70 gnuplot failed, 73 cannot create DIR, otherwise the failing
dpmlp run's exit code
EOF
}

die() { echo "$me: $2" >&2; exit "$1"; }

default_threads() {
    local n i out=1
    n=$(nproc 2>/dev/null || echo 1)
    for ((i = 2; i <= n; i++)); do out+=",$i"; done
    echo "$out"
}

# A comma list of positive integers, or die naming the flag.
check_ints() {
    [[ $2 =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die 64 "$1 wants a comma list of positive integers, got '$2'"
}
check_int() {
    [[ $2 =~ ^[1-9][0-9]*$ ]] || die 64 "$1 wants a positive integer, got '$2'"
}
check_words() { # flag value allowed...
    local flag=$1 val=$2 w ok a
    shift 2
    [ -n "$val" ] || die 64 "$flag wants a comma list, got ''"
    IFS=, read -r -a words <<<"$val"
    for w in "${words[@]}"; do
        ok=0
        for a in "$@"; do [ "$w" = "$a" ] && ok=1; done
        [ $ok = 1 ] || die 64 "$flag: unknown value '$w' (expected one of: $*)"
    done
}

layers=784,256,128,10
data=synthetic:60000
threads=
binds=compact,spread,none
reduces=segmented
batches=32,64,128,256,512,1024
strong_batch=256
weak_batch=128
reps=3
steps=200
warmup=20
modes=strong,weak,batch,reduce,ranks
ranks=
mpirun="mpirun --allow-run-as-root --oversubscribe --bind-to none"
mpi_dpmlp=${DPMLP_MPI:-build/mpi/dpmlp}
out=build/scaling
dpmlp=${DPMLP:-build/dpmlp}
plots=1
extra=()

need_arg() { [ $# -ge 2 ] || die 64 "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --layers) need_arg "$@"; layers=$2; shift 2 ;;
    --data) need_arg "$@"; data=$2; shift 2 ;;
    --threads) need_arg "$@"; threads=$2; shift 2 ;;
    --bind) need_arg "$@"; binds=$2; shift 2 ;;
    --reduce) need_arg "$@"; reduces=$2; shift 2 ;;
    --batch) need_arg "$@"; batches=$2; shift 2 ;;
    --strong-batch) need_arg "$@"; strong_batch=$2; shift 2 ;;
    --weak-batch) need_arg "$@"; weak_batch=$2; shift 2 ;;
    --reps) need_arg "$@"; reps=$2; shift 2 ;;
    --steps) need_arg "$@"; steps=$2; shift 2 ;;
    --warmup) need_arg "$@"; warmup=$2; shift 2 ;;
    --modes) need_arg "$@"; modes=$2; shift 2 ;;
    --ranks) need_arg "$@"; ranks=$2; shift 2 ;;
    --mpirun) need_arg "$@"; mpirun=$2; shift 2 ;;
    --mpi-dpmlp) need_arg "$@"; mpi_dpmlp=$2; shift 2 ;;
    --out) need_arg "$@"; out=$2; shift 2 ;;
    --dpmlp) need_arg "$@"; dpmlp=$2; shift 2 ;;
    --no-plots) plots=0; shift ;;
    --) shift; extra=("$@"); break ;;
    *) die 64 "unknown option '$1' (see --help)" ;;
    esac
done
[ -n "$threads" ] || threads=$(default_threads)

check_ints --layers "$layers"
[[ $layers == *,* ]] || die 64 "--layers needs at least an input and an output size, got '$layers'"
check_ints --threads "$threads"
check_ints --batch "$batches"
check_int --strong-batch "$strong_batch"
check_int --weak-batch "$weak_batch"
check_int --reps "$reps"
check_int --steps "$steps"
[[ $warmup =~ ^[0-9]+$ ]] || die 64 "--warmup wants a number of steps (0 = none), got '$warmup'"
check_words --bind "$binds" compact spread none
check_words --reduce "$reduces" segmented serial tree
check_words --modes "$modes" strong weak batch reduce ranks
if [ -n "$ranks" ]; then
    check_ints --ranks "$ranks"
    read -r -a MPIRUN <<<"$mpirun"
    command -v "${MPIRUN[0]}" >/dev/null || die 69 "--ranks: '${MPIRUN[0]}' not found (scripts/deps.sh installs Open MPI)"
    [ -x "$mpi_dpmlp" ] || die 66 "--ranks: no MPI build at '$mpi_dpmlp' (make MPI=1 BUILD=build/mpi, or --mpi-dpmlp PATH)"
fi
[ -n "$out" ] || die 64 "--out wants a directory"
if [[ $data == synthetic:* ]]; then
    [[ ${data#synthetic:} =~ ^[1-9][0-9]*$ ]] || die 64 "--data synthetic:N wants a positive N, got '$data'"
else
    [ -d "$data" ] || die 66 "--data: no such directory '$data' (want synthetic:N or an MNIST directory)"
fi
[ -f "$dpmlp" ] || die 66 "dpmlp binary not found at '$dpmlp' (build it with make, or pass --dpmlp PATH)"
[ -x "$dpmlp" ] || die 66 "dpmlp binary '$dpmlp' is not executable"
command -v python3 >/dev/null || die 69 "python3 not found (scripts/deps.sh installs it)"
if [ $plots = 1 ]; then
    command -v gnuplot >/dev/null || die 69 "gnuplot not found (scripts/deps.sh installs gnuplot-nox), or pass --no-plots"
fi

IFS=, read -r -a T_LIST <<<"$threads"
IFS=, read -r -a BIND_LIST <<<"$binds"
IFS=, read -r -a RED_LIST <<<"$reduces"
IFS=, read -r -a B_LIST <<<"$batches"
has_mode() { [[ ,$modes, == *,$1,* ]]; }
bind0=${BIND_LIST[0]}
red0=${RED_LIST[0]}
tmax=0
for t in "${T_LIST[@]}"; do [ "$t" -gt "$tmax" ] && tmax=$t; done
[[ ,$threads, == *,1,* ]] ||
    echo "$me: warning: --threads has no 1: speedup and efficiency will be nan (no 1-thread baseline)" >&2

mkdir -p "$out/runs" || die 73 "cannot create '$out/runs'"
rm -f "$out"/runs/*.jsonl "$out"/*.dat "$out"/*.png "$out"/{scaling.csv,plan.csv,vars.gp,gnuplot.log}
plan=$out/plan.csv
echo "mode,ranks,threads,bind,batch,per_thread_batch,reduce,key,load1" >"$plan"

# One measured configuration; identical configurations in several modes are measured once.
declare -A done_keys=()
npoints=0
nruns=0
start=$SECONDS

run_dpmlp() { # threads bind batch reduce steps logfile [ranks]
    local err rc launch=("$dpmlp")
    err=$out/runs/last.err
    [ "${7:-0}" -gt 0 ] && launch=("${MPIRUN[@]}" -np "$7" "$mpi_dpmlp")
    set +e
    "${launch[@]}" train --data "$data" --layers "$layers" --threads "$1" --bind "$2" --batch "$3" \
        --reduce "$4" --steps "$5" --epochs 1000000 --log - --quiet ${extra[@]+"${extra[@]}"} \
        >"$6" 2>"$err"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        echo >&2
        echo "$me: dpmlp failed (exit $rc): $dpmlp train --data $data --layers $layers" \
            "--threads $1 --bind $2 --batch $3 --reduce $4 --steps $5 ${extra[*]+${extra[*]}}" >&2
        sed 's/^/  /' "$err" | tail -n 5 >&2
        exit $rc
    fi
    nruns=$((nruns + 1))
}

point() { # mode threads bind batch reduce [ranks: started with mpirun]
    local mode=$1 t=$2 bind=$3 b=$4 red=$5 nr=${6:-0} key r
    key=t${t}_${bind}_b${b}_${red}
    [ "$nr" -gt 0 ] && key=r${nr}_$key
    local fresh=0
    if [ -z "${done_keys[$key]+x}" ]; then
        # the 1-minute load average before measuring: how busy the machine was
        done_keys[$key]=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo nan)
        fresh=1
    fi
    echo "$mode,$(( nr > 0 ? nr : 1 )),$t,$bind,$b,$(( (b + t * (nr > 0 ? nr : 1) - 1) / (t * (nr > 0 ? nr : 1)) )),$red,$key,${done_keys[$key]}" >>"$plan"
    [ $fresh = 1 ] || return 0
    npoints=$((npoints + 1))
    printf '%s: %-6s threads %-3s bind %-7s batch %-5s reduce %-9s' "$me" "$mode" "$t" "$bind" "$b" "$red" >&2
    [ "$nr" -gt 0 ] && printf ' ranks %s' "$nr" >&2
    [ "$warmup" -gt 0 ] && run_dpmlp "$t" "$bind" "$b" "$red" "$warmup" "$out/runs/$key.warmup.jsonl" "$nr"
    for ((r = 1; r <= reps; r++)); do
        run_dpmlp "$t" "$bind" "$b" "$red" "$steps" "$out/runs/$key.r$r.jsonl" "$nr"
    done
    # Quick feedback: samples/s of the last repetition (epoch lines summed).
    awk '{ if (match($0, /"samples":[0-9.eE+-]+/)) n += substr($0, RSTART + 10, RLENGTH - 10)
           if (match($0, /"seconds":[0-9.eE+-]+/)) s += substr($0, RSTART + 10, RLENGTH - 10) }
         END { printf "  %.0f samples/s\n", (s > 0 ? n / s : 0) }' "$out/runs/$key.r$reps.jsonl" >&2
}

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host: $(uname -n) $(uname -sr)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ //')"
    echo "nproc: $(nproc)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    echo "dpmlp: $("$dpmlp" --version 2>&1 | head -n1)"
    echo "settings: --layers $layers --data $data --threads $threads --bind $binds" \
        "--reduce $reduces --batch $batches --strong-batch $strong_batch" \
        "--weak-batch $weak_batch --reps $reps --steps $steps --warmup $warmup --modes $modes" \
        "${extra[*]+-- ${extra[*]}}"
} >"$out/meta.txt"

if has_mode strong; then
    for bind in "${BIND_LIST[@]}"; do
        for t in "${T_LIST[@]}"; do point strong "$t" "$bind" "$strong_batch" "$red0"; done
    done
fi
if has_mode weak; then
    for t in "${T_LIST[@]}"; do point weak "$t" "$bind0" $((weak_batch * t)) "$red0"; done
fi
if has_mode batch; then
    for b in "${B_LIST[@]}"; do
        point batch 1 "$bind0" "$b" "$red0"
        [ "$tmax" -gt 1 ] && point batch "$tmax" "$bind0" "$b" "$red0"
    done
fi
if has_mode reduce && [ ${#RED_LIST[@]} -gt 1 ]; then
    for red in "${RED_LIST[@]}"; do
        for t in "${T_LIST[@]}"; do point reduce "$t" "$bind0" "$strong_batch" "$red"; done
    done
fi
if has_mode ranks && [ -n "$ranks" ]; then
    IFS=, read -r -a R_LIST <<<"$ranks"
    for nr in "${R_LIST[@]}"; do
        for t in "${T_LIST[@]}"; do point ranks "$t" none "$strong_batch" "$red0" "$nr"; done
    done
fi
rm -f "$out/runs/last.err"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)" >>"$out/meta.txt"
echo "measured: $npoints points, $nruns runs, $((SECONDS - start)) s" >>"$out/meta.txt"
[ $npoints -gt 0 ] || die 64 "nothing to measure: --modes $modes selects no points"

# Aggregate: per run, sum the epoch lines; per point, medians over repetitions; then speedup
# against the 1-thread point of the same mode/bind/batch(-per-thread)/reduce. Also writes the
# .dat files the plots read.
python3 - "$out" "$layers" "$reps" "$binds" "$reduces" "$data" "$steps" "$(nproc)" <<'PY'
import csv, json, math, os, statistics, sys

out, layers, reps, binds, reduces, data, steps, ncores = sys.argv[1:9]
reps = int(reps)
sizes = [int(x) for x in layers.split(",")]
w = [a * b for a, b in zip(sizes, sizes[1:])]
# forward 2W, weight gradients 2W, input gradients 2W for every layer above the first
flops_per_sample = 6 * sum(w) - 2 * w[0]

def run_stats(path):
    tot = {k: 0.0 for k in ("steps", "samples", "seconds", "forward_s", "backward_s",
                            "reduce_s", "update_s", "allreduce_s")}
    imb = 0.0
    with open(path) as f:
        # The first line is the run's header ({"run":{...}}); the epochs follow.
        lines = [o for o in (json.loads(l) for l in f if l.strip()) if "epoch" in o]
    if not lines:
        sys.exit(f"scaling.sh: {path}: dpmlp wrote no log lines")
    for l in lines:
        for k in tot:
            tot[k] += float(l.get(k) or 0.0)
        imb += float(l["imbalance"]) * float(l["steps"])
    st = tot["steps"]
    r = {"sps": tot["samples"] / tot["seconds"], "step_s": tot["seconds"] / st,
         "imbalance": imb / st, "steps": int(st)}
    for k in ("forward_s", "backward_s", "reduce_s", "update_s", "allreduce_s"):
        r[k] = tot[k] / st
    r["wait_s"] = max(0.0, r["step_s"] - sum(r[k] for k in
                                            ("forward_s", "backward_s", "reduce_s", "update_s")))
    return r

med = statistics.median
cache = {}
rows = []
with open(os.path.join(out, "plan.csv")) as f:
    for p in csv.DictReader(f):
        key = p["key"]
        if key not in cache:
            runs = [run_stats(os.path.join(out, "runs", f"{key}.r{i}.jsonl"))
                    for i in range(1, reps + 1)]
            if any(r["steps"] != int(steps) for r in runs):
                print(f"scaling.sh: warning: {key}: dpmlp ran {[r['steps'] for r in runs]} steps,"
                      f" not --steps {steps}", file=sys.stderr)
            agg = {k: med([r[k] for r in runs]) for k in runs[0]}
            agg["sps_min"] = min(r["sps"] for r in runs)
            agg["sps_max"] = max(r["sps"] for r in runs)
            cache[key] = agg
        row = dict(p)
        row.update(cache[key])
        for k in ("ranks", "threads", "batch", "per_thread_batch"):
            row[k] = int(row[k])
        row["load1"] = float(row["load1"])
        rows.append(row)

def base_key(r):
    # weak scaling compares equal work per thread; every other mode equal global batch
    b = r["per_thread_batch"] if r["mode"] == "weak" else r["batch"]
    return (r["mode"], r["bind"], b, r["reduce"])

base = {base_key(r): r["sps"] for r in rows if r["threads"] == 1 and r["ranks"] == 1}
for r in rows:
    b = base.get(base_key(r))
    r["speedup"] = r["sps"] / b if b else float("nan")
    r["efficiency"] = r["speedup"] / (r["threads"] * r["ranks"])
    r["gflops"] = r["sps"] * flops_per_sample / 1e9

cols = ["mode", "ranks", "threads", "bind", "batch", "per_thread_batch", "reduce",
        "samples_per_sec", "speedup", "efficiency", "allreduce_s", "forward_s", "backward_s", "reduce_s", "update_s", "wait_s",
        "step_s", "imbalance", "gflops", "sps_min", "sps_max", "reps", "steps", "load1"]
def fmt(v):
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    return str(v)
with open(os.path.join(out, "scaling.csv"), "w") as f:
    f.write(",".join(cols) + "\n")
    for r in rows:
        vals = dict(r, samples_per_sec=r["sps"], reps=reps)
        f.write(",".join(fmt(vals[c]) for c in cols) + "\n")

# Data for the plots: whitespace-separated, one file per series, plus vars.gp naming the
# series that have points (gnuplot fails on a plot whose every series is empty).
def dat(name, header, lines):
    with open(os.path.join(out, name), "w") as f:
        f.write("# " + header + "\n")
        for l in lines:
            f.write(" ".join(fmt(v) for v in l) + "\n")
    return bool(lines)

def scal(r):
    return (r["threads"], r["speedup"], r["efficiency"], r["sps"])
by_t = lambda rs: sorted(rs, key=lambda r: r["threads"])
strong = by_t(r for r in rows if r["mode"] == "strong")
strong_binds = [b for b in binds.split(",")
                if dat(f"strong_{b}.dat", "threads speedup efficiency samples_per_sec",
                       [scal(r) for r in strong if r["bind"] == b])]
has_weak = dat("weak.dat", "threads speedup efficiency samples_per_sec",
               [scal(r) for r in by_t(r for r in rows if r["mode"] == "weak")])
red = by_t(r for r in rows if r["mode"] == "reduce")
red_series = [x for x in reduces.split(",")
              if dat(f"reduce_{x}.dat", "threads speedup efficiency samples_per_sec",
                     [scal(r) for r in red if r["reduce"] == x])]
# phases: strong scaling with the first bind policy, milliseconds per step
b0 = binds.split(",")[0]
has_phases = dat("phases.dat", "threads forward_ms backward_ms reduce_ms update_ms wait_ms",
                 [(r["threads"], r["forward_s"] * 1e3, r["backward_s"] * 1e3,
                   r["reduce_s"] * 1e3, r["update_s"] * 1e3, r["wait_s"] * 1e3)
                  for r in strong if r["bind"] == b0])
bt = sorted((r for r in rows if r["mode"] == "batch"), key=lambda r: r["batch"])
batch_threads = [t for t in sorted({r["threads"] for r in bt})
                 if dat(f"batch_t{t}.dat", "batch samples_per_sec gflops sps_min sps_max",
                        [(r["batch"], r["sps"], r["gflops"], r["sps_min"], r["sps_max"])
                         for r in bt if r["threads"] == t])]
strong_batch = strong[0]["batch"] if strong else ""
weak_batch = next((r["per_thread_batch"] for r in rows if r["mode"] == "weak"), "")

# The speedup plot's title names only the modes that were run (no "weak:  per thread" when
# weak scaling is off).
parts = ([f"strong: global batch {strong_batch}"] if strong else []) + \
        ([f"weak: {weak_batch} per thread"] if has_weak else [])
speedup_title = "dpmlp speedup over 1 thread" + (f" ({'; '.join(parts)})" if parts else "")

def gq(v):  # a gnuplot single-quoted string
    return "'" + str(v).replace("'", "''") + "'"
with open(os.path.join(out, "vars.gp"), "w") as f:
    for name, v in (("strong_binds", " ".join(strong_binds)), ("red_series", " ".join(red_series)),
                    ("batch_threads", " ".join(map(str, batch_threads))), ("bind0", b0),
                    ("subtitle", f"layers {layers}, {data}, reduce {reduces.split(',')[0]} unless named, "
                                 f"{steps} steps/run, median of {reps} runs"),
                    ("ncores", ncores), ("strong_batch", strong_batch), ("weak_batch", weak_batch),
                    ("speedup_title", speedup_title)):
        f.write(f"{name} = {gq(v)}\n")
    f.write(f"has_weak = {int(has_weak)}\nhas_phases = {int(has_phases)}\n")
    f.write(f"tmax = {max([r['threads'] for r in rows] + [1])}\nfps = {flops_per_sample}\n")
PY

if [ $plots = 1 ]; then
    gp_log=$out/gnuplot.log
    # gnuplot runs inside DIR, so no path needs quoting for it.
    if ! (cd "$out" && gnuplot "$here/scaling.gp") >"$gp_log" 2>&1; then
        echo "$me: gnuplot failed ($here/scaling.gp):" >&2
        sed 's/^/  /' "$gp_log" | tail -n 8 >&2
        exit 70
    fi
    [ -s "$gp_log" ] || rm -f "$gp_log"
fi
echo "$me: $npoints points, $nruns runs in $((SECONDS - start)) s -> $out/scaling.csv" >&2
