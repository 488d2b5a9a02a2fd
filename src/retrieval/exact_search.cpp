#include "recap/retrieval/exact_search.h"

#include <cblas.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "bf16_gemm.h"
#include "recap/common/error.h"
#include "recap/common/parallel.h"
#include "screened_search.h"

namespace recap::retrieval {
namespace {

// float32 SGEMM: inputs are exact, each of the d products and additions rounds once, so
// |ŝ − s| <= γ_d Σ|x_i y_i| with γ_d ≈ d·2^-24; doubled for safety.
double fp32_relative_bound(std::int64_t d) { return 2.0 * static_cast<double>(d) * std::ldexp(1.0, -24); }

// bfloat16 inputs (8 significant bits, unit roundoff u = 2^-8) change each product by at
// most (2u + u²)|x_i y_i|; float32 accumulation adds γ_d as above (doubled again for
// AMX's pairwise steps).
double bf16_relative_bound(std::int64_t d) {
  const double u = std::ldexp(1.0, -8);
  return 2 * u + u * u + 2 * fp32_relative_bound(d) * (1 + u) * (1 + u);
}

TopK fp32_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                std::int64_t k, const SearchOptions& options) {
  auto sgemm = [&](std::int64_t q0, std::int64_t qn, std::int64_t b0, std::int64_t bn, float* out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(qn), static_cast<int>(bn),
                static_cast<int>(d), 1.0f, queries + q0 * d, static_cast<int>(d), base + b0 * d, static_cast<int>(d),
                0.0f, out, static_cast<int>(bn));
  };
  return screened_top_k(queries, nq, base, nb, d, k, options, sgemm, fp32_relative_bound(d),
                        "fp32 (OpenBLAS SGEMM, exact float64 rescoring)");
}

// Returns false when the CPU lacks native bfloat16 and the kernel was not demanded.
bool bf16_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                std::int64_t k, const SearchOptions& options, bool required, TopK& result) {
  const std::int64_t qb = std::max<std::int64_t>(1, std::min(options.query_block, nq));
  const std::int64_t bb = std::max<std::int64_t>(1, std::min(options.base_block, nb));
  Bf16ScoreGemm gemm(qb, bb, d);
  if (!gemm.native()) {
    if (required)
      throw UsageError("the bf16 search kernel needs native bfloat16 arithmetic (AMX or AVX-512 BF16); oneDNN offers "
                       "only " + gemm.implementation() + " here: use the fp32 kernel");
    return false;
  }
  const int threads = resolve_threads(options.threads);
  std::vector<std::uint16_t> base16(static_cast<std::size_t>(nb * d)), queries16(static_cast<std::size_t>(nq * d));
  to_bfloat16(base, base16.data(), nb * d, threads);
  to_bfloat16(queries, queries16.data(), nq * d, threads);
  auto bf16 = [&](std::int64_t q0, std::int64_t qn, std::int64_t b0, std::int64_t bn, float* out) {
    gemm.run(queries16.data() + q0 * d, qn, base16.data() + b0 * d, bn, out);
  };
  result = screened_top_k(queries, nq, base, nb, d, k, options, bf16, bf16_relative_bound(d),
                          "bf16-screened (oneDNN " + gemm.implementation() + ", exact float64 rescoring)");
  return true;
}

}  // namespace

SearchKernel parse_search_kernel(const std::string& name) {
  if (name == "auto") return SearchKernel::automatic;
  if (name == "fp32") return SearchKernel::fp32;
  if (name == "bf16") return SearchKernel::bf16_screened;
  throw UsageError("unknown search kernel '" + name + "' (choose auto, fp32 or bf16)");
}

TopK exact_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                 std::int64_t k, const SearchOptions& options) {
  if (k < 1 || k > nb)
    throw std::invalid_argument("k = " + std::to_string(k) + " must be between 1 and the base size " +
                                std::to_string(nb));
  if (options.kernel != SearchKernel::fp32) {
    TopK result;
    if (bf16_top_k(queries, nq, base, nb, d, k, options, options.kernel == SearchKernel::bf16_screened, result))
      return result;
  }
  return fp32_top_k(queries, nq, base, nb, d, k, options);
}

}  // namespace recap::retrieval
