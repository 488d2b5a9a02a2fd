// A port of the rules of Stanford CoreNLP 3.4.1's PTBLexer (JFlex, %caseless) that matter
// for image captions, with the options pycocoevalcap runs it with (defaults + tokenizeNLs,
// then -lowerCase on the printed tokens). Like JFlex, every rule is tried at the current
// position; the longest match wins (a rule's trailing context counts towards its length),
// ties go to the rule listed first. Literal strings are case-insensitive, character
// classes are not (JFlex's %caseless semantics).
//
// | rule (3.4.1 name)            | example input          | tokens                    |
// |------------------------------|------------------------|---------------------------|
// | whitespace, NBSP, U+2000-200A| "a  dog"               | a dog                     |
// | WORD (unicode letters/digits,| "café", "dog.cat"      | café, dog.cat             |
// |   internal [.!?]+letter)     |                        |                           |
// | WORD/REDAUX clitics          | "dog's" "they're" "I'll" "we'd" "I've" "I'm" | dog 's, they 're, ...|
// | SWORD/SREDAUX n't            | "don't" "can't" "won't"| do n't, ca n't, wo n't    |
// | cannot / gonna gotta lemme gimme wanna | "cannot" "gonna" | can not, gon na    |
// | curly apostrophes            | "dog’s" "don’t"        | dog 's, do n't            |
// | APOWORD (subset)             | "'90s" "o'clock"       | '90s, o'clock             |
// | NUMBER                       | "3.5" "1,000" "-5" "4:45" | kept whole             |
// | HTHING / THING hyphenation   | "t-shirt" "20-year-old" "x_y" | kept whole         |
// | THING3 slashes               | "and/or" "black/white" | kept whole                |
// | DATE, FRAC                   | "12/25/2014" "3 1/2"   | kept whole (space->NBSP)  |
// | FRAC2                        | "½"                    | 1/2                       |
// | DOLSIGN, DOLSIGN2            | "$5" "US$5" "£5" "€5" "5¢" | $ 5, US$ 5, # 5, $ 5, 5 cents |
// | % and other MISCSYMBOL       | "40%" "a+b" "&"        | 40 %, a + b, &            |
// | &amp; / &quot; / &mdash;     |                        | &, quotes, --             |
// | THINGA                       | "AT&T"                 | AT&T                      |
// | ABBREV1/2/3, ACRONYM         | "mr." "st." "u.s." "etc." "no. 5" | mr. st. u.s. etc. no. 5 |
// |   (single letter + period)   | "vitamin c."           | vitamin c.                |
// | WORD\./INSENTP               | "etc.," "dog.,"        | etc. , / dog. ,           |
// | sentence-final period        | "a dog."               | a dog .                   |
// | ? ! runs, ellipsis           | "wow!!" "so..." "so…"  | wow !!, so ..., so ...    |
// | hyphen runs                  | "-" "--" "---" "----"  | - -- -- --  (5+ kept as is)|
// | quotes (latexQuotes)         | "\"hi\"" "'hi'" “hi”   | `` hi '' / ` hi ' / `` hi ''|
// | brackets                     | ( ) [ ] { }            | -LRB- -RRB- -LSB- -RSB- -LCB- -RCB- |
// | smileys                      | ":)" ";-("             | :-RRB- ;--LRB-            |
// | TWITTER, FILENAME, FULLURL   | "@bob" "#tbt" "a.jpg" "http://x.org/a" | kept whole |
// | untokenizable (emoji, ...)   | "dog 🐶"               | dog (character deleted)   |
//
// pycocoevalcap then lower-cases every token (so "-LRB-" prints as "-lrb-") and drops
// '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ; by exact string comparison:
// bracket tokens therefore survive as -lrb- -rrb- -lsb- -rsb- -lcb- -rcb-.
//
// Known differences from the Java lexer (none occur in COCO/Flickr captions we checked):
// - not ported: SGML tags, EMAIL, LIKELYURL (bare "www.x.com"), PHONE numbers, ASIANSMILEY,
//   TBSPEC (literal "-LRB-" in input, "S&P-500", "Cap'n"), the pty./co. ltd rule, the
//   rarer APOWORD forms (French l'/d' elisions, "Dunkin'", "y'all"), HTML entities other
//   than &amp; &quot; &mdash; &ndash;.
// - LETTER is Java's isLetter plus combining marks (Mn/Mc/Me) and U+00AD, instead of the
//   lexer's explicit list of extra ranges; Unicode tables are ICU's, not JFlex 1.4's.
// - pycocoevalcap replaces only "\n" inside a caption by a space; a "\r", U+2028/2029,
//   \v or \f would become a line break for the Java tool and shift every later caption
//   onto the wrong image. We replace those by spaces too.
#include "recap/text/ptb_tokenizer.h"

#include "recap/common/parallel.h"
#include "utf8.h"

