#!/usr/bin/env bash
# Inside a Slurm job (SLURM_CPUS_PER_TASK set) the default worker count is capped by it and
# the start-up line says so; --threads and OMP_NUM_THREADS still decide when given.
set -u
DPMLP=${DPMLP:-build/dpmlp}
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# run [FLAGS]: a tiny training run without OMP_NUM_THREADS; its stderr in $tmp/err.
run() { env -u OMP_NUM_THREADS "$DPMLP" train --data synthetic:64 --layers 4,3 --epochs 1 \
        --batch 16 "$@" 2>"$tmp/err" >/dev/null; }

SLURM_CPUS_PER_TASK=1 run
check "train with SLURM_CPUS_PER_TASK=1 exits 0" [ $? -eq 0 ]
cores=$(env -u SLURM_CPUS_PER_TASK -u OMP_NUM_THREADS "$DPMLP" train --data synthetic:64 \
        --layers 4,3 --epochs 1 --batch 16 2>&1 >/dev/null | sed -n 's/.*; \([0-9]*\) workers\? (.*/\1/p')
if [ "${cores:-1}" -gt 1 ]; then
    check "SLURM_CPUS_PER_TASK=1 caps $cores default workers to 1, and says so" \
        grep -q '1 worker (.*capped to 1 by SLURM_CPUS_PER_TASK)' "$tmp/err"
else
    check "one core: SLURM_CPUS_PER_TASK=1 allows as many, and says so" \
        grep -q '1 worker (.*SLURM_CPUS_PER_TASK=1 allows as many)' "$tmp/err"
fi
SLURM_CPUS_PER_TASK=1 run --threads 2
check "--threads 2 wins over SLURM_CPUS_PER_TASK=1" grep -q '; 2 workers (' "$tmp/err"
SLURM_CPUS_PER_TASK=1 OMP_NUM_THREADS=2 "$DPMLP" train --data synthetic:64 --layers 4,3 \
    --epochs 1 --batch 16 2>"$tmp/err" >/dev/null
check "OMP_NUM_THREADS=2 wins over SLURM_CPUS_PER_TASK=1" grep -q '2 workers (OMP_NUM_THREADS=2)' "$tmp/err"
SLURM_CPUS_PER_TASK=lots run
check "a malformed SLURM_CPUS_PER_TASK is ignored and said" \
    grep -q 'SLURM_CPUS_PER_TASK="lots" ignored' "$tmp/err"
finish
