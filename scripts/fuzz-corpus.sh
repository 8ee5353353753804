#!/usr/bin/env bash
# Writes the seed corpora (and dictionaries) for the libFuzzer harnesses: small valid IDX pairs,
# raw and gzip, CSVs, model files and checkpoints made by build/dpmlp itself, and typical flag
# lines. Nothing is downloaded. Usage: scripts/fuzz-corpus.sh [OUTDIR] (default build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/fuzz}
CORPUS=$OUT/corpus DICT=$OUT/dict
DPMLP=${DPMLP:-build/dpmlp}
mkdir -p "$CORPUS"/{idx_raw,idx_gz,csv,ckpt,flags} "$DICT"

# Bytes by value: b 0 8 3 → \x00\x08\x03; big-endian u32, little-endian u16.
b() { local s="" t x; for x in "$@"; do printf -v t '\\x%02x' "$x"; s+=$t; done; printf "%b" "$s"; }
be32() { b $((($1 >> 24) & 255)) $((($1 >> 16) & 255)) $((($1 >> 8) & 255)) $(($1 & 255)); }
le16() { b $(($1 & 255)) $((($1 >> 8) & 255)); }
# n pseudo-random bytes (each mod m, default 256) from a fixed seed: the corpus is the same on
# every run.
bytes() {
    local n=$1 x=$2 m=${3:-256} s="" t i
    for ((i = 0; i < n; i++)); do
        x=$(((x * 1103515245 + 12345) & 0x7fffffff))
        printf -v t '\\x%02x' $(((x >> 16) % m))
        s+=$t
    done
    printf "%b" "$s"
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---- IDX pairs: images (n, rows, cols) and labels (n) ----
idx_pair() { # name n rows cols [labels-n]
    local name=$1 n=$2 r=$3 c=$4 ln=${5:-$2}
    { be32 0x803; be32 "$n"; be32 "$r"; be32 "$c"; bytes $((n * r * c)) "$n$r$c"; } > "$TMP/$name.img"
    { be32 0x801; be32 "$ln"; bytes "$ln" "$ln" 10; } > "$TMP/$name.lab"
    gzip -9nc "$TMP/$name.img" > "$TMP/$name.img.gz"
    gzip -9nc "$TMP/$name.lab" > "$TMP/$name.lab.gz"
}
idx_pair tiny 3 2 2
idx_pair one 1 1 1
idx_pair mnist2 2 28 28
idx_pair wide 4 1 16
idx_pair mismatch 3 2 2 4

for p in tiny one mnist2 wide mismatch; do
    # idx_raw: u16 LE images length, images, labels.
    { le16 "$(stat -c %s "$TMP/$p.img")"; cat "$TMP/$p.img" "$TMP/$p.lab"; } > "$CORPUS/idx_raw/seed-$p"
    # idx_gz: mode, u16 images length, u16 tweak position, tweak value, images, labels.
    gz() { # tag mode pos val
        { b "$2"; le16 "$(stat -c %s "$TMP/$p.img")"; le16 "$3"; b "$4"; cat "$TMP/$p.img" "$TMP/$p.lab"; } \
            > "$CORPUS/idx_gz/seed-$p-$1"
    }
    gz gzip 0 0 6          # both one member
    gz members 10 9 6      # both two members
    gz cut 15 40 0         # damaged: truncated
    gz flip 15 30 23       # damaged: a byte flipped
    gz isize 15 0 32       # damaged: ISIZE set to the header's claim
    gz junk 15 7 55        # damaged: junk after the member
    # mode 5: both files as given, here real gzip streams under the .gz names.
    { b 5; le16 "$(stat -c %s "$TMP/$p.img.gz")"; le16 0; b 0; cat "$TMP/$p.img.gz" "$TMP/$p.lab.gz"; } \
        > "$CORPUS/idx_gz/seed-$p-given"
done
# Swapped files and a byte-swapped magic, raw.
{ le16 "$(stat -c %s "$TMP/tiny.lab")"; cat "$TMP/tiny.lab" "$TMP/tiny.img"; } > "$CORPUS/idx_raw/seed-swapped"
{ le16 28; b 3 8 0 0; be32 3; be32 2; be32 2; bytes 12 1; cat "$TMP/tiny.lab"; } > "$CORPUS/idx_raw/seed-byteswap"

# ---- CSV: byte 0 = n_in - 1, byte 1 = n_targets + 1, then the file ----
csv() { local name=$1 nin=$2 nt=$3; shift 3; { b $((nin - 1)) $((nt + 1)); printf "%b" "$*"; } > "$CORPUS/csv/seed-$name"; }
csv header 2 0 'x1,x2,label\n0.5,1,0\n-2,3e-2,1\n7,8,2\n'
csv crlf 2 0 '1,2,3\r\n4,5,6\r\n'
csv regress 2 2 '1,2,0.5,-0.5\n3,4,1e3,2\n'
csv features 3 -1 '1,2,3\n4,5,6\n'
# byte 1 = 6: features only, one trailing label column ignored (predict --input with labels).
{ b 1 6; printf '1,2,-1\n3,4,x\n5,6\n'; } > "$CORPUS/csv/seed-ignore-label"
csv bom 1 0 '\xef\xbb\xbfa,b\n1,2\n\n \n'
csv spaces 3 1 ' 1 ,\t2, 3 ,4.25\n-0,+5,6e-3,-7\n'
csv floats 2 4 '1.5e-10,2.25,1,2,3,4\n-3.4e38,3.4e38,0,0,0,0\n'
csv labels 1 0 '0,0\n1,9\n2,1048575\n'
[ -f data/xor.csv ] && { b 1 1; cat data/xor.csv; } > "$CORPUS/csv/seed-xor"

# ---- model files and checkpoints, written by dpmlp itself (flags byte 0: as is, 1: fix CRC) ----
if [ ! -x "$DPMLP" ]; then
    echo "fuzz-corpus: $DPMLP missing, building it (make -j2)" >&2
    make -j2 >/dev/null
fi
mk() { # name train-flags...
    local name=$1; shift
    "$DPMLP" train --data synthetic:50 --epochs 1 --threads 1 --quiet \
        --save "$TMP/$name.model" --checkpoint "$TMP/$name.ckpt" "$@" >/dev/null
    for f in model ckpt; do
        { b 0; cat "$TMP/$name.$f"; } > "$CORPUS/ckpt/seed-$name-$f"
        { b 1; cat "$TMP/$name.$f"; } > "$CORPUS/ckpt/seed-$name-$f-crc"
    done
}
mk sgd --layers 4,3,2 --optim sgd
mk adam --layers 4,3,2 --optim adam
mk momentum --layers 3,2,1 --loss mse --optim momentum --act tanh
mk deep --layers 2,3,3,2 --loss bce --act sigmoid --batch 7
# Version 1 and 2 checkpoints (no fingerprint, no deterministic; no validation) and ones whose counters
# sit at the edges of what a load accepts, so mutations start next to the boundaries. Flags
# byte 1: the harness fixes the CRC.
python3 - "$TMP/adam.ckpt" "$CORPUS/ckpt" <<'PY'
import struct, sys
src, out = sys.argv[1:3]
b = open(src, "rb").read()
ns = struct.unpack_from("<I", b, 16)[0]
st = 20 + 4 * ns + 8 + 52
V3 = 8 + 4 * 31 + 4 * 30 + 64 + 4  # format 3 after st + 76: activations, dropout, validation, precision
v1 = bytearray(b[:st + 64] + b[st + 76 + V3:])
struct.pack_into("<I", v1, 8, 1)
open(f"{out}/seed-adam-v1-ckpt-crc", "wb").write(b"\x01" + bytes(v1))
v2 = bytearray(b[:st + 76] + b[st + 76 + V3:])
struct.pack_into("<I", v2, 8, 2)
open(f"{out}/seed-adam-v2-ckpt-crc", "wb").write(b"\x01" + bytes(v2))
for name, off, fmt, v in (("epoch-max", st, "<I", 10**9), ("gstep-max", st + 12, "<Q", 1 << 53),
                          ("epoch-over", st, "<I", 2**31 - 1), ("nan-loss", st + 28, "<Q", 0x7ff8 << 48)):
    c = bytearray(b)
    struct.pack_into(fmt, c, off, v)
    open(f"{out}/seed-adam-{name}-ckpt-crc", "wb").write(b"\x01" + bytes(c))
PY

# ---- flag lines: mode byte (0 train, 1 eval, 2 predict, 3 topo), NUL-separated argv ----
flags() { local name=$1 mode=$2; shift 2; { b "$mode"; printf '%s\0' "$@"; } > "$CORPUS/flags/seed-$name"; }
flags train-basic 0 --data synthetic:50 --layers 4,3,2 --epochs 1 --quiet --save M --checkpoint C
flags train-full 0 --layers=784,256,10 --act tanh --loss bce --optim adam --lr 1e-3 --beta1 0.9 \
    --beta2=0.999 --batch 128 --seed 42 --steps 100 --reduce tree --team openmp --deterministic \
    --weight-decay 0.0001 --momentum 0.9 --epochs 3 --checkpoint-every 2 --log x.jsonl
flags train-resume 0 --resume C --threads 2 --bind compact --train a.csv --test b.csv
flags train-help 0 --help
flags train-val 0 --data synthetic:50 --layers 4,3,2 --val-split 0.2 --early-stop 3 \
    --schedule plateau --plateau-patience 2 --plateau-factor 0.5 --warmup 10 --lr-min 1e-5 \
    --lr-step 3 --lr-gamma 0.5 --val v.csv
flags eval 1 --model m --data d --threads 2
flags predict 2 --model m --input x.csv --proba --threads 1
flags topo 3 --threads 4 --bind spread

# ---- dictionaries ----
{
    for n in data train test layers act loss optim lr momentum weight-decay beta1 beta2 epochs \
        batch seed threads bind reduce team steps deterministic log save checkpoint \
        checkpoint-every resume quiet help model input proba; do
        printf '"--%s"\n"--%s="\n' "$n" "$n"
    done
    for v in relu sigmoid tanh xent bce mse mae sgd momentum adam segmented serial tree \
        pthreads openmp compact spread none synthetic: 784,256,10 1e-3 0x10 -1 1e308 nan inf \
        9223372036854775807 18446744073709551616; do
        printf '"%s"\n' "$v"
    done
    printf '"\\x00"\n'
} > "$DICT/flags.dict"
{
    printf '"DPMLPMDL"\n"DPMLPCKP"\n"\\x01\\x00\\x00\\x00"\n"\\x04\\x03\\x02\\x01"\n'
    printf '"\\x00\\x00\\x10\\x00"\n"\\xff\\xff\\xff\\xff"\n"\\x00\\x00\\x00\\x10"\n'
} > "$DICT/ckpt.dict"
{
    printf '"\\x00\\x00\\x08\\x03"\n"\\x00\\x00\\x08\\x01"\n"\\x00\\x00\\x00\\x1c"\n"\\x00\\x00\\x10\\x00"\n'
    printf '"\\x1f\\x8b\\x08\\x00"\n"\\xff\\xff\\xff\\xff"\n'
} | tee "$DICT/idx_raw.dict" > "$DICT/idx_gz.dict"
{
    # libFuzzer dictionaries know only \\, \" and \xHH escapes.
    for v in ',' '\x0d\x0a' '\x0a' '\x09' '\x22' '\xef\xbb\xbf' nan inf -inf 1e39 -1e39 0x1p3 \
        1e-50 1048576 -1 +0 .5 5. 1e ' '; do
        printf '"%s"\n' "$v"
    done
} > "$DICT/csv.dict"

for h in idx_raw idx_gz csv ckpt flags; do
    echo "fuzz-corpus: $h: $(find "$CORPUS/$h" -type f | wc -l) inputs in $CORPUS/$h"
done
