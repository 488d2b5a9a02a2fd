#pragma once
// The parts of OpenAI CLIP's byte-level BPE that the tokenizer (clip_tokenizer.cpp) and the
// vocabulary trainer (bpe_training.cpp) must share exactly, so that a learned vocabulary
// is split and merged at encode time just as it was while learning (private to src/text).
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace recap::text::detail {

inline constexpr const char* kClipStartText = "<|startoftext|>";
inline constexpr const char* kClipEndText = "<|endoftext|>";
inline constexpr const char* kClipWordEnd = "</w>";  // appended to the last symbol of a word

// GPT-2's bytes_to_unicode(): printable bytes map to themselves, the others to 256+n.
std::array<char32_t, 256> byte_to_unicode();

// The first 512 tokens of every CLIP vocabulary: the 256 byte symbols in the order of
// bytes_to_unicode().values() (printable bytes first), then the same with "</w>".
std::vector<std::string> clip_base_symbols();

// The byte symbols of one pre-tokenised piece (UTF-8 bytes), the last with "</w>": the
// word BPE starts from.
std::vector<std::string> clip_word_symbols(std::string_view piece);

// Splits cleaned text (clip_clean_text's output) with CLIP's pattern
//   <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
// calling on_piece(kind, utf8) for each match, in order.
enum class ClipPiece { start_text, end_text, word };
void split_clip_pieces(std::string_view cleaned, const std::function<void(ClipPiece, const std::string&)>& on_piece);

}  // namespace recap::text::detail
