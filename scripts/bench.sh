#!/usr/bin/env bash
# Sets up, then runs the side-by-side benchmarks against numpy/scipy and FAISS
# (scripts/bench.py). Needs ~8 GB of disk under BENCH_DIR (default bench-data/) and a
# quiet machine: ratios are measured in one run, but other load still adds noise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --bench >/dev/null
exec /usr/bin/python3 scripts/bench.py "$@"
