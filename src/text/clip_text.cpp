// CLIP's text cleaning (OpenAI simple_tokenizer.py: basic_clean, whitespace_clean, lower)
// with Unicode properties, NFC and case mapping from ICU.
#include "recap/text/clip_text.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <stdexcept>

#include "recap/common/error.h"
#include "utf8.h"

namespace recap::text {

// html_unescape.cpp
const char* html5_entity(std::string_view name);
bool is_c1_remapped(char32_t c, char32_t* replacement);

namespace {

std::u32string decode_or_throw(std::string_view text) {
  std::u32string s;
  if (!detail::decode_utf8(text, s)) check_utf8(text, "text");
  return s;
}

// str.isspace(): general category Zs, or bidirectional class WS, B or S.
bool is_python_space(char32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) return true;
  if (c < 0x80) return c >= 0x1C && c <= 0x1F;
  if (u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR) return true;
  const UCharDirection d = u_charDirection(static_cast<UChar32>(c));
  return d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR;
}

std::string icu_to_utf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

const icu::Normalizer2& normalizer(bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = compatibility ? icu::Normalizer2::getNFKCInstance(status)
                                            : icu::Normalizer2::getNFCInstance(status);
  if (U_FAILURE(status) || n == nullptr) throw std::runtime_error("ICU normaliser unavailable: " + std::string(u_errorName(status)));
  return *n;
}

std::string normalize(std::string_view text, bool compatibility) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeString in = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  icu::UnicodeString out = normalizer(compatibility).normalize(in, status);
  if (U_FAILURE(status)) throw std::runtime_error("ICU normalisation failed: " + std::string(u_errorName(status)));
  return icu_to_utf8(out);
}

