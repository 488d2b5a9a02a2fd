#pragma once
// Training a sentencepiece model in T5's layout (the spiece.model T5Tokenizer loads), for
// small demo T5 models with a vocabulary of their own. sentencepiece runs in the shim
// T5Tokenizer loads (docs/architecture.md, "sentencepiece is loaded in isolation").
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace recap::text {

struct SentencePieceOptions {
  // Pieces wanted, the four special ones included. A soft limit: a small corpus that
  // cannot fill it gives fewer pieces instead of an error (hard_vocab_limit=false).
  int vocab_size = 256;
  std::string model_type = "unigram";  // unigram (T5's), bpe, word or char
  // sentencepiece's random seed (32 bits in Debian's 0.1.97: folded modulo 2^32 - 1, as
  // 2^32 - 1 means "from std::random_device" there).
  std::uint64_t seed = 0;
};

// Trains on `sentences` (newlines inside one become spaces) with T5's special ids
// (<pad> 0, </s> 1, <unk> 2, no <s>), character_coverage 1.0 and one thread, so that the
// same input gives a byte-identical model, and writes it to `model_path` atomically.
// Throws UsageError for bad options or an unwritable path, InputError for sentences that
// are not UTF-8 or that sentencepiece cannot train on, Error when the shim is missing.
void train_sentencepiece(const std::vector<std::string>& sentences, const std::filesystem::path& model_path,
                         const SentencePieceOptions& options = {});

}  // namespace recap::text
