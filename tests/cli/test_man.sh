#!/usr/bin/env bash
# The man pages cannot fall behind the code: every flag any `--help` prints (the top level and
# every command it lists, read now) is in dpmlp(1), every command has its section, every
# environment variable the sources read is documented, the model-file layout it gives parses
# a real model file, the format versions are the code's; every function of the header and
# every status code is in libdpmlp(3); `man -l` renders both without a warning.
# run-tests: alone (make man writes the man pages in the build folder)
set -u
DPMLP=${DPMLP:-build/dpmlp}
BUILD=${BUILD:-build}
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
case "$BUILD" in
*san-*)
    echo "skip test_man.sh in the sanitized build $BUILD (the pages are the plain build's)"
    finish
    ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v help2man >/dev/null || ! command -v man >/dev/null; then
    bad "help2man and man are needed (scripts/deps.sh installs them)"
    finish
fi
make -s man BUILD="$BUILD" >"$tmp/make.out" 2>&1
check "make man exits 0" [ $? -eq 0 ] || cat "$tmp/make.out"
page1=$BUILD/man/dpmlp.1 page3=$BUILD/man/libdpmlp.3
# The roff source as text: \- is a hyphen, font changes vanish.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(CW//g' "$page1" >"$tmp/dpmlp.1.txt"
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page3" >"$tmp/libdpmlp.3.txt"

# ---- every flag of every --help ----
"$DPMLP" --help >"$tmp/help.top"
cmds=$(awk '/^commands/ { on = 1; next } on && /^$/ { exit } on && /^  [a-z]/ { print $1 }' \
       "$tmp/help.top")
check "the top-level --help lists commands ($(echo $cmds))" [ -n "$cmds" ]
cp "$tmp/help.top" "$tmp/help.all"
for c in $cmds; do
    "$DPMLP" "$c" --help >>"$tmp/help.all"
    check "dpmlp(1) has a section for '$c'" grep -qx "\.SH \"DPMLP ${c^^}\"" "$page1"
done
flags=$(grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' "$tmp/help.all" | sort -u)
check "the --help texts show 20+ flags" [ "$(echo "$flags" | wc -l)" -ge 20 ]
missing=""
for f in $flags; do grep -qE -- "(^|[^a-z-])$f([^a-z0-9-]|$)" "$tmp/dpmlp.1.txt" || missing="$missing $f"; done
check "every flag of every --help is in dpmlp(1) (missing:${missing:- none})" [ -z "$missing" ]

# ---- environment, formats ----
envs=$(grep -rhoE 'getenv\("[A-Z0-9_]+"\)' src | sed -E 's/getenv\("(.*)"\)/\1/' | sort -u)
missing=""
for e in $(printf "%s\n" $envs SLURM_CPUS_PER_TASK | sort -u); do
    awk '/^\.SH ENVIRONMENT/ { on = 1; next } /^\.SH/ { on = 0 } on' "$tmp/dpmlp.1.txt" |
        grep -qw "$e" || missing="$missing $e"
done
check "ENVIRONMENT documents every variable the sources read (missing:${missing:- none})" \
    [ -z "$missing" ]
mv=$(sed -n 's/^#define DP_MODEL_FORMAT_VERSION \([0-9]*\)u$/\1/p' src/io/ckpt.h)
cv=$(sed -n 's/^#define DP_CKPT_FORMAT_VERSION \([0-9]*\)u$/\1/p' src/io/ckpt.h)
check "dpmlp(1) gives the model format version $mv of ckpt.h" \
    grep -q "Model file .*format version $mv\"" "$tmp/dpmlp.1.txt"
check "dpmlp(1) gives the checkpoint format version $cv of ckpt.h" \
    grep -q "Checkpoint file .*format version $cv\"" "$tmp/dpmlp.1.txt"
for code in 0 64 65 66 70 71 74 75 130 143; do
    check "EXIT STATUS has $code" grep -qE "^\.B .*\b$code\b" "$page1"
done
# A real model file read by the layout the page gives (offsets, types, CRC).
printf '0,0,0\n0,1,1\n1,0,1\n1,1,0\n' >"$tmp/xor.csv"
"$DPMLP" train --train "$tmp/xor.csv" --layers 2,3,2 --act tanh --epochs 2 --batch 4 \
    --threads 1 --quiet --save "$tmp/m.model" 2>/dev/null
check "the model file parses by dpmlp(1)'s layout" "$PY" - "$tmp/m.model" <<'PY'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"DPMLPMDL", b[:8]
version, marker, n_sizes = struct.unpack_from("<III", b, 8)
assert version == 2 and marker == 0x01020304 and n_sizes == 3, (version, marker, n_sizes)
sizes = struct.unpack_from("<%dI" % n_sizes, b, 20)
at = 20 + 4 * n_sizes
hidden, loss = struct.unpack_from("<II", b, at)
at += 8
acts = struct.unpack_from("<%dI" % (n_sizes - 1), b, at)  # format 2: every layer's activation
at += 4 * (n_sizes - 1)
slope, n_params = struct.unpack_from("<fQ", b, at)
at += 12
assert sizes == (2, 3, 2) and hidden == 2 and loss == 0 and acts == (2, 4), (sizes, hidden, loss, acts)
assert n_params == 2 * 3 + 3 * 2 + 3 + 2, n_params
at += 4 * n_params
assert len(b) == at + 4, (len(b), at)
assert struct.unpack_from("<I", b, at)[0] == zlib.crc32(b[:at]), "crc"
PY

# ---- libdpmlp(3) ----
funcs=$("${CC:-cc}" -E -P include/dpmlp.h | grep -oE '\bdp_[a-z0-9_]+ *\([^*]' | sed -E 's/ *\(.*//' | sort -u)
missing=""
for f in $funcs; do grep -q "\\\\fB$f\\\\fR" "$page3" || missing="$missing $f"; done
check "libdpmlp(3) has every function of dpmlp.h ($(echo "$funcs" | wc -l); missing:${missing:- none})" \
    [ -z "$missing" ]
codes=$(sed -n 's/^ *\(DP_E[A-Z]*\|DP_OK\) = [0-9]*,\{0,1\}.*/\1/p' include/dpmlp.h)
missing=""
for c in $codes; do grep -qw "$c" "$tmp/libdpmlp.3.txt" || missing="$missing $c"; done
check "libdpmlp(3) lists every status code ($(echo $codes | wc -w); missing:${missing:- none})" \
    [ -z "$missing" ]
check "libdpmlp(3) has the thread-safety rules" grep -qx '\.SH THREAD SAFETY' "$page3"

# ---- both render ----
for p in "$page1" "$page3"; do
    LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" >"$tmp/out" 2>"$tmp/warn"
    rc=$?
    check "man -l $(basename "$p") renders (exit $rc) without warnings" \
        bash -c "[ $rc -eq 0 ] && [ ! -s '$tmp/warn' ] && [ \$(wc -l <'$tmp/out') -gt 50 ]" ||
        head -5 "$tmp/warn"
done
finish