// ftfy.fixes.unescape_html: only complete "&...;" references, HTML5 names (and upper-case
// forms of lower-case names), numeric ones only when html.unescape consumes the ';'.
std::string ftfy_unescape_html(const std::u32string& s) {
  std::string out;
  const std::size_t n = s.size();
  std::size_t i = 0;
  auto is_alnum = [](char32_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  while (i < n) {
    if (s[i] == '&') {
      std::size_t j = i + 1;
      if (j < n && s[j] == '#') ++j;
      std::size_t k = j;
      while (k < n && k - j < 24 && is_alnum(s[k])) ++k;
      if (k > j && k < n && s[k] == ';') {
        const std::string ref = detail::encode_utf8(std::u32string_view(s.data() + i, k + 1 - i));
        std::string replacement = ref;
        if (const char* value = html5_entity(ref.substr(1))) {
          replacement = value;
        } else if (ref[1] == '#') {
          const std::string unescaped = html_unescape(ref);
          if (unescaped.find(';') == std::string::npos) replacement = unescaped;
        } else {
          icu::UnicodeString name = icu::UnicodeString::fromUTF8(ref.substr(1));
          icu::UnicodeString lower = name;
          lower.toLower(icu::Locale::getRoot());
          const char* value = html5_entity(icu_to_utf8(lower));
          icu::UnicodeString upper = lower;
          upper.toUpper(icu::Locale::getRoot());
          if (value && upper == name && html_unescape(ref) == ref) {
            icu::UnicodeString v = icu::UnicodeString::fromUTF8(value);
            v.toUpper(icu::Locale::getRoot());
            replacement = icu_to_utf8(v);
          }
        }
        out += replacement;
        i = k + 1;
        continue;
      }
    }
    detail::append_utf8(s[i++], out);
  }
  return out;
}

// ftfy's character-level fixes, in fix_text's order.
std::u32string ftfy_character_fixes(const std::u32string& s) {
  std::u32string out;
  out.reserve(s.size());
  const std::size_t n = s.size();
  for (std::size_t i = 0; i < n; ++i) {
    char32_t c = s[i];
    // remove_terminal_escapes: ESC [ (digits|;)* letter
    if (c == 0x1B && i + 1 < n && s[i + 1] == '[') {
      std::size_t k = i + 2;
      while (k < n && ((s[k] >= '0' && s[k] <= '9') || s[k] == ';')) ++k;
      if (k < n && ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z'))) {
        i = k;
        continue;
      }
    }
    // fix_c1_controls: C1 controls read as Windows-1252.
    char32_t replacement = 0;
    if (is_c1_remapped(c, &replacement)) c = replacement;
    // fix_latin_ligatures
    switch (c) {
      case 0x0132: out += U"IJ"; continue;
      case 0x0133: out += U"ij"; continue;
      case 0x0149: out += U"'n"; continue;  // U+02BC n, then uncurl_quotes
      case 0x01F1: out += U"DZ"; continue;
      case 0x01F2: out += U"Dz"; continue;
      case 0x01F3: out += U"dz"; continue;
      case 0x01C4: out += U"D\u017D"; continue;
      case 0x01C5: out += U"D\u017E"; continue;
      case 0x01C6: out += U"d\u017E"; continue;
      case 0x01C7: out += U"LJ"; continue;
      case 0x01C8: out += U"Lj"; continue;
      case 0x01C9: out += U"lj"; continue;
      case 0x01CA: out += U"NJ"; continue;
      case 0x01CB: out += U"Nj"; continue;
      case 0x01CC: out += U"nj"; continue;
      case 0xFB00: out += U"ff"; continue;
      case 0xFB01: out += U"fi"; continue;
      case 0xFB02: out += U"fl"; continue;
      case 0xFB03: out += U"ffi"; continue;
      case 0xFB04: out += U"ffl"; continue;
      case 0xFB05: out += U"\u017Ft"; continue;
      case 0xFB06: out += U"st"; continue;
      default: break;
    }
    // fix_character_width: full-width and half-width forms to their NFKC equivalents.
    if (c == 0x3000) { out.push_back(' '); continue; }
    if (c >= 0xFF01 && c <= 0xFFEF) {
      std::u32string wide;
      detail::decode_utf8(normalize(detail::encode_utf8(std::u32string(1, c)), true), wide);
      out += wide;
      continue;
    }
    // uncurl_quotes
    if (c == 0x02BC || (c >= 0x2018 && c <= 0x201B)) { out.push_back('\''); continue; }
    if (c >= 0x201C && c <= 0x201F) { out.push_back('"'); continue; }
    // fix_line_breaks
    if (c == '\r') {
      out.push_back('\n');
      if (i + 1 < n && s[i + 1] == '\n') ++i;
      continue;
    }
    if (c == 0x2028 || c == 0x2029 || c == 0x85) { out.push_back('\n'); continue; }
    // remove_control_chars
    if (c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
        c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC)) {
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void check_utf8(std::string_view text, std::string_view what) {
  std::u32string decoded;
  std::size_t bad = 0;
  if (!detail::decode_utf8(text, decoded, &bad)) {
    throw InputError(std::string(what) + ": not valid UTF-8 (byte offset " + std::to_string(bad) + ")");
  }
}

std::string ftfy_fix_text(std::string_view text) {
  std::u32string s = decode_or_throw(text);
  if (text.find('<') == std::string_view::npos && text.find('&') != std::string_view::npos) {
    s = decode_or_throw(ftfy_unescape_html(s));
  }
  return normalize(detail::encode_utf8(ftfy_character_fixes(s)), false);
}

std::string collapse_whitespace(std::string_view text) {
  const std::u32string s = decode_or_throw(text);
  std::u32string out;
  out.reserve(s.size());
  bool pending_space = false;
  for (char32_t c : s) {
    if (is_python_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return detail::encode_utf8(out);
}

std::string unicode_lower(std::string_view text) {
  icu::UnicodeString s = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  s.toLower(icu::Locale::getRoot());
  return icu_to_utf8(s);
}

std::string clip_clean_text(std::string_view text) {
  check_utf8(text, "text");
  // basic_clean's final strip() is subsumed by whitespace_clean's.
  const std::string cleaned = html_unescape(html_unescape(ftfy_fix_text(text)));
  return unicode_lower(collapse_whitespace(cleaned));
}

}  // namespace recap::text
