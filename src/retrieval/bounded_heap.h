#pragma once
// The k best (score, id) entries seen so far, in caller-owned storage; the heap's top is
// the worst of them. Private to the retrieval layer.
#include <algorithm>
#include <cstdint>
#include <limits>

namespace recap::retrieval {

struct Entry {
  float score;
  std::int64_t id;
};

// "a ranks before b": higher score, or equal score and lower id.
inline bool ranks_before(const Entry& a, const Entry& b) {
  return a.score > b.score || (a.score == b.score && a.id < b.id);
}

class BoundedHeap {
 public:
  // Views `storage` (room for k entries) already holding `size` heap-ordered entries.
  void attach(Entry* storage, std::int64_t k, std::int64_t size) {
    data_ = storage;
    k_ = k;
    size_ = size;
  }
  std::int64_t size() const { return size_; }
  bool full() const { return size_ == k_; }
  // The k-th best score once full; -infinity before.
  float worst() const { return full() ? data_[0].score : -std::numeric_limits<float>::infinity(); }

  // Ids must arrive in increasing order: an equal score then never displaces a kept
  // entry, which is the lower-index tie rule.
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

}  // namespace recap::retrieval
