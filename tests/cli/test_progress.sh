#!/usr/bin/env bash
# End-to-end: the progress line on a terminal (a pseudo-terminal from tests/cli/pty_run.py):
# at 50 and 120 columns every redraw fits the width (never wraps, so a narrow pane does not
# fill with copies of the bar) and shows percent, step, samples/s, running loss and ETA; with
# stderr not a terminal the output is the plain per-epoch lines, no \r and no escapes; after
# SIGINT the last epoch line says it is partial.
set -u
DPMLP=${DPMLP:-build/dpmlp}
PY=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib.sh"

if ! $PY -c 'import pty, termios' 2>/dev/null; then
    echo "SKIP test_progress: $PY has no pty module"
    exit 0
fi
RUN=(train --data synthetic:40000 --layers 64,128,10 --epochs 2 --batch 128 --threads 2)

for cols in 50 120; do
    $PY "$here/pty_run.py" $cols "$DPMLP" "${RUN[@]}" >"$tmp/tty$cols.out"
    check "train on a $cols-column terminal exits 0" [ $? -eq 0 ]
    check "... every redraw fits in $((cols - 1)) columns and shows %, step, /s, loss, ETA" \
        $PY - "$tmp/tty$cols.out" $cols <<'PYEOF'
import re, sys
raw = open(sys.argv[1], "rb").read().decode()
cols = int(sys.argv[2])
# Redraws start with \r and end with the erase-to-end-of-line escape.
draws = re.findall(r"\r([^\r\n\x1b]*)\x1b\[K", raw)
draws = [d for d in draws if d]
if len(draws) < 2:
    sys.exit(f"only {len(draws)} redraws")
for d in draws:
    if len(d) > cols - 1:
        sys.exit(f"redraw of {len(d)} columns: {d!r}")
    for want in (r"\d+%", r"step \d+/\d+|\d+/\d+ ", r"[\d.]+[kM]?(/s| samples/s)", r"loss ([\d.]+|-)", r"ETA "):
        if not re.search(want, d):
            sys.exit(f"{want!r} missing in {d!r}")
if not any(re.search(r"loss \d", d) for d in draws):
    sys.exit("no redraw shows a running loss")
# Copies of the bar on one line are what a wrapped redraw leaves: none here.
for line in raw.replace("\r\n", "\n").split("\n"):
    if len(re.findall(r"ETA", line.split("\r")[-1])) > 1:
        sys.exit(f"two bars on one line: {line!r}")
PYEOF
done

# Not a terminal: the plain lines, exactly one per epoch.
"$DPMLP" "${RUN[@]}" 2>"$tmp/plain.err"
check "stderr to a file: no carriage returns or escapes" [ "$(tr -cd '\r\033' <"$tmp/plain.err" | wc -c)" -eq 0 ]
check "... one 'epoch N/2' line per epoch" [ "$(grep -c '^epoch [12]/2  train_loss' "$tmp/plain.err")" -eq 2 ]

# SIGINT mid-epoch: the last epoch line is marked partial.
"$DPMLP" train --data synthetic:200000 --layers 64,256,10 --epochs 50 --threads 2 2>"$tmp/int.err" &
pid=$!
for _ in $(seq 300); do grep -q "workers run on" "$tmp/int.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
check "SIGINT ends the run with 130" [ $rc -eq 130 ]
check "... and its last epoch line says partial" \
    bash -c "grep '^epoch ' '$tmp/int.err' | tail -1 | grep -q 'partial: stopped after [0-9]* steps'"
finish
