#include "recap/retrieval/exact_search.h"

#include <chrono>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "bf16_gemm.h"
#include "kernel_calibration.h"
#include "recap/common/error.h"
#include "recap/common/parallel.h"
#include "recap/linalg/float32_products.h"
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
    linalg::multiply({false, true, qn, bn, d, queries + q0 * d, d, base + b0 * d, d, 0.0f, out, bn});
  };
  return screened_top_k(queries, nq, base, nb, d, k, options, sgemm, fp32_relative_bound(d),
                        std::string("fp32 (") + linalg::engine_name(linalg::float32_engine().engine) +
                            " SGEMM, exact float64 rescoring)");
}

TopK bf16_screened_top_k(Bf16ScoreGemm& gemm, const float* queries, std::int64_t nq, const float* base, std::int64_t nb,
                         std::int64_t d, std::int64_t k, const SearchOptions& options) {
  const int threads = resolve_threads(options.threads);
  std::vector<std::uint16_t> base16(static_cast<std::size_t>(nb * d)), queries16(static_cast<std::size_t>(nq * d));
  to_bfloat16(base, base16.data(), nb * d, threads);
  to_bfloat16(queries, queries16.data(), nq * d, threads);
  auto bf16 = [&](std::int64_t q0, std::int64_t qn, std::int64_t b0, std::int64_t bn, float* out) {
    gemm.run(queries16.data() + q0 * d, qn, base16.data() + b0 * d, bn, out);
  };
  return screened_top_k(queries, nq, base, nb, d, k, options, bf16, bf16_relative_bound(d),
                        "bf16-screened (oneDNN " + gemm.implementation() + ", exact float64 rescoring)");
}

double seconds_of(const std::function<void()>& work) {
  double best = 1e300;
  for (int run = 0; run < 2; ++run) {  // the better of two: the first may page the base in
    const auto start = std::chrono::steady_clock::now();
    work();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

// Both kernels on a slice of this very search (up to one query block against 65,536 base
// rows), per score, and the bfloat16 conversion per value.
KernelCosts measure_costs(Bf16ScoreGemm& gemm, const float* queries, std::int64_t nq, const float* base, std::int64_t nb,
                          std::int64_t d, std::int64_t k, const SearchOptions& options) {
  const std::int64_t qs = std::min(nq, options.query_block), bs = std::min<std::int64_t>(nb, 65536);
  const std::int64_t ks = std::min(k, bs);
  const double scores = static_cast<double>(qs) * static_cast<double>(bs);
  const double fp32 = seconds_of([&] { fp32_top_k(queries, qs, base, bs, d, ks, options); });
  const double bf16 = seconds_of([&] { bf16_screened_top_k(gemm, queries, qs, base, bs, d, ks, options); });
  std::vector<std::uint16_t> scratch(static_cast<std::size_t>((bs + qs) * d));
  const int threads = resolve_threads(options.threads);
  const double convert = seconds_of([&] { to_bfloat16(base, scratch.data(), (bs + qs) * d, threads); });
  return {fp32 / scores, std::max(0.0, bf16 - convert) / scores, convert / static_cast<double>((bs + qs) * d)};
}

constexpr double kSmallSearchScores = 2e8;  // under ~0.1 s of fp32 work on 2 cores

// SearchKernel::automatic: bfloat16 screening only where it is predicted faster than fp32
// for this search (its base conversion is paid once per search, its products are cheaper),
// from costs measured on this machine and cached (kernel_calibration.h). exact_top_k runs a
// search too small for the choice to matter (kSmallSearchScores) in fp32 without asking.
bool bf16_predicted_faster(Bf16ScoreGemm& gemm, const float* queries, std::int64_t nq, const float* base, std::int64_t nb,
                           std::int64_t d, std::int64_t k, const SearchOptions& options) {
  const double scores = static_cast<double>(nq) * static_cast<double>(nb);
  const std::int64_t block = std::min(nq, options.query_block);
  const std::string key = kernel_costs_key(
      gemm.implementation() + " | fp32 on " + linalg::engine_name(linalg::float32_engine().engine), d, block);
  const auto costs = kernel_costs(key, [&] { return measure_costs(gemm, queries, nq, base, nb, d, k, options); });
  const double fp32 = costs.fp32_per_score * scores;
  const double bf16 = costs.bf16_per_score * scores + costs.bf16_per_base_value * static_cast<double>(nb * d);
  return bf16 < 0.9 * fp32;  // a clear win only: fp32 is the reference kernel
}

// Returns false when the CPU lacks native bfloat16 or (automatic) bf16 is not predicted to
// be faster, and the kernel was not demanded.
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
  if (!required && !bf16_predicted_faster(gemm, queries, nq, base, nb, d, k, options)) return false;
  result = bf16_screened_top_k(gemm, queries, nq, base, nb, d, k, options);
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
                 std::int64_t k, const SearchOptions& options, std::int64_t whole_rows) {
  if (k < 1 || k > nb)
    throw std::invalid_argument("k = " + std::to_string(k) + " must be between 1 and the base size " +
                                std::to_string(nb));
  // A small automatic search runs fp32 before any bfloat16 machinery is set up.
  const bool small = static_cast<double>(nq) * static_cast<double>(std::max(nb, whole_rows)) < kSmallSearchScores;
  if (options.kernel == SearchKernel::bf16_screened || (options.kernel == SearchKernel::automatic && !small)) {
    TopK result;
    if (bf16_top_k(queries, nq, base, nb, d, k, options, options.kernel == SearchKernel::bf16_screened, result))
      return result;
  }
  return fp32_top_k(queries, nq, base, nb, d, k, options);
}

}  // namespace recap::retrieval
