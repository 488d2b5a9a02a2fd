#!/usr/bin/env bash
# Sets up (the benchmark group of scripts/setup.sh: numpy, PyTorch for the CLIP weights,
# spm_train for the T5 vocabulary), then estimates how long scripts/reproduce.sh takes per
# dataset on this machine from measured per-stage rates (scripts/bench_reproduce.py).
#   scripts/bench_reproduce.sh [BENCH_DIR] [--lm-images N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >/dev/null
exec /usr/bin/python3 scripts/bench_reproduce.py "$@"
