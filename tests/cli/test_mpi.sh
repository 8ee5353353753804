#!/usr/bin/env bash
# End-to-end MPI: (1) src/platform/dist_mpi.c itself under mpirun, through a small driver compiled here
# (sums, chunking, collective flags, hash agreement, abort code); (2) the real trainer, hybrid
# ranks x threads: R ranks x T threads give the model of one process with R*T threads (within
# float rounding), ranks stay bit-identical, only rank 0 writes, a rank that cannot load its
# data ends the whole job with 66 and no hang, ranks given different flags are refused (64),
# the epoch log reports ranks and allreduce time.
#
# The MPI trainer is $DPMLP when its --version names an MPI library, else $DPMLP_MPI, else
# build/mpi/dpmlp built here with `make MPI=1 BUILD=build/mpi` (the normal build stays
# single-process). Without mpirun (or mpicc) everything is skipped: "0 passed, 0 failed".
# run-tests: alone (builds build/mpi/dpmlp, which test_scaling.sh then uses)
set -u

DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/lib.sh"
skip() { echo "mpi: skipped ($1)"; finish; }

command -v mpirun >/dev/null 2>&1 || skip "mpirun not installed: apt-get install openmpi-bin libopenmpi-dev"
command -v python3 >/dev/null 2>&1 || skip "python3 not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) not installed"

# The same launcher options everywhere: root is allowed (containers, CI), more ranks than cores
# (oversubscribe; CI has 2 cores), no binding by mpirun (dpmlp pins its own threads; the runs
# below also pass --bind none so oversubscribed ranks do not all pin onto core 0), shared
# memory only with the single-copy (CMA/ptrace) path off, which containers often forbid.
MPIRUN_FLAGS=${MPIRUN_FLAGS:---allow-run-as-root --oversubscribe --bind-to none \
--mca btl self,vader --mca btl_vader_single_copy_mechanism none}
# shellcheck disable=SC2086
mpirun_() { timeout "${MPI_TIMEOUT:-120}" mpirun $MPIRUN_FLAGS "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpmlp-mpi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- (1) dist_mpi.c under mpirun
if command -v mpicc >/dev/null 2>&1; then
cat >"$tmp/dist_driver.c" <<'EOF'
/* Drives dist_mpi.c under mpirun; every rank prints "ok NAME" or "FAIL NAME: why". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"

static int fails;
#define CHECK(name, cond) do { if (cond) printf("rank %d ok %s\n", r, name); \
    else { printf("rank %d FAIL %s (line %d)\n", r, name, __LINE__); fails++; } } while (0)

int main(int argc, char **argv)
{
    dp_error err = {DP_OK, ""};
    if (dp_dist_init(&argc, &argv, &err) != DP_OK) {
        fprintf(stderr, "init: %s\n", err.msg);
        return 70;
    }
    int r = dp_dist_rank(), R = dp_dist_size();
    if (argc > 1 && !strcmp(argv[1], "abort")) {
        /* Rank 1 aborts while the others wait in a collective: the job must end with 66. */
        if (r == 1) dp_dist_abort(66);
        float x = 1.0f;
        dp_dist_allreduce_floats(&x, 1, &err);
        dp_dist_finalize();
        return 0;
    }
    CHECK("size from mpirun", R == atoi(getenv("EXPECT_RANKS") ? getenv("EXPECT_RANKS") : "0"));
    CHECK("describe names MPI", strstr(dp_dist_describe(), "MPI") && !strchr(dp_dist_describe(), '\n'));
    /* Exact sums (small integers and halves): 20 elements in chunks of 7 (DP_DIST_MAX_COUNT). */
    enum { N = 20 };
    float f[N];
    double d[N];
    for (int i = 0; i < N; i++) f[i] = (float)(r + 1) + 0.5f * (float)i, d[i] = 1e10 * (r + 1) + i;
    int okf = dp_dist_allreduce_floats(f, N, &err) == DP_OK;
    int okd = dp_dist_allreduce_doubles(d, N, &err) == DP_OK;
    int exact = 1;
    double ranks_sum = R * (R + 1) / 2.0;
    for (int i = 0; i < N; i++) {
        exact &= f[i] == (float)(ranks_sum + 0.5 * R * i);
        exact &= d[i] == 1e10 * ranks_sum + (double)R * i;
    }
    CHECK("allreduce returns DP_OK", okf && okd);
    CHECK("allreduce sums exactly across chunks", exact);
    CHECK("allreduce of nothing", dp_dist_allreduce_floats(NULL, 0, &err) == DP_OK);
    double s = dp_dist_take_allreduce_seconds();
    CHECK("allreduce time measured", s > 0.0 && s < 60.0);
    CHECK("allreduce time reset by take", dp_dist_take_allreduce_seconds() == 0.0);
    CHECK("all_ok all ok", dp_dist_all_ok(1) == 1);
    CHECK("all_ok one rank not ok", dp_dist_all_ok(r != R - 1) == 0);
    CHECK("all_ok none ok", dp_dist_all_ok(0) == 0);
    unsigned char same[1000], diff[1000];
    for (int i = 0; i < 1000; i++) same[i] = (unsigned char)(i * 7), diff[i] = same[i];
    diff[999] ^= (unsigned char)(r == R - 1); /* one bit on the last rank */
    CHECK("same bytes agree", dp_dist_same_everywhere(same, sizeof same) == 1);
    CHECK("one flipped bit on one rank disagrees", dp_dist_same_everywhere(diff, sizeof diff) == 0);
    CHECK("different lengths disagree", dp_dist_same_everywhere(same, r == 0 ? 999 : 1000) == 0);
    CHECK("empty agrees", dp_dist_same_everywhere(NULL, 0) == 1);
    dp_dist_finalize();
    return fails ? 1 : 0;
}
EOF
    if mpicc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -DDPMLP_MPI -DDP_DIST_MAX_COUNT=7 \
        -Iinclude -Isrc/base -Isrc/platform -o "$tmp/dist_driver" "$tmp/dist_driver.c" src/platform/dist_mpi.c src/base/err.c src/base/hash.c \
        2>"$tmp/driver.err"; then
        ok "dist driver compiles (mpicc, -Werror)"
        for np in 2 3; do
            EXPECT_RANKS=$np mpirun_ -np $np -x EXPECT_RANKS "$tmp/dist_driver" \
                >"$tmp/driver.$np.out" 2>&1
            rc=$?
            n_ok=$(grep -c ' ok ' "$tmp/driver.$np.out")
            if [ $rc -eq 0 ] && ! grep -q FAIL "$tmp/driver.$np.out" && [ "$n_ok" -eq $((14 * np)) ]; then
                ok "dist_mpi.c collectives on $np ranks ($n_ok checks)"
            else
                bad "dist_mpi.c collectives on $np ranks (exit $rc, $n_ok ok lines)"
                grep -v ' ok ' "$tmp/driver.$np.out" | head -n 15 | sed 's/^/     /'
            fi
        done
        MPI_TIMEOUT=60 mpirun_ -np 3 "$tmp/dist_driver" abort >"$tmp/abort.out" 2>&1
        rc=$?
        if [ $rc -eq 66 ]; then ok "dp_dist_abort(66) on one rank ends the job with 66"
        else bad "dp_dist_abort(66) on one rank ends the job with 66 (exit $rc; 124 = hang)"; fi
    else
        bad "dist driver compiles (mpicc, -Werror)"
        head -n 20 "$tmp/driver.err" | sed 's/^/     /'
    fi
