#pragma once
// Exact maximum-inner-product top-k search (cosine similarity on L2-normalised rows):
// scores come from blocked SGEMM calls, each query keeps a bounded heap. Ties are broken
// by the lower base index, so results do not depend on blocking or threads.
#include <cstdint>
#include <vector>

namespace recap::retrieval {

struct TopK {
  std::int64_t queries = 0;
  std::int64_t k = 0;
  std::vector<std::int64_t> ids;  // queries x k, best first
  std::vector<float> scores;      // queries x k

  const std::int64_t* ids_of(std::int64_t q) const { return ids.data() + q * k; }
  const float* scores_of(std::int64_t q) const { return scores.data() + q * k; }
};

struct SearchOptions {
  std::int64_t query_block = 512;   // queries per SGEMM
  std::int64_t base_block = 16384;  // base rows per SGEMM; scores buffer = query_block x base_block floats
  int threads = 0;                  // selection threads (0: all cores)
};

// queries: nq x d, base: nb x d, both row-major float32. Requires 1 <= k <= nb.
TopK exact_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                 std::int64_t k, const SearchOptions& options = {});

}  // namespace recap::retrieval
