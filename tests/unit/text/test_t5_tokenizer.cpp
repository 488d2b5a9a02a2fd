// The T5 tokenizer (sentencepiece through the dlopen()ed shim) against the ids Hugging
// Face's T5 tokenizer gave for the golden texts (golden/t5/*/golden.json).
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/text/t5_tokenizer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::text::T5Tokenizer;

namespace {

fs::path golden(const std::string& model) { return recap::test::test_data_dir() / "golden/t5" / model; }

}  // namespace

TEST(T5Tokenizer, GoldenTextsGiveTheReferenceIds) {
  for (const std::string model : {"tiny-gated", "tiny-gated-untied"}) {
    const auto tokenizer = T5Tokenizer::load(golden(model));
    const auto cases = recap::io::read_json(golden(model) / "golden.json")["tokenizer_cases"];
    ASSERT_GE(cases.size(), 3u);
    for (const auto& c : cases) {
      const auto expected = c["ids"].get<std::vector<std::int64_t>>();
      EXPECT_EQ(tokenizer.encode(c["text"].get<std::string>()), expected) << model << ": " << c["text"];
    }
  }
}

TEST(T5Tokenizer, PaddedGoldenInputIdsAreTheEncodedTexts) {
  const auto tokenizer = T5Tokenizer::load(golden("tiny-gated") / "spiece.model");
  const auto texts = recap::io::read_json(golden("tiny-gated") / "golden.json")["texts"].get<std::vector<std::string>>();
  std::vector<std::int64_t> shape;
  const auto ids = recap::io::read_npy_int64(golden("tiny-gated") / "input_ids.npy", &shape);
  const auto mask = recap::io::read_npy_int64(golden("tiny-gated") / "attention_mask.npy");
  ASSERT_EQ(shape.size(), 2u);
  ASSERT_EQ(shape[0], static_cast<std::int64_t>(texts.size()));
  const std::int64_t width = shape[1];
  for (std::size_t r = 0; r < texts.size(); ++r) {
    const auto encoded = tokenizer.encode(texts[r]);
    std::vector<std::int64_t> row(ids.begin() + r * width, ids.begin() + (r + 1) * width);
    std::int64_t used = 0;
    for (std::int64_t j = 0; j < width; ++j) used += mask[r * width + j];
    ASSERT_EQ(static_cast<std::int64_t>(encoded.size()), used);
    EXPECT_EQ(std::vector<std::int64_t>(row.begin(), row.begin() + used), encoded);
    for (std::int64_t j = used; j < width; ++j) EXPECT_EQ(row[j], tokenizer.pad_id());
  }
}

TEST(T5Tokenizer, DecodingSkipsSpecialTokensAndRestoresText) {
  const auto tokenizer = T5Tokenizer::load(golden("tiny-gated"));
  const std::string text = "two dogs play in the grass";
  auto ids = tokenizer.encode(text);
  ASSERT_EQ(ids.back(), tokenizer.eos_id());
  ids.insert(ids.begin(), tokenizer.pad_id());  // decoder start token
  ids.push_back(tokenizer.pad_id());
  EXPECT_EQ(tokenizer.decode(ids), text);
  const std::string raw = tokenizer.decode(ids, false);
  EXPECT_NE(raw.find("</s>"), std::string::npos) << raw;
  EXPECT_NE(raw, text);
}

TEST(T5Tokenizer, SentinelsSitAtTheTopOfTheVocabulary) {
  const auto tokenizer = T5Tokenizer::load(golden("tiny-gated"));
  // The golden models have 600 embedding rows: 500 sentencepiece pieces + 100 sentinels.
  EXPECT_EQ(tokenizer.piece_size(), 500);
  EXPECT_EQ(tokenizer.vocab_size(), 600);
  EXPECT_EQ(tokenizer.sentinel_id(0), 599);
  EXPECT_EQ(tokenizer.sentinel_id(99), 500);
  EXPECT_EQ(tokenizer.piece(599), "<extra_id_0>");
  EXPECT_EQ(tokenizer.piece(1), "</s>");
  const auto ids = tokenizer.encode("two dogs <extra_id_0> grass");
  const auto left = tokenizer.encode("two dogs", false), right = tokenizer.encode("grass");
  std::vector<std::int64_t> expected = left;
  expected.push_back(599);
  expected.insert(expected.end(), right.begin(), right.end());
  EXPECT_EQ(ids, expected);
  EXPECT_TRUE(tokenizer.is_special(599));
  EXPECT_EQ(tokenizer.decode(ids), "two dogs grass");
  EXPECT_THROW(tokenizer.sentinel_id(100), recap::UsageError);
}

TEST(T5Tokenizer, EmptyTextAndTruncation) {
  const auto tokenizer = T5Tokenizer::load(golden("tiny-gated"));
  EXPECT_EQ(tokenizer.encode(""), std::vector<std::int64_t>{1});
  EXPECT_TRUE(tokenizer.encode("", false).empty());
  const auto full = tokenizer.encode("two dogs play in the grass");
  const auto cut = tokenizer.encode("two dogs play in the grass", true, 4);
  ASSERT_EQ(cut.size(), 4u);
  EXPECT_EQ(std::vector<std::int64_t>(cut.begin(), cut.begin() + 3), std::vector<std::int64_t>(full.begin(), full.begin() + 3));
  EXPECT_EQ(cut.back(), 1);
  // Unicode passes through sentencepiece (unknown characters become <unk>, id 2).
  const auto unicode = tokenizer.encode("caf\xc3\xa9 \xe2\x98\x83");
  EXPECT_EQ(unicode.back(), 1);
  EXPECT_GE(unicode.size(), 2u);
}

TEST(T5Tokenizer, BadModelsAreInputErrors) {
  recap::test::TempDir dir;
  EXPECT_THROW(T5Tokenizer::load(dir.path()), recap::InputError);  // no spiece.model
  recap::test::write_bytes(dir / "spiece.model", "this is not a protobuf");
  EXPECT_THROW(T5Tokenizer::load(dir.path()), recap::InputError);
  try {
    T5Tokenizer::load(dir / "missing.model");
    FAIL();
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.model"), std::string::npos);
  }
}

TEST(T5Tokenizer, ShimIsFoundBesideTheBuild) {
  const auto path = T5Tokenizer::shim_path();
  EXPECT_EQ(path.filename(), "librecap_spm.so");
  EXPECT_TRUE(fs::exists(path));
}
