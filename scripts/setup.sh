#!/usr/bin/env bash
# Installs every Debian package recap needs (idempotent), then configures and builds
# in Release. Works as root on a fresh Debian 12 machine, before any `apt-get update`.
#
#   scripts/setup.sh                 build packages, then configure and build into build/
#   scripts/setup.sh --bench         also the Python references the benchmarks compare with
#   scripts/setup.sh --gallery       also the headless browser of scripts/check_gallery.sh
#   scripts/setup.sh --fuzz          also clang and libFuzzer for scripts/fuzz.sh
#   scripts/setup.sh --models        also curl, with which scripts/download_models.sh fetches models
#   scripts/setup.sh --slurm         also Slurm and munge, for the one-node cluster of the slurm test
#   scripts/setup.sh --no-build      install only
#   scripts/setup.sh --list          print "GROUP PACKAGE" for every package named here
#                                    (read by scripts/check_setup.sh), install nothing
#
# Packages are installed with --no-install-recommends: everything the build needs must be
# named here or be a Depends of something named here. scripts/check_setup.sh (run by CI)
# checks exactly that against the files the build, the tests and the scripts used.
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config git
  python3-minimal         # /usr/bin/python3 runs scripts/check_setup.py
  libtorch-dev            # CLIP and T5 run through LibTorch
  libopenblas0-pthread    # LibTorch/Eigen GEMM; the reference BLAS is ~10x slower (README "Design notes")
  libopenblas-pthread-dev
  libeigen3-dev           # closed-form alignment, SVD, Cholesky
  libopencv-dev           # image decoding, video frames
  libjpeg62-turbo-dev     # JPEG decoding straight to RGB (the libjpeg-turbo PIL uses)
  libsentencepiece-dev    # T5 tokenizer (isolated behind dlopen, README "Design notes")
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libicu-dev              # Unicode classes / NFC for the CLIP tokenizer
  libdnnl-dev             # oneDNN: bfloat16 matmul on AMX / AVX-512 BF16 screens exact retrieval (~10x SGEMM)
  ocl-icd-opencl-dev      # oneDNN's CMake config requires OpenCL; Debian lists it only as a Recommends of libdnnl-dev
  zlib1g-dev              # reads OpenAI's bpe_simple_vocab_16e6.txt.gz (CLIP tokenizer)
  libfaiss-dev            # FAISS IVF / PQ / HNSW indexes for datastores too large for exact search (recap-index)
  libsimdjson-dev         # parses the references and results recap-score reads, ~10x faster than nlohmann/json
)
# The engines the benchmarks compare with (scripts/bench*.sh); not needed to build or test.
bench_packages=(
  python3-numpy python3-scipy python3-faiss   # numpy/scipy fit, FAISS IndexFlatIP search
  python3-torch python3-pil                   # the PyTorch / PIL CLIP reference
  python3-onnx                                # exports the reference to ONNX for ONNX Runtime (scripts/bench_all.sh)
  nodejs                                      # runs onnxruntime-node (scripts/bench_all.sh installs it from npm;
                                              # Debian's npm package, or the npm that NodeSource's nodejs bundles)
  time                                        # /usr/bin/time -v: peak memory
  sentencepiece                               # spm_train: a 32k-piece vocabulary for FLAN-T5-shaped weights
  python3-sentencepiece                       # the T5 tokenizer of the Python captioning pipeline (caption_pipeline_reference.py)
)
# scripts/check_gallery.sh renders a captioning gallery in a headless browser.
gallery_packages=(chromium)
# scripts/fuzz.sh builds libFuzzer targets with clang (libFuzzer and the sanitizer runtimes
# come with libclang-rt-14-dev, not with clang-14).
fuzz_packages=(clang-14 libclang-rt-14-dev)

# scripts/download_models.sh fetches the Hugging Face models over HTTPS.
models_packages=(curl ca-certificates)
# The test labelled slurm runs scripts/slurm's pipeline on a one-node cluster of this machine
# (scripts/slurm/local_cluster.sh); the pipeline itself needs only the user's cluster.
slurm_packages=(slurm-wlm munge)

groups=(build)
build=1
for arg in "$@"; do
  case "$arg" in
    --bench) groups+=(bench) ;;
    --gallery) groups+=(gallery) ;;
    --fuzz) groups+=(fuzz) ;;
    --models) groups+=(models) ;;
    --slurm) groups+=(slurm) ;;
    --no-build) build=0 ;;
    --list)
      for p in "${build_packages[@]}"; do echo "build $p"; done
      for p in "${bench_packages[@]}"; do echo "bench $p"; done
      for p in "${gallery_packages[@]}"; do echo "gallery $p"; done
      for p in "${fuzz_packages[@]}"; do echo "fuzz $p"; done
      for p in "${models_packages[@]}"; do echo "models $p"; done
      for p in "${slurm_packages[@]}"; do echo "slurm $p"; done
      exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (see the comment at the top of scripts/setup.sh)" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."

packages=()
for group in "${groups[@]}"; do
  list="${group}_packages[@]"
  packages+=("${!list}")
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

((build)) || exit 0
build_dir="${RECAP_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
