#!/usr/bin/env bash
# recap on an NVIDIA GPU in one prepared run of under 8 minutes: checks the machine, builds
# recap against a CUDA LibTorch, runs the golden tests (their CUDA cases included), and
# measures CLIP images/s and texts/s and T5 decoder tokens/s with recap and with PyTorch in
# Python on the same GPU, weights and inputs (scripts/gpu_check.py), into one Markdown
# report, OUT_DIR/gpu-report.md. Nothing is downloaded: the weights are random ViT-B/32-
# and FLAN-T5-base-shaped ones made on the spot (scripts/bench/).
#
#   scripts/gpu_check.sh [--dry-run] [OUT_DIR]        (default OUT_DIR: gpu-check)
#
# --dry-run checks the machine and prints the plan, changing nothing.
# Environment:
#   PYTHON      the python3 whose PyTorch has CUDA (default: python3 on PATH)
#   TORCH_DIR   a CUDA LibTorch's share/cmake/Torch (default: that PyTorch's own)
#   CUDACXX     nvcc (default: nvcc on PATH, else /usr/local/cuda/bin/nvcc)
#   BUILD_DIR   the build folder (default: build-gpu); JOBS: parallel compiles (default: all cores)
# Needs recap's build dependencies (scripts/setup.sh on Debian 12) besides the GPU's.
# Budget: checks ~10 s, configure + build 270 s (incremental on a rerun), then
# gpu_check.py's steps, each with its own timeout, by a deadline 470 s after the start.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly START=$(date +%s) TOTAL=470 BUILD_BUDGET=270
die() { echo "gpu_check.sh: $*" >&2; exit 2; }

dry=0 out=gpu-check
for arg in "$@"; do
  case $arg in
    --dry-run) dry=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) out=$arg ;;
  esac
done
PYTHON=${PYTHON:-python3}
BUILD_DIR=${BUILD_DIR:-build-gpu}
JOBS=${JOBS:-$(nproc)}

# The machine, each check naming what is missing (in a dry run: reported, not fatal).
problems=()
problem() { if [ $dry = 1 ]; then problems+=("$*"); else die "$*"; fi; }
gpu=""
if ! command -v nvidia-smi >/dev/null; then
  problem "no nvidia-smi: no NVIDIA driver on this machine, and this check needs an NVIDIA GPU"
else
  gpu=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1 || true)
  [ -n "$gpu" ] || problem "nvidia-smi lists no GPU"
fi
command -v "$PYTHON" >/dev/null || problem "no $PYTHON: set PYTHON to the python3 whose PyTorch has CUDA"
torch_line=$(timeout 120 "$PYTHON" -c '
import sys
try:
    import numpy, torch
except ImportError as e:
    sys.exit(f"{e.name} is not installed")
if torch.version.cuda is None:
    sys.exit(f"PyTorch {torch.__version__} has no CUDA")
if not torch.cuda.is_available():
    sys.exit(f"PyTorch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU")
print(f"{torch.__version__}|{torch.version.cuda}|{torch.utils.cmake_prefix_path}|{torch.cuda.get_device_name(0)}")
' 2>&1) || { problem "$PYTHON: ${torch_line##*$'\n'}"; torch_line=""; }
IFS='|' read -r torch_version torch_cuda torch_prefix torch_gpu <<<"$torch_line" || true
TORCH_DIR=${TORCH_DIR:-${torch_prefix:+$torch_prefix/Torch}}
[ -n "$TORCH_DIR" ] && [ ! -f "$TORCH_DIR/TorchConfig.cmake" ] && problem "TORCH_DIR=$TORCH_DIR has no TorchConfig.cmake"
[ -n "$TORCH_DIR" ] || problem "no CUDA LibTorch: set TORCH_DIR, or PYTHON to a python3 with a CUDA PyTorch"
nvcc=${CUDACXX:-$(command -v nvcc || true)}
cuda_home=${CUDA_HOME:-/usr/local/cuda}  # the CUDA toolkit's usual home, when nvcc is not on the PATH
[ -z "$nvcc" ] && [ -x "$cuda_home/bin/nvcc" ] && nvcc="$cuda_home/bin/nvcc"
[ -n "$nvcc" ] && [ -x "$nvcc" ] || problem "no nvcc: install the CUDA toolkit ($torch_cuda for this PyTorch) or set CUDACXX"
command -v cmake >/dev/null || problem "no cmake: run scripts/setup.sh"
machine="${torch_gpu:-${gpu%%,*}} (nvidia-smi: ${gpu:-none}), $(nproc) CPU cores; PyTorch ${torch_version:-?} CUDA ${torch_cuda:-?}"

configure=(cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$TORCH_DIR" -DCMAKE_CUDA_COMPILER="$nvcc"
           -DRECAP_BUILD_TESTS=ON -DRECAP_BUILD_BENCH=ON)
build=(cmake --build "$BUILD_DIR" -j "$JOBS" --target recap-embed recap-lm golden_clip golden_t5 bench_t5)
measure=("$PYTHON" scripts/gpu_check.py --build "$BUILD_DIR" --out "$out" --deadline $((START + TOTAL)) --machine "$machine")

if [ $dry = 1 ]; then
  echo "gpu_check.sh --dry-run: machine: $machine"
  if [ ${#problems[@]} -gt 0 ]; then
    printf '  would stop here: %s\n' "${problems[@]}"
  else
    echo "  checks passed"
  fi
  echo "  1. configure + build (${BUILD_BUDGET} s): ${configure[*]} && ${build[*]}"
  echo "  2. measure (to $TOTAL s after the start): ${measure[*]} --configure '<the configure summary>'"
  echo "  report: $out/gpu-report.md"
  exit 0
fi

mkdir -p "$out"
log="$out/build.log"
echo "gpu_check.sh: $machine; building in $BUILD_DIR (log: $log)" >&2
if ! timeout $((BUILD_BUDGET / 3)) "${configure[@]}" >"$log" 2>&1; then
  tail -n 15 "$log" >&2
  die "configure failed (last lines above; whole log: $log)"
fi
summary=$(grep -m1 -- '-- recap: LibTorch' "$log" | sed 's/^-- recap: //' || true)
case $summary in *": CUDA"*) ;; *) die "the build found no CUDA LibTorch (${summary:-no summary line}): check TORCH_DIR" ;; esac
left=$((BUILD_BUDGET - ($(date +%s) - START)))
if ! timeout "$left" "${build[@]}" >>"$log" 2>&1; then
  tail -n 15 "$log" >&2
  die "build failed or ran past ${BUILD_BUDGET} s (last lines above; whole log: $log)"
fi
echo "gpu_check.sh: built in $(($(date +%s) - START)) s; measuring" >&2
exec "${measure[@]}" --configure "$summary"
