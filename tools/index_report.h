#pragma once
// What recap-index and recap-fit --index print about a new index: what it is, how long it
// took, its search defaults and the recall measured against exact search.
#include <cstdio>
#include <filesystem>

#include "recap/run/run_index.h"

namespace recap::cli {

inline void print_index(const std::filesystem::path& run_dir, const run::RunIndexResult& result) {
  const auto& m = result.manifest;
  const auto& r = result.recall;
  std::printf("built %s (\"%s\") over %lld captions of dimension %lld in %.1f s (train %.1f s on %lld rows, add %.1f s)\n",
              result.description.c_str(), m["factory"].get<std::string>().c_str(), m["rows"].get<long long>(),
              m["dim"].get<long long>(), m["timings_s"]["total"].get<double>(), m["timings_s"]["train"].get<double>(),
              m["train_rows"].get<long long>(), m["timings_s"]["add"].get<double>());
  const auto& defaults = m["search_defaults"];
  std::printf("search defaults: nprobe %lld, efSearch %lld (0: not this index's knob)\n",
              defaults["nprobe"].get<long long>(), defaults["ef_search"].get<long long>());
  std::printf("recall against exact search on %lld queries (%s): recall@1 %.4f, recall@%lld %.4f "
              "(index %.3f s, exact %.3f s)\n",
              static_cast<long long>(r.queries), r.query_source.c_str(), r.at_1, static_cast<long long>(r.k), r.at_k,
              r.index_seconds, r.exact_seconds);
  std::printf("wrote %s (%lld bytes)\n", (run_dir / "index" / "index.faiss").c_str(), m["file"]["bytes"].get<long long>());
}

}  // namespace recap::cli
