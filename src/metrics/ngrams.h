#pragma once
// Word n-grams shared by BLEU and CIDEr-D (private to the metrics layer). Words and
// n-grams are interned once per corpus: an n-gram's id comes from its (n−1)-gram prefix
// id and its last word id, so counting a caption costs one integer-keyed lookup per
// n-gram, and comparing captions is a merge of sorted (id, count) lists.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace recap::metrics {

// Python's str.split(): runs of whitespace separate, no empty words.
std::vector<std::string> split_words(const std::string& text);
// Python's str.split(" "): every single space separates (empty words possible).
std::vector<std::string> split_on_space(const std::string& text);

struct EncodedCaption {
  int length = 0;                                      // words
  std::vector<std::pair<std::int32_t, std::int32_t>>  // (n-gram id, count), sorted by id
      ngrams;
};

class NgramIndex {
 public:
  explicit NgramIndex(int max_n) : max_n_(max_n) {}
  // Interns the caption's words and n-grams (not thread-safe).
  EncodedCaption encode(const std::string& text);
  int order(std::int32_t id) const { return order_[static_cast<std::size_t>(id)]; }  // 1..max_n
  std::size_t size() const { return order_.size(); }
  int max_n() const { return max_n_; }
  void reserve(std::size_t ngrams) {
    ngrams_.reserve(ngrams);
    order_.reserve(ngrams);
  }

 private:
  int max_n_;
  std::unordered_map<std::string, std::int32_t> words_;
  std::unordered_map<std::uint64_t, std::int32_t> ngrams_;  // (prefix id + 1) << 32 | word id
  std::vector<int> order_;
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
