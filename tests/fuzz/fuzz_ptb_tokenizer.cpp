// The PTB tokenizer of the metrics (include/recap/text/ptb_tokenizer.h) on the input as
// text. The input is cut at '\0' bytes into captions: ptb_tokens() and coco_tokenize() see
// the first caption with the second as their right context, coco_tokenize_all() sees them
// all. Checked properties: no empty token, none reaching into the next caption; output
// valid UTF-8 (the input was); one output per caption; coco_tokenize_all()'s first
// result equals coco_tokenize(first, second).
// Documented refusals: std::invalid_argument on invalid UTF-8 (ptb_tokenizer.h).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "recap/text/clip_text.h"
#include "recap/text/ptb_tokenizer.h"

using namespace recap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  std::vector<std::string> captions;
  for (std::size_t from = 0;;) {
    const auto cut = input.find('\0', from);
    captions.emplace_back(input.substr(from, cut == std::string_view::npos ? std::string_view::npos : cut - from));
    if (cut == std::string_view::npos) break;
    from = cut + 1;
  }
  const std::string_view first = captions[0];
  const std::string_view second = captions.size() > 1 ? std::string_view(captions[1]) : std::string_view();

  fuzz::guard_invalid_argument([&] {
    for (const std::string& token : text::ptb_tokens(first, second)) {
      FUZZ_CHECK(!token.empty(), "empty token");
      // The only '\n' is the one ptb_tokens() puts between the caption and its context.
      FUZZ_CHECK(token.find('\n') == std::string::npos, "token '" + token + "' crosses into the next caption");
      FUZZ_CHECK(fuzz::valid_utf8(token), "token is not UTF-8");
      (void)text::is_coco_punctuation(text::lowercase_english(token));
    }
  });
  fuzz::guard_invalid_argument([&] {
    const auto all = text::coco_tokenize_all(captions);
    FUZZ_CHECK(all.size() == captions.size(), "one result per caption");
    for (const auto& line : all) FUZZ_CHECK(fuzz::valid_utf8(line), "result is not UTF-8");
    FUZZ_CHECK(all[0] == text::coco_tokenize(first, second), "coco_tokenize_all differs from coco_tokenize");
  });
  return 0;
}
