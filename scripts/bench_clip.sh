#!/usr/bin/env bash
# Sets up, then runs the CLIP benchmark against the PyTorch/PIL reference
# (scripts/bench_clip.py). Needs ~700 MB under BENCH_DIR (default bench-data/) for the
# random ViT-B/32 weights, and a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >/dev/null
cmake --build build --target bench_preprocess >/dev/null
exec /usr/bin/python3 scripts/bench_clip.py "$@"
