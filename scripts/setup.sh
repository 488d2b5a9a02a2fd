#!/usr/bin/env bash
# Installs every Debian package recap needs (idempotent), then configures and builds
# in Release. Works as root on a fresh Debian 12 machine, before any `apt-get update`.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config git
  libtorch-dev            # CLIP and T5 run through LibTorch
  libopenblas0-pthread    # LibTorch/Eigen GEMM; the reference BLAS is ~10x slower (DESIGN.md fact 2)
  libopenblas-pthread-dev
  libeigen3-dev           # closed-form alignment, SVD, Cholesky
  libopencv-dev           # image decoding, video frames
  libjpeg62-turbo-dev     # JPEG decoding straight to RGB (the libjpeg-turbo PIL uses)
  libsentencepiece-dev    # T5 tokenizer (isolated behind dlopen, DESIGN.md fact 1)
  nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libicu-dev              # Unicode classes / NFC for the CLIP tokenizer
  libdnnl-dev             # oneDNN: bfloat16 matmul on AMX / AVX-512 BF16 screens exact retrieval (~10x SGEMM)
  zlib1g-dev              # reads OpenAI's bpe_simple_vocab_16e6.txt.gz (CLIP tokenizer)
)

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

build_dir="${RECAP_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
