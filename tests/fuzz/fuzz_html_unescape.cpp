// Python's html.unescape as recap::text::html_unescape (include/recap/text/clip_text.h):
// named references with the longest-prefix rule, decimal and hex references, the HTML5
// remapping table. Checked properties: text without '&' comes back unchanged; valid UTF-8
// gives valid UTF-8; the output stays within a generous bound (8 x input + 64 bytes: no
// reference expands that much) and can be unescaped again (basic_clean does it twice).
// Documented refusals: recap::InputError (invalid UTF-8, checked only when there is an '&').
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "recap/text/clip_text.h"

using namespace recap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  fuzz::guard([&] {
    const std::string out = text::html_unescape(input);
    if (input.find('&') == std::string_view::npos) FUZZ_CHECK(out == input, "text without '&' changed");
    FUZZ_CHECK(fuzz::valid_utf8(out) || !fuzz::valid_utf8(input), "valid UTF-8 in, invalid out");
    FUZZ_CHECK(out.size() <= 8 * input.size() + 64, "output of " + std::to_string(out.size()) + " bytes");
    // CLIP's basic_clean runs it twice.
    (void)text::html_unescape(out);
  });
  return 0;
}
