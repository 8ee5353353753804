# Shared by test_checkpoint.sh and test_checkpoint_signals.sh (sourced, not run): a temp
# directory removed at exit with any background run (bg_pid), a checkpoint validator
# independent of dpmlp, and the small run's flags. Sources lib.sh; DPMLP must be set.
tmp=$(mktemp -d)
bg_pid=
trap '[ -n "$bg_pid" ] && kill -9 "$bg_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! "$DPMLP" train --help 2>/dev/null | grep -q -- '--resume'; then
    bad "$DPMLP train --help lists --checkpoint and --resume"
    finish
fi

# ckinfo FILE: validates a checkpoint independently of dpmlp (magic, exact size, CRC-32, perm)
# and prints "epoch next_step steps_per_epoch completed_epochs"; exit 1 if invalid.
ckinfo() {
    python3 - "$1" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
def die(m): sys.exit(f"ckinfo {sys.argv[1]}: {m}")
if len(b) < 20 or b[:8] != b"DPMLPCKP": die("bad magic or too short")
ver, marker, ns = struct.unpack_from("<III", b, 8)
if ver not in (1, 2, 3) or marker != 0x01020304: die("version/marker")
p = 20 + 4 * ns + 8
batch = struct.unpack_from("<I", b, p + 32)[0]
s = p + 52
epoch, next_step, gstep, n_train = struct.unpack_from("<IQQQ", b, s)
n_params, n_mom = struct.unpack_from("<QI", b, s + 52)
hlen = s + 64 + (12 if ver >= 2 else 0)  # v2: + u64 data_fingerprint, u32 deterministic
hlen += 8 + 4 * 31 + 4 * 30 if ver >= 3 else 0  # v3: n_act, slope, act[31], dropout[30]
best = 0
if ver >= 3:  # v3: 40 bytes of validation/schedule config, then best_epoch and 20 more, precision
    best = struct.unpack_from("<I", b, hlen + 40)[0]
    hlen += 64 + 4
arrays = 1 + n_mom + (best > 0)  # v3: the best epoch's weights after the moments
if len(b) != hlen + 4 * n_params * arrays + 4 * n_train + 4: die("size")
if struct.unpack_from("<I", b, len(b) - 4)[0] != zlib.crc32(b[:-4]): die("crc")
perm = struct.unpack_from(f"<{n_train}I", b, len(b) - 4 - 4 * n_train)
if sorted(perm) != list(range(n_train)): die("perm")
spe = -(-n_train // min(batch, n_train))
print(epoch, next_step, spe, epoch - 1 + (next_step == spe))
EOF
}
completed() { ckinfo "$1" | awk '{print $4}'; }
no_temps() { ! compgen -G "$1/*.tmp.*" >/dev/null; }
has() { grep -q -- "$2" "$1"; }

# waits (up to 60 s) until the run in the background has started its workers, per its stderr.
wait_started() {
    local err=$1 i
    for i in $(seq 600); do
        grep -q 'workers' "$err" 2>/dev/null && return 0
        kill -0 "$bg_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# small_args [--flag value]...: the small run's flags (SMALL), with the given ones replacing
# defaults.
small_args() {
    local -A v=([--layers]=20,32,10 [--batch]=64 [--seed]=5)
    while [ $# -gt 0 ]; do v[$1]=$2; shift 2; done
    local k
    SMALL=(--data synthetic:3000 --threads 2 --quiet)
    for k in "${!v[@]}"; do SMALL+=("$k" "${v[$k]}"); done
}
small_args
