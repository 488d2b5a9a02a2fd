#include "ngrams.h"

#include <cctype>

namespace recap::metrics {

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

std::vector<std::string> split_on_space(const std::string& text) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(' ', start);
    words.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return words;
}

std::vector<std::pair<std::string, int>> ordered_ngrams(const std::vector<std::string>& words, int max_n) {
  std::vector<std::pair<std::string, int>> ordered;
  std::unordered_map<std::string, std::size_t> index;
  for (int k = 1; k <= max_n; ++k)
    for (std::size_t i = 0; i + k <= words.size(); ++i) {
      std::string gram(1, static_cast<char>('0' + k));
      for (int w = 0; w < k; ++w) {
        if (w > 0) gram += '\x1f';
        gram += words[i + w];
      }
      auto [it, inserted] = index.emplace(gram, ordered.size());
      if (inserted)
        ordered.emplace_back(gram, 1);
      else
        ++ordered[it->second].second;
    }
  return ordered;
}

NgramCounts count_ngrams(const std::vector<std::string>& words, int max_n) {
  NgramCounts counts;
  for (auto& [gram, count] : ordered_ngrams(words, max_n)) counts.emplace(std::move(gram), count);
  return counts;
}

}  // namespace recap::metrics
