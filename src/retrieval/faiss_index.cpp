#include "recap/retrieval/faiss_index.h"

#include <faiss/IVFlib.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/IndexIVFPQ.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/IndexScalarQuantizer.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <algorithm>
#include <mutex>
#include <regex>

#include "recap/common/error.h"
#include "recap/common/parallel.h"

namespace recap::retrieval {
namespace {

// FAISS formats its messages as "Error in <function> at <file>:<line>: <what>" (sometimes
// over several lines); users get the <what>, on one line.
std::string faiss_reason(const std::exception& e) {
  std::string text = e.what();
  static const std::regex located(R"(^Error in .*? at [^ ]*:\d+: )");
  text = std::regex_replace(text, located, "");
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

// FAISS runs on OpenMP, whose thread count is per process: set it for each call, so that a
// --threads given to the tool holds for FAISS too.
void use_threads(int threads) { omp_set_num_threads(resolve_threads(threads)); }

const faiss::Index* unwrap(const faiss::Index* index) {
  while (const auto* pre = dynamic_cast<const faiss::IndexPreTransform*>(index)) index = pre->index;
  return index;
}

}  // namespace

struct FaissIndex::Impl {
  std::unique_ptr<faiss::Index> index;
  std::string factory;  // for messages; empty for a loaded index
  std::mutex searching;  // serialises searches that set efSearch on the index

