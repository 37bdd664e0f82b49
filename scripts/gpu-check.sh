#!/usr/bin/env bash
# Checks pmamba on a GPU host (docs/gpu.md): which backend loads and whether it sees the GPU, that
# the on-device `ops` selective scan equals the CPU kernels, and a training step's img/s.
#   bash scripts/gpu-check.sh [--install] [--backend tensorflow-gpu|tensorflow|wasm|cpu|auto]
#                             [--scan auto|kernels|ops] [--size 64] [--batch 8] [--repeats 3]
# --install first runs `npm ci` and adds @tensorflow/tfjs-node-gpu 4.22.0 without saving it
# (its install script downloads libtensorflow 2.9.1; set TFJS_NODE_BASE_URI to use a mirror).
# Runs anywhere: `--backend wasm` checks the same things on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ "${1:-}" == "--install" ]]; then
  shift
  npm ci
  npm i --no-save @tensorflow/tfjs-node-gpu@4.22.0
fi

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu-check: nvidia-smi: /' || true
fi

exec npx tsx scripts/gpu-check.ts "$@"
