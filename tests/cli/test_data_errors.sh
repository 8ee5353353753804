#!/usr/bin/env bash
# End-to-end: feed the real dpmlp binary malformed datasets (IDX raw and gzip, CSV) and check
# it refuses each with the right exit code (65 bad data, 66 missing input) and exactly one
# stderr line "dpmlp: ..." that names the offending file. Valid controls must train (exit 0).
set -u

DPMLP=${DPMLP:-build/dpmlp}
if [ ! -x "$DPMLP" ]; then
    echo "test_data_errors: $DPMLP is not an executable (set DPMLP or run make)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
command -v python3 >/dev/null 2>&1 || { echo "test_data_errors: python3 needed"; echo "0 passed, 1 failed"; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-data-errors.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
# A guard against hangs only; no assertion depends on how long anything takes.
TIMEOUT=""
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 300"

pass=0
fail=0
n=0

# expect NAME CODE NEEDLE ARGS...: dpmlp ARGS exits CODE; unless CODE is 0, stderr is exactly
# one line, starting "dpmlp: " and containing NEEDLE (a file name).
expect() {
    local name=$1 code=$2 needle=$3
    shift 3
    n=$((n + 1))
    local out="$T/out.$n" err="$T/err.$n" rc lines why=""
    $TIMEOUT "$DPMLP" "$@" >"$out" 2>"$err" </dev/null
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        why="exit $rc, expected $code"
    elif [ "$code" -ne 0 ]; then
        lines=$(awk 'END { print NR }' "$err")
        if [ "$lines" -ne 1 ]; then
            why="stderr has $lines lines, expected 1"
        elif ! head -n 1 "$err" | grep -q '^dpmlp: '; then
            why="stderr does not start with 'dpmlp: '"
        elif ! grep -qF -- "$needle" "$err"; then
            why="stderr does not name '$needle'"
        fi
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        echo "ok   $name"
    else
        fail=$((fail + 1))
        echo "FAIL $name: $why"
        echo "     command: $DPMLP $*"
        sed 's/^/     stderr: /' "$err" | head -n 5
    fi
}

# ---------------------------------------------------------------- inputs
python3 - "$T" <<'PY' || { echo "test_data_errors: generating inputs failed"; echo "0 passed, 1 failed"; exit 1; }
import gzip, os, struct, sys
T = sys.argv[1]
N, R, C = 8, 28, 28

def images(n=N, rows=R, cols=C, magic=0x803, claim=None):
    hdr = struct.pack(">IIII", magic, n if claim is None else claim, rows, cols)
    return hdr + bytes((i * 37 + j * 11) & 0xFF for i in range(n) for j in range(rows * cols))

def labels(n=N, magic=0x801, claim=None, top=9):
    return struct.pack(">II", magic, n if claim is None else claim) + bytes(i % (top + 1) for i in range(n))

def put(path, data, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz:
        data = gzip.compress(data)
        path += ".gz"
    with open(path, "wb") as f:
        f.write(data)

def mnist(name, train_img=None, train_lab=None, test_img=None, test_lab=None, gz=True,
          raw_img=None, raw_test_img=None):
    """An MNIST-layout dir; raw_* are written byte-exact (already compressed or damaged)."""
    d = os.path.join(T, name)
    os.makedirs(d, exist_ok=True)
    if raw_img is not None:
        with open(os.path.join(d, "train-images-idx3-ubyte" + (".gz" if gz else "")), "wb") as f:
            f.write(raw_img)
    else:
        put(os.path.join(d, "train-images-idx3-ubyte"), train_img if train_img is not None else images(), gz)
    put(os.path.join(d, "train-labels-idx1-ubyte"), train_lab if train_lab is not None else labels(), gz)
    if raw_test_img is not None:
        with open(os.path.join(d, "t10k-images-idx3-ubyte" + (".gz" if gz else "")), "wb") as f:
            f.write(raw_test_img)
    else:
        put(os.path.join(d, "t10k-images-idx3-ubyte"), test_img if test_img is not None else images(4), gz)
    put(os.path.join(d, "t10k-labels-idx1-ubyte"), test_lab if test_lab is not None else labels(4), gz)

good_gz = gzip.compress(images())
mnist("ok_gz")
mnist("ok_raw", gz=False)
os.makedirs(os.path.join(T, "empty_dir"))
mnist("magic_raw", train_img=images(magic=0x801), gz=False)
mnist("magic_gz", train_img=images(magic=0x03080000))
mnist("trunc_raw", raw_img=images()[:-1], gz=False)
mnist("trailing_raw", raw_img=images() + b"\0\0\0", gz=False)
mnist("count", train_lab=labels(N - 1))
mnist("lie_n", train_img=images(claim=1 << 31))
mnist("lie_px", train_img=images(rows=65535, cols=65535, n=0, claim=N))
mnist("lie_ratio", train_img=images(claim=10_000_000), train_lab=labels(claim=10_000_000))
mnist("gz_cut", raw_img=good_gz[: len(good_gz) // 2])
crc = bytearray(good_gz); crc[-8] ^= 0x55
mnist("gz_crc", raw_img=bytes(crc))
mnist("gz_short", train_img=images(claim=N + 4), train_lab=labels(N + 4))
mnist("gz_long", train_img=images(claim=N - 2), train_lab=labels(N - 2))
mnist("gz_trailing", raw_img=good_gz + b"\0" * 32)
mnist("test_trunc", raw_test_img=gzip.compress(images(4))[:-6])
mnist("label_big", train_lab=labels(top=7))  # labels 0..7 vs a 5-class output layer

def csv(name, text):
    with open(os.path.join(T, name), "w", newline="") as f:
        f.write(text)

csv("ok.csv", "a,b,c,d,y\n" + "".join(f"{i},{i/2},{-i},1e-3,{i % 3}\n" for i in range(12)))
csv("ok_crlf.csv", "a,b,c,d,y\r\n" + "".join(f"{i},{i/2},{-i},0,{i % 3}\r\n" for i in range(12)) + "\r\n")
csv("nonnum.csv", "a,b,c,d,y\n1,2,3,4,0\n1,abc,3,4,1\n")
csv("wide.csv", "1,2,3,4,0\n1,2,3,4,5,0\n")
csv("narrow.csv", "1,2,3,4,0\n1,2,3,0\n")
csv("nan.csv", "1,2,3,4,0\n1,nan,3,4,0\n")
csv("inf.csv", "1,2,inf,4,0\n")
csv("empty.csv", "")
csv("header_only.csv", "a,b,c,d,y\n")
csv("neg_label.csv", "1,2,3,4,0\n1,2,3,4,-1\n")
csv("frac_label.csv", "1,2,3,4,0\n1,2,3,4,0.5\n")
csv("label_big.csv", "1,2,3,4,0\n1,2,3,4,3\n")
csv("bad_test.csv", "1,2,3,4,0\n1,2,3\n")
csv("reg_ok.csv", "".join(f"{i},{i},{i},{i},{i/10},{-i/10}\n" for i in range(8)))
csv("reg_narrow.csv", "".join(f"{i},{i},{i},{i},{i/10}\n" for i in range(8)))
os.makedirs(os.path.join(T, "dir.csv"))
PY

M=(--layers "784,16,10" --loss xent --epochs 1 --batch 4 --threads 1 --quiet)
C=(--layers "4,8,3" --loss xent --epochs 1 --batch 4 --threads 1 --quiet)

# ---------------------------------------------------------------- MNIST layout
expect "valid gzip MNIST dir trains"        0  ""                          train --data "$T/ok_gz" "${M[@]}"
expect "valid raw MNIST dir trains"         0  ""                          train --data "$T/ok_raw" "${M[@]}"
expect "dir without files"                  66 "train-images-idx3-ubyte"   train --data "$T/empty_dir" "${M[@]}"
expect "dir that does not exist"            66 "no_such_dir"               train --data "$T/no_such_dir" "${M[@]}"
expect "bad magic (raw)"                    65 "train-images-idx3-ubyte"   train --data "$T/magic_raw" "${M[@]}"
expect "bad magic (gzip, byte-swapped)"     65 "train-images-idx3-ubyte.gz" train --data "$T/magic_gz" "${M[@]}"
expect "truncated raw images"               65 "train-images-idx3-ubyte"   train --data "$T/trunc_raw" "${M[@]}"
expect "trailing garbage raw images"        65 "train-images-idx3-ubyte"   train --data "$T/trailing_raw" "${M[@]}"
expect "image count != label count"         65 "train-images-idx3-ubyte.gz" train --data "$T/count" "${M[@]}"
expect "header claims 2^31 images (gzip)"   65 "train-images-idx3-ubyte.gz" train --data "$T/lie_n" "${M[@]}"
expect "header claims 65535x65535 (gzip)"   65 "train-images-idx3-ubyte.gz" train --data "$T/lie_px" "${M[@]}"
expect "header claims 10^7 images (gzip)"   65 "train-images-idx3-ubyte.gz" train --data "$T/lie_ratio" "${M[@]}"
expect "truncated gzip"                     65 "train-images-idx3-ubyte.gz" train --data "$T/gz_cut" "${M[@]}"
expect "gzip with a bad CRC"                65 "train-images-idx3-ubyte.gz" train --data "$T/gz_crc" "${M[@]}"
expect "gzip content shorter than claimed"  65 "train-images-idx3-ubyte.gz" train --data "$T/gz_short" "${M[@]}"
expect "gzip content longer than claimed"   65 "train-images-idx3-ubyte.gz" train --data "$T/gz_long" "${M[@]}"
expect "garbage after the gzip stream"      65 "train-images-idx3-ubyte.gz" train --data "$T/gz_trailing" "${M[@]}"
expect "truncated t10k split"               65 "t10k-images-idx3-ubyte.gz" train --data "$T/test_trunc" "${M[@]}"
expect "labels beyond the output layer"     65 "train-labels-idx1-ubyte.gz" \
    train --data "$T/label_big" --layers 784,16,5 --loss xent --epochs 1 --batch 4 --threads 1 --quiet
expect "input layer != 784 features"        65 "train-images-idx3-ubyte.gz" \
    train --data "$T/ok_gz" --layers 100,16,10 --loss xent --epochs 1 --batch 4 --threads 1 --quiet

# ---------------------------------------------------------------- CSV
expect "valid CSV trains"                   0  ""                train --train "$T/ok.csv" "${C[@]}"
expect "valid CRLF CSV with test set"       0  ""                train --train "$T/ok_crlf.csv" --test "$T/ok.csv" "${C[@]}"
expect "missing CSV"                        66 "missing.csv"     train --train "$T/missing.csv" "${C[@]}"
expect "directory as CSV"                   66 "dir.csv"         train --train "$T/dir.csv" "${C[@]}"
expect "non-numeric cell"                   65 "nonnum.csv:3:2"  train --train "$T/nonnum.csv" "${C[@]}"
expect "too many columns"                   65 "wide.csv:2"      train --train "$T/wide.csv" "${C[@]}"
expect "too few columns"                    65 "narrow.csv:2"    train --train "$T/narrow.csv" "${C[@]}"
expect "NaN cell"                           65 "nan.csv:2:2"     train --train "$T/nan.csv" "${C[@]}"
expect "inf cell"                           65 "inf.csv:1:3"     train --train "$T/inf.csv" "${C[@]}"
expect "empty CSV"                          65 "empty.csv"       train --train "$T/empty.csv" "${C[@]}"
expect "header-only CSV"                    65 "header_only.csv" train --train "$T/header_only.csv" "${C[@]}"
expect "negative class label"               65 "neg_label.csv:2:5" train --train "$T/neg_label.csv" "${C[@]}"
expect "non-integer class label"            65 "frac_label.csv:2:5" train --train "$T/frac_label.csv" "${C[@]}"
expect "label beyond the output layer"      65 "label_big.csv"   train --train "$T/label_big.csv" "${C[@]}"
expect "CSV wider than the input layer"     65 "ok.csv"          \
    train --train "$T/ok.csv" --layers 3,8,3 --loss xent --epochs 1 --batch 4 --threads 1 --quiet
expect "bad --test CSV"                     65 "bad_test.csv:2"  train --train "$T/ok.csv" --test "$T/bad_test.csv" "${C[@]}"
expect "missing --test CSV"                 66 "nope_test.csv"   train --train "$T/ok.csv" --test "$T/nope_test.csv" "${C[@]}"
expect "regression CSV (2 targets) trains"  0  ""                \
    train --train "$T/reg_ok.csv" --layers 4,8,2 --loss mse --epochs 1 --batch 4 --threads 1 --quiet
expect "regression CSV one target short"    65 "reg_narrow.csv:1" \
    train --train "$T/reg_narrow.csv" --layers 4,8,2 --loss mse --epochs 1 --batch 4 --threads 1 --quiet

if [ "$(id -u)" -ne 0 ]; then
    cp "$T/ok.csv" "$T/unreadable.csv" && chmod 000 "$T/unreadable.csv"
    expect "unreadable CSV"                 66 "unreadable.csv"  train --train "$T/unreadable.csv" "${C[@]}"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
