#pragma once
// OpenAI CLIP's byte-level BPE tokenizer, exact to the id: text is cleaned as in
// clip_text.h, split with CLIP's pattern
//   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// (Unicode letter/number classes from ICU), each piece's UTF-8 bytes mapped to the
// byte-to-unicode alphabet, merged by rank, and looked up in the vocabulary.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace recap::text {

class ClipTokenizer {
 public:
  static constexpr int kContextLength = 77;

  // Hugging Face layout: vocab.json (token -> id) and merges.txt ("#version" line, then
  // one "a b" merge per line in rank order).
  static ClipTokenizer from_vocab_merges(const std::filesystem::path& vocab_json,
                                         const std::filesystem::path& merges_txt);
  // OpenAI layout: bpe_simple_vocab_16e6.txt.gz (the vocabulary is derived from the
  // merges exactly as OpenAI's SimpleTokenizer builds it).
  static ClipTokenizer from_bpe_gz(const std::filesystem::path& bpe_gz);
  // A folder with vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz, or one of
  // those files. Says which files were expected when none is found.
  static ClipTokenizer load(const std::filesystem::path& path);

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  // BPE ids of the cleaned text, without start/end tokens.
  std::vector<std::int32_t> encode(std::string_view text) const;
  // [start] + encode(text) + [end], truncated to `context_length` with the last id set to
  // end-of-text (OpenAI's truncate=True), padded with 0. `truncated` reports truncation.
  std::vector<std::int64_t> tokenize(std::string_view text, int context_length = kContextLength,
                                     bool* truncated = nullptr) const;
  // Rows of `context_length` ids for each text, written to out[i * context_length ...].
  void tokenize_batch(const std::vector<std::string>& texts, int context_length, std::int64_t* out) const;
  // Text of a sequence of ids (start/end/padding skipped), as SimpleTokenizer.decode.
  std::string decode(const std::vector<std::int64_t>& ids) const;

  std::int32_t start_id() const;
  std::int32_t end_id() const;
  std::int64_t vocab_size() const;
  // A stable digest of vocabulary and merges, for cache keys.
  const std::string& fingerprint() const;

 private:
  struct Impl;
  explicit ClipTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recap::text
