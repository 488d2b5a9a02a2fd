#include "ngrams.h"

#include <algorithm>

namespace recap::metrics {

namespace {

// The length of the whitespace character at text[i] as Python's str.isspace() has it
// (pycocoevalcap splits with str.split()), 0 when text[i] starts something else. ASCII:
// \t \n \v \f \r, the separators \x1c-\x1f and space; beyond it, in UTF-8: U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and U+3000.
inline std::size_t whitespace_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0u; };
  const unsigned c = byte(0);
  if (c < 0x80) return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) ? 1 : 0;
  if (c == 0xc2) return byte(1) == 0x85 || byte(1) == 0xa0 ? 2 : 0;
  if (c == 0xe1) return byte(1) == 0x9a && byte(2) == 0x80 ? 3 : 0;
  if (c == 0xe3) return byte(1) == 0x80 && byte(2) == 0x80 ? 3 : 0;
  if (c != 0xe2) return 0;
  const unsigned b1 = byte(1), b2 = byte(2);
  if (b1 == 0x80) return b2 <= 0x8a || b2 == 0xa8 || b2 == 0xa9 || b2 == 0xaf ? 3 : 0;
  return b1 == 0x81 && b2 == 0x9f ? 3 : 0;
}

// Calls fn(word) for each word of `text` as Python's str.split() finds them.
template <typename Fn>
void for_each_word(std::string_view text, Fn&& fn) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size()) {
      const std::size_t space = whitespace_length(text, i);
      if (space == 0) break;
      i += space;
    }
    const std::size_t start = i;
    while (i < text.size() && whitespace_length(text, i) == 0) ++i;
    if (i > start) fn(text.substr(start, i - start));
  }
}

}  // namespace

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
  // A few images' captions at a time (NgramIndex::encode); in the order of the images,
  // each candidate before its references, so the ids do not depend on anything else.
  constexpr std::size_t kImagesPerBatch = 4;
  data_->candidates.resize(images.size());
  data_->references.resize(images.size());
  std::vector<const std::string*> texts;
  std::vector<EncodedCaption*> slots;
  for (std::size_t first = 0; first < images.size(); first += kImagesPerBatch) {
    texts.clear();
    slots.clear();
    for (std::size_t i = first; i < std::min(images.size(), first + kImagesPerBatch); ++i) {
      texts.push_back(&images[i].candidate);
      slots.push_back(&data_->candidates[i]);
      data_->references[i].resize(images[i].references.size());
      for (std::size_t r = 0; r < images[i].references.size(); ++r) {
        texts.push_back(&images[i].references[r]);
        slots.push_back(&data_->references[i][r]);
      }
    }
    data_->index.encode(texts.data(), slots.data(), texts.size());
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
  const std::string* one = &text;
  EncodedCaption caption;
  EncodedCaption* into = &caption;
  encode(&one, &into, 1);
  return caption;
}

void NgramIndex::encode(const std::string* const* texts, EncodedCaption* const* out, std::size_t count) {
  // All captions' words side by side: caption c has words [first_word[c], first_word[c + 1]).
  std::vector<std::int32_t>& words = word_buffer_;
  words.clear();
  first_word_.clear();
  for (std::size_t c = 0; c < count; ++c) {
    first_word_.push_back(words.size());
    for_each_word(*texts[c], [&](std::string_view word) { words.push_back(word_id(word)); });  // only new words are copied
  }
  first_word_.push_back(words.size());
  if (ids_of_caption_.size() < count) ids_of_caption_.resize(count);
  for (std::size_t c = 0; c < count; ++c) ids_of_caption_[c].clear();
  // prefix[i] = id of the n-gram of the current order starting at word i.
  std::vector<std::int32_t>& prefix = prefix_buffer_;
  prefix.assign(words.size(), -1);
  std::vector<std::uint64_t>& keys = key_buffer_;
  for (int n = 1; n <= max_n_; ++n) {
    // An n-gram's key needs its (n-1)-gram's id, so the orders go one after the other. The
    // keys of one order, over all the captions, are known (and their slots prefetched)
    // before any is looked up: the table does not fit in cache, and the misses overlap.
    keys.clear();
    for (std::size_t c = 0; c < count; ++c)
      for (std::size_t i = first_word_[c]; i + n <= first_word_[c + 1]; ++i) {
        keys.push_back((static_cast<std::uint64_t>(prefix[i] + 1) << 32) | static_cast<std::uint32_t>(words[i + n - 1]));
        ngrams_.prefetch(keys.back());
      }
    std::size_t k = 0;
    for (std::size_t c = 0; c < count; ++c)
      for (std::size_t i = first_word_[c]; i + n <= first_word_[c + 1]; ++i) {
        auto [id, inserted] = ngrams_.find_or_insert(keys[k++], static_cast<std::int32_t>(order_.size()));
        if (inserted) order_.push_back(n);
        prefix[i] = id;
        ids_of_caption_[c].push_back(id);
      }
  }
  for (std::size_t c = 0; c < count; ++c) {
    std::vector<std::int32_t>& ids = ids_of_caption_[c];
    std::sort(ids.begin(), ids.end());
    EncodedCaption& caption = *out[c];
    caption.length = static_cast<int>(first_word_[c + 1] - first_word_[c]);
    caption.ngrams.clear();
    caption.ngrams.reserve(ids.size());
    for (std::size_t i = 0; i < ids.size();) {
      std::size_t j = i;
      while (j < ids.size() && ids[j] == ids[i]) ++j;
      caption.ngrams.emplace_back(ids[i], static_cast<std::int32_t>(j - i));
      i = j;
    }
  }
}

}  // namespace recap::metrics
