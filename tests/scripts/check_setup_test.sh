#!/usr/bin/env bash
# scripts/check_setup.sh must fail, naming the package and a file that needed it, when a
# package the build used is removed from a copy of setup.sh. ocl-icd-opencl-dev is the
# package that once went missing: oneDNN's CMake config needs it, and nothing else that
# setup.sh names pulls it in through Depends.
# Usage: check_setup_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1 build_dir=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

grep -q '^ *ocl-icd-opencl-dev ' "$source_dir/scripts/setup.sh" || { echo "setup.sh no longer lists ocl-icd-opencl-dev" >&2; exit 1; }
sed '/^ *ocl-icd-opencl-dev /d' "$source_dir/scripts/setup.sh" >"$scratch/setup.sh"

status=0
"$source_dir/scripts/check_setup.sh" --build "$build_dir" --setup "$scratch/setup.sh" >"$scratch/out" 2>&1 || status=$?
cat "$scratch/out"
[ "$status" -eq 1 ] || { echo "FAIL: expected exit status 1, got $status" >&2; exit 1; }
grep -q "error: package ocl-icd-opencl-dev is neither listed in $scratch/setup.sh.*libOpenCL.so (used by .*link.txt" "$scratch/out" ||
  { echo "FAIL: the error does not name ocl-icd-opencl-dev and libOpenCL.so" >&2; exit 1; }
[ "$(grep -c '^check_setup: error:' "$scratch/out")" -eq 1 ] || { echo "FAIL: other packages reported too" >&2; exit 1; }
echo "PASS: check_setup names the removed package and the file that needed it"
