#pragma once
// Building a FAISS index over a datastore's base layer, and measuring its recall against
// exact search: recall is measured, not assumed.
#include <cstdint>
#include <functional>
#include <string>

#include "recap/io/matrix.h"
#include "recap/retrieval/datastore.h"
#include "recap/retrieval/faiss_index.h"

namespace recap::retrieval {

struct IndexBuildOptions {
  std::string factory;           // FAISS factory string, e.g. "IVF4096,PQ64", "HNSW32"
  // The search settings stored with the index (and at which recall is measured); 0 picks
  // nprobe = max(8, nlist / 64) (at most nlist) and efSearch = 64. FAISS's own defaults
  // (nprobe 1, efSearch 16) lose too many neighbours for k = 8.
  std::int64_t nprobe = 0, ef_search = 0;
  // Rows the quantisers are trained on: an evenly spaced sample of the datastore. 0:
  // 64 per IVF cell and at least 65,536 (enough for 256-centroid PQ codebooks), at most all
  // rows. k-means time grows with rows x cells, so this bounds the training time.
  std::int64_t train_rows = 0;
  int threads = 0;
  std::function<void(const std::string& stage, std::int64_t done, std::int64_t total)> progress;
};

struct BuiltIndex {
  FaissIndex index;
  std::int64_t train_rows = 0;
  double train_seconds = 0, add_seconds = 0;
};

// Trains and fills an index over `store`'s base layer (added layers never enter an index),
// with its search defaults set.
BuiltIndex build_index(const Datastore& store, const IndexBuildOptions& options);

struct RecallReport {
  std::int64_t queries = 0, k = 0;
  double at_1 = 0;  // share of queries whose exact best row is the index search's best row
  double at_k = 0;  // mean share of the exact top k that the index search's top k holds
  double index_seconds = 0, exact_seconds = 0;  // the two searches, all queries in one batch
  std::string query_source;
};

// Recall of `store`'s index search (attach_index first) against its exact search, over
// `queries` (normalised rows), with the stored search settings: the very search path
// captioning uses, rescoring included.
RecallReport measure_recall(const Datastore& store, const io::FloatMatrix& queries, std::int64_t k, int threads,
                            const std::string& query_source);

// Held-out queries when no real ones are at hand: `n` datastore rows drawn with `seed`,
// each moved away from itself by a random direction so that its cosine with the row it
// came from is 0.5 (about how close an aligned image embedding is to its best caption), and
// renormalised. None of them is a datastore row, so the row itself need not win.
io::FloatMatrix perturbed_queries(const Datastore& store, std::int64_t n, std::uint64_t seed);

}  // namespace recap::retrieval
