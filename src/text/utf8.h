#pragma once
// UTF-8 <-> UTF-32 for the text layer (private to src/text). Decoding is strict, as
// Python's: no overlong forms, no surrogates, nothing above U+10FFFF.
#include <string>
#include <string_view>

namespace recap::text::detail {

// Returns false and the offset of the first bad byte when `in` is not UTF-8.
bool decode_utf8(std::string_view in, std::u32string& out, std::size_t* bad_offset = nullptr);
void append_utf8(char32_t c, std::string& out);
std::string encode_utf8(std::u32string_view in);

}  // namespace recap::text::detail
