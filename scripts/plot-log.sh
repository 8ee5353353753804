#!/usr/bin/env bash
# Draws a dpmlp training log (the JSON Lines of `dpmlp train --log FILE`) as a PNG: train and
# test loss per epoch on top, test accuracy (classification) or MAE (regression) below.
# python3 (stdlib json) extracts the columns into a temporary .dat file; gnuplot draws it.
set -euo pipefail

me=plot-log.sh

usage() {
    cat <<'EOF'
usage: scripts/plot-log.sh [--title TEXT] LOG.jsonl OUT.png

Turns a dpmlp training log (dpmlp train --log LOG.jsonl; one JSON object per epoch with
epoch, train_loss, test_loss, test_accuracy or test_mae) into loss and accuracy curves:
  top panel     train_loss and test_loss per epoch (log scale when the loss spans > 20x)
  bottom panel  test_accuracy (classification) or test_mae (regression) per epoch,
                only when the log has test values (test fields are null without --test)

options
  --title TEXT   plot title [the log's file name]
  -h, --help     this text

exit codes: 0 ok, 64 usage, 65 the log is not a dpmlp training log, 66 LOG missing or
unreadable, 69 python3 or gnuplot missing, 70 gnuplot failed, 73 cannot write OUT.png
EOF
}

die() { echo "$me: $2" >&2; exit "$1"; }

title=
args=()
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --title) [ $# -ge 2 ] || die 64 "--title needs a value"; title=$2; shift 2 ;;
    --) shift; args+=("$@"); break ;;
    -?*) die 64 "unknown option '$1' (see --help)" ;;
    *) args+=("$1"); shift ;;
    esac
