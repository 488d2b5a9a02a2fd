#pragma once
// Exact maximum-inner-product top-k search (cosine similarity on L2-normalised rows):
// the k rows with the largest inner product computed in float64 from the float32
// vectors, ties broken by the lower base index, so results depend on neither blocking,
// threads nor kernel. Blocked GEMM scores screen the base; rows within twice the GEMM's
// proven error bound of the k-th best are rescored in float64 (screened_search.h).
// Two kernels:
//  - fp32: OpenBLAS SGEMM scores (error bound ~d·2^-24; a handful of rows rescored).
//  - bf16: bfloat16 scores with float32 accumulation on AMX / AVX-512 BF16 through
//    oneDNN (~10x SGEMM on AMX; error bound ~2^-7, so more rows are rescored).
#include <cstdint>
#include <string>
#include <vector>

namespace recap::retrieval {

struct TopK {
  std::string kernel;  // which kernel produced it, for logs and provenance
  std::int64_t queries = 0;
  std::int64_t k = 0;
  std::vector<std::int64_t> ids;  // queries x k, best first
  std::vector<float> scores;      // queries x k

  const std::int64_t* ids_of(std::int64_t q) const { return ids.data() + q * k; }
  const float* scores_of(std::int64_t q) const { return scores.data() + q * k; }
};

enum class SearchKernel { automatic, fp32, bf16_screened };

// "auto" | "fp32" | "bf16"; throws UsageError otherwise.
SearchKernel parse_search_kernel(const std::string& name);

struct SearchOptions {
  SearchKernel kernel = SearchKernel::automatic;  // automatic: bf16-screened where the CPU has native bfloat16
  // Each product scores query_block queries against base_block rows; the scores buffer is
  // their product in floats (32 MB). Many queries per block, because the base is read (and
  // for bf16 repacked by oneDNN) once per query block: 2,000 queries over 566,747 rows took
  // 8.5 s at 512 per block, 6 s in one block.
  std::int64_t query_block = 2048;
  std::int64_t base_block = 4096;
  int threads = 0;                  // selection threads (0: all cores)
  // When the datastore has a FAISS index (Datastore::attach_index): `exact` searches
  // exactly anyway; nprobe / ef_search override the index's stored settings (0: keep them).
  bool exact = false;
  // A datastore stored in another type than float32 (float16) is converted to float32 once
  // and kept when the copy takes at most this many bytes; a larger one (10 million rows at
  // d = 512 would take 20 GB) is searched segment by segment, each converted as it is read
  // and dropped after, so that memory stays bounded. The results are the same either way.
  std::int64_t convert_limit_bytes = std::int64_t{4} << 30;
  std::int64_t nprobe = 0;
  std::int64_t ef_search = 0;
};

// queries: nq x d, base: nb x d, both row-major float32. Requires 1 <= k <= nb.
// `whole_rows`, when `base` is one segment of a larger search (a float16 datastore searched
// a segment at a time), is that search's row count: the automatic kernel choice treats the
// search by its whole size, so segments of a large search are not run as small ones.
TopK exact_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                 std::int64_t k, const SearchOptions& options = {}, std::int64_t whole_rows = 0);

}  // namespace recap::retrieval
