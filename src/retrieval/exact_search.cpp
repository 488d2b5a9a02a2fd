#include "recap/retrieval/exact_search.h"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>

#include "recap/common/parallel.h"

namespace recap::retrieval {
namespace {

struct Entry {
  float score;
  std::int64_t id;
};

// "a ranks before b": higher score, or equal score and lower id.
inline bool ranks_before(const Entry& a, const Entry& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

// A heap of the k best entries seen so far; its top is the worst of them. Ids arrive in
// increasing order, so an equal score never displaces a kept entry.
class BoundedHeap {
 public:
  void reset(Entry* storage, std::int64_t k) {
    data_ = storage;
    k_ = k;
    size_ = 0;
  }
  void restore(std::int64_t size) { size_ = size; }
  std::int64_t size() const { return size_; }

  void offer(float score, std::int64_t id) {
    if (size_ < k_) {
      data_[size_++] = {score, id};
      std::push_heap(data_, data_ + size_, ranks_before);
    } else if (score > data_[0].score) {
      std::pop_heap(data_, data_ + size_, ranks_before);
      data_[size_ - 1] = {score, id};
      std::push_heap(data_, data_ + size_, ranks_before);
    }
  }

 private:
  Entry* data_ = nullptr;
  std::int64_t k_ = 0, size_ = 0;
};

}  // namespace

TopK exact_top_k(const float* queries, std::int64_t nq, const float* base, std::int64_t nb, std::int64_t d,
                 std::int64_t k, const SearchOptions& options) {
  if (k < 1 || k > nb)
    throw std::invalid_argument("k = " + std::to_string(k) + " must be between 1 and the base size " +
                                std::to_string(nb));
  const int threads = resolve_threads(options.threads);
  const std::int64_t qb = std::max<std::int64_t>(1, options.query_block);
  const std::int64_t bb = std::max<std::int64_t>(1, options.base_block);

  std::vector<Entry> heaps(static_cast<std::size_t>(nq * k));
  std::vector<std::int64_t> heap_sizes(static_cast<std::size_t>(nq), 0);
  std::vector<float> scores(static_cast<std::size_t>(std::min(qb, nq) * std::min(bb, nb)));

  for (std::int64_t q0 = 0; q0 < nq; q0 += qb) {
    const std::int64_t qn = std::min(qb, nq - q0);
    for (std::int64_t b0 = 0; b0 < nb; b0 += bb) {
      const std::int64_t bn = std::min(bb, nb - b0);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(qn), static_cast<int>(bn),
                  static_cast<int>(d), 1.0f, queries + q0 * d, static_cast<int>(d), base + b0 * d,
                  static_cast<int>(d), 0.0f, scores.data(), static_cast<int>(bn));
      parallel_ranges(qn, threads, [&](std::int64_t begin, std::int64_t end) {
        BoundedHeap heap;
        for (std::int64_t i = begin; i < end; ++i) {
          const std::int64_t q = q0 + i;
          heap.reset(heaps.data() + q * k, k);
          heap.restore(heap_sizes[q]);
          const float* row = scores.data() + i * bn;
          for (std::int64_t j = 0; j < bn; ++j) heap.offer(row[j], b0 + j);
          heap_sizes[q] = heap.size();
        }
      });
    }
  }

  TopK result;
  result.queries = nq;
  result.k = k;
  result.ids.resize(static_cast<std::size_t>(nq * k));
  result.scores.resize(static_cast<std::size_t>(nq * k));
  for (std::int64_t q = 0; q < nq; ++q) {
    Entry* h = heaps.data() + q * k;
    std::sort(h, h + k, ranks_before);
    for (std::int64_t j = 0; j < k; ++j) {
      result.ids[q * k + j] = h[j].id;
      result.scores[q * k + j] = h[j].score;
    }
  }
  return result;
}

}  // namespace recap::retrieval