#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/locid.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace recap::text {
namespace {

using Text = std::u32string;

// ---------------------------------------------------------------- UTF-8 <-> UTF-32

// The text layer's strict UTF-8 codec (utf8.h), in the shapes this file uses.
Text decode_utf8(std::string_view s) {
  Text out;
  std::size_t bad = 0;
  if (!detail::decode_utf8(s, out, &bad))
    throw std::invalid_argument("invalid UTF-8 at byte offset " + std::to_string(bad));
  return out;
}

void append_utf8(std::string& out, char32_t cp) { detail::append_utf8(cp, out); }

std::string encode_utf8(const Text& t, std::size_t begin, std::size_t end) {
  end = std::min(end, t.size());
  if (begin >= end) return {};
  return detail::encode_utf8(std::u32string_view(t).substr(begin, end - begin));
}

// ---------------------------------------------------------------- character classes

// ASCII, nearly every character of a caption, is classified inline; ICU's tables answer
// the same for it, and calling them for every character was a tenth of the lexer's time.
bool ascii_alpha(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ascii_alnum(char32_t c) { return ascii_alpha(c) || (c >= '0' && c <= '9'); }
bool java_letter(char32_t c) { return c < 0x80 ? ascii_alpha(c) : u_isalpha(static_cast<UChar32>(c)); }  // [:letter:]
bool digit(char32_t c) { return c < 0x80 ? c >= '0' && c <= '9' : u_isdigit(static_cast<UChar32>(c)); }  // [:digit:]
bool upper(char32_t c) { return c < 0x80 ? c >= 'A' && c <= 'Z' : u_isupper(static_cast<UChar32>(c)); }  // [:uppercase:]

// {LETTER}: letters plus the marks and modifier ranges the lexer adds (none in ASCII).
bool letter(char32_t c) {
  if (c < 0x80) return ascii_alpha(c);
  if (java_letter(c) || c == 0x00AD) return true;
  int type = u_charType(static_cast<UChar32>(c));
  return type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK || type == U_ENCLOSING_MARK ||
         (c >= 0x0237 && c <= 0x024F) || (c >= 0x02C2 && c <= 0x02C5) || (c >= 0x02D2 && c <= 0x02DF) ||
         (c >= 0x02E5 && c <= 0x02FF);
}
bool letter_or_digit(char32_t c) { return letter(c) || digit(c); }
bool jletter_or_digit(char32_t c) { return java_letter(c) || digit(c); }

bool space(char32_t c) { return c == ' ' || c == '\t' || c == 0x00A0 || (c >= 0x2000 && c <= 0x200A) || c == 0x3000; }
bool newline(char32_t c) { return c == '\r' || c == '\n' || c == 0x2028 || c == 0x2029 || c == 0x0B || c == 0x0C || c == 0x85; }
bool space_nl(char32_t c) { return space(c) || newline(c); }
bool apos(char32_t c) { return c == '\'' || c == 0x0092 || c == 0x2019; }                        // {APOS}
bool apos_etc(char32_t c) { return apos(c) || c == '`' || c == 0x0091 || c == 0x2018 || c == 0x201B; }  // {APOSETCETERA}
bool hyphen_char(char32_t c) { return c == '-' || c == '_' || c == 0x058A || c == 0x2010 || c == 0x2011; }
bool insentp(char32_t c) { return c == ',' || c == ';' || c == ':' || c == 0x3001; }
// ASCII case folding by hand: std::tolower is a call per character into libc (a third of
// recap-score's tokenising time) and follows the C locale, where the Java lexer's rules do not.
constexpr char32_t ascii_lower(char32_t c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; }
bool lower_ascii_eq(char32_t a, char b) {  // caseless literal comparison
  return a < 128 && ascii_lower(a) == ascii_lower(static_cast<unsigned char>(b));
}

bool misc_symbol(char32_t c) {
  static const std::array<std::pair<char32_t, char32_t>, 48> ranges = {{
      {'+', '+'}, {'%', '%'}, {'&', '&'}, {'~', '~'}, {'^', '^'}, {'|', '|'}, {'\\', '\\'}, {0xA6, 0xA6},
      {0xA7, 0xA7}, {0xA8, 0xA8}, {0xA9, 0xA9}, {0xAC, 0xAC}, {0xAE, 0xAE}, {0xAF, 0xAF}, {0xB0, 0xBA},
      {0xD7, 0xD7}, {0xF7, 0xF7}, {0x387, 0x387}, {0x5BE, 0x5BE}, {0x5C0, 0x5C0}, {0x5C3, 0x5C3},
      {0x5C6, 0x5C6}, {0x5F3, 0x5F4}, {0x600, 0x603}, {0x606, 0x60A}, {0x60C, 0x60C}, {0x614, 0x614},
      {0x61B, 0x61B}, {0x61E, 0x61E}, {0x66A, 0x66A}, {0x66D, 0x66D}, {0x703, 0x70D}, {0x7F6, 0x7F8},
      {0x964, 0x965}, {0xE4F, 0xE4F}, {0x1FBD, 0x1FBD}, {0x2016, 0x2017}, {0x2020, 0x2023},
      {0x2030, 0x2038}, {0x203B, 0x203B}, {0x203E, 0x2042}, {0x2044, 0x2044}, {0x207A, 0x207F},
      {0x208A, 0x208E}, {0x2100, 0x214F}, {0x2190, 0x2BFF}, {0x3012, 0x3012}, {0x30FB, 0x30FB},
  }};
  for (auto [lo, hi] : ranges)
    if (c >= lo && c <= hi) return true;
  return (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
         (c >= 0xFF5B && c <= 0xFF65);
}

// ---------------------------------------------------------------- the lexer

// One rule's match at the current position: `total` counts trailing context (used to
// pick the longest match), `consume` is what the token takes.
struct Match {
  std::size_t total = 0;
  std::size_t consume = 0;
  std::string text;         // normalised token text; empty: the source text
  bool emit = true;         // false: skip (whitespace, untokenizable)
  bool newline = false;
};

class Lexer {
 public:
  explicit Lexer(Text text) : s_(std::move(text)) {}

  // Tokens up to (not past) `limit` characters; tokens never cross the limit because the
  // caller puts a line break there.
  std::vector<std::string> run(std::size_t limit) {
    std::vector<std::string> tokens;
    std::size_t pos = 0;
    while (pos < limit) {
      Match best = best_match(pos);
      if (best.consume == 0) best.consume = 1;  // cannot happen; guards against a loop
      if (best.emit && !best.newline)
        tokens.push_back(best.text.empty() ? encode_utf8(s_, pos, pos + best.consume) : std::move(best.text));
      pos += best.consume;
    }
    return tokens;
  }

 private:
  const Text s_;

  char32_t at(std::size_t i) const { return i < s_.size() ? s_[i] : 0; }
  bool has(std::size_t i) const { return i < s_.size(); }

  // Caseless literal at i: returns its length or 0. A '!' before a character makes that
  // character case-sensitive (the lexer's one-letter classes such as [M]ass).
  std::size_t literal(std::size_t i, std::string_view lit) const {
    std::size_t k = i;
    for (std::size_t j = 0; j < lit.size(); ++j) {
      if (!has(k)) return 0;
      if (lit[j] == '!') {
        ++j;
        if (s_[k] != static_cast<char32_t>(lit[j])) return 0;
      } else if (!lower_ascii_eq(s_[k], lit[j])) {
        return 0;
      }
      ++k;
    }
    return k - i;
  }
  std::size_t longest_literal(std::size_t i, std::initializer_list<std::string_view> lits) const {
    std::size_t best = 0;
    for (auto lit : lits) best = std::max(best, literal(i, lit));
    return best;
  }

  // An abbreviation rule's literals, with the most code points a match of one spans (its
  // length in bytes bounds them).
  struct Abbreviations {
    std::vector<std::string_view> literals;
    std::size_t reach = 0;
    Abbreviations(std::initializer_list<std::string_view> list) : literals(list) {
      for (auto lit : literals) reach = std::max(reach, lit.size());
    }
  };

  // The longest of `lits` that is followed by a period (its length without the period).
  std::size_t longest_literal_before_dot(std::size_t i, const Abbreviations& lits) const {
    // Most words have no period within reach: then none matches, and the lists (up to
    // ~100 literals) need not be tried.
    bool dot = false;
    for (std::size_t k = i + 1; k <= i + lits.reach && has(k) && !dot; ++k) dot = s_[k] == '.';
    if (!dot) return 0;
    std::size_t best = 0;
    for (auto lit : lits.literals) {
      std::size_t n = literal(i, lit);
      if (n && at(i + n) == '.') best = std::max(best, n);
    }
    return best;
  }

  template <class Pred>
  std::size_t run_of(std::size_t i, Pred pred) const {
    std::size_t k = i;
    while (has(k) && pred(s_[k])) ++k;
    return k - i;
  }

  // {WORD} = {LETTER}({LETTER}|{DIGIT})*([.!?]{LETTER}({LETTER}|{DIGIT})*)*
  std::size_t word(std::size_t i) const {
    if (!has(i) || !letter(s_[i])) return 0;
    std::size_t k = i + 1 + run_of(i + 1, letter_or_digit);
    while (has(k + 1) && (s_[k] == '.' || s_[k] == '!' || s_[k] == '?') && letter(s_[k + 1]))
      k = k + 2 + run_of(k + 2, letter_or_digit);
    return k - i;
  }
  // {REDAUX} = {APOS}([msdMSD]|re|ve|ll)
  std::size_t redaux(std::size_t i) const {
    if (!apos(at(i))) return 0;
    std::size_t two = longest_literal(i + 1, {"re", "ve", "ll"});
    if (two) return 1 + two;
    char32_t c = at(i + 1);
    return (c == 'm' || c == 's' || c == 'd' || c == 'M' || c == 'S' || c == 'D') ? 2 : 0;
  }
  // {SREDAUX} = n{APOSETCETERA}t
  std::size_t sredaux(std::size_t i) const {
    return lower_ascii_eq(at(i), 'n') && apos_etc(at(i + 1)) && lower_ascii_eq(at(i + 2), 't') ? 3 : 0;
  }
  // {SWORD} = [A-Za-z\u00AD]*[A-MO-Za-mo-z](\u00AD)*, longest one followed by n't.
  std::size_t sword_before_nt(std::size_t i) const {
    std::size_t run = run_of(i, [](char32_t c) { return ascii_alpha(c) || c == 0xAD; });
    for (std::size_t len = run; len > 0; --len) {
      std::size_t end = i + len;
      if (!sredaux(end)) continue;
      std::size_t k = end;
      while (k > i && s_[k - 1] == 0xAD) --k;
      if (k > i && ascii_alpha(s_[k - 1]) && s_[k - 1] != 'n' && s_[k - 1] != 'N') return len;
    }
    return 0;
  }
  // {NUM} = {DIGIT}+|{DIGIT}*([.:,\u00AD\u066B\u066C]{DIGIT}+)+ ; {NUMBER} = [\-+]?{NUM}
  std::size_t number(std::size_t i) const {
    std::size_t k = i;
    if (at(k) == '-' || at(k) == '+') ++k;
    std::size_t start = k;
    k += run_of(k, digit);
    auto sep = [](char32_t c) { return c == '.' || c == ':' || c == ',' || c == 0xAD || c == 0x66B || c == 0x66C; };
    while (sep(at(k)) && digit(at(k + 1))) k = k + 1 + run_of(k + 1, digit);
    return k > start ? k - i : 0;
  }
  // {DATE} = {DIGIT}{1,2}[\-\/]{DIGIT}{1,2}[\-\/]{DIGIT}{2,4}
  std::size_t date(std::size_t i) const {
    std::size_t k = i;
    for (int part = 0; part < 3; ++part) {
      std::size_t n = std::min<std::size_t>(run_of(k, digit), part == 2 ? 4 : 2);
      if (n < (part == 2 ? 2u : 1u)) return 0;
      if (part < 2 && run_of(k, digit) > 2) return 0;
      k += n;
      if (part < 2) {
        if (at(k) != '-' && at(k) != '/') return 0;
        ++k;
      }
    }
    return k - i;
  }
  // {FRAC} = ({DIGIT}{1,4}[- \u00A0])?{DIGIT}{1,4}(\\?\/|\u2044){DIGIT}{1,4}
  std::size_t frac_core(std::size_t i) const {
    std::size_t a = std::min<std::size_t>(run_of(i, digit), 4);
    if (a == 0 || digit(at(i + a))) return 0;
    std::size_t k = i + a;
    if (at(k) == '\\' && at(k + 1) == '/') k += 2;
    else if (at(k) == '/' || at(k) == 0x2044) k += 1;
    else return 0;
    std::size_t b = std::min<std::size_t>(run_of(k, digit), 4);
    return b ? k + b - i : 0;
  }
  std::size_t frac(std::size_t i) const {
    std::size_t best = frac_core(i);
    std::size_t a = run_of(i, digit);
    if (a >= 1 && a <= 4 && (at(i + a) == '-' || at(i + a) == ' ' || at(i + a) == 0xA0)) {
      std::size_t rest = frac_core(i + a + 1);
      if (rest) best = std::max(best, a + 1 + rest);
    }
    return best;
  }
  // {THING} = ([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+
  //           ({HYPHEN}([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+)*
  std::size_t thing_part(std::size_t i) const {
    std::size_t k = i;
    char32_t c = at(k);
    bool elision = (c == 'd' || c == 'D' || c == 'o' || c == 'O' || c == 'l' || c == 'L') && apos_etc(at(k + 1)) &&
                   jletter_or_digit(at(k + 2));
    if (elision) k += 2;
    std::size_t n = run_of(k, jletter_or_digit);
    return n ? k + n - i : 0;
  }
  std::size_t thing(std::size_t i) const {
    std::size_t k = i + thing_part(i);
    if (k == i) return 0;
    while (hyphen_char(at(k))) {
      std::size_t n = thing_part(k + 1);
      if (!n) break;
      k += 1 + n;
    }
    return k - i;
  }
  // {ACRO2} = [A-Za-z](\.[A-Za-z])+  (the U.S. compounds are not ported)
  std::size_t acro2(std::size_t i) const {
    if (!ascii_alpha(at(i))) return 0;
    std::size_t k = i + 1;
    while (at(k) == '.' && ascii_alpha(at(k + 1))) k += 2;
    return k - i >= 3 ? k - i : 0;
  }
  // {HTHING} = [A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|{ACRO2}\.))+
  std::size_t hthing(std::size_t i) const {
    if (!ascii_alnum(at(i))) return 0;
    std::size_t k = i + 1 + run_of(i + 1, [](char32_t c) { return ascii_alnum(c) || c == '.' || c == ',' || c == 0xAD; });
    std::size_t segments = 0;
    while (at(k) == '-') {
      std::size_t plain = run_of(k + 1, [](char32_t c) { return ascii_alnum(c) || c == 0xAD; });
      std::size_t acro = acro2(k + 1);
      if (acro && at(k + 1 + acro) == '.') acro += 1;
      else acro = 0;
      std::size_t n = std::max(plain, acro);
      if (!n) break;
      k += 1 + n;
      ++segments;
    }
    return segments ? k - i : 0;
  }
  // {THINGA} = [A-Z]+(([+&]|{SPAMP})[A-Z]+)+
  std::size_t thinga(std::size_t i) const {
    auto caps = [](char32_t c) { return c >= 'A' && c <= 'Z'; };
    std::size_t k = i + run_of(i, caps);
    if (k == i) return 0;
    std::size_t groups = 0;
    for (;;) {
      std::size_t join = (at(k) == '+' || at(k) == '&') ? 1 : literal(k, "&amp;");
      if (!join) break;
      std::size_t n = run_of(k + join, caps);
      if (!n) break;
      k += join + n;
      ++groups;
    }
    return groups ? k - i : 0;
  }
  // {THING3} = [A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?\/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}
  std::size_t thing3_part(std::size_t i) const {
    std::size_t k = i + run_of(i, ascii_alnum);
    if (k == i) return 0;
    for (int h = 0; h < 2 && at(k) == '-'; ++h) {
      std::size_t n = run_of(k + 1, ascii_alpha);
      if (!n) break;
      k += 1 + n;
    }
    return k - i;
  }
  std::size_t thing3(std::size_t i) const {
    std::size_t k = i + thing3_part(i);
    if (k == i) return 0;
    int slashes = 0;
    while (slashes < 2) {
      std::size_t sl = at(k) == '/' ? 1 : (at(k) == '\\' && at(k + 1) == '/') ? 2 : 0;
      if (!sl) break;
      std::size_t n = thing3_part(k + sl);
      if (!n) break;
      k += sl + n;
      ++slashes;
    }
    return slashes ? k - i : 0;
  }
  // {ACRO} = [A-Za-z](\.[A-Za-z])*
  std::size_t acro(std::size_t i) const {
    if (!ascii_alpha(at(i))) return 0;
    std::size_t k = i + 1;
    while (at(k) == '.' && ascii_alpha(at(k + 1))) k += 2;
    return k - i;
  }
  // {ABBREV1} without its period.
  std::size_t abbrev1_stem(std::size_t i) const {
    static const Abbreviations abbrev1 = {"Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "Mon", "Tue",
            "Tues", "Wed", "Thu", "Thurs", "Fri", "Ala", "Ariz", "!Az", "!Ark", "Calif", "Colo", "Conn", "Ct",
            "Dak", "!Del", "Fla", "Ga", "!Ill", "Ind", "Kan", "Kans", "Ky", "!La", "!Mass", "Md", "Mich", "Minn",
            "!Miss", "Mo", "Mont", "Neb", "Nev", "Okla", "!Ore", "!Pa", "Penn", "Tenn", "!Tex", "Va", "Vt",
            "!Wash", "Wis", "Wisc", "Wyo", "Inc", "Co", "Cos", "Corp", "Pty", "Pte", "Ptys", "Ptes", "Ppty",
            "Ppte", "Pptys", "Pptes", "Ltd", "Plc", "Rt", "Bancorp", "Bhd", "Assn", "Univ", "Intl", "Sys", "tel",
            "est", "ext", "sq", "Jr", "Sr", "Bros", "Ed.D", "Ph.D", "Blvd", "Rd", "Esq", "etc", "al", "seq",
            "Bldg"};
    return longest_literal_before_dot(i, abbrev1);
  }
  // {ABBREV4} (the stem of ABBREV2).
  std::size_t abbrev4(std::size_t i) const {
    static const Abbreviations abbrev4 = {"Mr", "Mrs", "Ms", "!Miss", "Dr", "Drs", "Prof", "Profs", "Sen", "Sens", "Rep", "Reps", "Atty",
            "Attys", "Lt", "Col", "Gen", "Messrs", "Gov", "Govs", "Adm", "Rev", "Maj", "Sgt", "Cpl", "Pvt", "Capt",
            "St", "Ste", "Ave", "Pres", "Lieut", "Hon", "Brig", "Cmdr", "Comdr", "Pfc", "Spc", "Supt", "Supts",
            "Det", "Mt", "Ft", "Adj", "Adv", "Asst", "Assoc", "Ens", "Insp", "Mlle", "Mme", "Msgr", "Sfc", "vs",
            "Alex", "Wm", "Jos", "Cie", "a.k.a", "cf", "TREAS", "Ph", "Invt", "Elec", "Natl", "Mfg", "Mtg",
            "Dept"};
    std::size_t best = longest_literal_before_dot(i, abbrev4);
    std::size_t a = acro(i);
    while (a > 0 && at(i + a) != '.') a = a >= 3 ? a - 2 : 0;  // a shorter acronym may precede a period
    return std::max(best, a);
  }
  bool sentend(std::size_t i) const {  // {SENTEND} = {SPACENL}({SPACENL}|[:uppercase:]|{SGML})
    return space_nl(at(i)) && has(i + 1) && (space_nl(s_[i + 1]) || upper(s_[i + 1]) || s_[i + 1] == '<');
  }
  // The ACRONYM rule's right context: {SPACENLS} one of these words {SPACENL}.
  std::size_t acronym_context(std::size_t i) const {
    std::size_t k = i + run_of(i, space_nl);
    if (k == i) return 0;
    std::size_t w = longest_literal(
        k, {"!About", "!According", "!Additionally", "!After", "!An", "!A", "!As", "!At", "!But", "!Earlier",
            "!He", "!Her", "!Here", "!However", "!If", "!In", "!It", "!Last", "!Many", "!More", "!Mr.", "!Ms.",
            "!Now", "!Once", "!One", "!Other", "!Our", "!She", "!Since", "!So", "!Some", "!Such", "!That",
            "!The", "!Their", "!Then", "!There", "!These", "!They", "!This", "!We", "!When", "!While", "!What",
            "!Yet", "!You"});
    if (!w || !space_nl(at(k + w))) return 0;
    return k + w + 1 - i;
  }
  std::size_t twitter(std::size_t i) const {
    if (at(i) == '@') {
      auto first = [](char32_t c) { return ascii_alpha(c) || c == '_'; };
      if (!first(at(i + 1))) return 0;
      return 2 + run_of(i + 2, [](char32_t c) { return ascii_alnum(c) || c == '_'; });
    }
    if (at(i) == '#') {
      std::size_t n = run_of(i + 1, letter);
      return n ? 1 + n : 0;
    }
    return 0;
  }
  std::size_t filename(std::size_t i) const {
    static const std::initializer_list<std::string_view> ext = {
        "bat", "bmp", "c", "class", "cgi", "cpp", "dll", "doc", "docx", "exe", "gif", "gz", "h", "htm", "html",
        "jar", "java", "jpeg", "jpg", "mov", "mp3", "pdf", "php", "pl", "png", "ppt", "ps", "py", "sql", "tar",
        "txt", "wav", "x", "xml", "zip"};
    std::size_t k = i + run_of(i, letter_or_digit);
    if (k == i) return 0;
    std::size_t best = 0;
    for (;;) {  // each ".part" could be the extension
      if (at(k) != '.') break;
      std::size_t n = run_of(k + 1, letter_or_digit);
      if (!n) break;
      for (auto e : ext) {
        if (e.size() == n && literal(k + 1, e) == n) {
          char32_t after = at(k + 1 + n);
          if (has(k + 1 + n) && (space_nl(after) || after == '.' || after == '?' || after == '!' || after == ','))
            best = k + 1 + n + 1 - i;  // + trailing context
        }
      }
      k += 1 + n;
    }
    return best;
  }
  std::size_t full_url(std::size_t i) const {
    std::size_t p = literal(i, "https://");
    if (!p) p = literal(i, "http://");
    if (!p) return 0;
    auto body = [](char32_t c) {
      return !(c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '"' || c == '<' || c == '>' ||
               c == '|' || c == '(' || c == ')' || c == '{' || c == '}');
    };
    std::size_t k = i + p + run_of(i + p, body);
    auto last_ok = [](char32_t c) { return !(c == '.' || c == '!' || c == '?' || c == ',' || c == '-'); };
    while (k > i + p + 1 && !last_ok(s_[k - 1])) --k;
    return k > i + p + 1 ? k - i : 0;
  }

  // ---- rule table: candidates in the lexer's rule order

  Match best_match(std::size_t i) const {
    Match best;
    // A plain space starts no rule but the whitespace one (every other rule needs a
    // letter, digit, symbol or quote first): about half of a caption's positions.
    if (s_[i] == ' ') {
      best.total = best.consume = 1;
      best.emit = false;
      return best;
    }
    // Keeps the longest candidate; a tie goes to the rule offered first. A rule's token text
    // (a string literal, or a function making it) is made only when the rule wins: most
    // offers lose, and building their strings eagerly was most of the lexer's time.
    auto offer_text = [&](std::size_t total, std::size_t consume, auto&& text, bool emit = true, bool nl = false) {
      if (total <= best.total) return;
      best.total = total;
      best.consume = consume;
      best.emit = emit;
      best.newline = nl;
      if constexpr (std::is_invocable_v<decltype(text)>) best.text = text();
      else best.text = text;
    };
    auto offer = [&](std::size_t total, std::size_t consume) { offer_text(total, consume, ""); };
    const char32_t c = s_[i];

    // cannot, 'twas, 'tis, gonna|gotta|lemme|gimme|wanna: split assimilations.
    {
      std::size_t n = literal(i, "cannot");
      offer(n, n ? 3 : 0);
      n = literal(i, "'twas");
      offer(n, n ? 2 : 0);
      n = literal(i, "'tis");
      offer(n, n ? 2 : 0);
      n = longest_literal(i, {"gonna", "gotta", "lemme", "gimme", "wanna"});
      offer(n, n ? 3 : 0);
    }
    // {SPMDASH}
    {
      std::size_t n = longest_literal(i, {"&MD;", "&mdash;", "&ndash;"});
      if (!n && (c == 0x96 || c == 0x97 || c == 0x2013 || c == 0x2014 || c == 0x2015)) n = 1;
      offer_text(n, n, "--");
    }
    // {SPAMP}
    {
      std::size_t n = literal(i, "&amp;");
      offer_text(n, n, "&");
    }
    // {WORD}/{REDAUX}, {SWORD}/{SREDAUX}, {WORD}
    const std::size_t w = word(i);
    {
      std::size_t r = w ? redaux(i + w) : 0;
      offer_text(r ? w + r : 0, w, [&] { return strip_soft_hyphens(i, w); });
      std::size_t sw = sword_before_nt(i);
      offer_text(sw ? sw + 3 : 0, sw, [&] { return strip_soft_hyphens(i, sw); });
      offer_text(w, w, [&] { return strip_soft_hyphens(i, w); });
    }
    // {APOWORD} (subset): {APOS}[2-9]0s, [A-HJ-XZn]{APOSETCETERA}[:letter:]{2}[:letter:]*
    {
      std::size_t n = 0;
      if (apos(c) && at(i + 1) >= '2' && at(i + 1) <= '9' && at(i + 2) == '0' && lower_ascii_eq(at(i + 3), 's')) n = 4;
      bool lead = (c >= 'A' && c <= 'H') || (c >= 'J' && c <= 'X') || c == 'Z' || lower_ascii_eq(c, 'n');
      if (lead && apos_etc(at(i + 1))) {
        std::size_t l = run_of(i + 2, java_letter);
        if (l >= 2) n = std::max(n, 2 + l);
      }
      offer(n, n);
    }
    // {FULLURL}
    {
      std::size_t n = full_url(i);
      offer(n, n);
    }
    // {TWITTER}
    {
      std::size_t n = twitter(i);
      offer(n, n);
    }
    // {REDAUX}/[^A-Za-z], {SREDAUX}/[^A-Za-z]: clitics, quotes normalised to '
    {
      std::size_t r = redaux(i);
      bool ctx = r && has(i + r) && !ascii_alpha(s_[i + r]);
      offer_text(ctx ? r + 1 : 0, r, [&] { return "'" + encode_utf8(s_, i + 1, i + r); });
      std::size_t sr = sredaux(i);
      ctx = sr && has(i + sr) && !ascii_alpha(s_[i + sr]);
      offer_text(ctx ? sr + 1 : 0, sr, [&] { return encode_utf8(s_, i, i + 1) + "'" + encode_utf8(s_, i + 2, i + 3); });
    }
    // {DATE}, {NUMBER}, {FRAC}, {FRAC2}
    {
      std::size_t n = date(i);
      offer(n, n);
      n = number(i);
      offer_text(n, n, [&] { return strip_soft_hyphens(i, n); });
      n = frac(i);
      offer_text(n, n, [&] {
        std::string t;
        for (std::size_t k = i; k < i + n; ++k) append_utf8(t, s_[k] == ' ' ? char32_t(0xA0) : s_[k]);
        return t;
      });
      const char* f = c == 0xBC ? "1/4" : c == 0xBD ? "1/2" : c == 0xBE ? "3/4" : c == 0x2153 ? "1/3" : c == 0x2154 ? "2/3" : nullptr;
      bool other_frac = c >= 0x2155 && c <= 0x215E;
      offer_text(f || other_frac ? 1 : 0, 1, f ? f : "");
    }
    // {THING3}
    {
      std::size_t n = thing3(i);
      offer(n, n);
    }
    // {DOLSIGN} = ([A-Z]*\$|#), {DOLSIGN2} (currency, normalised)
    {
      std::size_t caps = run_of(i, [](char32_t ch) { return ch >= 'A' && ch <= 'Z'; });
      std::size_t n = at(i + caps) == '$' ? caps + 1 : (c == '#' ? 1 : 0);
      offer(n, n);
      static const char32_t cur[] = {0xA2, 0xA3, 0xA4, 0xA5, 0x80, 0x20A0, 0x20AC, 0x60B, 0xE3F, 0x20A4, 0xFFE0, 0xFFE1, 0xFFE5, 0xFFE6};
      if (std::find(std::begin(cur), std::end(cur), c) != std::end(cur)) {
        const char* t = c == 0xA2 ? "cents" : c == 0xA3 ? "#" : (c == 0x80 || c == 0xA4 || c == 0x20A0 || c == 0x20AC) ? "$" : "";
        offer_text(1, 1, t);
      } else {
        offer(0, 0);
      }
    }
    // {ACRONYM}/({SPACENLS})(About|...){SPACENL}: a lone letter gives back its period.
    {
      std::size_t a = acro(i);
      if (a && at(i + a) == '.') {
        std::size_t ctx = acronym_context(i + a + 1);
        offer(ctx ? a + 1 + ctx : 0, a + 1 == 2 ? 1 : a + 1);
      } else {
        offer(0, 0);
      }
    }
    // {ABBREV3}/{SPACENL}?[:digit:]
    {
      static const Abbreviations abbrev3 = {"ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op"};
      std::size_t n = longest_literal_before_dot(i, abbrev3);
      std::size_t total = 0;
      if (n && at(i + n) == '.') {
        std::size_t k = i + n + 1;
        if (space_nl(at(k))) ++k;
        if (digit(at(k))) total = k + 1 - i;
      }
      offer(total, n + 1);
    }
    // {ABBREV1}/{SENTEND}, {ABBREV1}/[^][^], {ABBREV1} (the extra period it may return is
    // punctuation that pycocoevalcap drops, so it is not reproduced)
    {
      std::size_t n = abbrev1_stem(i);
      bool dot = n && at(i + n) == '.';
      std::size_t len = dot ? n + 1 : 0;
      offer(len && sentend(i + len) ? len + 2 : 0, len);
      offer(len && has(i + len + 1) ? len + 2 : 0, len);
      offer(len, len);
    }
    // {ABBREV2} = {ABBREV4}\.  ; {ACRO}/{SPACENL}
    {
      std::size_t n = abbrev4(i);
      offer(n && at(i + n) == '.' ? n + 1 : 0, n + 1);
      std::size_t a = acro(i);
      offer(a && has(i + a) && space_nl(s_[i + a]) ? a + 1 : 0, a);
    }
    // {FILENAME}/({SPACENL}|[.?!,])
    {
      std::size_t n = filename(i);
      offer(n, n ? n - 1 : 0);
    }
    // {WORD}\./{INSENTP}
    offer_text(w && at(i + w) == '.' && insentp(at(i + w + 1)) ? w + 2 : 0, w + 1,
               [&] { return strip_soft_hyphens(i, w + 1); });
    // {DBLQUOT}/[A-Za-z0-9$], {DBLQUOT}
    {
      std::size_t n = c == '"' ? 1 : literal(i, "&quot;");
      bool left = n && (ascii_alnum(at(i + n)) || at(i + n) == '$') && has(i + n);
      offer_text(left ? n + 1 : 0, n, "``");
      offer_text(n, n, "''");
    }
    // {LESSTHAN}, {GREATERTHAN}
    {
      std::size_t n = c == '<' ? 1 : literal(i, "&lt;");
      offer_text(n, n, "<");
      n = c == '>' ? 1 : literal(i, "&gt;");
      offer_text(n, n, ">");
    }
    // {SMILEY}/[^A-Za-z0-9] = [<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]]
    {
      std::size_t k = i;
      if (at(k) == '<' || at(k) == '>') ++k;
      std::size_t n = 0;
      if (at(k) == ':' || at(k) == ';' || at(k) == '=') {
        ++k;
        auto mouth = [](char32_t ch) {
          return ch == '(' || ch == ')' || ch == 'D' || ch == 'P' || ch == 'd' || ch == 'p' || ch == 'O' ||
                 ch == '\\' || ch == '{' || ch == '@' || ch == '|' || ch == '[' || ch == ']';
        };
        for (std::size_t nose = 0; nose <= 1 && !n; ++nose) {
          std::size_t m = k;
          if (nose) {
            if (at(m) == '-' || at(m) == 'o' || at(m) == '*' || at(m) == '\'') ++m;
            else break;
          }
          if (mouth(at(m)) && has(m + 1) && !ascii_alnum(s_[m + 1])) n = m + 1 - i;
        }
      }
      offer_text(n ? n + 1 : 0, n, [&] {
        std::string t;
        for (std::size_t q = i; q < i + n; ++q) {
          if (s_[q] == '(') t += "-LRB-";
          else if (s_[q] == ')') t += "-RRB-";
          else append_utf8(t, s_[q]);
        }
        return t;
      });
    }
    // brackets
    offer_text(c == '{', 1, "-LCB-");
    offer_text(c == '}', 1, "-RCB-");
    offer_text(c == '[', 1, "-LSB-");
    offer_text(c == ']', 1, "-RSB-");
    offer_text(c == '(', 1, "-LRB-");
    offer_text(c == ')', 1, "-RRB-");
    // {HYPHENS}: 3 or 4 hyphens become --
    {
      std::size_t n = run_of(i, [](char32_t ch) { return ch == '-'; });
      offer_text(n, n, n >= 3 && n <= 4 ? "--" : "");
    }
    // {LDOTS} = \.{3,5}|(\.[ \u00A0]){2,4}\.|[\u0085\u2026]
    {
      std::size_t n = std::min<std::size_t>(run_of(i, [](char32_t ch) { return ch == '.'; }), 5);
      if (n < 3) n = 0;
      std::size_t spaced = 0;
      for (std::size_t reps = 1; reps <= 4; ++reps) {
        std::size_t k = i + 2 * reps;
        bool ok = true;
        for (std::size_t r = 0; r < reps; ++r)
          ok = ok && at(i + 2 * r) == '.' && (at(i + 2 * r + 1) == ' ' || at(i + 2 * r + 1) == 0xA0);
        if (ok && reps >= 2 && at(k) == '.') spaced = k + 1 - i;
        if (!ok) break;
      }
      n = std::max(n, spaced);
      if (c == 0x85 || c == 0x2026) n = std::max<std::size_t>(n, 1);
      offer_text(n, n, "...");
    }
    // {FNMARKS} = @+|#+|_+ ; {ASTS} = \*+
    {
      for (char32_t mark : {U'@', U'#', U'_', U'*'}) {
        std::size_t n = run_of(i, [mark](char32_t ch) { return ch == mark; });
        offer(n, n);
      }
    }
    offer(insentp(c), 1);                                                       // {INSENTP}
    offer(run_of(i, [](char32_t ch) { return ch == '?' || ch == '!'; }), run_of(i, [](char32_t ch) { return ch == '?' || ch == '!'; }));
    offer(c == '.' || c == 0xA1 || c == 0xBF || c == 0x37E || c == 0x589 || c == 0x61F || c == 0x6D4 ||
              (c >= 0x700 && c <= 0x702) || c == 0x7FA || c == 0x3002,
          1);
    offer(c == '=', 1);
    offer(c == '/', 1);
    // {HTHING}\./{INSENTP}, {HTHING}, {THING}\./{INSENTP}, {THING}, {THINGA}\./{INSENTP}, {THINGA}
    {
      std::size_t n = hthing(i);
      offer_text(n && at(i + n) == '.' && insentp(at(i + n + 1)) ? n + 2 : 0, n + 1,
                 [&] { return strip_soft_hyphens(i, n + 1); });
      offer_text(n, n, [&] { return strip_soft_hyphens(i, n); });
      n = thing(i);
      offer(n && at(i + n) == '.' && insentp(at(i + n + 1)) ? n + 2 : 0, n + 1);
      offer(n, n);
      n = thinga(i);
      offer_text(n && at(i + n) == '.' && insentp(at(i + n + 1)) ? n + 2 : 0, n + 1,
                 [&] { return amp_normalised(i, n + 1); });
      offer_text(n, n, [&] { return amp_normalised(i, n); });
    }
    // '/[A-Za-z][^ \t\n\r\u00A0]: an opening single quote
    offer_text(c == '\'' && ascii_alpha(at(i + 1)) && has(i + 2) &&
                  !(at(i + 2) == ' ' || at(i + 2) == '\t' || at(i + 2) == '\n' || at(i + 2) == '\r' || at(i + 2) == 0xA0)
              ? 3
              : 0,
          1, "`");
    // {REDAUX}, {SREDAUX} at the end of the text
    {
      std::size_t r = redaux(i);
      offer_text(r, r, [&] { return "'" + encode_utf8(s_, i + 1, i + r); });
      std::size_t sr = sredaux(i);
      offer_text(sr, sr, [&] { return encode_utf8(s_, i, i + 1) + "'" + encode_utf8(s_, i + 2, i + 3); });
    }
    // {QUOTES} = {APOS}|''|[`‘’‚‛“”\u0091-\u0094„‟‹›«»]{1,2}  (latexQuotes, "right" reading)
    {
      auto quote = [](char32_t ch) {
        return ch == '`' || ch == 0x2018 || ch == 0x2019 || ch == 0x201A || ch == 0x201B || ch == 0x201C ||
               ch == 0x201D || (ch >= 0x91 && ch <= 0x94) || ch == 0x201E || ch == 0x201F || ch == 0x2039 ||
               ch == 0x203A || ch == 0xAB || ch == 0xBB;
      };
      std::size_t n = 0;
      if (apos(c)) n = 1;
      if (c == '\'' && at(i + 1) == '\'') n = 2;
      if (quote(c)) n = std::max<std::size_t>(n, quote(at(i + 1)) ? 2 : 1);
      offer_text(n, n, [&] {
        std::string t;
        for (std::size_t k = i; k < i + n; ++k) {
          char32_t q = s_[k];
          if (q == '\'' || q == 0x92 || q == 0x2019 || q == 0x203A) t += "'";
          else if (q == 0x91 || q == 0x2018 || q == 0x201B || q == 0x2039) t += "`";
          else if (q == 0x93 || q == 0x201C || q == 0xAB) t += "``";
          else if (q == 0x94 || q == 0x201D || q == 0xBB) t += "''";
          else append_utf8(t, q);
        }
        return t;
      });
    }
    // {FAKEDUCKFEET}, {MISCSYMBOL}
    offer((c == '<' && at(i + 1) == '<') || (c == '>' && at(i + 1) == '>') ? 2 : 0, 2);
    offer(misc_symbol(c), 1);
    // whitespace and zero-width characters are skipped; newlines end a caption
    offer_text(c == 0 || space(c) || c == 0x200B || c == 0x200E || c == 0x200F || c == 0xFEFF ? 1 : 0, 1, "", false);
    if (c == '\r' && at(i + 1) == '\n') offer_text(2, 2, "", true, true);
    else offer_text(newline(c), 1, "", true, true);
    // anything else is untokenizable and deleted (the "firstDelete" default)
    offer_text(1, 1, "", false);
    return best;
  }

  std::string strip_soft_hyphens(std::size_t i, std::size_t n) const {
    if (n == 0) return {};
    std::string out;
    bool any = false;
    for (std::size_t k = i; k < i + n && k < s_.size(); ++k) {
      if (s_[k] == 0xAD) {
        any = true;
        continue;
      }
      append_utf8(out, s_[k]);
    }
    if (!any) return {};  // the source text as is
    return out.empty() ? "-" : out;
  }
  std::string amp_normalised(std::size_t i, std::size_t n) const {
    std::string out;
    for (std::size_t k = i; k < i + n;) {
      std::size_t amp = literal(k, "&amp;");
      if (amp) {
        out += '&';
        k += amp;
      } else {
        append_utf8(out, s_[k]);
        ++k;
      }
    }
    return out;
  }
};

Text caption_text(std::string_view caption) {
  Text t = decode_utf8(caption);
  for (char32_t& c : t)
    if (c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x0B || c == 0x0C) c = ' ';
  return t;
}

}  // namespace

std::vector<std::string> ptb_tokens(std::string_view text, std::string_view following) {
  Text t = caption_text(text);
  const std::size_t limit = t.size();
  if (!following.empty()) {
    t.push_back('\n');
    Text next = caption_text(following);
    t.insert(t.end(), next.begin(), next.end());
  }
  return Lexer(std::move(t)).run(limit);
}

std::string lowercase_english(std::string_view token) {
  // ASCII text, nearly every caption token, lowers the same in every locale.
  if (std::all_of(token.begin(), token.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string out(token);
    for (char& c : out) c = static_cast<char>(ascii_lower(static_cast<unsigned char>(c)));
    return out;
  }
  icu::UnicodeString u = icu::UnicodeString::fromUTF8(icu::StringPiece(token.data(), static_cast<int32_t>(token.size())));
  u.toLower(icu::Locale::getEnglish());
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool is_coco_punctuation(std::string_view token) {
  static const std::string_view punct[] = {"''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".",
                                           "?",  "!", ",",  ":", "-",     "--",    "...",   ";"};
  return std::find(std::begin(punct), std::end(punct), token) != std::end(punct);
}

std::string coco_tokenize(std::string_view caption, std::string_view following) {
  std::string out;
  for (const std::string& token : ptb_tokens(caption, following)) {
    std::string lower = lowercase_english(token);
    if (is_coco_punctuation(lower)) continue;
    if (!out.empty()) out += ' ';
    out += lower;
  }
  return out;
}

std::vector<std::string> coco_tokenize_all(const std::vector<std::string>& captions, int threads) {
  std::vector<std::string> out(captions.size());
  // Captions are independent given their successor, so contiguous ranges run in parallel;
  // an invalid caption's error from the earliest range is the one rethrown.
  parallel_ranges(static_cast<std::int64_t>(captions.size()), threads, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i)
      out[i] = coco_tokenize(captions[i], i + 1 < captions.size() ? std::string_view(captions[i + 1]) : std::string_view());
  });
  return out;
}

}  // namespace recap::text
