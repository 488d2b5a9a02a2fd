#!/usr/bin/env bash
# Fuzzes recap's parsers: builds the libFuzzer targets of tests/fuzz with clang 14 under
# AddressSanitizer + UndefinedBehaviorSanitizer, then runs each one for SECONDS.
#
#   scripts/fuzz.sh [SECONDS]          (default 60 seconds per target)
#   RECAP_FUZZ_TARGETS="fuzz_npy_header fuzz_json_readers" scripts/fuzz.sh 300
#
# Build:  build-fuzz/, the standalone CMake project tests/fuzz (configured once with clang++-14).
# Runs:   build-fuzz/runs/<date-time>/ holds, per target, a copy of its seed corpus
#         tests/fuzz/corpus/<target> (which is never modified) that libFuzzer grows, its log
#         <target>.log and what it finds: artifacts/<target>/crash-... (or timeout-, oom-, leak-).
#         tests/fuzz/dict/<target>.dict, when present, is libFuzzer's dictionary.
# Output: one line per target (executions, seconds, crashes found). Exit status 1 when a target
#         found something, after the reproducer's path: `build-fuzz/<target> <artifact>` replays
#         it; 2 when clang 14 is missing. See tests/fuzz/README.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS]   (seconds per target, default 60)" >&2
  exit 2
fi
missing_clang() {
  echo "fuzz.sh: $1: install clang-14 and libclang-rt-14-dev (scripts/setup.sh --fuzz --no-build, as root)" >&2
  exit 2
}
# Installs clang-14 and libclang-rt-14-dev when missing (and when allowed to).
"$root/scripts/setup.sh" --fuzz --no-build >/dev/null || true
command -v clang++-14 >/dev/null 2>&1 || missing_clang "clang++-14 not found"

# ---------------------------------------------------------------- build
build=$root/build-fuzz
if [[ ! -f $build/CMakeCache.txt ]]; then
  # libFuzzer and the sanitizer runtimes come with libclang-rt-14-dev, not with clang-14.
  echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    clang++-14 -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null ||
    missing_clang "clang++-14 cannot link a libFuzzer program (no libclang-rt-14-dev?)"
  CXX=clang++-14 cmake -S "$root/tests/fuzz" -B "$build"
fi
cmake --build "$build" -j"$(nproc)"

if [[ -n ${RECAP_FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$RECAP_FUZZ_TARGETS"
else
  mapfile -t targets < "$build/fuzz_targets.txt"  # written by tests/fuzz/CMakeLists.txt
fi

# ---------------------------------------------------------------- run
run=$build/runs/$(date +%Y%m%d-%H%M%S)
mkdir -p "$run"
# Sanitizer reports with stack traces; ASan's defaults otherwise (leak checking on).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
echo "fuzzing ${#targets[@]} targets for ${seconds} s each; logs, corpora and artifacts in $run"

found=0
for target in "${targets[@]}"; do
  corpus=$run/corpus/$target
  artifacts=$run/artifacts/$target
  log=$run/$target.log
  mkdir -p "$corpus" "$artifacts"
  if [[ -d $root/tests/fuzz/corpus/$target ]]; then
    cp -R "$root/tests/fuzz/corpus/$target/." "$corpus/"
  fi
  # Every input that once crashed a parser is replayed first, so a fixed bug stays fixed.
  for finding in "$root"/tests/fuzz/findings/"$target"-*; do
    [[ -f $finding ]] && cp "$finding" "$corpus/"
  done

  options=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
           -artifact_prefix="$artifacts/")
  if [[ -f $root/tests/fuzz/dict/$target.dict ]]; then
    options+=(-dict="$root/tests/fuzz/dict/$target.dict")  # the format's keywords and magic bytes
  fi

  start=$(date +%s)
  status=0
  "$build/$target" "$corpus" "${options[@]}" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [[ -z $execs ]]; then  # no final statistics: take the last progress line's "#N"
    execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  execs=${execs:-0}
  mapfile -t crashes < <(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
                                                      -o -name 'oom-*' \) | sort)
  if ((status != 0)) && ((${#crashes[@]} == 0)); then
    crashes=("(no artifact; exit status $status, see $log)")
  fi
  printf '%-26s %12s execs %5s s %9s exec/s   crashes: %d\n' "$target" "$execs" "$elapsed" \
    "$((execs / (elapsed > 0 ? elapsed : 1)))" "${#crashes[@]}"
  if ((${#crashes[@]} > 0)); then
    found=1
    grep -m 3 -E '^(SUMMARY:|==recap-fuzz==|==[0-9]+==ERROR)' "$log" | sed 's/^/    /' || true
    for artifact in "${crashes[@]}"; do
      echo "    reproduce: $build/$target $artifact"
    done
  fi
done

if ((found)); then
  echo "fuzz.sh: crashes found; logs in $run" >&2
  exit 1
fi
echo "fuzz.sh: no crashes"
