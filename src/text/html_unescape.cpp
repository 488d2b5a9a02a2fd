// Python's html.unescape, to the character: CLIP's basic_clean runs it twice.
#include <algorithm>
#include <cstring>
#include <string>

#include "recap/text/clip_text.h"
#include "utf8.h"

namespace recap::text {
namespace {

struct HtmlEntity {
  const char* name;
  const char* value;
};
struct InvalidCharref {
  char32_t number;
  char32_t replacement;
};
#include "html_entities.inc"

const char* find_entity(std::string_view name) {
  auto begin = std::begin(kHtmlEntities), end = std::end(kHtmlEntities);
  auto it = std::lower_bound(begin, end, name,
                             [](const HtmlEntity& e, std::string_view key) { return std::string_view(e.name) < key; });
  return (it != end && std::string_view(it->name) == name) ? it->value : nullptr;
}

bool is_hex(char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char32_t c) { return c <= '9' ? int(c - '0') : (c | 0x20) - 'a' + 10; }
bool ends_name(char32_t c) {
  return c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';';
}

// A numeric reference's replacement as html._replace_charref gives it.
void append_charref(std::uint64_t number, std::string& out) {
  for (const auto& entry : kInvalidCharrefs) {
    if (entry.number == number) { detail::append_utf8(entry.replacement, out); return; }
  }
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
    detail::append_utf8(0xFFFD, out);
    return;
  }
  if (std::find(std::begin(kInvalidCodepoints), std::end(kInvalidCodepoints), number) != std::end(kInvalidCodepoints)) {
    return;
  }
  detail::append_utf8(static_cast<char32_t>(number), out);
}

}  // namespace

// Exposed to clip_text.cpp for ftfy's own (semicolon-only) entity pass.
const char* html5_entity(std::string_view name) { return find_entity(name); }
bool is_c1_remapped(char32_t c, char32_t* replacement) {
  if (c < 0x80 || c > 0x9F) return false;
  for (const auto& entry : kInvalidCharrefs) {
    if (entry.number == c) { *replacement = entry.replacement; return true; }
  }
  return false;
}

std::string html_unescape(std::string_view text) {
  if (text.find('&') == std::string_view::npos) return std::string(text);
  std::u32string s;
  std::size_t bad = 0;
  if (!detail::decode_utf8(text, s, &bad)) check_utf8(text, "text");
  std::string out;
  out.reserve(text.size());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (s[i] != '&') { detail::append_utf8(s[i++], out); continue; }
    std::size_t j = i + 1;
    if (j < n && s[j] == '#') {
      const bool hex = j + 1 < n && (s[j + 1] == 'x' || s[j + 1] == 'X');
      // '#' then decimal digits is tried first, as in the reference pattern.
      std::size_t k = j + 1;
      if (k < n && s[k] >= '0' && s[k] <= '9') {
        std::uint64_t number = 0;
        while (k < n && s[k] >= '0' && s[k] <= '9') {
          number = std::min<std::uint64_t>(number * 10 + (s[k] - '0'), 0x7FFFFFFF);
          ++k;
        }
        if (k < n && s[k] == ';') ++k;
        append_charref(number, out);
        i = k;
        continue;
      }
      if (hex && j + 2 < n && is_hex(s[j + 2])) {
        k = j + 2;
        std::uint64_t number = 0;
        while (k < n && is_hex(s[k])) {
          number = std::min<std::uint64_t>(number * 16 + hex_value(s[k]), 0x7FFFFFFF);
          ++k;
        }
        if (k < n && s[k] == ';') ++k;
        append_charref(number, out);
        i = k;
        continue;
      }
      out.push_back('&');
      ++i;
      continue;
    }
    std::size_t k = j;
    while (k < n && k - j < 32 && !ends_name(s[k])) ++k;
    if (k == j) { out.push_back('&'); ++i; continue; }
    if (k < n && s[k] == ';') ++k;
    const std::u32string_view name(s.data() + j, k - j);
    const std::string name_utf8 = detail::encode_utf8(name);
    if (const char* value = find_entity(name_utf8)) {
      out += value;
    } else {
      // The longest prefix (at least two characters) that is an entity, rest kept.
      bool found = false;
      for (std::size_t x = name.size() - 1; x >= 2 && x < name.size(); --x) {
        if (const char* value = find_entity(detail::encode_utf8(name.substr(0, x)))) {
          out += value;
          out += detail::encode_utf8(name.substr(x));
          found = true;
          break;
        }
      }
      if (!found) {
        out.push_back('&');
        out += name_utf8;
      }
    }
    i = k;
  }
  return out;
}

}  // namespace recap::text
