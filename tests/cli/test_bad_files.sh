#!/usr/bin/env bash
# End-to-end: special and crafted input files given to the real binary. A FIFO as --model,
# --resume or a dataset file is refused at once (66, naming it) instead of blocking; checkpoints
# whose counters would overflow on resume, or whose moments hold NaN, and model files with NaN
# weights (valid CRCs, written by a small writer here) are bad data (65, naming file and
# field); a gzip holding far more than its IDX header claims is refused (65) without the
# memory growing past one copy of the claim, and the correct file still trains.
set -u
cd "$(dirname "$0")/../.."
. tests/cli/lib.sh
DPMLP=${DPMLP:-build/dpmlp}
[ -x "$DPMLP" ] || { echo "test_bad_files: $DPMLP missing (run make)"; echo "0 passed, 1 failed"; exit 1; }
command -v python3 >/dev/null || { echo "test_bad_files: python3 needed"; echo "0 passed, 1 failed"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-bad-files.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
# A hang is the defect under test: each command gets a deadline, and 124 is a failure.
TO="timeout 60"

# expect NAME CODE NEEDLE ARGS...: dpmlp ARGS exits CODE and stderr contains NEEDLE.
expect() {
    local name=$1 code=$2 needle=$3 rc
    shift 3
    $TO "$DPMLP" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    if [ "$rc" -eq "$code" ] && { [ -z "$needle" ] || grep -qF -- "$needle" "$T/err"; }; then
        ok "$name"
    else
        bad "$name (exit $rc, expected $code with '$needle'; stderr: $(head -c 300 "$T/err"))"
    fi
}

TINY=(--layers 4,3,2 --epochs 1 --threads 1 --quiet)

# ---- FIFOs (issue 13.2) ----
mkfifo "$T/pipe"
expect "FIFO as --model is refused at once"   66 "$T/pipe: not a regular file" eval --model "$T/pipe" --data synthetic:10
expect "FIFO as --resume is refused at once"  66 "$T/pipe: not a regular file" train --resume "$T/pipe" --data synthetic:50
expect "FIFO as --train CSV is refused"       66 "$T/pipe: not a regular file" train --train "$T/pipe" "${TINY[@]}"
mkdir "$T/fifo_mnist"
mkfifo "$T/fifo_mnist/train-images-idx3-ubyte"
expect "FIFO as IDX images is refused"        66 "train-images-idx3-ubyte: not a regular file" \
    train --data "$T/fifo_mnist" --layers 784,8,10 --epochs 1 --threads 1 --quiet

# ---- crafted checkpoints and models (issues 13.3, 13.5) ----
"$DPMLP" train --data synthetic:50 "${TINY[@]}" --optim adam --checkpoint "$T/C" --save "$T/M" \
    >/dev/null 2>&1 || bad "tiny adam run for the crafted files"
# patch FILE OUT KIND FIELD VALUE: a copy of FILE with one field changed and the CRC fixed.
patch() {
    python3 - "$@" <<'PY'
import struct, sys, zlib
src, out, kind, field, value = sys.argv[1:6]
b = bytearray(open(src, "rb").read())
ns = struct.unpack_from("<I", b, 16)[0]
head = 20 + 4 * ns + 8
if kind == "ckpt":
    st = head + 52
    n_params = struct.unpack_from("<Q", b, st + 52)[0]
    hlen = st + 76 + 8 + 4 * 31 + 4 * 30 + 64 + 4  # format 3: n_act, slope, act[31], dropout[30], validation/schedule, precision
    where = {"epoch": (st, "<I"), "global_step": (st + 12, "<Q"),
             "m2": (hlen + 8 * n_params + 4 * 3, "<I")}[field]
else:
    acts = 4 * (ns - 1) + 4  # format 2: act[ns - 1], leaky_slope
    where = {"w1": (head + acts + 8 + 4 * 2, "<I")}[field]
struct.pack_into(where[1], b, where[0], int(value, 0))
struct.pack_into("<I", b, len(b) - 4, zlib.crc32(bytes(b[:-4])))
open(out, "wb").write(b)
PY
}
patch "$T/C" "$T/C_epoch" ckpt epoch 0x7fffffff
expect "checkpoint epoch 2^31-1 is bad data"  65 "epoch is 2147483647" train --resume "$T/C_epoch" --data synthetic:50 --quiet
patch "$T/C" "$T/C_gstep" ckpt global_step 0x7fffffffffffffff
expect "checkpoint global_step 2^63-1 is bad data" 65 "global_step is 9223372036854775807" \
    train --resume "$T/C_gstep" --data synthetic:50 --quiet
patch "$T/C" "$T/C_nan" ckpt m2 0x7fc00000
expect "NaN adam moment is bad data"          65 "$T/C_nan: adam second moment holds NaN" \
    train --resume "$T/C_nan" --data synthetic:50 --quiet
patch "$T/M" "$T/M_nan" model w1 0x7fc00000
expect "NaN model weight is bad data (eval)"  65 "$T/M_nan: layer 1 weights hold NaN at index 2" \
    eval --model "$T/M_nan" --data synthetic:10
expect "NaN model weight is bad data (predict)" 65 "layer 1 weights hold NaN" \
    predict --model "$T/M_nan" --data synthetic:10
expect "the unpatched checkpoint resumes"     0 "" train --resume "$T/C" --data synthetic:50 --epochs 2 --quiet

# ---- a gzip holding more than its IDX header claims (issue 13.13) ----
python3 - "$T" <<'PY'
import gzip, os, struct, sys, zlib
T = sys.argv[1]
N = 60000
def gz(path, chunks):
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        for c in chunks:
            f.write(z.compress(c))
        f.write(z.flush())
zeros = bytes(1 << 20)
def images(extra_mb):
    yield struct.pack(">IIII", 0x803, N, 28, 28)
    left = N * 784
    while left:
        k = min(left, len(zeros)); left -= k; yield zeros[:k]
    for _ in range(extra_mb): yield zeros
for name, extra in (("good", 0), ("long", 200)):
    d = os.path.join(T, name); os.makedirs(d)
    gz(os.path.join(d, "train-images-idx3-ubyte.gz"), images(extra))
    with open(os.path.join(d, "train-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, N) + bytes(i % 10 for i in range(N)))
    with open(os.path.join(d, "t10k-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, 2, 28, 28) + bytes(2 * 784))
    with open(os.path.join(d, "t10k-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, 2) + bytes(2))
PY
MNIST=(--layers 784,4,10 --steps 1 --threads 1 --quiet)
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M -o "$T/rss_good" $TO "$DPMLP" train --data "$T/good" "${MNIST[@]}" >/dev/null 2>"$T/err"
    check "a correct 60000-image gzip trains" [ $? -eq 0 ]
    /usr/bin/time -f %M -o "$T/rss_long" $TO "$DPMLP" train --data "$T/long" "${MNIST[@]}" >/dev/null 2>"$T/err"
    rc=$?
    good=$(tail -1 "$T/rss_good") long=$(tail -1 "$T/rss_long")
    echo "peak RSS: $good KiB training on the correct file, $long KiB refusing the long one"
    check "gzip 200 MB longer than its header: exit 65" [ "$rc" -eq 65 ]
    check "the refusal names the images file" grep -q "train-images-idx3-ubyte.gz: trailing data" "$T/err"
    # The claim is 47 MB: refusing must not hold even one copy of it.
    check "refusing it peaks below one copy of the claimed payload" [ "$long" -lt $((good - 30000)) ]
else
    expect "gzip 200 MB longer than its header" 65 "trailing data" train --data "$T/long" "${MNIST[@]}"
fi

finish
