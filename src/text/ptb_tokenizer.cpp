#include "recap/text/ptb_tokenizer.h"

#include <unicode/locid.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "utf8.h"

namespace recap::text {
namespace {

using detail::decode_utf8;
using detail::encode_utf8;

const std::set<std::string> kRemoved = {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?",
                                        "!",  ",", ":",  "-", "--",    "...",   ";"};
const std::set<std::u32string> kTitles = {U"mr", U"mrs", U"ms", U"dr", U"st", U"jr", U"sr", U"vs", U"etc",
                                          U"inc", U"ltd", U"co", U"mt", U"no", U"prof", U"gen", U"sgt"};
const std::vector<std::u32string> kClitics = {U"'s", U"'re", U"'ve", U"'ll", U"'d", U"'m"};

bool is_letter(char32_t c) { return u_isalpha(static_cast<UChar32>(c)) != 0; }
bool is_digit(char32_t c) { return u_isdigit(static_cast<UChar32>(c)) != 0; }
bool is_space(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0 || c == 0xa0; }

std::u32string lower(const std::u32string& text) {
  icu::UnicodeString s = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                                       static_cast<int32_t>(text.size()));
  s.toLower(icu::Locale::getRoot());
  std::u32string out(static_cast<std::size_t>(s.countChar32()), U'\0');
  UErrorCode status = U_ZERO_ERROR;
  s.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), status);
  return out;
}

// Unicode quotes, dashes and the ellipsis character, read as their ASCII forms.
std::u32string normalise_punctuation(const std::u32string& text) {
  std::u32string out;
  for (char32_t c : text) {
    switch (c) {
      case U'\u201c': case U'\u201d': case U'\u201e': case U'\u00ab': case U'\u00bb': out += U'"'; break;
      case U'\u2018': case U'\u2019': case U'\u201a': out += U'\''; break;
      case U'\u2013': case U'\u2014': case U'\u2015': out += U"--"; break;
      case U'\u2026': out += U"..."; break;
      default: out += c;
    }
  }
  return out;
}