done
[ ${#args[@]} -eq 2 ] || die 64 "want LOG.jsonl OUT.png, got ${#args[@]} argument(s) (see --help)"
log=${args[0]}
png=${args[1]}
[ -e "$log" ] || die 66 "no such log file '$log'"
{ [ -f "$log" ] && [ -r "$log" ]; } || die 66 "cannot read log file '$log'"
[[ $png == *.png ]] || die 64 "OUT must end in .png, got '$png'"
outdir=$(dirname -- "$png")
[ -d "$outdir" ] || die 73 "cannot write '$png': no directory '$outdir'"
[ -w "$outdir" ] || die 73 "cannot write '$png': directory '$outdir' is not writable"
command -v python3 >/dev/null || die 69 "python3 not found (scripts/deps.sh installs it)"
command -v gnuplot >/dev/null || die 69 "gnuplot not found (scripts/deps.sh installs gnuplot-nox)"
[ -n "$title" ] || title=$(basename -- "$log")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Columns: epoch train_loss test_loss metric ('?' = missing). The header file says what
# exists: has_test_loss, metric name ('' when none), and whether the loss wants a log axis.
python3 - "$log" "$tmp/log.dat" "$tmp/vars.gp" <<'PY' || exit $?
import json, math, sys
src, dat, gp = sys.argv[1:4]
rows = []
with open(src) as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            o = json.loads(line)
        except ValueError as e:
            print(f"plot-log.sh: {src}:{n}: not JSON ({e.msg}); want dpmlp's --log JSON Lines",
                  file=sys.stderr)
            sys.exit(65)
        if isinstance(o, dict) and "run" in o:
            continue  # the run's header line: what produced the epochs below
        if not isinstance(o, dict) or "epoch" not in o or "train_loss" not in o:
            print(f"plot-log.sh: {src}:{n}: no 'epoch' and 'train_loss' fields; want dpmlp's "
                  "--log JSON Lines", file=sys.stderr)
            sys.exit(65)
        rows.append(o)
if not rows:
    print(f"plot-log.sh: {src}: empty log (no epoch lines)", file=sys.stderr)
    sys.exit(65)

def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
metric = next((m for m in ("test_accuracy", "test_mae") if any(num(r.get(m)) for r in rows)), "")
has_test_loss = any(num(r.get("test_loss")) for r in rows)
losses = [r[k] for r in rows for k in ("train_loss", "test_loss") if num(r.get(k))]
pos = [v for v in losses if v > 0]
logy = bool(pos) and len(pos) == len(losses) and max(pos) / min(pos) > 20
if not losses:
    print(f"plot-log.sh: {src}: no finite train_loss or test_loss values", file=sys.stderr)
    sys.exit(65)
with open(dat, "w") as f:
    f.write("# epoch train_loss test_loss " + (metric or "none") + "\n")
    for r in rows:
        f.write(" ".join(repr(r[k]) if num(r.get(k)) else "?"
                         for k in ("epoch", "train_loss", "test_loss", metric or "-")) + "\n")
best = ""
vals = [(r[metric], r["epoch"]) for r in rows if metric and num(r.get(metric))]
if vals:
    v, e = (max if metric == "test_accuracy" else min)(vals)
    best = (f"best {v * 100:.2f}% at epoch {e}" if metric == "test_accuracy"
            else f"best {v:.4g} at epoch {e}")
with open(gp, "w") as f:
    f.write(f"metric = '{metric}'\nhas_test_loss = {int(has_test_loss)}\nlogy = {int(logy)}\n")
    f.write(f"nrows = {len(rows)}\nbest = '{best}'\n")
    ep = [r["epoch"] for r in rows if num(r["epoch"])]
    lo, hi = (min(ep), max(ep)) if ep else (0, 1)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    f.write(f"xmin = {lo}\nxmax = {hi}\n")
PY

cat >"$tmp/plot.gp" <<'EOF'
load 'vars.gp'
set datafile missing '?'
set grid lc rgb '#dddddd'
set key top right box opaque
set xlabel 'epoch'
set xrange [xmin : xmax]
set xtics out nomirror
set lmargin 12
set rmargin 4
if (nrows <= 20) { set xtics 1 }
set style data linespoints
if (nrows > 60) { set style data lines }
if (metric ne '') {
    set multiplot layout 2, 1 title title_text
    set bmargin 1
    set format x ''
    set xlabel ''
} else {
    set title title_text."\n(no test values in this log: train with --test or an MNIST --data directory)"
}
set ylabel 'loss'
if (logy) { set logscale y }
if (has_test_loss) {
    plot 'log.dat' using 1:2 lw 2 pt 7 ps 0.6 lc rgb '#1f77b4' title 'train loss', \
         '' using 1:3 lw 2 pt 5 ps 0.6 lc rgb '#d62728' title 'test loss'
} else {
    plot 'log.dat' using 1:2 lw 2 pt 7 ps 0.6 lc rgb '#1f77b4' title 'train loss'
}
if (metric ne '') {
    unset logscale y
    set tmargin 1
    set bmargin
    set format x
    set xlabel 'epoch'
    if (metric eq 'test_accuracy') {
        set ylabel 'test accuracy (%)'
        plot 'log.dat' using 1:($4 * 100) lw 2 pt 7 ps 0.6 lc rgb '#2ca02c' title 'test accuracy'.(best ne '' ? ' ('.best.')' : '')
    } else {
        set ylabel 'test MAE'
        plot 'log.dat' using 1:4 lw 2 pt 7 ps 0.6 lc rgb '#9467bd' title 'test MAE'.(best ne '' ? ' ('.best.')' : '')
    }
    unset multiplot
}
EOF

# gnuplot runs in the temp directory; the title and output path go in through a file so no
# quoting of user text is needed on the command line.
python3 - "$title" "$(cd "$outdir" && pwd)/$(basename -- "$png")" "$tmp/names.gp" <<'PY'
import sys
q = lambda s: "'" + s.replace("'", "''") + "'"
with open(sys.argv[3], "w") as f:
    f.write(f"title_text = {q(sys.argv[1])}\n")
    f.write("set terminal pngcairo size 900,700 noenhanced font 'DejaVu Sans,11'\n")
    f.write(f"set output {q(sys.argv[2])}\n")
PY
if ! (cd "$tmp" && gnuplot names.gp plot.gp) >"$tmp/gnuplot.log" 2>&1; then
    echo "$me: gnuplot failed:" >&2
    sed 's/^/  /' "$tmp/gnuplot.log" | tail -n 6 >&2
    exit 70
fi
[ -s "$png" ] || die 70 "gnuplot wrote no image to '$png'"
