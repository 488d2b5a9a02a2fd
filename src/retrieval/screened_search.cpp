#include "screened_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "bounded_heap.h"
#include "recap/common/parallel.h"

namespace recap::retrieval {
namespace {

// Covers flushed subnormals and the float rounding of ε itself.
constexpr double kAbsoluteSlack = 1e-30;

double row_norm(const float* row, std::int64_t d) {
  double sum = 0;
  for (std::int64_t c = 0; c < d; ++c) sum += static_cast<double>(row[c]) * row[c];
  return std::sqrt(sum);
}

double max_row_norm(const float* rows, std::int64_t n, std::int64_t d, int threads) {
  std::vector<double> partial(static_cast<std::size_t>(threads), 0.0);
  const std::int64_t per = (n + threads - 1) / threads;
  parallel_ranges(n, threads, [&](std::int64_t begin, std::int64_t end) {
    double m = 0;
    for (std::int64_t j = begin; j < end; ++j) m = std::max(m, row_norm(rows + j * d, d));
    partial[static_cast<std::size_t>(begin / per)] = m;
  });
  return *std::max_element(partial.begin(), partial.end());
}

}  // namespace

TopK screened_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                    std::int64_t k, const SearchOptions& options, const BlockScorer& score_block,
                    double relative_bound, const std::string& kernel_name) {
  const int threads = resolve_threads(options.threads);
  const std::int64_t qb = std::max<std::int64_t>(1, std::min(options.query_block, nq));
  const std::int64_t bb = std::max<std::int64_t>(1, std::min(options.base_block, nb));

  const double max_base_norm = max_row_norm(base, nb, d, threads);
  std::vector<float> margin(static_cast<std::size_t>(nq));  // 2ε, rounded up to a float
  for (std::int64_t q = 0; q < nq; ++q) {
    const double two_eps = 2 * (relative_bound * row_norm(queries + q * d, d) * max_base_norm + kAbsoluteSlack);
    margin[q] = std::nextafter(static_cast<float>(two_eps), std::numeric_limits<float>::infinity());
  }

  std::vector<Entry> heaps(static_cast<std::size_t>(nq * k));
  std::vector<std::int64_t> heap_sizes(static_cast<std::size_t>(nq), 0);
  std::vector<std::vector<Entry>> candidates(static_cast<std::size_t>(nq));
  std::vector<float> scores(static_cast<std::size_t>(qb * bb));

  for (std::int64_t q0 = 0; q0 < nq; q0 += qb) {
    const std::int64_t qn = std::min(qb, nq - q0);
    for (std::int64_t b0 = 0; b0 < nb; b0 += bb) {
      const std::int64_t bn = std::min(bb, nb - b0);
      score_block(q0, qn, b0, bn, scores.data());
      parallel_ranges(qn, threads, [&](std::int64_t begin, std::int64_t end) {
        BoundedHeap heap;
        for (std::int64_t i = begin; i < end; ++i) {
          const std::int64_t q = q0 + i;
          heap.attach(heaps.data() + q * k, k, heap_sizes[q]);
          auto& kept = candidates[q];
          // The running k-th best only rises, so keeping rows within 2ε of it keeps a
          // superset of the final candidates.
          float threshold = heap.worst() - margin[q];
          const float* row = scores.data() + i * bn;
          for (std::int64_t j = 0; j < bn; ++j) {
            if (row[j] < threshold) continue;
            kept.push_back({row[j], b0 + j});
            heap.offer(row[j], b0 + j);
            threshold = heap.worst() - margin[q];
          }
          if (kept.size() > static_cast<std::size_t>(4 * k + 256))
            kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Entry& e) { return e.score < threshold; }),
                       kept.end());
          heap_sizes[q] = heap.size();
        }
      });
    }
  }

  TopK result;
  result.kernel = kernel_name;
  result.queries = nq;
  result.k = k;
  result.ids.resize(static_cast<std::size_t>(nq * k));
  result.scores.resize(static_cast<std::size_t>(nq * k));
  parallel_ranges(nq, threads, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::pair<double, std::int64_t>> exact;
    for (std::int64_t q = begin; q < end; ++q) {
      BoundedHeap heap;
      heap.attach(heaps.data() + q * k, k, heap_sizes[q]);
      const float threshold = heap.worst() - margin[q];
      exact.clear();
      for (const Entry& e : candidates[q])
        if (e.score >= threshold) exact.emplace_back(exact_dot(queries + q * d, base + e.id * d, d), e.id);
      std::sort(exact.begin(), exact.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      for (std::int64_t j = 0; j < k; ++j) {
        result.ids[q * k + j] = exact[j].second;
        result.scores[q * k + j] = static_cast<float>(exact[j].first);
      }
      std::vector<Entry>().swap(candidates[q]);
    }
  });
  return result;
}

}  // namespace recap::retrieval
