#pragma once
// oneDNN or the OpenBLAS-backed engine for one family of float32 products, chosen by
// measuring both once per machine: the rule shared by the models' products
// (models/model_gemm.h) and the fit's and the search's (float32_products.h).
#include <functional>
#include <string>

namespace recap::linalg {

// True when the oneDNN these calls reach at run time is the one recap was compiled
// against. A LibTorch that carries its own oneDNN and exports its symbols
// (cmake/RecapTorch.cmake warns of one) can take the calls instead, and its API differs
// between major versions. Always true with Debian's LibTorch, which links Debian's oneDNN.
bool onednn_is_ours();
std::string onednn_mismatch();  // the reason line when it is not

struct OnednnRace {
  const char* variable = "";    // the override, e.g. "RECAP_FLOAT32_GEMM", taking openblas|onednn
  const char* blas_engine = ""; // the other engine's name in the cache: "openblas", "libtorch"
  const char* blas_label = "";  // ... and in the reason line: "OpenBLAS", "LibTorch/OpenBLAS"
  const char* cache_file = "";  // under the measurement cache (io/measurement_cache.h)
  int version = 1;              // part of the cache key: bumped when the products change
  bool onednn_verified = false; // oneDNN's product matched a float64 one on this CPU
  // GFLOP/s of each engine on `threads` threads; oneDNN is measured first, since
  // OpenBLAS's idle workers spin in sched_yield for a while after a product and slow
  // whatever is measured after them.
  std::function<double(int threads)> onednn_gflops, blas_gflops;
};

struct OnednnRaceResult {
  bool onednn = false;
  std::string reason;  // "measured now: ...", "cached measurement: ...", "set by ...", ...
  double blas_gflops = 0, onednn_gflops = 0;  // 0 when not measured
};

// The override when it is set (UsageError for a value other than openblas or onednn;
// oneDNN only if verified); else the winner measured for the process's thread setting
// (compute_info().threads), cached per CPU model, OpenBLAS kernel, oneDNN version, thread
// count and version: oneDNN when verified and more than 10% faster (the other engine
// keeps a near tie: the golden data were checked on it first).
OnednnRaceResult race_onednn(const OnednnRace& race);

}  // namespace recap::linalg
