#pragma once
// Word n-grams shared by BLEU and CIDEr-D (private to the metrics layer). Words and
// n-grams are interned once per corpus: an n-gram's id comes from its (n−1)-gram prefix
// id and its last word id, so counting a caption costs one integer-keyed lookup per
// n-gram, and comparing captions is a merge of sorted (id, count) lists.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace recap::metrics {

// Python's str.split(" "): every single space separates (empty words possible).
std::vector<std::string_view> split_on_space(std::string_view text);

struct EncodedCaption {
  int length = 0;                                      // words
  std::vector<std::pair<std::int32_t, std::int32_t>>  // (n-gram id, count), sorted by id
      ngrams;
};

// Open-addressing hash table (linear probing, power-of-two capacity, at most half full)
// from 64-bit keys to ids. Interning a corpus's n-grams is about a million lookups; with
// std::unordered_map each was a pointer chase to a node of its own, and the lookups were
// the largest part of the scoring time.
class IdTable {
 public:
  // The id stored under `key` for which same(id) holds, or else `fresh`, stored under the
  // key now (then .second is true). `same` tells apart keys that are hashes of longer
  // things (words); where the key is the thing itself it is always true.
  template <typename Same>
  std::pair<std::int32_t, bool> find_or_insert(std::uint64_t key, std::int32_t fresh, Same&& same) {
    if (2 * (size_ + 1) > slots_.size()) rehash(std::max<std::size_t>(64, 2 * slots_.size()));
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t s = slot_of(key);; s = (s + 1) & mask) {
      Slot& slot = slots_[s];
      if (slot.id < 0) {
        slot = {key, fresh};
        ++size_;
        return {fresh, true};
      }
      if (slot.key == key && same(slot.id)) return {slot.id, false};
    }
  }
  std::pair<std::int32_t, bool> find_or_insert(std::uint64_t key, std::int32_t fresh) {
    return find_or_insert(key, fresh, [](std::int32_t) { return true; });
  }
  void reserve(std::size_t keys);
  // Starts loading the slot where `key` would be found: callers that know their next keys
  // prefetch them all first, so the cache misses overlap instead of following each other.
  void prefetch(std::uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(key)]);
  }

 private:
  struct Slot {
    std::uint64_t key = 0;
    std::int32_t id = -1;  // -1: empty
  };
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  int shift_ = 64;  // slot of a key: its Fibonacci hash's top bits
  std::size_t slot_of(std::uint64_t key) const {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  void rehash(std::size_t capacity);
};

class NgramIndex {
 public:
  explicit NgramIndex(int max_n) : max_n_(max_n) {}
  // Interns the caption's words and n-grams (not thread-safe).
  EncodedCaption encode(const std::string& text);
  // The same for `count` captions at once, texts[c] into *out[c]: faster, as their table
  // lookups overlap. Ids are given in order of first occurrence, order by order (all the
  // captions' words, then their bigrams, ...), so they depend on how captions are batched.
  void encode(const std::string* const* texts, EncodedCaption* const* out, std::size_t count);
  int order(std::int32_t id) const { return order_[static_cast<std::size_t>(id)]; }  // 1..max_n
  std::size_t size() const { return order_.size(); }
  int max_n() const { return max_n_; }
  void reserve(std::size_t ngrams) {
    ngrams_.reserve(ngrams);
    order_.reserve(ngrams);
  }

 private:
  std::int32_t word_id(std::string_view word);

  int max_n_;
  std::vector<std::string> words_;                   // by word id
  IdTable word_ids_;                                 // std::hash of the word -> candidates' ids
  IdTable ngrams_;                                   // (prefix id + 1) << 32 | word id -> n-gram id
  std::vector<int> order_;
  std::vector<std::int32_t> word_buffer_, prefix_buffer_;  // reused across calls
  std::vector<std::size_t> first_word_;
  std::vector<std::vector<std::int32_t>> ids_of_caption_;
  std::vector<std::uint64_t> key_buffer_;
};

}  // namespace recap::metrics

#include "recap/metrics/text_metrics.h"

namespace recap::metrics {

struct EncodedCorpus::Data {
  NgramIndex index{4};
  std::vector<EncodedCaption> candidates;
  std::vector<std::vector<EncodedCaption>> references;
};

}  // namespace recap::metrics
