// Learning a CLIP BPE vocabulary and reading it back with ClipTokenizer.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "recap/common/error.h"
#include "recap/text/bpe_training.h"
#include "recap/text/clip_text.h"
#include "recap/text/clip_tokenizer.h"
#include "test_support.h"

using namespace recap;
using text::ClipTokenizer;

namespace {

std::vector<std::string> corpus() {
  const std::vector<std::string> colours = {"red", "blue", "green", "yellow", "purple"};
  const std::vector<std::string> shapes = {"circle", "square", "triangle"};
  const std::vector<std::string> places = {"left of", "right of", "above", "below"};
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < 30; ++i) {
    texts.push_back("A " + colours[i % 5] + " " + shapes[i % 3] + " " + places[i % 4] + " a " +
                    colours[(i + 2) % 5] + " " + shapes[(i + 1) % 3] + (i % 7 == 0 ? "!" : "."));
  }
  texts.push_back("Two   red circles, 3 blue squares &amp; it's  GREEN");
  return texts;
}

std::vector<std::int64_t> widen(const std::vector<std::int32_t>& ids) { return {ids.begin(), ids.end()}; }

ClipTokenizer learn_and_load(const test::TempDir& dir, int merges = 200) {
  text::write_clip_bpe(text::learn_clip_bpe(corpus(), merges), dir.path());
  return ClipTokenizer::load(dir.path());
}

}  // namespace

TEST(BpeTraining, FrequentWordsBecomeSingleTokens) {
  test::TempDir dir;
  const auto tokenizer = learn_and_load(dir);
  for (const std::string word : {"red", "blue", "circle", "square", "triangle", "a", "of"})
    EXPECT_EQ(tokenizer.encode(word).size(), 1u) << word;
  EXPECT_GT(tokenizer.vocab_size(), 512 + 2);
  EXPECT_LE(tokenizer.vocab_size(), 512 + 200 + 2);
}

TEST(BpeTraining, TheTokenizerReproducesTheLearnedSegmentation) {
  // With merges to spare and every pair allowed, learning ends with each word of the
  // corpus one symbol; the tokenizer, merging by rank, must reach the same.
  test::TempDir dir;
  text::write_clip_bpe(text::learn_clip_bpe(corpus(), 5000, 1), dir.path());
  const auto tokenizer = ClipTokenizer::load(dir.path());
  for (const std::string word : {"yellow", "purple", "triangle", "circles", "squares", "it", "'s", "&", "3", "!"})
    EXPECT_EQ(tokenizer.encode(word).size(), 1u) << word;
}

TEST(BpeTraining, RoundTripsTheCorpusAndEndIsTheHighestId) {
  test::TempDir dir;
  const auto tokenizer = learn_and_load(dir);
  EXPECT_EQ(tokenizer.end_id(), tokenizer.vocab_size() - 1);
  EXPECT_EQ(tokenizer.start_id(), tokenizer.vocab_size() - 2);
  for (const auto& line : corpus()) {
    const auto ids = tokenizer.encode(line);
    for (auto id : ids) EXPECT_LT(id, tokenizer.start_id());
    // decode puts a space after each word; pieces CLIP splits without a space (",", "'s")
    // come back separated, so compare word by word without spaces.
    std::string decoded = tokenizer.decode(widen(ids)), cleaned = text::clip_clean_text(line);
    decoded.erase(std::remove(decoded.begin(), decoded.end(), ' '), decoded.end());
    cleaned.erase(std::remove(cleaned.begin(), cleaned.end(), ' '), cleaned.end());
    EXPECT_EQ(decoded, cleaned) << line;
  }
  EXPECT_EQ(tokenizer.decode(widen(tokenizer.encode("a red circle left of a blue square"))),
            "a red circle left of a blue square ");
}

TEST(BpeTraining, UnseenTextFallsBackToBytes) {
  test::TempDir dir;
  const auto tokenizer = learn_and_load(dir);
  for (const std::string word : {"zebra", "café ☕", "日本"}) {
    const auto ids = tokenizer.encode(word);
    EXPECT_FALSE(ids.empty());
    EXPECT_EQ(tokenizer.decode(widen(ids)), word + " ");
  }
}

TEST(BpeTraining, IsDeterministic) {
  test::TempDir a, b;
  text::write_clip_bpe(text::learn_clip_bpe(corpus(), 150), a.path());
  text::write_clip_bpe(text::learn_clip_bpe(corpus(), 150), b.path());
  for (const std::string file : {"vocab.json", "merges.txt"})
    EXPECT_EQ(test::read_bytes(a / file), test::read_bytes(b / file)) << file;
}

TEST(BpeTraining, MergesAreMadeOfEarlierTokens) {
  const auto vocabulary = text::learn_clip_bpe(corpus(), 200);
  std::map<std::string, std::size_t> id;
  for (std::size_t i = 0; i < vocabulary.tokens.size(); ++i) {
    EXPECT_TRUE(id.emplace(vocabulary.tokens[i], i).second) << "duplicate token " << vocabulary.tokens[i];
  }
  ASSERT_EQ(vocabulary.tokens.size(), 512 + vocabulary.merges.size() + 2);
  for (std::size_t rank = 0; rank < vocabulary.merges.size(); ++rank) {
    const auto& [left, right] = vocabulary.merges[rank];
    const std::size_t merged = id.at(left + right);
    EXPECT_EQ(merged, 512 + rank);
    EXPECT_LT(id.at(left), merged);
    EXPECT_LT(id.at(right), merged);
  }
}

TEST(BpeTraining, StopsWhenNoPairIsFrequentEnough) {
  // Every pair of "ab cd" occurs once: nothing reaches min_frequency 2.
  EXPECT_TRUE(text::learn_clip_bpe({"ab cd"}, 100).merges.empty());
  EXPECT_EQ(text::learn_clip_bpe({"ab cd"}, 100, 1).merges.size(), 2u);  // "a b</w>", "c d</w>"
  EXPECT_EQ(text::learn_clip_bpe(corpus(), 5).merges.size(), 5u);
  EXPECT_THROW(text::learn_clip_bpe(corpus(), -1), UsageError);
  test::TempDir dir;
  EXPECT_THROW(text::write_clip_bpe(text::learn_clip_bpe({"ab"}, 10), dir.path()), UsageError);
}
