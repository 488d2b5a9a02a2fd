// OpenAI CLIP's BPE tokenizer (include/recap/text/clip_tokenizer.h), loaded once from the
// golden vocabulary in tests/data/golden/clip/tokenizer, and the cleaning functions of
// include/recap/text/clip_text.h, on the input as text. Checked properties:
//  - tokenize() gives context_length ids starting with <|startoftext|>, every id inside
//    the vocabulary; decode() accepts them;
//  - BPE loses nothing: without '<' in the cleaned text (no special tokens, no literal
//    "</w>"), decode(encode(text)) is the cleaned text up to whitespace;
//  - the cleaning functions return valid UTF-8 for valid UTF-8, and collapse_whitespace
//    leaves no space at either end.
// Documented refusals: recap::InputError (invalid UTF-8).
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "recap/text/clip_text.h"
#include "recap/text/clip_tokenizer.h"

#ifndef RECAP_FUZZ_CLIP_TOKENIZER_DIR
#error "RECAP_FUZZ_CLIP_TOKENIZER_DIR must name tests/data/golden/clip/tokenizer"
#endif

using namespace recap;

namespace {

const text::ClipTokenizer& tokenizer() {
  static const text::ClipTokenizer* const t = [] {
    try {
      return new text::ClipTokenizer(text::ClipTokenizer::load(RECAP_FUZZ_CLIP_TOKENIZER_DIR));
    } catch (const std::exception& e) {
      fuzz::fail("setup", std::string("cannot load the CLIP tokenizer: ") + e.what());
    }
  }();
  return *t;
}


// `s` without Unicode White_Space characters (what encode() skips between pieces).
std::u32string without_whitespace(std::string_view s) {
  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
  std::u32string out;
  for (int32_t i = 0; i < u.length();) {
    const UChar32 c = u.char32At(i);
    i += U16_LENGTH(c);
    if (!u_isUWhiteSpace(c)) out.push_back(static_cast<char32_t>(c));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  const text::ClipTokenizer& tok = tokenizer();

  bool valid = false;
  fuzz::guard([&] {
    text::check_utf8(input, "input");
    valid = true;
  });

  fuzz::guard([&] {
    bool truncated = false;
    const auto row = tok.tokenize(input, text::ClipTokenizer::kContextLength, &truncated);
    FUZZ_CHECK(valid, "tokenize() accepted invalid UTF-8");
    FUZZ_CHECK(row.size() == static_cast<std::size_t>(text::ClipTokenizer::kContextLength), "row length");
    FUZZ_CHECK(row[0] == tok.start_id(), "row does not start with <|startoftext|>");
    for (const std::int64_t id : row) FUZZ_CHECK(id >= 0 && id < tok.vocab_size(), "id " + std::to_string(id));
    if (truncated) FUZZ_CHECK(row.back() == tok.end_id(), "truncated row does not end with <|endoftext|>");
    (void)tok.decode(row);
  });

  fuzz::guard([&] {
    const std::string cleaned = text::clip_clean_text(input);
    FUZZ_CHECK(fuzz::valid_utf8(cleaned), "clip_clean_text output is not UTF-8");
    if (cleaned.find('<') != std::string::npos) return;
    const auto ids = tok.encode(input);
    const std::string decoded = tok.decode({ids.begin(), ids.end()});
    FUZZ_CHECK(without_whitespace(decoded) == without_whitespace(cleaned),
               "decode(encode(x)) != clean(x): '" + decoded + "' vs '" + cleaned + "'");
  });

  fuzz::guard([&] { FUZZ_CHECK(fuzz::valid_utf8(text::ftfy_fix_text(input)), "ftfy_fix_text output is not UTF-8"); });
  fuzz::guard([&] {
    const std::string collapsed = text::collapse_whitespace(input);
    FUZZ_CHECK(fuzz::valid_utf8(collapsed), "collapse_whitespace output is not UTF-8");
    FUZZ_CHECK(collapsed.empty() || (collapsed.front() != ' ' && collapsed.back() != ' '), "unstripped ends");
  });
  fuzz::guard([&] {
    const std::string lower = text::unicode_lower(input);
    if (valid) FUZZ_CHECK(fuzz::valid_utf8(lower), "unicode_lower output is not UTF-8");
  });
  return 0;
}