bool starts_with(const std::u32string& s, const std::u32string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::u32string& s, const std::u32string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// u.s. / a.m.: letters each followed by a period.
bool is_letter_period_sequence(const std::u32string& w) {
  if (w.size() < 2 || w.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < w.size(); i += 2)
    if (!is_letter(w[i]) || w[i + 1] != U'.') return false;
  return true;
}

bool is_abbreviation(const std::u32string& w) {
  return is_letter_period_sequence(w) || (ends_with(w, U".") && kTitles.count(w.substr(0, w.size() - 1)) > 0);
}

class Splitter {
 public:
  explicit Splitter(std::vector<std::string>& out) : out_(out) {}

  void chunk(std::u32string w) {
    std::vector<std::string> tail;  // closing punctuation, in reverse
    // Leading punctuation.
    while (!w.empty()) {
      if (w[0] == U'"') { emit("``"); w.erase(0, 1); }
      else if (w[0] == U'(') { emit("-LRB-"); w.erase(0, 1); }
      else if (w[0] == U'[') { emit("-LSB-"); w.erase(0, 1); }
      else if (w[0] == U'{') { emit("-LCB-"); w.erase(0, 1); }
      else if (w[0] == U'$' || w[0] == U'#') { emit(encode_utf8(w.substr(0, 1))); w.erase(0, 1); }
      else if (starts_with(w, U"...")) { emit("..."); w.erase(0, 3); }
      else if (starts_with(w, U"--")) { emit("--"); w.erase(0, 2); }
      else if (w[0] == U'-' && w.size() > 1 && !is_digit(w[1])) { emit("-"); w.erase(0, 1); }
      else if (w[0] == U'\'' && w.size() > 1 && !is_clitic(w)) { emit("`"); w.erase(0, 1); }
      else if (std::u32string(U",;:!?").find(w[0]) != std::u32string::npos) { emit(encode_utf8(w.substr(0, 1))); w.erase(0, 1); }
      else break;
    }
    // Trailing punctuation.
    while (!w.empty()) {
      const char32_t c = w.back();
      if (c == U'"') { tail.push_back("''"); w.pop_back(); }
      else if (c == U')') { tail.push_back("-RRB-"); w.pop_back(); }
      else if (c == U']') { tail.push_back("-RSB-"); w.pop_back(); }
      else if (c == U'}') { tail.push_back("-RCB-"); w.pop_back(); }
      else if (ends_with(w, U"...")) { tail.push_back("..."); w.resize(w.size() - 3); }
      else if (ends_with(w, U"--")) { tail.push_back("--"); w.resize(w.size() - 2); }
      else if (c == U'-' && w.size() > 1) { tail.push_back("-"); w.pop_back(); }
      else if (std::u32string(U",;:!?%").find(c) != std::u32string::npos) { tail.push_back(encode_utf8(w.substr(w.size() - 1))); w.pop_back(); }
      else if (c == U'\'' && w.size() > 1 && !ends_with(w, U"n'") ) { tail.push_back("'"); w.pop_back(); }
      else if (c == U'.' && w.size() > 1 && !is_abbreviation(w)) { tail.push_back("."); w.pop_back(); }
      else break;
    }
    if (!w.empty()) middle(w);
    for (auto it = tail.rbegin(); it != tail.rend(); ++it) emit(*it);
  }

 private:
  bool is_clitic(const std::u32string& w) const {
    for (const auto& c : kClitics)
      if (w == c) return true;
    return false;
  }

  // A word without edge punctuation: inner punctuation and clitics.
  void middle(const std::u32string& w) {
    // Split at inner punctuation that is not part of a number or dotted word.
    for (std::size_t i = 0; i < w.size(); ++i) {
      const char32_t c = w[i];
      const bool digits_around = i > 0 && i + 1 < w.size() && is_digit(w[i - 1]) && is_digit(w[i + 1]);
      for (const std::u32string mark : {U"...", U"--"})
        if (i > 0 && starts_with(w.substr(i), mark)) {
          middle_piece(w.substr(0, i));
          emit(encode_utf8(mark));
          if (i + mark.size() < w.size()) chunk(w.substr(i + mark.size()));
          return;
        }
      if ((c == U',' || c == U':') && !digits_around) return split_at(w, i);
      if (c == U';' || c == U'!' || c == U'?' || c == U'"' || c == U'(' || c == U')' || c == U'[' || c == U']' ||
          c == U'{' || c == U'}')
        return split_at(w, i);
    }
    middle_piece(w);
  }

  void split_at(const std::u32string& w, std::size_t i) {
    if (i > 0) chunk(w.substr(0, i));
    chunk(w.substr(i, 1));
    if (i + 1 < w.size()) chunk(w.substr(i + 1));
  }

  // Clitics. (CoreNLP 3.4.1, which pycocoevalcap ships, leaves "cannot", "gonna" and
  // the like whole; later versions split them.)
  void middle_piece(const std::u32string& w) {
    if (w.empty()) return;
    if (w.size() > 3 && ends_with(w, U"n't")) {
      emit(encode_utf8(w.substr(0, w.size() - 3)));
      emit("n't");
      return;
    }
    for (const auto& clitic : kClitics)
      if (w.size() > clitic.size() && ends_with(w, clitic) && is_letter(w[w.size() - clitic.size() - 1])) {
        emit(encode_utf8(w.substr(0, w.size() - clitic.size())));
        emit(encode_utf8(clitic));
        return;
      }
    emit(encode_utf8(w));
  }

  void emit(const std::string& token) {
    if (!token.empty()) out_.push_back(token);
  }

  std::vector<std::string>& out_;
};

}  // namespace

std::vector<std::string> ptb_tokens(const std::string& caption) {
  std::u32string text;
  std::size_t bad = 0;
  if (!decode_utf8(caption, text, &bad))
    throw std::invalid_argument("invalid UTF-8 at byte " + std::to_string(bad));
  text = normalise_punctuation(lower(text));
  std::vector<std::string> tokens;
  Splitter splitter(tokens);
  std::u32string word;
  for (char32_t c : text) {
    if (is_space(c)) {
      if (!word.empty()) splitter.chunk(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) splitter.chunk(word);
  return tokens;
}

std::string ptb_tokenize(const std::string& caption) {
  std::string out;
  for (const auto& token : ptb_tokens(caption)) {
    if (kRemoved.count(token)) continue;
    if (!out.empty()) out += ' ';
    out += token;
  }
  return out;
}

}  // namespace recap::text
