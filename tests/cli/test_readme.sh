#!/usr/bin/env bash
# The README as a contract. (1) Every command block of its quick start and usage sections
# runs and exits 0 (tests/cli/readme_blocks.py extracts them; its header says what is skipped
# and substituted: small generated data in a temp directory, --epochs 1). (2) What the README
# says agrees with the code: the resume-changes list with `train --help`, the exit codes and
# CSV columns of scripts/scaling.sh and scripts/plot-log.sh with their --help and a real CSV,
# the first mpirun example with its own pinning advice, the speedup title without weak mode,
# no DESIGN.md or source header as documentation, machine figures that name their CPU.
# run-tests: alone (the README's make blocks write into the build folder)
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
DPMLP=$(realpath "${DPMLP:-build/dpmlp}")
PY=/usr/bin/python3
here=$REPO/tests/cli
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib.sh"
R=$REPO/README.md
export REPO BUILD DPMLP

# ---- (1) the command blocks ----
FASHION=$tmp/fashion
export FASHION
python3 - "$FASHION" "$tmp/work" <<'PYEOF'
import gzip, os, random, struct, sys
d, work = sys.argv[1], sys.argv[2]
os.makedirs(d); os.makedirs(work)
random.seed(1)
def write(name, n):
    labels = [i % 10 for i in range(n)]
    # Each class lights its own band of rows: learnable in one epoch.
    img = bytearray()
    for c in labels:
        img += bytes((200 if (p // 28) // 3 == c else random.randrange(40)) for p in range(784))
    with gzip.open(f"{d}/{name}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(img))
    with gzip.open(f"{d}/{name}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + bytes(labels))
    return img, labels
img, labels = write("t10k", 64)
write("train", 256)
with open(f"{work}/rows.csv", "w") as f:
    for i in range(8):
        f.write(",".join(str(b / 255) for b in img[i * 784:(i + 1) * 784]) + f",{labels[i]}\n")
PYEOF
mkdir "$tmp/blocks"
nblocks=$(python3 "$here/readme_blocks.py" "$R" "$tmp/blocks")
check "README has command blocks in quick start and usage ($nblocks)" [ "$nblocks" -ge 8 ]
for f in "$tmp/blocks"/*; do
    where=$(head -1 "$f" | sed 's/^# //')
    if [ "${f##*.}" = py ]; then
        missing=$($PY - "$f" <<'PYEOF'
import importlib.util, re, sys
mods = set(re.findall(r"^\s*import ([\w, ]+?)(?: as \w+)?$", open(sys.argv[1]).read(), re.M))
names = {m.strip().split(" as ")[0] for g in mods for m in g.split(",")}
print(" ".join(sorted(n for n in names if importlib.util.find_spec(n) is None)))
PYEOF
)
        if [ -n "$missing" ]; then echo "skip $where: python block needs $missing (not installed)"; continue; fi
        (cd "$tmp/work" && $PY "$f" >"$f.out" 2>&1)
    else
        (cd "$tmp/work" && bash "$f" >"$f.out" 2>&1)
    fi
    rc=$?
    check "$where: $(sed -n 2p "$f" | cut -c1-70) exits 0" [ $rc -eq 0 ]
    [ $rc -eq 0 ] || sed 's/^/    /' "$f.out" | tail -n 4
done
grep -l "XOR" "$tmp/blocks"/*.out >/dev/null 2>&1 &&
    check "make xor prints what the README shows" grep -q "1 XOR 1 -> 0\.[0-9]* -> 0" $(grep -l "XOR" "$tmp/blocks"/*.out)

# ---- (2) what the README says against the code ----
check "README does not send readers to DESIGN.md" bash -c "! grep -q 'DESIGN.md' '$R'"
check "README does not document formats by a source header" bash -c "! grep -Eq 'layouts in \`src/' '$R'"
check "README points file layouts to dpmlp(1)" grep -q "dpmlp(1)" "$R"
check "README has an Architecture section with the step picture" \
    bash -c "grep -q '^## Architecture' '$R' && grep -q 'PRIVATE gradient block' '$R'"

flags_of() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
readme_resume=$(tr '\n' ' ' <"$R" | grep -o 'A resume may change .*(the same list' | flags_of)
help_resume=$("$DPMLP" train --help | tr '\n' ' ' | grep -o 'may change .*(changed' | flags_of)
check "resume-changes list: README = train --help" [ -n "$readme_resume" -a "$readme_resume" = "$help_resume" ]
[ "$readme_resume" = "$help_resume" ] || diff <(echo "$readme_resume") <(echo "$help_resume") | sed 's/^/    /'

first_mpirun=$(grep -m1 '^mpirun ' "$R")
check "first mpirun example follows the pinning advice (no -np N>1 with --bind-to none on one node)" \
    bash -c "! { echo '$first_mpirun' | grep -Eq -- '-np [2-9]' && echo '$first_mpirun' | grep -q -- '--bind-to none' && ! echo '$first_mpirun' | grep -q 'ppr:1:node'; }"

codes() { grep -Eo '\b[0-9]{1,3}\b' | sort -un | tr '\n' ' '; }
for s in scaling plot-log; do
    help_codes=$("$REPO/scripts/$s.sh" --help | tr '\n' ' ' | grep -o 'exit codes:.*' | codes)
    sect=$(awk '/^## Scaling experiments/{on=1} /^## Deterministic/{on=0} on' "$R" | tr '\n' ' ')
    key=$([ $s = scaling ] && echo 'Options:' || echo 'plot-log.sh \[--title')
    readme_codes=$(echo "$sect" | grep -o "$key.*" | grep -o 'Exit codes (as in `--help`):[^.]*' | head -1 | codes)
    check "$s.sh exit codes: README ($readme_codes) = --help ($help_codes)" \
        [ -n "$help_codes" -a "$readme_codes" = "$help_codes" ]
done

"$REPO/scripts/scaling.sh" --dpmlp "$DPMLP" --layers 8,4,2 --data synthetic:200 --threads 1 \
    --bind compact --modes strong --reps 1 --steps 2 --warmup 0 --out "$tmp/sc" >/dev/null 2>&1
check "tiny scaling.sh run (strong only) exits 0" [ $? -eq 0 ]
csv_cols=$(head -1 "$tmp/sc/scaling.csv" | tr ',' '\n' | sort | tr '\n' ' ')
help_cols=$("$REPO/scripts/scaling.sh" --help | tr '\n' ' ' | grep -o 'one row per point: [a-z_0-9, ]*' |
    sed 's/one row per point: //' | tr -d ' ' | tr ',' '\n' | grep . | sort | tr '\n' ' ')
readme_cols=$(awk '/^\*\*`scaling.csv`\*\*/{on=1} on && /^$/ && n++>0{exit} on' "$R" |
    grep '^| `' | cut -d'|' -f2 | tr -d '` ' | tr ',' '\n' | grep . | sort | tr '\n' ' ')
check "scaling.csv columns: --help = the CSV" [ "$help_cols" = "$csv_cols" ]
check "scaling.csv columns: README table = the CSV" [ "$readme_cols" = "$csv_cols" ]
[ "$readme_cols" = "$csv_cols" ] || echo "    README: $readme_cols / CSV: $csv_cols"
check "speedup title with weak mode off names no weak batch" \
    bash -c "grep -q '^speedup_title = ' '$tmp/sc/vars.gp' && ! grep '^speedup_title' '$tmp/sc/vars.gp' | grep -q weak"

check "make help: bench runs 1 thread and nproc" bash -c "make -s -C '$REPO' help | grep 'make bench ' | grep -q nproc"
# Sections that quote machine figures (N samples/s, N s per epoch) say which CPU.
check "every README section with samples/s figures names its CPU" $PY - "$R" <<'PYEOF'
import re, sys
text = open(sys.argv[1]).read()
bad = [s.split("\n")[0] for s in re.split(r"^## ", text, flags=re.M)
       if re.search(r"\b\d[\d,]{3,} (samples/s|→)", s) and "EPYC" not in s]
sys.exit(f"no CPU named in: {bad}" if bad else 0)
PYEOF
finish