fi

# ---------------------------------------------------------------- (2) the MPI trainer
# --version ends "...; MPI Open MPI v4.1.4" in an MPI build, "...; MPI none (single process)"
# in the default one.
names_mpi() {
    local v
    v=$("$1" --version 2>/dev/null) || return 1
    [[ $v == *MPI* && $v != *"none (single process)"* ]]
}
if [ -x "$DPMLP" ] && names_mpi "$DPMLP"; then
    MPIBIN=$DPMLP
elif [ -n "${DPMLP_MPI:-}" ]; then
    MPIBIN=$DPMLP_MPI
elif command -v mpicc >/dev/null 2>&1; then
    MPIBIN=build/mpi/dpmlp
    # A clean sub-make: none of the calling make's variables (SAN=…, BUILD=…) leak in.
    if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SAN -u BUILD -u OPT \
        make -s -j"${MPI_BUILD_JOBS:-2}" MPI=1 BUILD=build/mpi build/mpi/dpmlp >"$tmp/build.log" 2>&1; then
        bad "make MPI=1 BUILD=build/mpi builds the MPI trainer"
        tail -n 20 "$tmp/build.log" | sed 's/^/     /'
        finish
    fi
else
    echo "mpi: skipped (trainer tests: no mpicc to build an MPI trainer, and $DPMLP is not one)"
    finish
fi
if ! names_mpi "$MPIBIN"; then
    echo "mpi: skipped (trainer tests: '$MPIBIN --version' names no MPI library:" \
        "$("$MPIBIN" --version 2>&1 | head -n 1))"
    finish
fi
ok "$MPIBIN --version names the MPI library"
# Absolute: the fault tests start ranks in other working directories (--wdir).
MPIBIN=$(readlink -f "$MPIBIN")

