#!/usr/bin/env bash
# Sets up the engines recap is compared with (scripts/setup.sh --bench: numpy/scipy, FAISS,
# PyTorch and ONNX export, Node.js), builds the benchmark targets, then runs every
# comparison side by side and prints one Markdown table (scripts/bench_all.py). About
# 20-30 minutes on 2 cores; needs ~4 GB under BENCH_DIR (default bench-data/).
#   scripts/bench_all.sh [BENCH_DIR] [--pycocoevalcap DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >/dev/null
command -v npm >/dev/null || { echo "bench_all.sh: npm is missing: apt-get install npm (Debian) installs it" >&2; exit 2; }
cmake --build build --target bench_t5 >/dev/null
exec /usr/bin/python3 scripts/bench_all.py "$@"
