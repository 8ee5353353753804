#!/usr/bin/env bash
# Puts Fashion-MNIST at DIR (default data/fashion) as symbolic links to the files of Debian's
# dataset-fashion-mnist package: nothing is downloaded or copied, nothing is committed.
set -euo pipefail
dir=${1:-data/fashion}
src=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz
       t10k-labels-idx1-ubyte.gz)
for f in "${files[@]}"; do
    if [ ! -r "$src/$f" ]; then
        echo "fetch-data: $src/$f not found: install dataset-fashion-mnist (scripts/deps.sh)" >&2
        exit 66
    fi
done
mkdir -p "$dir"
for f in "${files[@]}"; do ln -sfn "$src/$f" "$dir/$f"; done
echo "fetch-data: Fashion-MNIST linked at $dir"
