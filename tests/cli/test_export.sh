#!/usr/bin/env bash
# End-to-end: `dpmlp export` to ONNX, npz and CSV. Each file is read back by another tool —
# onnx.checker and a NumPy evaluator of the graph's operators, numpy.load, Python's csv — and
# its forward pass must equal `dpmlp predict --proba` within 1e-5 on the training rows. Also:
# regression and sigmoid outputs, `--out -`, a binary format refused on a terminal, bad flags.
set -u
DPMLP=${DPMLP:-build/dpmlp}
PY=/usr/bin/python3   # Debian's interpreter: it sees python3-numpy and python3-onnx
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib.sh"

if ! $PY -c 'import numpy, onnx' 2>/dev/null; then
    echo "SKIP test_export: $PY lacks numpy or onnx (scripts/deps.sh installs python3-numpy python3-onnx)"
    exit 0
fi

# Three Gaussian blobs (classification) and a two-target regression, 4 features each.
$PY - "$tmp" <<'PYEOF'
import random, sys
d = sys.argv[1]
random.seed(5)
c = [(2, 0, 0, 1), (-2, 1, 0, -1), (0, -2, 2, 0)]
with open(f"{d}/cls.csv", "w") as f, open(f"{d}/cls_x.csv", "w") as g:
    for i in range(240):
        x = [round(v + random.gauss(0, 0.7), 4) for v in c[i % 3]]
        f.write(",".join(map(str, x)) + f",{i % 3}\n")
        g.write(",".join(map(str, x)) + "\n")
with open(f"{d}/reg.csv", "w") as f, open(f"{d}/reg_x.csv", "w") as g:
    for i in range(200):
        x = [round(random.uniform(-1, 1), 4) for _ in range(4)]
        f.write(",".join(map(str, x)) + f",{x[0] - x[1]:.4f},{0.5 * x[2]:.4f}\n")
        g.write(",".join(map(str, x)) + "\n")
with open(f"{d}/bin.csv", "w") as f, open(f"{d}/bin_x.csv", "w") as g:
    for i in range(200):
        x = [round(random.gauss(0, 1), 4) for _ in range(4)]
        f.write(",".join(map(str, x)) + f",{int(x[0] + x[1] > 0)}\n")
        g.write(",".join(map(str, x)) + "\n")
PYEOF

$PY -c 'import cv2' 2>/dev/null && echo "OpenCV present: the ONNX files also run in cv2.dnn" ||
    echo "note: no python3-opencv: the ONNX files are checked without a real runtime"

# name train-flags... : trains, predicts --proba, exports every format and checks each.
round_trip() {
    local name=$1 data=$2; shift 2
    $DPMLP train --train "$tmp/$data.csv" --epochs 3 --batch 32 --threads 1 --quiet \
        --save "$tmp/$name.model" "$@" || { bad "$name: train"; return; }
    # predict reads the rows with their label/target columns (ignored); the check, features only.
    $DPMLP predict --model "$tmp/$name.model" --input "$tmp/$data.csv" --proba \
        >"$tmp/$name.proba" || { bad "$name: predict"; return; }
    for fmt in onnx npz csv; do
        $DPMLP export --model "$tmp/$name.model" --format $fmt --out "$tmp/$name.$fmt"
        check "$name: export --format $fmt exits 0" [ $? -eq 0 ]
        check "$name: $fmt forward pass equals predict --proba (1e-5)" \
            $PY "$here/export_check.py" $fmt "$tmp/$name.$fmt" "$tmp/${data}_x.csv" "$tmp/$name.proba"
    done
}
round_trip relu-softmax cls --layers 4,16,8,3 --act relu
round_trip tanh-softmax cls --layers 4,8,3 --act tanh
round_trip sigmoid-bce bin --layers 4,8,1 --act sigmoid --loss bce
round_trip linear-mse reg --layers 4,12,2 --act relu --loss mse --optim sgd --lr 0.05
round_trip leaky-gelu-cls cls --layers 4,16,8,3 --act leaky_relu,gelu --leaky-slope 0.2
round_trip gelu-tanh-mse reg --layers 4,12,2 --act gelu --out tanh --loss mse --optim sgd --lr 0.05

# GELU (tanh form, from Pow/Mul/Add/Tanh) and LeakyRelu graphs: written by the export suite
# (no dpmlp activation reaches them yet), checked here against NumPy.
BUILD=${BUILD:-build}
if [ -x "$BUILD/tests/io/check_export" ]; then
    DP_EXPORT_DUMP=$tmp CK_FORK=no "$BUILD/tests/io/check_export" >/dev/null
    check "GELU + LeakyRelu graph passes onnx.checker and equals NumPy" \
        $PY "$here/export_check.py" graph "$tmp/gelu_leaky.onnx" gelu_tanh,leaky_relu:0.1,softmax
else
    echo "skip GELU/LeakyRelu graph: no $BUILD/tests/io/check_export (make tests)"
fi

# --out - writes the same bytes to a pipe; a binary format is refused on a terminal.
m="$tmp/relu-softmax.model"
$DPMLP export --model "$m" --format onnx --out - | cmp -s - "$tmp/relu-softmax.onnx"
check "export --out - (pipe) writes the file's bytes" [ "${PIPESTATUS[0]}${PIPESTATUS[1]}" = 00 ]
$DPMLP export --model "$m" --format npz --out - >"$tmp/stdout.npz"
check "npz to stdout is the file's bytes" cmp -s "$tmp/stdout.npz" "$tmp/relu-softmax.npz"
if command -v script >/dev/null; then
    script -qec "$DPMLP export --model $m --format onnx --out -" /dev/null >"$tmp/tty.out" 2>&1
    rc=$?
    check "onnx to a terminal exits 64" [ $rc -eq 64 ]
    check "... and says it is binary" grep -q "binary" "$tmp/tty.out"
    script -qec "$DPMLP export --model $m --format csv --out -" /dev/null >"$tmp/tty.csv" 2>&1
    check "csv to a terminal is allowed" grep -q "^layer,activation,tensor" "$tmp/tty.csv"
fi
$DPMLP export --model "$m" --format csv --out /dev/full 2>"$tmp/full.err"
check "export to a full device exits 74" [ $? -eq 74 ]
check "... written as a stream: the device node is still there" [ -c /dev/full ]
$DPMLP export --model "$m" --format csv --out - >/dev/full 2>"$tmp/full2.err"
check "export --out - to a full device exits 74" [ $? -eq 74 ]
check "... with one message" [ "$(grep -c 'cannot write' "$tmp/full2.err")" -eq 1 ]

# Usage errors and a missing model.
$DPMLP export --model "$m" --format tflite --out "$tmp/x" 2>"$tmp/e1"
check "unknown format exits 64" [ $? -eq 64 ]
check "... naming the choices" grep -q "onnx" "$tmp/e1"
$DPMLP export --model "$m" --format onnx 2>/dev/null
check "missing --out exits 64" [ $? -eq 64 ]
$DPMLP export --model "$tmp/none.model" --format onnx --out "$tmp/x.onnx" 2>/dev/null
check "missing model exits 66" [ $? -eq 66 ]
check "... and writes nothing" [ ! -e "$tmp/x.onnx" ]
cp "$m" "$tmp/same.model"
$DPMLP export --model "$tmp/same.model" --format csv --out "$tmp/same.model" 2>/dev/null
check "--out naming the model itself exits 64" [ $? -eq 64 ]
check "... and the model is untouched" cmp -s "$m" "$tmp/same.model"
$DPMLP export --help | grep -q "opset 13"
check "export --help documents the formats" [ $? -eq 0 ]
finish
