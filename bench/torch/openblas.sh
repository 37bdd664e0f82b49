#!/bin/sh
# Puts OpenBLAS (Debian's libopenblas0-pthread, unpacked, not installed) where bench/model.bench.ts
# looks for it: ${XDG_CACHE_HOME:-~/.cache}/pmamba/openblas. Benchmark-only.
#
# Why: Debian's python3-torch links libblas.so.3, which `apt-get install --no-install-recommends`
# satisfies with Netlib's reference BLAS (libblas3): ~2 GFLOP/s for a 2048² matMul on one of the
# CI cores, against ~40 with OpenBLAS. PyTorch's nn.Linear and einsum/bmm go through that BLAS
# (its convolutions use oneDNN and are fine), so on reference BLAS PyTorch is a strawman. The
# bench runs its PyTorch children with LD_LIBRARY_PATH pointing here, so this never changes the
# system's BLAS (update-alternatives) under other users of the machine.
#   sh bench/torch/openblas.sh
set -eu
dest="${XDG_CACHE_HOME:-$HOME/.cache}/pmamba/openblas"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download libopenblas0-pthread
dpkg-deb -x libopenblas0-pthread_*.deb root
mkdir -p "$dest"
cp -a root/usr/lib/x86_64-linux-gnu/openblas-pthread/. "$dest/"
echo "OpenBLAS in $dest:"
ls "$dest"
