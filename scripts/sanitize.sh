#!/usr/bin/env bash
# Builds recap and its tests under AddressSanitizer + UndefinedBehaviorSanitizer (GCC) in
# build-asan/, and runs the whole test suite there: every tool the end-to-end tests start
# is the instrumented one. Takes about as long as a fresh build plus twice the test time.
#
#   scripts/sanitize.sh [CTEST ARGS...]     e.g. scripts/sanitize.sh -R Npy
#
# Leak checking is on. LibTorch, OpenBLAS and OpenCV are Debian's uninstrumented builds:
# errors inside them are not looked for, only recap's own code and what it hands them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --no-build >/dev/null
build=build-asan
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
# No shared-linker flags: the one shared library, the sentencepiece shim, stays
# uninstrumented (it is loaded into a link namespace without the sanitizer runtime).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRECAP_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="" >/dev/null
cmake --build "$build" -j"$(nproc)"
# The test programs and every recap tool they start inherit these settings.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/sanitize/lsan.supp}
# Every test runs. The sentencepiece shim is loaded into a link namespace of its own here
# (ASan refuses the RTLD_DEEPBIND of the other builds; src/text/t5_tokenizer.cpp).
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" "$@"
