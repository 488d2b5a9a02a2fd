#include "ngrams.h"

#include <algorithm>
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

EncodedCorpus::EncodedCorpus(const std::vector<ImageCaptions>& images) : data_(std::make_unique<Data>()) {
  data_->index.reserve(images.size() * 64);
  data_->references.resize(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    data_->candidates.push_back(data_->index.encode(images[i].candidate));
    for (const auto& ref : images[i].references) data_->references[i].push_back(data_->index.encode(ref));
  }
}
EncodedCorpus::~EncodedCorpus() = default;
EncodedCorpus::EncodedCorpus(EncodedCorpus&&) noexcept = default;

EncodedCaption NgramIndex::encode(const std::string& text) {
  std::vector<std::int32_t> word_ids;
  // try_emplace looks the key up before building a node: emplace would allocate (and
  // free) a node for every n-gram already seen, which dominated the scoring time.
  for (auto& w : split_words(text)) {
    auto [it, inserted] = words_.try_emplace(std::move(w), static_cast<std::int32_t>(words_.size()));
    word_ids.push_back(it->second);
  }
  EncodedCaption caption;
  caption.length = static_cast<int>(word_ids.size());
  std::vector<std::int32_t> ids;
  // prefix[i] = id of the n-gram of the current order starting at i.
  std::vector<std::int32_t> prefix(word_ids.size(), -1);
  for (int n = 1; n <= max_n_; ++n) {
    for (std::size_t i = 0; i + n <= word_ids.size(); ++i) {
      const std::uint64_t key = (static_cast<std::uint64_t>(prefix[i] + 1) << 32) |
                                static_cast<std::uint32_t>(word_ids[i + n - 1]);
      auto [it, inserted] = ngrams_.try_emplace(key, static_cast<std::int32_t>(order_.size()));
      if (inserted) order_.push_back(n);
      prefix[i] = it->second;
      ids.push_back(it->second);
    }
  }
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    caption.ngrams.emplace_back(ids[i], static_cast<std::int32_t>(j - i));
    i = j;
  }
  return caption;
}

}  // namespace recap::metrics
