#include "utf8.h"

namespace recap::text::detail {

bool decode_utf8(std::string_view in, std::u32string& out, std::size_t* bad_offset) {
  out.clear();
  out.reserve(in.size());
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const std::size_t n = in.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char b = s[i];
    int length = 0;
    char32_t c = 0;
    char32_t minimum = 0;
    if (b < 0x80) { out.push_back(b); ++i; continue; }
    if ((b & 0xE0) == 0xC0) { length = 2; c = b & 0x1F; minimum = 0x80; }
    else if ((b & 0xF0) == 0xE0) { length = 3; c = b & 0x0F; minimum = 0x800; }
    else if ((b & 0xF8) == 0xF0) { length = 4; c = b & 0x07; minimum = 0x10000; }
    else { if (bad_offset) *bad_offset = i; return false; }
    if (i + length > n) { if (bad_offset) *bad_offset = i; return false; }
    for (int k = 1; k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) { if (bad_offset) *bad_offset = i; return false; }
      c = (c << 6) | (s[i + k] & 0x3F);
    }
    if (c < minimum || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    out.push_back(c);
    i += length;
  }
  return true;
}

void append_utf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char32_t c : in) append_utf8(c, out);
  return out;
}

}  // namespace recap::text::detail
