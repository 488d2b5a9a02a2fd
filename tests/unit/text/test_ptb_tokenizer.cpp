// Each rule of the PTB port with its output written out by hand from the rules of
// CoreNLP 3.4.1's PTBLexer.flex and pycocoevalcap's ptbtokenizer.py (lower-case, then drop
// '' ' `` ` -LRB- -RRB- -LCB- -RCB- . ? ! , : - -- ... ;).
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "recap/io/json_file.h"
#include "recap/text/ptb_tokenizer.h"
#include "test_support.h"

namespace recap::text {
namespace {

using Tokens = std::vector<std::string>;

TEST(PtbTokens, SplitsSentenceFinalPunctuationAndCommas) {
  EXPECT_EQ(ptb_tokens("A dog, running."), (Tokens{"A", "dog", ",", "running", "."}));
  EXPECT_EQ(coco_tokenize("A dog, running."), "a dog running");
  EXPECT_EQ(coco_tokenize("Is it a cat? Yes!"), "is it a cat yes");
  EXPECT_EQ(coco_tokenize("two dogs; one cat: fun"), "two dogs one cat fun");
}

TEST(PtbTokens, Clitics) {
  EXPECT_EQ(ptb_tokens("the dog's ball"), (Tokens{"the", "dog", "'s", "ball"}));
  EXPECT_EQ(ptb_tokens("they're here"), (Tokens{"they", "'re", "here"}));
  EXPECT_EQ(ptb_tokens("we'll go"), (Tokens{"we", "'ll", "go"}));
  EXPECT_EQ(ptb_tokens("I'd say I've I'm"), (Tokens{"I", "'d", "say", "I", "'ve", "I", "'m"}));
  EXPECT_EQ(ptb_tokens("don't can't won't"), (Tokens{"do", "n't", "ca", "n't", "wo", "n't"}));
  // a clitic at the very end of the text (the lexer's plain {REDAUX} rule)
  EXPECT_EQ(ptb_tokens("it's"), (Tokens{"it", "'s"}));
  // curly apostrophes are normalised to '
  EXPECT_EQ(ptb_tokens("dog\xE2\x80\x99s ball"), (Tokens{"dog", "'s", "ball"}));
  EXPECT_EQ(ptb_tokens("don\xE2\x80\x99t"), (Tokens{"do", "n't"}));
  EXPECT_EQ(coco_tokenize("The Dog's"), "the dog 's");
}

TEST(PtbTokens, SplitAssimilations) {
  EXPECT_EQ(ptb_tokens("cannot gonna wanna"), (Tokens{"can", "not", "gon", "na", "wan", "na"}));
  EXPECT_EQ(ptb_tokens("cannoli"), (Tokens{"cannoli"}));
}

TEST(PtbTokens, ApostropheWords) {
  EXPECT_EQ(ptb_tokens("five o'clock"), (Tokens{"five", "o'clock"}));
  EXPECT_EQ(ptb_tokens("the '90s style"), (Tokens{"the", "'90s", "style"}));
}

TEST(PtbTokens, QuotesBecomeLatexQuotesAndAreDropped) {
  EXPECT_EQ(ptb_tokens("a \"big\" dog"), (Tokens{"a", "``", "big", "''", "dog"}));
  EXPECT_EQ(ptb_tokens("a 'big' dog"), (Tokens{"a", "`", "big", "'", "dog"}));
  EXPECT_EQ(ptb_tokens("a \xE2\x80\x9C" "big\xE2\x80\x9D dog"), (Tokens{"a", "``", "big", "''", "dog"}));
  EXPECT_EQ(ptb_tokens("the dogs' toys"), (Tokens{"the", "dogs", "'", "toys"}));
  EXPECT_EQ(coco_tokenize("a \"big\" 'red' dog"), "a big red dog");
}

TEST(PtbTokens, BracketsSurviveLowerCasedAsInPycocoevalcap) {
  EXPECT_EQ(ptb_tokens("a dog (brown) [x] {y}"),
            (Tokens{"a", "dog", "-LRB-", "brown", "-RRB-", "-LSB-", "x", "-RSB-", "-LCB-", "y", "-RCB-"}));
  // pycocoevalcap compares with "-LRB-" after lower-casing, so the names stay.
  EXPECT_EQ(coco_tokenize("a dog (brown)"), "a dog -lrb- brown -rrb-");
}

TEST(PtbTokens, HyphenatedWordsAndNumbersStayWhole) {
  EXPECT_EQ(ptb_tokens("a t-shirt and a 20-year-old man"), (Tokens{"a", "t-shirt", "and", "a", "20-year-old", "man"}));
  EXPECT_EQ(ptb_tokens("a well-known x-ray."), (Tokens{"a", "well-known", "x-ray", "."}));
  EXPECT_EQ(ptb_tokens("3-4 people"), (Tokens{"3-4", "people"}));
  EXPECT_EQ(ptb_tokens("caf\xC3\xA9-bar"), (Tokens{"caf\xC3\xA9-bar"}));  // THING: unicode letters
  EXPECT_EQ(ptb_tokens("snake_case"), (Tokens{"snake_case"}));
  // free-standing hyphens and dashes
  EXPECT_EQ(ptb_tokens("a - b -- c --- d ----- e"), (Tokens{"a", "-", "b", "--", "c", "--", "d", "-----", "e"}));
  EXPECT_EQ(ptb_tokens("a \xE2\x80\x94 b"), (Tokens{"a", "--", "b"}));
  EXPECT_EQ(coco_tokenize("a - b --- c"), "a b c");
}

TEST(PtbTokens, Numbers) {
  EXPECT_EQ(ptb_tokens("3.5 1,000 4:45 -5 .5"), (Tokens{"3.5", "1,000", "4:45", "-5", ".5"}));
  EXPECT_EQ(ptb_tokens("the 2nd 1980s"), (Tokens{"the", "2nd", "1980s"}));
  EXPECT_EQ(ptb_tokens("on 12/25/2014"), (Tokens{"on", "12/25/2014"}));
  EXPECT_EQ(ptb_tokens("1/2 cup"), (Tokens{"1/2", "cup"}));
  EXPECT_EQ(ptb_tokens("3 1/2 cups"), (Tokens{"3\xC2\xA0" "1/2", "cups"}));  // space becomes NBSP
  EXPECT_EQ(ptb_tokens("\xC2\xBD cup"), (Tokens{"1/2", "cup"}));
}

TEST(PtbTokens, SlashesCurrencyPercent) {
  EXPECT_EQ(ptb_tokens("black/white and/or"), (Tokens{"black/white", "and/or"}));
  EXPECT_EQ(ptb_tokens("$5 US$5 40%"), (Tokens{"$", "5", "US$", "5", "40", "%"}));
  EXPECT_EQ(ptb_tokens("\xC2\xA3" "5 \xE2\x82\xAC" "5 5\xC2\xA2"), (Tokens{"#", "5", "$", "5", "5", "cents"}));
  EXPECT_EQ(ptb_tokens("a / b"), (Tokens{"a", "/", "b"}));
}

TEST(PtbTokens, AmpersandsAndEntities) {
  EXPECT_EQ(ptb_tokens("salt & pepper"), (Tokens{"salt", "&", "pepper"}));
  EXPECT_EQ(ptb_tokens("salt &amp; pepper"), (Tokens{"salt", "&", "pepper"}));
  EXPECT_EQ(ptb_tokens("AT&T store"), (Tokens{"AT&T", "store"}));
  EXPECT_EQ(ptb_tokens("a &quot;b&quot;"), (Tokens{"a", "``", "b", "''"}));
}

TEST(PtbTokens, EllipsesAndRuns) {
  EXPECT_EQ(ptb_tokens("so... good"), (Tokens{"so", "...", "good"}));
  EXPECT_EQ(ptb_tokens("so\xE2\x80\xA6 good"), (Tokens{"so", "...", "good"}));
  EXPECT_EQ(ptb_tokens("so . . . good"), (Tokens{"so", "...", "good"}));
  EXPECT_EQ(ptb_tokens("wow!! what?!"), (Tokens{"wow", "!!", "what", "?!"}));
  // runs are not in pycocoevalcap's list, so they stay
  EXPECT_EQ(coco_tokenize("wow!! so..."), "wow !! so");
}

TEST(PtbTokens, AbbreviationsKeepTheirPeriod) {
  EXPECT_EQ(ptb_tokens("Mr. Smith on St. Paul st."), (Tokens{"Mr.", "Smith", "on", "St.", "Paul", "st."}));
  EXPECT_EQ(ptb_tokens("in the U.S. today"), (Tokens{"in", "the", "U.S.", "today"}));
  EXPECT_EQ(ptb_tokens("dogs vs. cats"), (Tokens{"dogs", "vs.", "cats"}));
  EXPECT_EQ(ptb_tokens("at 5 p.m. today"), (Tokens{"at", "5", "p.m.", "today"}));
  EXPECT_EQ(ptb_tokens("vitamin c."), (Tokens{"vitamin", "c."}));     // a lone letter is an ACRO
  EXPECT_EQ(ptb_tokens("pens, etc. and"), (Tokens{"pens", ",", "etc.", "and"}));
  EXPECT_EQ(ptb_tokens("pens etc., and"), (Tokens{"pens", "etc.", ",", "and"}));
  EXPECT_EQ(ptb_tokens("no. 5 and no."), (Tokens{"no.", "5", "and", "no", "."}));  // ABBREV3 only before digits
  EXPECT_EQ(coco_tokenize("Mr. Smith."), "mr. smith");
  // ACRONYM before a listed capitalised word: a lone letter gives its period back
  EXPECT_EQ(ptb_tokens("letter A. The end"), (Tokens{"letter", "A", ".", "The", "end"}));
  // ... and that context may come from the next caption of the same run
  EXPECT_EQ(ptb_tokens("the letter A.", "The next caption"), (Tokens{"the", "letter", "A", "."}));
  EXPECT_EQ(ptb_tokens("the letter A.", "the next caption"), (Tokens{"the", "letter", "A."}));
  EXPECT_EQ(coco_tokenize_all({"the letter A.", "The dog."}), (Tokens{"the letter a", "the dog"}));
}

TEST(PtbTokens, WordsWithInternalPunctuation) {
  EXPECT_EQ(ptb_tokens("dog.cat"), (Tokens{"dog.cat"}));
  EXPECT_EQ(ptb_tokens("e.g. this"), (Tokens{"e.g.", "this"}));
  EXPECT_EQ(ptb_tokens("photo.jpg here"), (Tokens{"photo.jpg", "here"}));
  EXPECT_EQ(ptb_tokens("@bob #tbt"), (Tokens{"@bob", "#tbt"}));
  EXPECT_EQ(ptb_tokens("see http://x.org/a."), (Tokens{"see", "http://x.org/a", "."}));
}

TEST(PtbTokens, Smileys) {
  EXPECT_EQ(ptb_tokens("happy :) day"), (Tokens{"happy", ":-RRB-", "day"}));
}

TEST(PtbTokens, UnicodeLettersLowerCasedUntokenizableDeleted) {
  EXPECT_EQ(coco_tokenize("Caf\xC3\xA9 NA\xC3\x8FVE \xC3\x9C" "ber"), "caf\xC3\xA9 na\xC3\xafve \xC3\xbc" "ber");
  EXPECT_EQ(coco_tokenize("\xCE\x9A\xCE\xB1\xCE\xBB\xCE\xB7"), "\xCE\xBA\xCE\xB1\xCE\xBB\xCE\xB7");  // Greek
  EXPECT_EQ(coco_tokenize("\xE7\x8C\xAB on a mat"), "\xE7\x8C\xAB on a mat");  // CJK is a letter
  EXPECT_EQ(coco_tokenize("a dog \xF0\x9F\x90\xB6 runs"), "a dog runs");        // emoji is deleted
  EXPECT_EQ(coco_tokenize("a\xC2\xA0" "dog\xE2\x80\x8B"), "a dog");             // NBSP, zero width space
}

TEST(PtbTokens, LineBreaksInsideACaptionAreSpaces) {
  EXPECT_EQ(coco_tokenize("a dog\nruns\r\nfast"), "a dog runs fast");
}

TEST(PtbTokens, AlreadyTokenisedCaptionsAreUnchanged) {
  EXPECT_EQ(coco_tokenize("a man wearing a hat and glasses"), "a man wearing a hat and glasses");
  EXPECT_EQ(coco_tokenize(""), "");
  EXPECT_EQ(coco_tokenize("..."), "");
}

TEST(PtbTokens, InvalidUtf8IsRefused) {
  EXPECT_THROW(ptb_tokens("a \xC3"), std::invalid_argument);
  EXPECT_THROW(ptb_tokens("a \xFF b"), std::invalid_argument);
  EXPECT_THROW(ptb_tokens("\xC0\xAF"), std::invalid_argument);  // overlong
}

TEST(PtbTokens, RawFlickr30kCaptionsTokenise) {
  const auto annotations = io::read_json(test::test_data_dir() / "flickr30k-test/annotations.json");
  std::vector<std::string> captions;
  for (const auto& a : annotations.at("annotations")) captions.push_back(a.at("caption").get<std::string>());
  ASSERT_GT(captions.size(), 4000u);
  const auto tokenized = coco_tokenize_all(captions);
  ASSERT_EQ(tokenized.size(), captions.size());
  std::size_t empty = 0;
  for (const auto& t : tokenized) {
    if (t.empty()) ++empty;
    // no upper case, and none of pycocoevalcap's punctuation survives
    for (char c : t) EXPECT_FALSE(c >= 'A' && c <= 'Z') << t;
    std::size_t start = 0;
    while (start <= t.size()) {
      std::size_t end = t.find(' ', start);
      if (end == std::string::npos) end = t.size();
      EXPECT_FALSE(is_coco_punctuation(t.substr(start, end - start))) << t;
      start = end + 1;
    }
  }
  EXPECT_EQ(empty, 0u);

  // The golden captions are pre-tokenised (lower-case words, no punctuation): the PTB
  // pipeline must leave them unchanged (tests/data/README.md), except that CoreNLP 3.4.1
  // splits "cannot" into "can not" (its splitAssimilations default).
  for (const char* file : {"results.json", "refs.json"}) {
    const auto golden = io::read_json(test::test_data_dir() / "golden/metrics/flickr30k-test" / file);
    const auto& items = golden.is_array() ? golden : golden.at("annotations");
    std::vector<std::string> pre;
    for (const auto& r : items) pre.push_back(r.at("caption").get<std::string>());
    ASSERT_GT(pre.size(), 900u);
    const auto ours = coco_tokenize_all(pre);
    for (std::size_t i = 0; i < pre.size(); ++i) {
      std::string expected = pre[i];
      for (std::size_t at = expected.find("cannot"); at != std::string::npos; at = expected.find("cannot", at))
        expected.replace(at, 6, "can not");
      EXPECT_EQ(ours[i], expected) << file;
    }
  }
}

}  // namespace
}  // namespace recap::text
