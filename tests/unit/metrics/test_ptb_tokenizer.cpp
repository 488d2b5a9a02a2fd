// Each rule of the PTB port, with the Stanford PTBTokenizer (-preserveLines -lowerCase)
// output written out by hand, then pycocoevalcap's punctuation removal.
#include <gtest/gtest.h>

#include <stdexcept>

#include "recap/text/ptb_tokenizer.h"

using recap::text::ptb_tokenize;
using recap::text::ptb_tokens;
using Tokens = std::vector<std::string>;

TEST(PtbTokenizer, LowerCasesIncludingUnicode) {
  EXPECT_EQ(ptb_tokenize("A Dog IN Zürich ÉCOLE"), "a dog in zürich école");
}

TEST(PtbTokenizer, SplitsOnAnyWhitespace) {
  EXPECT_EQ(ptb_tokenize("  two\tdogs\nrun\u00a0fast  "), "two dogs run fast");
}

TEST(PtbTokenizer, FinalPeriodAndCommas) {
  EXPECT_EQ(ptb_tokens("A dog, a cat."), (Tokens{"a", "dog", ",", "a", "cat", "."}));
  EXPECT_EQ(ptb_tokenize("A dog, a cat."), "a dog a cat");
}

TEST(PtbTokenizer, Clitics) {
  EXPECT_EQ(ptb_tokens("the dog's bone"), (Tokens{"the", "dog", "'s", "bone"}));
  EXPECT_EQ(ptb_tokens("they're here"), (Tokens{"they", "'re", "here"}));
  EXPECT_EQ(ptb_tokens("we'll see, I'm sure you've"), (Tokens{"we", "'ll", "see", ",", "i", "'m", "sure", "you", "'ve"}));
  EXPECT_EQ(ptb_tokens("he'd go"), (Tokens{"he", "'d", "go"}));
  EXPECT_EQ(ptb_tokens("don't can't won't"), (Tokens{"do", "n't", "ca", "n't", "wo", "n't"}));
  EXPECT_EQ(ptb_tokenize("The dog's ball isn't red."), "the dog 's ball is n't red");
}

TEST(PtbTokenizer, QuotesBecomePtbQuotesAndAreRemoved) {
  EXPECT_EQ(ptb_tokens("a \"stop\" sign"), (Tokens{"a", "``", "stop", "''", "sign"}));
  EXPECT_EQ(ptb_tokens("a 'stop' sign"), (Tokens{"a", "`", "stop", "'", "sign"}));
  EXPECT_EQ(ptb_tokenize("a “stop” sign and ‘go’"), "a stop sign and go");
  EXPECT_EQ(ptb_tokens("the players' bench"), (Tokens{"the", "players", "'", "bench"}));
}

TEST(PtbTokenizer, Brackets) {
  EXPECT_EQ(ptb_tokens("a dog (brown) {big}"), (Tokens{"a", "dog", "-LRB-", "brown", "-RRB-", "-LCB-", "big", "-RCB-"}));
  EXPECT_EQ(ptb_tokenize("a dog (brown)"), "a dog brown");
  // Square brackets are escaped but not in pycocoevalcap's removal list: they stay.
  EXPECT_EQ(ptb_tokenize("a dog [brown]"), "a dog -LSB- brown -RSB-");
}

TEST(PtbTokenizer, HyphensAndDashes) {
  EXPECT_EQ(ptb_tokenize("a black-and-white dog"), "a black-and-white dog");
  EXPECT_EQ(ptb_tokens("a dog - a cat -- a bird"), (Tokens{"a", "dog", "-", "a", "cat", "--", "a", "bird"}));
  EXPECT_EQ(ptb_tokens("a dog—a cat"), (Tokens{"a", "dog", "--", "a", "cat"}));
  EXPECT_EQ(ptb_tokenize("a 2-3 year old"), "a 2-3 year old");
}

TEST(PtbTokenizer, Numbers) {
  EXPECT_EQ(ptb_tokenize("3.5 meters, 1,000 people at 12:30"), "3.5 meters 1,000 people at 12:30");
  EXPECT_EQ(ptb_tokens("$5 and 50%"), (Tokens{"$", "5", "and", "50", "%"}));
  EXPECT_EQ(ptb_tokenize("it costs $5."), "it costs $ 5");
}

TEST(PtbTokenizer, Abbreviations) {
  EXPECT_EQ(ptb_tokens("Mr. Smith in the U.S. at 5 a.m. today."),
            (Tokens{"mr.", "smith", "in", "the", "u.s.", "at", "5", "a.m.", "today", "."}));
  EXPECT_EQ(ptb_tokenize("on St. Patrick's day"), "on st. patrick 's day");
}

TEST(PtbTokenizer, Ellipses) {
  EXPECT_EQ(ptb_tokens("waiting... for"), (Tokens{"waiting", "...", "for"}));
  EXPECT_EQ(ptb_tokens("waiting…"), (Tokens{"waiting", "..."}));
  EXPECT_EQ(ptb_tokenize("so...tired"), "so tired");
}

TEST(PtbTokenizer, InnerPunctuation) {
  EXPECT_EQ(ptb_tokens("yes!no?maybe;ok"), (Tokens{"yes", "!", "no", "?", "maybe", ";", "ok"}));
  EXPECT_EQ(ptb_tokens("dogs:cats"), (Tokens{"dogs", ":", "cats"}));
  EXPECT_EQ(ptb_tokenize("visit www.example.com now"), "visit www.example.com now");
}

TEST(PtbTokenizer, AlreadyTokenisedTextIsUnchanged) {
  EXPECT_EQ(ptb_tokenize("a man riding a wave on top of a surfboard"), "a man riding a wave on top of a surfboard");
}

TEST(PtbTokenizer, EmptyAndPunctuationOnly) {
  EXPECT_EQ(ptb_tokenize(""), "");
  EXPECT_EQ(ptb_tokenize(" ... !"), "");
}

TEST(PtbTokenizer, InvalidUtf8IsRefused) { EXPECT_THROW(ptb_tokenize("caf\xe9"), std::invalid_argument); }
