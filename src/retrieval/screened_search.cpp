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

// Once a query's heap is full almost no score passes its threshold, so the scan first
// asks, a chunk of scores at a time, whether any does: a branch-free comparison the
// compiler vectorises, where a compare and branch per score was 15% of a large search.
constexpr std::int64_t kScreenChunk = 64;

bool any_at_or_above(const float* scores, std::int64_t n, float threshold) {
  int any = 0;
  for (std::int64_t j = 0; j < n; ++j) any |= scores[j] >= threshold;
  return any != 0;
}

// Candidates are rows scattered over the whole base, each read once: the rescoring waits
// on memory. Asking for a row a few candidates ahead overlaps those waits.
constexpr std::size_t kPrefetchAhead = 4;

void prefetch_row(const float* row, std::int64_t d) {
  for (std::int64_t c = 0; c < d; c += 16) __builtin_prefetch(row + c);  // one 64-byte line per call
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
  std::vector<std::size_t> pruned_sizes(static_cast<std::size_t>(nq), 0);
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
          for (std::int64_t chunk = 0; chunk < bn; chunk += kScreenChunk) {
            const std::int64_t chunk_end = std::min(bn, chunk + kScreenChunk);
            if (!any_at_or_above(row + chunk, chunk_end - chunk, threshold)) continue;
            for (std::int64_t j = chunk; j < chunk_end; ++j) {
              if (row[j] < threshold) continue;
              kept.push_back({row[j], b0 + j});
              heap.offer(row[j], b0 + j);
              threshold = heap.worst() - margin[q];
            }
          }
          // Drops what the risen threshold excludes once the list has doubled since its last
          // pruning, so that a query with many near-ties is not rescanned at every block.
          if (kept.size() > std::max<std::size_t>(4 * k + 256, 2 * pruned_sizes[q])) {
            kept.erase(std::remove_if(kept.begin(), kept.end(), [&](const Entry& e) { return e.score < threshold; }),
                       kept.end());
            pruned_sizes[q] = kept.size();
          }
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
      const auto& kept = candidates[q];
      for (std::size_t c = 0; c < kept.size(); ++c) {
        if (c + kPrefetchAhead < kept.size() && kept[c + kPrefetchAhead].score >= threshold)
          prefetch_row(base + kept[c + kPrefetchAhead].id * d, d);
        if (kept[c].score >= threshold) exact.emplace_back(exact_dot(queries + q * d, base + kept[c].id * d, d), kept[c].id);
      }
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