# model_params FILE: the model file's parameters, validated (magic, version, CRC).
cat >"$tmp/model.py" <<'EOF'
import struct, sys, zlib
def load(path):
    b = open(path, "rb").read()
    assert b[:8] == b"DPMLPMDL", f"{path}: bad magic"
    (crc,) = struct.unpack_from("<I", b, len(b) - 4)
    assert zlib.crc32(b[:-4]) & 0xffffffff == crc, f"{path}: bad crc"
    off = 8
    ver, endian, n = struct.unpack_from("<III", b, off); off += 12
    assert ver in (1, 2) and endian == 0x01020304, (ver, endian)
    sizes = struct.unpack_from(f"<{n}I", b, off); off += 4 * n
    act, loss = struct.unpack_from("<II", b, off); off += 8
    if ver >= 2:  # format 2: every weight layer's activation and leaky_slope
        act = struct.unpack_from(f"<{n}I", b, off); off += 4 * n
    (n_params,) = struct.unpack_from("<Q", b, off); off += 8
    params = struct.unpack_from(f"<{n_params}f", b, off); off += 4 * n_params
    assert off + 4 == len(b), f"{path}: {len(b) - off - 4} trailing bytes"
    return (sizes, act, loss), params
if __name__ == "__main__":
    # model.py A B TOL: same spec, max |a - b| < TOL; prints the measured difference.
    (sa, pa), (sb, pb) = load(sys.argv[1]), load(sys.argv[2])
    tol = float(sys.argv[3])
    if sa != sb or len(pa) != len(pb):
        print(f"spec differs: {sa} vs {sb}"); sys.exit(1)
    diff = max(abs(x - y) for x, y in zip(pa, pb))
    moved = max(abs(x) for x in pa)
    print(f"max |diff| = {diff:.3g} over {len(pa)} params (tolerance {tol:g}, max |param| {moved:.3g})")
    sys.exit(0 if diff < tol else 1)
EOF

COMMON=(--data synthetic:3000 --layers 20,32,5 --epochs 2 --seed 3 --bind none --quiet)

# run NAME EXPECT_RC CMD...: runs CMD with stdout+stderr to $tmp/NAME.out, checks the exit code.
run() {
    local name=$1 want=$2; shift 2
    "$@" >"$tmp/$name.out" 2>&1
    local rc=$?
    if [ $rc -eq "$want" ]; then return 0; fi
    echo "     $name: exit $rc, expected $want$([ $rc -eq 124 ] && echo ' (timed out: hang?)')"
    tail -n 8 "$tmp/$name.out" | sed 's/^/     | /'
    return 1
}
# equiv NAME TOL A B: the two model files agree within TOL.
equiv() {
    local out
    out=$(python3 "$tmp/model.py" "$3" "$4" "$2" 2>&1)
    local rc=$?
    if [ $rc -eq 0 ]; then ok "$1: $out"; else bad "$1: $out"; fi
}

# --- 2 ranks x 1 thread == 1 process x 2 threads (same global batch, same shards) ---
if run np2 0 mpirun_ -np 2 "$MPIBIN" train "${COMMON[@]}" --batch 64 --threads 1 --save "$tmp/A.model" &&
   run single2 0 timeout 120 "$MPIBIN" train "${COMMON[@]}" --batch 64 --threads 2 --save "$tmp/B.model"; then
    equiv "2 ranks x 1 thread matches 1 process x 2 threads" "${TOL2:-1e-5}" "$tmp/A.model" "$tmp/B.model"
else
    bad "2 ranks x 1 thread vs 1 process x 2 threads: a run failed"
fi

# --- 3 ranks x 2 threads (6 workers), batch 50 not divisible by 6, vs 1 process x 6 ---
if run np3 0 mpirun_ -np 3 "$MPIBIN" train "${COMMON[@]}" --batch 50 --threads 2 --save "$tmp/C.model" &&
   run single6 0 timeout 120 "$MPIBIN" train "${COMMON[@]}" --batch 50 --threads 6 --save "$tmp/D.model"; then
    equiv "3 ranks x 2 threads (batch 50) matches 1 process x 6 threads" "${TOL3:-1e-5}" "$tmp/C.model" "$tmp/D.model"
else
    bad "3 ranks x 2 threads vs 1 process x 6 threads: a run failed"
fi

# --- one rank under mpirun is the plain single-process run, byte for byte ---
if run np1 0 mpirun_ -np 1 "$MPIBIN" train "${COMMON[@]}" --batch 64 --threads 2 --save "$tmp/E.model"; then
    if [ -f "$tmp/B.model" ] && cmp -s "$tmp/B.model" "$tmp/E.model"; then
        ok "mpirun -np 1 gives the single-process model byte for byte"
    else
        bad "mpirun -np 1 gives the single-process model byte for byte"
    fi
else
    bad "mpirun -np 1 trains"
fi

