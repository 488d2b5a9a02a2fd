#include "ngrams.h"

#include <algorithm>
#include <cctype>

namespace recap::metrics {

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
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

std::vector<std::string_view> split_on_space(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find(' ', start);
    words.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return words;
}

EncodedCorpus::EncodedCorpus(const std::vector<ImageCaptions>& images) : data_(std::make_unique<Data>()) {
  data_->references.resize(images.size());
  for (std::size_t i = 0; i < images.size(); ++i) {
    data_->candidates.push_back(data_->index.encode(images[i].candidate));
    for (const auto& ref : images[i].references) data_->references[i].push_back(data_->index.encode(ref));
  }
}
EncodedCorpus::~EncodedCorpus() = default;
EncodedCorpus::EncodedCorpus(EncodedCorpus&&) noexcept = default;

void IdTable::reserve(std::size_t keys) {
  std::size_t capacity = 64;
  while (capacity < 2 * keys) capacity *= 2;
  if (capacity > slots_.size()) rehash(capacity);
}

void IdTable::rehash(std::size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  shift_ = 64;
  for (std::size_t c = capacity; c > 1; c /= 2) --shift_;
  const std::size_t mask = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.id < 0) continue;
    std::size_t s = slot_of(slot.key);
    while (slots_[s].id >= 0) s = (s + 1) & mask;
    slots_[s] = slot;
  }
}

std::int32_t NgramIndex::word_id(std::string_view word) {
  const auto fresh = static_cast<std::int32_t>(words_.size());
  auto [id, inserted] = word_ids_.find_or_insert(std::hash<std::string_view>{}(word), fresh,
                                                 [&](std::int32_t known) { return words_[known] == word; });
  if (inserted) words_.emplace_back(word);
  return id;
}

EncodedCaption NgramIndex::encode(const std::string& text) {
  std::vector<std::int32_t>& word_ids = word_buffer_;
  word_ids.clear();
  for (std::string_view word : split_words(text)) word_ids.push_back(word_id(word));  // only new words are copied
  EncodedCaption caption;
  caption.length = static_cast<int>(word_ids.size());
  std::vector<std::int32_t>& ids = id_buffer_;
  ids.clear();
  // prefix[i] = id of the n-gram of the current order starting at i.
  std::vector<std::int32_t>& prefix = prefix_buffer_;
  prefix.assign(word_ids.size(), -1);
  std::vector<std::uint64_t>& keys = key_buffer_;
  for (int n = 1; n <= max_n_; ++n) {
    // An n-gram's key needs its (n-1)-gram's id, so the orders go one after the other; the
    // keys of one order are all known before any of them is looked up.
    keys.clear();
    for (std::size_t i = 0; i + n <= word_ids.size(); ++i) {
      keys.push_back((static_cast<std::uint64_t>(prefix[i] + 1) << 32) | static_cast<std::uint32_t>(word_ids[i + n - 1]));
      ngrams_.prefetch(keys.back());
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      auto [id, inserted] = ngrams_.find_or_insert(keys[i], static_cast<std::int32_t>(order_.size()));
      if (inserted) order_.push_back(n);
      prefix[i] = id;
      ids.push_back(id);
    }
  }
  std::sort(ids.begin(), ids.end());
  caption.ngrams.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size();) {
    std::size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    caption.ngrams.emplace_back(ids[i], static_cast<std::int32_t>(j - i));
    i = j;
  }
  return caption;
}

}  // namespace recap::metrics
