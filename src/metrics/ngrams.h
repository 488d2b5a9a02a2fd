#pragma once
// Word n-grams shared by BLEU and CIDEr-D (private to the metrics layer). An n-gram is
// its words joined by '\x1f' (a byte no tokenised caption contains), prefixed by its order.
#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace recap::metrics {

using NgramCounts = std::unordered_map<std::string, int>;

// Python's str.split(): runs of whitespace separate, no empty words.
std::vector<std::string> split_words(const std::string& text);
// Python's str.split(" "): every single space separates (empty words possible).
std::vector<std::string> split_on_space(const std::string& text);

// Counts of every n-gram, n = 1..max_n.
NgramCounts count_ngrams(const std::vector<std::string>& words, int max_n);
// Counts in first-seen order (pycocoevalcap iterates dicts in insertion order, which
// fixes the order of its floating-point sums).
std::vector<std::pair<std::string, int>> ordered_ngrams(const std::vector<std::string>& words, int max_n);

inline int gram_order(const std::string& gram) { return gram[0] - '0'; }

}  // namespace recap::metrics
