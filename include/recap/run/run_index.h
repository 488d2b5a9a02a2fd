#pragma once
// Building a run's FAISS index (recap-index, recap-fit --index): trains and fills it from the
// run's datastore, measures its recall against exact search on held-out queries, and writes
// RUN/index/ (index.faiss, index.json) atomically; run.json records the index and its recall.
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "recap/retrieval/index_build.h"
#include "recap/run/run.h"

namespace recap::run {

struct RunIndexOptions {
  retrieval::IndexBuildOptions build;
  // The recall queries: image embeddings (.npy) mapped with the run's W, as captioning maps
  // them. Empty: the image embeddings run.json names, when that file is still there with
  // W's input dimension; otherwise perturbed datastore rows (retrieval::perturbed_queries).
  std::filesystem::path queries;
  std::int64_t recall_queries = 1000;  // at most this many, evenly spaced over the file
  std::int64_t recall_k = 8;
  std::uint64_t seed = 0;  // draws perturbed queries
  bool force = false;      // replace an existing index
};

struct RunIndexResult {
  nlohmann::json manifest;  // index.json as written
  retrieval::RecallReport recall;
  std::string description;  // e.g. "IVF-PQ (nlist 4096, 64 x 8-bit codes)"
};

// UsageError when the run has an index and `force` is not set (checked before any work),
// InputError when it has no datastore.
RunIndexResult build_run_index(const Run& run, const RunIndexOptions& options);

}  // namespace recap::run
