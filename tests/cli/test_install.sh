#!/usr/bin/env bash
# make install into a DESTDIR: every file where it belongs (the .so with its soname links,
# the .a, dpmlp.pc, the header, both man pages), only the header's functions exported, and a
# client (tests/install/client.c: XOR from arrays, dp_model_predict, save, reload) built with
# `pkg-config --cflags --libs dpmlp` against the shared library and with --static against
# libdpmlp.a; the installed CLI reads the client's model; make uninstall removes it all.
# run-tests: alone (make install builds dpmlp.pc and the man pages in the build folder)
set -u
DPMLP=${DPMLP:-build/dpmlp}
BUILD=${BUILD:-build}
CC=${CC:-cc}
. "$(dirname "$0")/lib.sh"
case "$BUILD" in
*san-*)
    # A sanitized library needs its runtime in every client: packaging is the plain build's.
    echo "skip test_install.sh in the sanitized build $BUILD (runs in the plain build)"
    finish
    ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
ver=$(sed -n 's/^#define DPMLP_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)$/\2/p' include/dpmlp.h |
      paste -sd.)
major=${ver%%.*} minor=${ver#*.} minor=${minor%%.*}

make -s install PREFIX=/usr DESTDIR="$dest" BUILD="$BUILD" >"$tmp/install.out" 2>&1
check "make install PREFIX=/usr DESTDIR=... exits 0" [ $? -eq 0 ] || cat "$tmp/install.out"
lib=$dest/usr/lib
for f in bin/dpmlp lib/libdpmlp.a lib/libdpmlp.so.$major.$minor lib/pkgconfig/dpmlp.pc \
         include/dpmlp.h share/man/man1/dpmlp.1 share/man/man3/libdpmlp.3; do
    check "installed /usr/$f" [ -f "$dest/usr/$f" ]
done
check "libdpmlp.so.$major -> libdpmlp.so.$major.$minor" \
    [ "$(readlink "$lib/libdpmlp.so.$major")" = "libdpmlp.so.$major.$minor" ]
check "libdpmlp.so -> libdpmlp.so.$major" [ "$(readlink "$lib/libdpmlp.so")" = "libdpmlp.so.$major" ]
check "soname is libdpmlp.so.$major" \
    bash -c "readelf -d '$lib/libdpmlp.so.$major.$minor' | grep -q 'SONAME.*\[libdpmlp.so.$major\]'"

# ---- exports: the header's functions and nothing else ----
nm -D --defined-only "$lib/libdpmlp.so.$major.$minor" | awk '$2 ~ /^[TDBRW]$/ { print $3 }' |
    sort >"$tmp/exported"
"$CC" -E -P "$dest/usr/include/dpmlp.h" | tr -c 'A-Za-z0-9_' '\n' | grep '^dp_' | sort -u >"$tmp/declared"
check "the .so exports some 40+ functions" [ "$(wc -l <"$tmp/exported")" -ge 40 ]
check "every exported symbol is a dp_ name of the header" \
    bash -c "[ -z \"\$(comm -23 '$tmp/exported' '$tmp/declared')\" ]"
for f in dp_train dp_model_predict dp_data_from_arrays dp_version dp_model_load; do
    check "$f is exported" grep -qx "$f" "$tmp/exported"
done
# Internal functions exist in the archive but stay hidden in the .so.
for f in dp_data_alloc dp_gemm_nn dp_team_run dp_model_forward; do
    check "$f is in libdpmlp.a, not exported" \
        bash -c "nm '$lib/libdpmlp.a' | grep -q ' T $f\$' && ! grep -qx '$f' '$tmp/exported'"
done

# ---- pkg-config, shared and static ----
export PKG_CONFIG_PATH=$lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
check "pkg-config --modversion dpmlp = $ver" [ "$(pkg-config --modversion dpmlp)" = "$ver" ]
check "dpmlp.pc: Requires.private hwloc zlib" \
    bash -c "pkg-config --print-requires-private dpmlp | tr '\n' ' ' | grep -q 'hwloc.*zlib'"
shared_flags=$(pkg-config --cflags --libs dpmlp)
"$CC" -std=c11 -Wall -Wextra -Werror tests/install/client.c $shared_flags -o "$tmp/client_shared" \
    2>"$tmp/cc.err"
check "client builds with pkg-config --cflags --libs dpmlp ($shared_flags)" [ $? -eq 0 ] ||
    cat "$tmp/cc.err"
check "... and needs libdpmlp.so.$major" \
    bash -c "readelf -d '$tmp/client_shared' | grep -q 'NEEDED.*\[libdpmlp.so.$major\]'"
LD_LIBRARY_PATH=$lib "$tmp/client_shared" "$tmp/shared.model" >"$tmp/shared.out" 2>&1
check "shared client learns XOR and the reloaded model agrees" \
    bash -c "[ $? -eq 0 ] && grep -q 'learnt yes; reloaded model predicts the same' '$tmp/shared.out'" ||
    cat "$tmp/shared.out"

static_flags=$(pkg-config --cflags --static --libs dpmlp | sed 's/-ldpmlp/-l:libdpmlp.a/')
"$CC" -std=c11 -Wall -Wextra -Werror tests/install/client.c $static_flags -o "$tmp/client_static" \
    2>"$tmp/cc.err"
check "client builds against libdpmlp.a with pkg-config --static ($static_flags)" [ $? -eq 0 ] ||
    cat "$tmp/cc.err"
check "... and needs no libdpmlp.so" bash -c "! readelf -d '$tmp/client_static' | grep -q libdpmlp"
"$tmp/client_static" "$tmp/static.model" >"$tmp/static.out" 2>&1
check "static client learns XOR and the reloaded model agrees" \
    bash -c "[ $? -eq 0 ] && grep -q 'learnt yes; reloaded model predicts the same' '$tmp/static.out'"
# The literal --static line links too (the linker then prefers the .so beside the .a).
"$CC" tests/install/client.c $(pkg-config --cflags --static --libs dpmlp) -o "$tmp/client_lit" \
    2>/dev/null && LD_LIBRARY_PATH=$lib "$tmp/client_lit" "$tmp/lit.model" >/dev/null 2>&1
check "cc client.c \$(pkg-config --cflags --static --libs dpmlp) links and runs" [ $? -eq 0 ]
# Without the private libraries the archive does not link: --static is what supplies them.
"$CC" tests/install/client.c $(pkg-config --cflags dpmlp) -L"$lib" -l:libdpmlp.a \
    -o "$tmp/client_bare" >/dev/null 2>&1
check "libdpmlp.a without Libs.private/Requires.private does not link" [ $? -ne 0 ]
check "shared and static clients wrote the same model bytes" cmp -s "$tmp/shared.model" "$tmp/static.model"

# The installed CLI reads the model the library wrote.
printf '0,0\n0,1\n1,0\n1,1\n' >"$tmp/xor.csv"
pred=$(LD_LIBRARY_PATH=$lib "$dest/usr/bin/dpmlp" predict --model "$tmp/shared.model" \
       --input "$tmp/xor.csv" 2>/dev/null | paste -sd' ')
check "installed dpmlp predict on the client's model: 0 1 1 0 (got '$pred')" [ "$pred" = "0 1 1 0" ]

# The README's "Use it from C" program and build lines, as written there.
awk '/^## Use it from C/ { on = 1 } on && /^```c$/ { c = 1; next } c && /^```$/ { exit } c' \
    README.md >"$tmp/xor.c"
check "README's Use it from C holds a C program" grep -q 'dp_model_predict' "$tmp/xor.c"
(cd "$tmp" && "$CC" -o xor xor.c $(pkg-config --cflags --libs dpmlp) &&
    LD_LIBRARY_PATH=$lib ./xor >xor.out &&
    "$CC" -o xor_static xor.c $(pkg-config --cflags --static --libs dpmlp | sed 's/-ldpmlp/-l:libdpmlp.a/') &&
    ./xor_static >xor_static.out) 2>"$tmp/readme.err"
check "README's program builds and runs, shared and static" [ $? -eq 0 ] || cat "$tmp/readme.err"
check "... and prints XOR" bash -c "[ \"\$(awk '{ print \$NF }' '$tmp/xor.out' | paste -sd' ')\" = '0 1 1 0' ] &&
                                   cmp -s '$tmp/xor.out' '$tmp/xor_static.out'"
pred=$(LD_LIBRARY_PATH=$lib "$dest/usr/bin/dpmlp" predict --model "$tmp/xor.model" \
       --input data/xor.csv 2>/dev/null | paste -sd' ')
check "dpmlp predict --model xor.model --input data/xor.csv: 0 1 1 0 (got '$pred')" [ "$pred" = "0 1 1 0" ]

# ---- uninstall ----
make -s uninstall PREFIX=/usr DESTDIR="$dest" BUILD="$BUILD" >"$tmp/uninstall.out" 2>&1
check "make uninstall exits 0" [ $? -eq 0 ]
left=$(find "$dest" ! -type d | sed "s|^$dest||")
check "make uninstall leaves no file behind (left: ${left:-none})" [ -z "$left" ]
finish
