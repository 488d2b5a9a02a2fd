// Training a T5-layout sentencepiece model through the shim and loading it with T5Tokenizer.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/text/sentencepiece_training.h"
#include "recap/text/t5_tokenizer.h"
#include "test_support.h"

using namespace recap;
using text::T5Tokenizer;

namespace {

const std::string kPrompt = "Similar images show: a red circle. This image shows:";

std::vector<std::string> captions() {
  const std::vector<std::string> subjects = {"a dog", "two cats", "a young man", "a woman", "a red car",
                                             "three children", "a small bird", "an old train", "a horse", "a boat"};
  const std::vector<std::string> actions = {"runs across", "sits on", "plays in", "stands near", "waits beside"};
  const std::vector<std::string> places = {"the grass", "a wooden bench", "the snow", "a busy street", "the beach"};
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < 50; ++i)
    texts.push_back(subjects[i % 10] + " " + actions[i % 5] + " " + places[(i / 5) % 5] + ".");
  texts.push_back(kPrompt);
  texts.push_back("Similar images show: two cats sit on a bench.\nThis image shows:");  // a newline inside
  return texts;
}

}  // namespace

TEST(SentencePieceTraining, TrainsAModelT5TokenizerLoads) {
  test::TempDir dir;
  text::train_sentencepiece(captions(), dir / "spiece.model", {200, "unigram", 0});
  const auto tokenizer = T5Tokenizer::load(dir / "spiece.model", /*extra_ids=*/0);
  EXPECT_EQ(tokenizer.piece(tokenizer.pad_id()), "<pad>");
  EXPECT_EQ(tokenizer.piece(tokenizer.eos_id()), "</s>");
  EXPECT_EQ(tokenizer.piece(tokenizer.unk_id()), "<unk>");
  EXPECT_LE(tokenizer.piece_size(), 200);
  EXPECT_GT(tokenizer.piece_size(), 40);
  for (const auto& text : {std::string("a dog runs across the snow."), kPrompt, std::string("three horses wait")}) {
    const auto ids = tokenizer.encode(text);
    EXPECT_EQ(ids.back(), tokenizer.eos_id());
    for (std::size_t i = 0; i + 1 < ids.size(); ++i) EXPECT_NE(ids[i], tokenizer.unk_id()) << text;
    EXPECT_EQ(tokenizer.decode(ids), text);
  }
}

TEST(SentencePieceTraining, IsReproducible) {
  test::TempDir dir;
  for (const std::string type : {"unigram", "bpe"}) {
    text::train_sentencepiece(captions(), dir / "a.model", {120, type, 7});
    text::train_sentencepiece(captions(), dir / "b.model", {120, type, 7});
    EXPECT_EQ(test::read_bytes(dir / "a.model"), test::read_bytes(dir / "b.model")) << type;
    EXPECT_LE(T5Tokenizer::load(dir / "a.model", 0).piece_size(), 120) << type;
  }
}

TEST(SentencePieceTraining, ASmallCorpusGivesFewerPiecesNotAnError) {
  test::TempDir dir;
  text::train_sentencepiece({"a b c", "a b"}, dir / "tiny.model", {5000, "unigram", 0});
  const auto tokenizer = T5Tokenizer::load(dir / "tiny.model", 0);
  EXPECT_LT(tokenizer.piece_size(), 5000);
  EXPECT_EQ(tokenizer.decode(tokenizer.encode("a b c")), "a b c");
}

TEST(SentencePieceTraining, RefusesBadInputsWithOneLineErrors) {
  test::TempDir dir;
  const auto path = dir / "x.model";
  EXPECT_THROW(text::train_sentencepiece({}, path), InputError);
  EXPECT_THROW(text::train_sentencepiece({"ok", std::string("\xff\xfe")}, path), InputError);
  EXPECT_THROW(text::train_sentencepiece(captions(), path, {200, "wordpiece", 0}), UsageError);
  EXPECT_THROW(text::train_sentencepiece(captions(), path, {2, "unigram", 0}), UsageError);
  EXPECT_THROW(text::train_sentencepiece(captions(), dir / "missing" / "x.model"), UsageError);
  EXPECT_FALSE(std::filesystem::exists(path));
}
