#pragma once
// Which engine runs the models' float32 dense products on this machine, and why: LibTorch
// (OpenBLAS) or oneDNN, chosen by a short measurement that is cached per CPU model,
// library versions and thread count. RECAP_MODEL_GEMM=openblas|onednn overrides it.
#include <string>

namespace recap::models {

enum class GemmEngine { libtorch, onednn };

struct GemmChoice {
  GemmEngine float32 = GemmEngine::libtorch;
  std::string reason;              // "measured: ...", "cached: ...", "set by RECAP_MODEL_GEMM", ...
  std::string onednn_implementation;  // oneDNN's kernel name, e.g. "brg:avx512_core"
};

// Made once per process on first use (loading a float32 model on the CPU, or a call
// here), for the process's thread setting (compute_info().threads): cached per machine,
// or measured with both engines on that many threads, whatever scope the caller is in.
const GemmChoice& model_gemm_choice();
// True when the dense products of CPU weights of this kind run on oneDNN (then OpenBLAS
// serves only LibTorch's small products, such as attention's batched ones).
bool dense_products_on_onednn(bool bfloat16_weights);
std::string describe_model_gemm();  // one line for --verbose and provenance

}  // namespace recap::models
