#!/usr/bin/env bash
# Sets up (installs packages, builds in Release), checks that setup.sh installed everything
# the build used (scripts/check_setup.sh), and runs every test suite with CTest.
# This is the command the README gives and .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/check_setup.sh --build "${RECAP_BUILD_DIR:-build}"
ctest --test-dir "${RECAP_BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" "$@"
