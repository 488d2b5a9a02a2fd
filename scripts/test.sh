#!/usr/bin/env bash
# Sets up (installs packages, builds in Release) and runs every test suite with CTest.
# This is the command the README gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
ctest --test-dir "${RECAP_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