  const faiss::IndexIVF* ivf() const { return faiss::ivflib::try_extract_index_ivf(index.get()); }
  const faiss::IndexHNSW* hnsw() const { return dynamic_cast<const faiss::IndexHNSW*>(unwrap(index.get())); }
  // An IVF whose coarse quantizer is itself an HNSW graph ("IVF65536_HNSW32,PQ64"): efSearch
  // applies to the quantizer then.
  const faiss::IndexHNSW* quantizer_hnsw() const {
    const auto* i = ivf();
    return i != nullptr ? dynamic_cast<const faiss::IndexHNSW*>(i->quantizer) : nullptr;
  }
};

FaissIndex::FaissIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaissIndex::FaissIndex(FaissIndex&&) noexcept = default;
FaissIndex& FaissIndex::operator=(FaissIndex&&) noexcept = default;
FaissIndex::~FaissIndex() = default;

FaissIndex FaissIndex::create(const std::string& factory, std::int64_t dim) {
  auto impl = std::make_unique<Impl>();
  impl->factory = factory;
  try {
    impl->index.reset(faiss::index_factory(static_cast<int>(dim), factory.c_str(), faiss::METRIC_INNER_PRODUCT));
  } catch (const std::exception& e) {
    throw UsageError("--index '" + factory + "': FAISS cannot build this index: " + faiss_reason(e));
  }
  if (impl->index->metric_type != faiss::METRIC_INNER_PRODUCT)
    throw UsageError("--index '" + factory + "': this index type does not support inner-product (cosine) search");
  // index_factory turns on polysemous training for IVF-PQ: an annealing that reorders the
  // PQ centroids for Hamming-distance filtering, which only a search with polysemous_ht set
  // uses; recap never sets it, and the annealing took 40-100 s on 5,000 rows here.
  if (auto* pq = dynamic_cast<faiss::IndexIVFPQ*>(const_cast<faiss::Index*>(unwrap(impl->index.get()))))
    pq->do_polysemous_training = false;
  return FaissIndex(std::move(impl));
}

void FaissIndex::train(const float* rows, std::int64_t count, int threads) {
  if (impl_->index->is_trained) return;
  const auto* ivf = impl_->ivf();
  if (ivf != nullptr && count < static_cast<std::int64_t>(ivf->nlist))
    throw UsageError("--index '" + impl_->factory + "': " + std::to_string(ivf->nlist) + " IVF cells need at least as "
                     "many rows to train on, but there are " + std::to_string(count) + " (choose fewer cells, e.g. IVF" +
                     std::to_string(std::max<std::int64_t>(1, count / 39)) + ")");
  // Training is k-means, whose time goes into SGEMM: BLAS threads carry it. OpenMP
  // workers left spinning between its many small parallel loops competed with them for the
  // cores and made PQ training 5-20x slower on 2 cores (measured: 256-centroid k-means of
  // 5,000 rows 1.7 s with both, 0.09 s with OpenMP at one thread).
  (void)threads;
  use_threads(1);
  try {
    impl_->index->train(count, rows);
  } catch (const faiss::FaissException& e) {
    throw UsageError("--index '" + impl_->factory + "': FAISS could not train it: " + faiss_reason(e));
  }
}

void FaissIndex::add(std::int64_t rows, const RowReader& read, int threads,
                     const std::function<void(std::int64_t, std::int64_t)>& on_added) {
  use_threads(threads);
  const std::int64_t dim = impl_->index->d;
  // Chunks of 65,536 rows: FAISS's own batch size for adding, and a bounded float32 copy of
  // a float16 datastore.
  const std::int64_t chunk = 65536;
  std::vector<float> buffer(static_cast<std::size_t>(std::min(chunk, std::max<std::int64_t>(rows, 1)) * dim));
  for (std::int64_t first = 0; first < rows; first += chunk) {
    const std::int64_t count = std::min(chunk, rows - first);
    read(first, count, buffer.data());
    try {
      impl_->index->add(count, buffer.data());
    } catch (const faiss::FaissException& e) {
      throw UsageError("--index '" + impl_->factory + "': FAISS could not add rows: " + faiss_reason(e));
    }
    if (on_added) on_added(first + count, rows);
  }
}

FaissIndex FaissIndex::load(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) throw InputError(path.string() + ": no such index file");
  auto impl = std::make_unique<Impl>();
  try {
    impl->index.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {  // FaissException, or bad_alloc from a corrupt size field
    throw InputError(path.string() + ": not a readable FAISS index (truncated or another file?): " + faiss_reason(e));
  }
  if (impl->index->metric_type != faiss::METRIC_INNER_PRODUCT)
    throw InputError(path.string() + ": the index does not use the inner-product metric recap searches with");
  return FaissIndex(std::move(impl));
}

void FaissIndex::save(const std::filesystem::path& path) const {
  try {
    faiss::write_index(impl_->index.get(), path.c_str());
  } catch (const faiss::FaissException& e) {
    throw Error(ExitCode::internal, path.string() + ": could not write the index: " + faiss_reason(e));
  }
}

std::int64_t FaissIndex::rows() const { return impl_->index->ntotal; }
std::int64_t FaissIndex::dim() const { return impl_->index->d; }
bool FaissIndex::is_ivf() const { return impl_->ivf() != nullptr; }
bool FaissIndex::is_hnsw() const { return impl_->hnsw() != nullptr || impl_->quantizer_hnsw() != nullptr; }
std::int64_t FaissIndex::nlist() const { return is_ivf() ? static_cast<std::int64_t>(impl_->ivf()->nlist) : 0; }

void FaissIndex::set_search_defaults(const IndexSearchParams& params) {
  if (params.nprobe > 0 && !is_ivf()) throw UsageError("--nprobe applies to IVF indexes; this index is " + describe());
  if (params.ef_search > 0 && !is_hnsw()) throw UsageError("--ef-search applies to HNSW indexes; this index is " + describe());
  auto* ivf = faiss::ivflib::try_extract_index_ivf(impl_->index.get());
  if (params.nprobe > 0) ivf->nprobe = static_cast<std::size_t>(params.nprobe);
  if (params.ef_search > 0) {
    auto* graph = const_cast<faiss::IndexHNSW*>(impl_->hnsw() != nullptr ? impl_->hnsw() : impl_->quantizer_hnsw());
    graph->hnsw.efSearch = static_cast<int>(params.ef_search);
  }
}

IndexSearchParams FaissIndex::search_defaults() const {
  IndexSearchParams params;
  if (const auto* ivf = impl_->ivf()) params.nprobe = static_cast<std::int64_t>(ivf->nprobe);
  const auto* graph = impl_->hnsw() != nullptr ? impl_->hnsw() : impl_->quantizer_hnsw();
  if (graph != nullptr) params.ef_search = graph->hnsw.efSearch;
  return params;
}

std::string FaissIndex::describe() const {
  const faiss::Index* inner = unwrap(impl_->index.get());
  const std::string pre = inner != impl_->index.get() ? "pre-transform + " : "";
  if (const auto* pq = dynamic_cast<const faiss::IndexIVFPQ*>(inner))
    return pre + "IVF-PQ (nlist " + std::to_string(pq->nlist) + ", " + std::to_string(pq->pq.M) + " x " +
           std::to_string(pq->pq.nbits) + "-bit codes)";
  if (const auto* sq = dynamic_cast<const faiss::IndexIVFScalarQuantizer*>(inner))
    return pre + "IVF-SQ (nlist " + std::to_string(sq->nlist) + ", " + std::to_string(sq->sq.code_size) +
           "-byte scalar-quantised rows)";
  if (const auto* flat = dynamic_cast<const faiss::IndexIVFFlat*>(inner))
    return pre + "IVF-Flat (nlist " + std::to_string(flat->nlist) + ")";
  if (const auto* ivf = dynamic_cast<const faiss::IndexIVF*>(inner))
    return pre + "IVF (nlist " + std::to_string(ivf->nlist) + ")";
  if (const auto* hnsw = dynamic_cast<const faiss::IndexHNSW*>(inner))
    return pre + "HNSW (M " + std::to_string(hnsw->hnsw.nb_neighbors(1)) + ")";
  if (dynamic_cast<const faiss::IndexFlat*>(inner) != nullptr) return pre + "Flat (brute force)";
  return pre + "FAISS index";
}

void FaissIndex::search(const float* queries, std::int64_t nq, std::int64_t k, const IndexSearchParams& params,
                        std::vector<std::int64_t>& ids, std::vector<float>& scores) const {
  const faiss::IndexIVF* ivf = impl_->ivf();
  const faiss::IndexHNSW* graph = impl_->hnsw() != nullptr ? impl_->hnsw() : impl_->quantizer_hnsw();
  if (params.nprobe > 0 && ivf == nullptr)
    throw UsageError("--nprobe applies to IVF indexes; this index is " + describe());
  if (params.ef_search > 0 && graph == nullptr)
    throw UsageError("--ef-search applies to HNSW indexes; this index is " + describe());

  // nprobe travels in per-call parameters. FAISS 1.7.3's HNSW search ignores the efSearch
  // of SearchParametersHNSW (measured: results follow only the index's own field), so
  // efSearch is set on the index for the call, under a lock, and put back after it.
  faiss::SearchParametersIVF ivf_params;
  if (ivf != nullptr) ivf_params.nprobe = params.nprobe > 0 ? static_cast<std::size_t>(params.nprobe) : ivf->nprobe;
  faiss::SearchParametersPreTransform pre_params;
  pre_params.index_params = ivf != nullptr ? &ivf_params : nullptr;
  const bool wrapped = unwrap(impl_->index.get()) != impl_->index.get();
  const faiss::SearchParameters* top = ivf == nullptr ? nullptr : wrapped ? static_cast<faiss::SearchParameters*>(&pre_params) : &ivf_params;

  ids.assign(static_cast<std::size_t>(nq * k), -1);
  scores.assign(static_cast<std::size_t>(nq * k), 0.0f);
  std::lock_guard<std::mutex> lock(impl_->searching);
  auto* mutable_graph = const_cast<faiss::IndexHNSW*>(graph);
  const int saved_ef = graph != nullptr ? graph->hnsw.efSearch : 0;
  if (graph != nullptr && params.ef_search > 0) mutable_graph->hnsw.efSearch = static_cast<int>(params.ef_search);
  use_threads(params.threads);
  try {
    static_assert(sizeof(faiss::Index::idx_t) == sizeof(std::int64_t), "FAISS ids are 64-bit");
    impl_->index->search(nq, queries, k, scores.data(), reinterpret_cast<faiss::Index::idx_t*>(ids.data()), top);
  } catch (const faiss::FaissException& e) {
    if (graph != nullptr) mutable_graph->hnsw.efSearch = saved_ef;
    throw Error(ExitCode::internal, "FAISS search failed: " + faiss_reason(e));
  }
  if (graph != nullptr) mutable_graph->hnsw.efSearch = saved_ef;
}

}  // namespace recap::retrieval
