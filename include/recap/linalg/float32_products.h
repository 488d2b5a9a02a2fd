#pragma once
// The large float32 products of the fit (XᵀY, XᵀX over blocks of pairs) and of the exact
// search (queries x base rows), on the engine measured fastest on this machine: OpenBLAS
// or oneDNN. Where the environment pins OpenBLAS to a weaker kernel
// (OPENBLAS_CORETYPE=Haswell on AVX-512 CPUs, a preset recap respects) oneDNN's own
// AVX-512 kernels run the same products about 1.7x faster (320 against 180-200 GFLOP/s
// on 2 Zen 5 cores); elsewhere OpenBLAS may win. The choice is measured once per machine
// and cached per CPU model, OpenBLAS kernel, oneDNN version and thread count
// (onednn_race.h); RECAP_FLOAT32_GEMM=openblas|onednn overrides it. Either engine computes every entry as a float32 sum of float32 products,
// so the error bounds callers rely on hold for both.
#include <cstdint>
#include <string>

namespace recap::linalg {

enum class Float32Engine { openblas, onednn };

struct Float32EngineChoice {
  Float32Engine engine = Float32Engine::openblas;
  std::string reason;  // "measured now: ...", "cached measurement: ...", "set by RECAP_FLOAT32_GEMM=...", ...
  // GFLOP/s of each engine on the fit's and the search's shapes (0 when not measured).
  double openblas_gflops = 0, onednn_gflops = 0;
};

// Row-major C (m x n, leading dimension ldc) = op(A) op(B) + beta C, where op(A) is m x k
// (A is k x m when a_transposed) and op(B) is k x n (B is n x k when b_transposed).
struct Product {
  bool a_transposed = false, b_transposed = false;
  std::int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  std::int64_t lda = 0;
  const float* b = nullptr;
  std::int64_t ldb = 0;
  float beta = 0;
  float* c = nullptr;
  std::int64_t ldc = 0;
};

// On the chosen engine, with as many threads as OpenBLAS has in the calling scope (so
// ScopedBlasThreads and ScopedSingleThreadedBlas govern both engines alike).
void multiply(const Product& p);
// On a given engine (tests, measurements). std::runtime_error if oneDNN refuses the product.
void multiply_on(Float32Engine engine, const Product& p);

// The upper triangle of XᵀX (d x d, row-major, leading dimension d) for X of n x d rows:
// OpenBLAS's ssyrk (half the work), or oneDNN's full product where that is still faster.
// The strictly lower triangle is left unspecified.
void gram_upper(const float* x, std::int64_t n, std::int64_t d, float* out);

// Made once per process on first use, for the process's thread setting.
const Float32EngineChoice& float32_engine();
std::string describe_float32_engine();  // one line for --verbose and provenance
const char* engine_name(Float32Engine engine);

}  // namespace recap::linalg
