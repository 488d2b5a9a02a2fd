#pragma once
// Learning a CLIP byte-level BPE vocabulary from captions, for small demo CLIP models
// with a vocabulary of their own. The result is in the layout OpenAI's CLIP uses and
// ClipTokenizer reads: the 256 byte symbols, the same with "</w>", one token per merge,
// then "<|startoftext|>" and "<|endoftext|>" (the highest id: CLIP's text encoder pools
// at the argmax of the ids).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace recap::text {

struct BpeVocabulary {
  std::vector<std::string> tokens;                              // id -> token
  std::vector<std::pair<std::string, std::string>> merges;      // in rank order
};

// Learns up to `merges` merges from `texts`, which are cleaned and split exactly as
// ClipTokenizer::encode does, so that the tokenizer reproduces the segmentation learned
// here. Each step merges the most frequent adjacent pair (ties: the lexicographically
// smallest pair of strings) in every word; learning stops early when no pair occurs
// `min_frequency` times. A pair whose merged string is already a token (reachable by
// another split) is never merged, so every token and every merge is made once.
// Deterministic: the same texts give the same vocabulary. Throws UsageError when
// `merges` < 0, InputError for text that is not UTF-8.
BpeVocabulary learn_clip_bpe(const std::vector<std::string>& texts, int merges, int min_frequency = 2);

// Writes `folder`/vocab.json (token -> id, UTF-8, in id order) and `folder`/merges.txt
// ("#version: 0.2", then "a b" per merge), each atomically; creates `folder` if needed.
// ClipTokenizer::load(folder) reads them. Throws UsageError for a vocabulary without
// merges, which ClipTokenizer refuses.
void write_clip_bpe(const BpeVocabulary& vocabulary, const std::filesystem::path& folder);

}  // namespace recap::text
