#pragma once
// The T5 / FLAN-T5 tokenizer as Hugging Face's T5Tokenizer behaves: sentencepiece ids of
// the text, end-of-sequence (</s>) appended, the `extra_ids` sentinels <extra_id_0>.. at
// the top of the vocabulary (<extra_id_i> = vocab_size - 1 - i), and decoding that skips
// special tokens.
//
// sentencepiece is not linked into recap: Debian's libsentencepiece carries a protobuf
// that conflicts with LibTorch's (docs/architecture.md, "sentencepiece is loaded in isolation"). It lives in a small shared library of
// ours, librecap_spm.so, which this class dlopen()s with RTLD_LOCAL | RTLD_DEEPBIND. The
// library is looked for, in order, at $RECAP_SPM_SHIM, beside the running executable, in
// its parent folder, in ../lib/recap and ../lib relative to it, and finally where the
// build put it.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace recap::text {

class T5Tokenizer {
 public:
  // `path`: a spiece.model file or a folder holding one. `extra_ids` sentinels are added
  // after the sentencepiece vocabulary (100 for every published T5); a tokenizer_config.json
  // beside the model with "extra_ids" overrides it when `extra_ids` < 0.
  // Throws InputError for a missing or unreadable model, Error when the shim is missing.
  static T5Tokenizer load(const std::filesystem::path& path, int extra_ids = -1);

  T5Tokenizer(T5Tokenizer&&) noexcept;
  T5Tokenizer& operator=(T5Tokenizer&&) noexcept;
  ~T5Tokenizer();

  // Ids of `text`, </s> appended when `add_eos`. Sentinels and special tokens written
  // literally ("<extra_id_3>", "</s>", "<pad>", "<unk>") become their ids. With
  // `max_length` > 0 the ids are truncated to it, keeping </s> last.
  std::vector<std::int64_t> encode(const std::string& text, bool add_eos = true, std::int64_t max_length = 0) const;
  // Text of `ids`; with `skip_special` the pad, end-of-sequence, unknown and sentinel ids
  // (and ids beyond the tokenizer's vocabulary, which models pad up to a multiple of 128)
  // are dropped, and decoding stops at nothing: every remaining id is decoded.
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special = true) const;

  std::int64_t piece_size() const;  // sentencepiece pieces
  std::int64_t vocab_size() const;  // piece_size() + extra_ids
  int extra_ids() const;
  std::int64_t pad_id() const { return 0; }
  std::int64_t eos_id() const { return 1; }
  std::int64_t unk_id() const { return 2; }
  std::int64_t sentinel_id(int i) const;  // <extra_id_i>
  std::string piece(std::int64_t id) const;
  bool is_special(std::int64_t id) const;
  const std::filesystem::path& model_path() const;

  // The sentencepiece shim this process uses (loading it if needed); throws Error with the
  // places searched when none is found.
  static std::filesystem::path shim_path();

 private:
  struct Impl;
  explicit T5Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace recap::text