# --- ranks agree bit for bit every epoch (--verify-ranks: exit 70 "ranks disagree" if not) ---
if run verify 0 mpirun_ -np 3 "$MPIBIN" train "${COMMON[@]}" --batch 50 --threads 1 --verify-ranks; then
    if grep -q 'ranks disagree' "$tmp/verify.out"; then bad "--verify-ranks: exit 0 but says ranks disagree"
    else ok "--verify-ranks: 3 ranks hold identical parameters every epoch"; fi
else
    bad "--verify-ranks on 3 ranks exits 0"
fi

# --- only rank 0 writes: one log with one line per epoch, one model, no stray files ---
mkdir -p "$tmp/out"
if run writes 0 mpirun_ -np 2 "$MPIBIN" train "${COMMON[@]}" --epochs 3 --batch 64 --threads 1 \
        --log "$tmp/out/L.jsonl" --save "$tmp/out/M.model"; then
    files=$(cd "$tmp/out" && ls -A | tr '\n' ' ')
    if [ "$files" = "L.jsonl M.model " ]; then ok "2 ranks leave exactly the log and the model ($files)"
    else bad "2 ranks leave exactly the log and the model (found: $files)"; fi
    if python3 - "$tmp/out/L.jsonl" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert "run" in lines[0], lines[0]  # the header line, then one line per epoch
lines = lines[1:]
assert [l["epoch"] for l in lines] == [1, 2, 3], [l.get("epoch") for l in lines]
for l in lines:
    assert l.get("ranks") == 2, f"ranks = {l.get('ranks')!r}"
    a = l.get("allreduce_s")
    assert isinstance(a, (int, float)) and not isinstance(a, bool) and 0 <= a < l["seconds"] + 1, a
print(f"allreduce_s per epoch: {[round(l['allreduce_s'], 4) for l in lines]}")
EOF
    then ok "the log has 3 lines (one per epoch), each with \"ranks\":2 and allreduce_s"
    else bad "the log has 3 lines (one per epoch), each with \"ranks\":2 and allreduce_s"; fi
    if python3 "$tmp/model.py" "$tmp/out/M.model" "$tmp/out/M.model" 1 >/dev/null 2>&1; then
        ok "the model written under mpirun is valid"
    else bad "the model written under mpirun is valid"; fi
else
    bad "2 ranks with --log and --save exit 0"
fi

# --- faults: a rank that cannot load its data ends the whole job with 66, no hang ---
# The ranks must get identical flags (the trainer checks), so one rank is made to fail by a
# relative --train path and a per-rank working directory (mpirun's MPMD form, --wdir per
# app context): ok/data.csv exists, bad/data.csv does not.
mkdir -p "$tmp/ok" "$tmp/bad"
python3 - "$tmp/ok/data.csv" <<'EOF'
import random, sys
random.seed(5)
with open(sys.argv[1], "w") as f:
    for i in range(300):
        c = i % 3
        f.write(",".join(f"{random.gauss(c, 0.5):.4f}" for _ in range(4)) + f",{c}\n")
EOF
CSV=(train --train data.csv --layers 4,8,3 --epochs 2 --batch 30 --threads 1 --bind none --quiet)
# fault SLUG WANT DESCRIPTION MPIRUN-ARGS...
fault() {
    local slug=$1 want=$2 name=$3; shift 3
    if MPI_TIMEOUT=60 run "fault-$slug" "$want" mpirun_ "$@"; then
        ok "$name: the job exits $want within 60 s"
    else
        bad "$name: the job exits $want within 60 s"
    fi
}
fault control 0 "control: every rank finds data.csv" \
    -np 2 --wdir "$tmp/ok" "$MPIBIN" "${CSV[@]}"
fault all 66 "no rank finds data.csv" \
    -np 2 --wdir "$tmp/bad" "$MPIBIN" "${CSV[@]}"
fault rank1 66 "rank 1 of 2 does not find data.csv" \
    -np 1 --wdir "$tmp/ok" "$MPIBIN" "${CSV[@]}" : -np 1 --wdir "$tmp/bad" "$MPIBIN" "${CSV[@]}"
fault rank0 66 "rank 0 of 3 does not find data.csv" \
    -np 1 --wdir "$tmp/bad" "$MPIBIN" "${CSV[@]}" : -np 2 --wdir "$tmp/ok" "$MPIBIN" "${CSV[@]}"
if grep -q "data.csv" "$tmp/fault-rank1.out" 2>/dev/null; then
    ok "the failing rank's message names the missing file"
else
    bad "the failing rank's message names the missing file"
fi
# Ranks given different flags are refused (usage, 64) before anything runs.
fault flags 64 "ranks given different flags" \
    -np 1 --wdir "$tmp/ok" "$MPIBIN" "${CSV[@]}" --epochs 3 : -np 1 --wdir "$tmp/ok" "$MPIBIN" "${CSV[@]}"

finish
