#pragma once
// Exact top-k from approximate block scores with a known error bound (private to the
// retrieval layer). Each kernel supplies block scores ŝ with |ŝ − s| <= ε, where
// ε = relative_bound · ‖q‖ · max‖b‖ + tiny; every row whose ŝ is within 2ε of the k-th
// best ŝ is rescored in float64, and the top-k comes from those exact scores.
//
// Why that is exact: if t̃ is the k-th best approximate score, k rows have ŝ >= t̃ and
// so s >= t̃ − ε; the k-th best exact score is then >= t̃ − ε, and any row of the exact
// top-k (ties included) has ŝ >= s − ε >= t̃ − 2ε, so it is among the rescored rows.
#include <cstdint>
#include <functional>
#include <string>

#include "recap/retrieval/exact_search.h"

namespace recap::retrieval {

// The float64 score exact search ranks by. Every exact score in the retrieval layer
// (screened rescoring, merged segments, an index's candidates) is this one function, so
// that scores from different paths rank as one search would.
// Each float x float product is exact in float64 (24 + 24 bits < 53), so a fused
// multiply-add rounds as a multiply then add would: the sum depends only on its order,
// which is fixed here as 8 interleaved partial sums (dimension c goes to sum c mod 8) added
// pairwise at the end. Independent sums let the compiler vectorise the loop; one running
// sum was a chain of dependent additions.
inline double exact_dot(const float* a, const float* b, std::int64_t d) {
  constexpr int kLanes = 8;
  double lane[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  std::int64_t c = 0;
  for (; c + kLanes <= d; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += static_cast<double>(a[c + l]) * b[c + l];
  for (int l = 0; c < d; ++c, ++l) lane[l] += static_cast<double>(a[c]) * b[c];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Writes scores of queries [q0, q0+qn) against base rows [b0, b0+bn) to out (qn x bn).
using BlockScorer = std::function<void(std::int64_t q0, std::int64_t qn, std::int64_t b0, std::int64_t bn, float* out)>;

TopK screened_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                    std::int64_t k, const SearchOptions& options, const BlockScorer& score_block,
                    double relative_bound, const std::string& kernel_name);

}  // namespace recap::retrieval
