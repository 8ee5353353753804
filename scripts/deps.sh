#!/usr/bin/env bash
# Installs every Debian package dpmlp needs to build, test and train (idempotent: packages
# already present are skipped, so a second run changes nothing and needs no network).
# Usage: scripts/deps.sh [--bench]   (--bench adds python3-torch for the side-by-side benchmark)
set -euo pipefail

packages=(
    build-essential pkg-config      # gcc, make, libc headers
    libhwloc-dev hwloc              # topology and pinning (hwloc: lstopo, hwloc-calc)
    check                           # unit tests
    zlib1g-dev                      # .gz datasets, CRC-32
    clang libomp-dev                # clang build, its OpenMP runtime, ThreadSanitizer via archer
    dataset-fashion-mnist           # the default training data
    gzip python3                    # the end-to-end tests generate their inputs with these
    python3-numpy python3-onnx      # test_export.sh reads the exports back (onnx.checker, numpy.load)
    python3-opencv                  # ... and runs the ONNX file in a real runtime (cv2.dnn)
    gnuplot-nox                     # scripts/scaling.sh and scripts/plot-log.sh draw PNGs
    libopenmpi-dev openmpi-bin      # make MPI=1 and the MPI tests (mpirun on this machine)
    libclang-rt-14-dev              # libFuzzer and sanitizer runtimes for clang (make fuzz)
    help2man man-db groff-base      # dpmlp(1) from the --help texts; man -l renders the pages
    libudev-dev                     # hwloc.pc's Libs.private: pkg-config --static --libs dpmlp
)
[ "${1:-}" = "--bench" ] && packages+=(python3-torch libopenblas0 time)
# make bench-kernels: the GEMM libraries it times beside the own kernels (each optional).
[ "${1:-}" = "--bench" ] && packages+=(libdnnl-dev libblis-dev libxsmm-dev libopenblas-dev)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#packages[@]} packages already installed"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: apt-get not found: install these packages by hand: ${missing[*]}" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo="sudo"
    else
        echo "deps: need root to install: ${missing[*]} (run as root or with sudo)" >&2
        exit 1
    fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q || { echo "deps: apt-get update failed (no network to the Debian archive?)" >&2; exit 1; }
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    { echo "deps: apt-get install failed for: ${missing[*]}" >&2; exit 1; }
