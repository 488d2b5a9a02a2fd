#pragma once
// An approximate maximum-inner-product index from FAISS (Debian's libfaiss-dev), chosen by
// a FAISS factory string: "IVF4096,Flat" (inverted lists over k-means cells), "IVF4096,PQ64"
// (the same with product-quantised codes, 64 bytes a row), "HNSW32" (a graph), or anything
// else index_factory builds. The metric is always inner product: datastore rows are
// L2-normalised, so it is cosine similarity. FAISS types stay behind the pointer to the
// implementation, so that only faiss_index.cpp includes FAISS headers.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace recap::retrieval {

// Knobs of one search. 0 keeps what the index was saved with (FAISS's defaults: nprobe 1,
// efSearch 16, or what recap-index recorded in index.json).
struct IndexSearchParams {
  std::int64_t nprobe = 0;     // IVF: inverted lists visited per query
  std::int64_t ef_search = 0;  // HNSW: candidate list size during the graph walk
  int threads = 0;             // OpenMP threads for FAISS (0: all cores)
};

// Copies rows [first, first + count) as float32 into out (count x dim).
using RowReader = std::function<void(std::int64_t first, std::int64_t count, float* out)>;

class FaissIndex {
 public:
  // An empty index from a factory string, over rows of `dim`: UsageError when FAISS
  // rejects the string or the index cannot search by inner product.
  static FaissIndex create(const std::string& factory, std::int64_t dim);
  // Trains the quantisers (IVF cells, PQ codebooks) on `rows` x dim; nothing to do for an
  // index that needs no training. UsageError when there are fewer rows than IVF cells.
  void train(const float* rows, std::int64_t count, int threads = 0);
  // Adds rows [0, rows) read through `read` in chunks, so a float16 datastore is converted
  // one chunk at a time.
  void add(std::int64_t rows, const RowReader& read, int threads = 0,
           const std::function<void(std::int64_t done, std::int64_t total)>& on_added = {});
  // Reads an index file written by save(): InputError naming the file when it is missing,
  // truncated or not a FAISS index.
  static FaissIndex load(const std::filesystem::path& path);

  FaissIndex(FaissIndex&&) noexcept;
  FaissIndex& operator=(FaissIndex&&) noexcept;
  ~FaissIndex();

  // Writes the index to `path` (faiss::write_index); the caller renames it into place.
  void save(const std::filesystem::path& path) const;

  std::int64_t rows() const;
  std::int64_t dim() const;
  // What the index is, e.g. "IVF-Flat (nlist 64)", "HNSW (M 32)": for logs and index.json.
  std::string describe() const;
  bool is_ivf() const;
  bool is_hnsw() const;
  std::int64_t nlist() const;  // IVF cells (0 for other indexes)

  // The nprobe / efSearch a search uses when its params leave them 0; saved with the index
  // (FAISS writes both into the file). Setting a knob the index lacks is a UsageError.
  void set_search_defaults(const IndexSearchParams& params);
  IndexSearchParams search_defaults() const;  // 0 for a knob the index lacks

  // The `k` best rows per query by the index's (approximate) inner product, best first:
  // ids (nq x k, -1 where the index found fewer) and their scores. UsageError when nprobe
  // or ef_search is given for an index that has no such knob.
  void search(const float* queries, std::int64_t nq, std::int64_t k, const IndexSearchParams& params,
              std::vector<std::int64_t>& ids, std::vector<float>& scores) const;

 private:
  struct Impl;
  explicit FaissIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recap::retrieval
