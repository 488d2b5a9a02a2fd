// BLEU and CIDEr-D split captions into words as pycocoevalcap does, with Python's
// str.split(): every character str.isspace() is true for separates, Unicode's included,
// and nothing else does. The lists below are Python 3's own answer
// ([hex(c) for c in range(0x110000) if chr(c).isspace()]).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "recap/metrics/text_metrics.h"

using namespace recap;

namespace {

// BLEU-4 of a candidate against one reference, and CIDEr-D over two images (CIDEr-D
// needs more than one image for its document frequencies).
double bleu4(const std::string& candidate, const std::string& reference) {
  return metrics::bleu({{candidate, {reference}}})[3].corpus;
}

std::string utf8(char32_t c) {
  std::string s;
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xc0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    s += static_cast<char>(0xe0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    s += static_cast<char>(0x80 | (c & 0x3f));
  }
  return s;
}

}  // namespace

TEST(WordSplitting, EveryCharacterPythonCallsWhitespaceSeparatesWords) {
  const std::string reference = "a brown dog runs on grass";
  const double same = bleu4(reference, reference);
  ASSERT_GT(same, 0.99);
  const std::vector<char32_t> python_whitespace = {
      0x9,    0xa,    0xb,    0xc,    0xd,    0x1c,   0x1d,   0x1e,   0x1f,   0x20,   0x85,   0xa0,   0x1680, 0x2000, 0x2001,
      0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000};
  for (char32_t c : python_whitespace) {
    const std::string space = utf8(c);
    const std::string candidate = "a" + space + "brown dog" + space + space + "runs on grass" + space;
    EXPECT_DOUBLE_EQ(bleu4(candidate, reference), same) << "U+" << std::hex << static_cast<unsigned>(c);
  }
}

TEST(WordSplitting, CharactersNearTheWhitespaceCodesDoNotSeparate) {
  // Neighbours of the whitespace code points, sharing their leading UTF-8 bytes: U+0084,
  // U+00A1, U+1681, U+200B (zero width space: not whitespace to Python), U+2019, U+2030,
  // U+205E, U+3001, and the ASCII controls just outside the ranges.
  for (char32_t c : {0x8, 0xe, 0x1b, 0x84, 0xa1, 0x1681, 0x200b, 0x2019, 0x2030, 0x205e, 0x3001}) {
    const std::string glued = "brown" + utf8(c) + "dog";
    // As one word, the glued pair matches a reference that has it, and no reference that splits it.
    EXPECT_GT(bleu4("a " + glued + " runs on grass", "a " + glued + " runs on grass"), 0.99) << std::hex << static_cast<unsigned>(c);
    EXPECT_LT(bleu4("a " + glued + " runs on grass", "a brown dog runs on grass"), 0.5) << std::hex << static_cast<unsigned>(c);
  }
}

TEST(WordSplitting, CiderSplitsTheSameWay) {
  const std::vector<metrics::ImageCaptions> plain = {{"a brown dog runs", {"a brown dog runs", "a dog on grass"}},
                                                     {"two cats sleep", {"two cats sleep on a bed", "cats asleep"}}};
  auto spaced = plain;
  spaced[0].candidate = "a" + utf8(0x3000) + "brown\tdog" + utf8(0xa0) + "runs";
  spaced[1].references[0] = "two cats" + utf8(0x2028) + "sleep on a bed";
  EXPECT_DOUBLE_EQ(metrics::cider_d(spaced).corpus, metrics::cider_d(plain).corpus);
}
