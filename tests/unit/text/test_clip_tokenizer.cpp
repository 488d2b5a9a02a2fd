// The CLIP tokenizer against OpenAI's (golden/clip/tokenizer/cases.json) and the text
// clean-up steps against Python's html.unescape / str.strip / re.sub / str.lower.
#include <gtest/gtest.h>
#include <zlib.h>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/text/clip_text.h"
#include "recap/text/clip_tokenizer.h"
#include "test_support.h"

namespace fs = std::filesystem;
using recap::text::ClipTokenizer;

namespace {

fs::path tokenizer_dir() { return recap::test::test_data_dir() / "golden/clip/tokenizer"; }

const ClipTokenizer& golden_tokenizer() {
  static const ClipTokenizer tokenizer = ClipTokenizer::load(tokenizer_dir());
  return tokenizer;
}

}  // namespace

TEST(ClipTokenizer, EveryGoldenCaseGivesIdenticalIds) {
  const auto cases = recap::io::read_json(tokenizer_dir() / "cases.json");
  ASSERT_EQ(cases["context_length"].get<int>(), 77);
  EXPECT_EQ(golden_tokenizer().start_id(), cases["sot"].get<int>());
  EXPECT_EQ(golden_tokenizer().end_id(), cases["eot"].get<int>());
  int checked = 0;
  for (const auto& c : cases["cases"]) {
    const std::string text = c["text"];
    const auto expected = c["ids"].get<std::vector<std::int64_t>>();
    auto ids = golden_tokenizer().encode(text);
    std::vector<std::int64_t> full{golden_tokenizer().start_id()};
    full.insert(full.end(), ids.begin(), ids.end());
    full.push_back(golden_tokenizer().end_id());
    EXPECT_EQ(full, expected) << "text: " << text;
    bool truncated = false;
    EXPECT_EQ(golden_tokenizer().tokenize(text, 77, &truncated), c["context77"].get<std::vector<std::int64_t>>())
        << "text: " << text;
    EXPECT_EQ(truncated, expected.size() > 77) << text;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(ClipTokenizer, LongTextKeeps77WithEndOfTextLast) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "a ";
  bool truncated = false;
  const auto row = golden_tokenizer().tokenize(text, 77, &truncated);
  ASSERT_EQ(row.size(), 77u);
  EXPECT_TRUE(truncated);
  EXPECT_EQ(row.front(), 49406);
  EXPECT_EQ(row[75], 320);  // "a</w>"
  EXPECT_EQ(row.back(), 49407);
  // Exactly 75 words fit without truncation; 76 do not.
  std::string fits;
  for (int i = 0; i < 75; ++i) fits += "a ";
  golden_tokenizer().tokenize(fits, 77, &truncated);
  EXPECT_FALSE(truncated);
}

TEST(ClipTokenizer, OpenAiGzipVocabularyGivesTheSameIds) {
  // bpe_simple_vocab_16e6.txt.gz holds the same merges as merges.txt (after a header line).
  recap::test::TempDir dir;
  const std::string merges = recap::test::read_bytes(tokenizer_dir() / "merges.txt");
  const fs::path gz = dir / "bpe_simple_vocab_16e6.txt.gz";
  gzFile file = gzopen(gz.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, merges.data(), static_cast<unsigned>(merges.size())), static_cast<int>(merges.size()));
  gzclose(file);
  const ClipTokenizer openai = ClipTokenizer::load(dir.path());
  EXPECT_EQ(openai.vocab_size(), 49408);
  EXPECT_EQ(openai.fingerprint(), golden_tokenizer().fingerprint());
  for (const char* text : {"a photo of a cat", "東京タワー の 写真", "It's a dog's life; isn't it?!"}) {
    EXPECT_EQ(openai.tokenize(text), golden_tokenizer().tokenize(text)) << text;
  }
}

TEST(ClipTokenizer, DecodeInvertsEncodeUpToCleaning) {
  const auto row = golden_tokenizer().tokenize("Two  DOGS run, café!");
  EXPECT_EQ(golden_tokenizer().decode(row), "two dogs run , café ! ");
}

TEST(ClipTokenizer, LongSIsMatchedCaseInsensitivelyInContractions) {
  // re.IGNORECASE lets "'ſ" match the "'s" alternative, so the apostrophe starts a
  // two-character piece instead of being a piece ("'</w>") of its own as in "dog'x".
  const auto apostrophe_alone = golden_tokenizer().encode("dog'x");
  ASSERT_EQ(apostrophe_alone.size(), 3u);
  const auto with_long_s = golden_tokenizer().encode("dog'\xc5\xbf");
  ASSERT_GE(with_long_s.size(), 2u);
  EXPECT_NE(with_long_s[1], apostrophe_alone[1]);
  EXPECT_EQ(golden_tokenizer().decode({with_long_s.begin(), with_long_s.end()}), "dog '\xc5\xbf ");
}

TEST(ClipTokenizer, RefusesInvalidUtf8) {
  try {
    golden_tokenizer().encode("caf\xc3");
    FAIL() << "no error";
  } catch (const recap::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("not valid UTF-8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(golden_tokenizer().encode("\xed\xa0\x80"), recap::InputError);  // a surrogate
  EXPECT_THROW(golden_tokenizer().encode("\xc0\xaf"), recap::InputError);      // overlong '/'
}

TEST(ClipTokenizer, BadTokenizerFilesAreOneLineErrors) {
  recap::test::TempDir dir;
  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const recap::InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { ClipTokenizer::load(dir.path()); }).find("expected vocab.json + merges.txt"), std::string::npos);
  EXPECT_NE(message([&] { ClipTokenizer::load(dir / "missing.gz"); }).find("no such file"), std::string::npos);

  recap::test::write_bytes(dir / "vocab.json", "{\"a\": 0");
  recap::test::write_bytes(dir / "merges.txt", "#version: 0.2\na b\n");
  EXPECT_NE(message([&] { ClipTokenizer::load(dir.path()); }).find("vocab.json"), std::string::npos);

  recap::test::write_bytes(dir / "vocab.json", "{\"a\": 0, \"b\": 1}");
  EXPECT_NE(message([&] { ClipTokenizer::load(dir.path()); }).find("is not in the vocabulary"), std::string::npos);

  recap::test::write_bytes(dir / "merges.txt", "#version: 0.2\nab\n");
  EXPECT_NE(message([&] { ClipTokenizer::load(dir.path()); }).find("line 2 is not a merge"), std::string::npos);

  recap::test::write_bytes(dir / "bpe_simple_vocab_16e6.txt.gz", "not gzip at all");
  EXPECT_NE(message([&] { ClipTokenizer::from_bpe_gz(dir / "bpe_simple_vocab_16e6.txt.gz"); }), "no error");
}

// Expected strings printed by Python 3.11's html.unescape.
TEST(ClipText, HtmlUnescapeMatchesPython) {
  using recap::text::html_unescape;
  EXPECT_EQ(html_unescape("&amp;"), "&");
  EXPECT_EQ(html_unescape("&amp"), "&");
  EXPECT_EQ(html_unescape("&ampx"), "&x");
  EXPECT_EQ(html_unescape("&notit;"), "\xc2\xacit;");
  EXPECT_EQ(html_unescape("&notin"), "\xc2\xacin");
  EXPECT_EQ(html_unescape("&#65;&#x42;&#X43"), "ABC");
  EXPECT_EQ(html_unescape("&#128;"), "\xe2\x82\xac");
  EXPECT_EQ(html_unescape("&#0;"), "\xef\xbf\xbd");
  EXPECT_EQ(html_unescape("&#xD800;"), "\xef\xbf\xbd");
  EXPECT_EQ(html_unescape("&#1;x"), "x");
  EXPECT_EQ(html_unescape("&#99999999999;"), "\xef\xbf\xbd");
  EXPECT_EQ(html_unescape("&# &x &;"), "&# &x &;");
  EXPECT_EQ(html_unescape("&lt;&gt;&quot;&#39;"), "<>\"'");
  EXPECT_EQ(html_unescape("&AMP;&Amp;"), "&&Amp;");
  EXPECT_EQ(html_unescape("&amp;amp;"), "&amp;");
}

TEST(ClipText, WhitespaceAndCaseMatchPython) {
  // re.sub(r'\s+', ' ', " a\u00a0\u3000b\x1c\x85c \u200bd\t").strip() == 'a b c \u200bd'
  EXPECT_EQ(recap::text::collapse_whitespace(" a\xc2\xa0\xe3\x80\x80" "b\x1c\xc2\x85" "c \xe2\x80\x8b" "d\t"),
            "a b c \xe2\x80\x8b" "d");
  // "ΑΣ İSTANBUL ß ǅ".lower() == 'ας i̇stanbul ß ǆ' (final sigma, dotted I expands)
  EXPECT_EQ(recap::text::unicode_lower("\xce\x91\xce\xa3 \xc4\xb0STANBUL \xc3\x9f \xc7\x85"),
            "\xce\xb1\xcf\x82 i\xcc\x87stanbul \xc3\x9f \xc7\x86");
}

TEST(ClipText, FtfyFixesApplied) {
  using recap::text::ftfy_fix_text;
  EXPECT_EQ(ftfy_fix_text("\xe2\x80\x9cquoted\xe2\x80\x9d it\xe2\x80\x99s"), "\"quoted\" it's");  // curly quotes
  EXPECT_EQ(ftfy_fix_text("\xef\xac\x81ne"), "fine");                                            // ligature
  EXPECT_EQ(ftfy_fix_text("\xef\xbc\xa1\xef\xbc\x91"), "A1");                                    // full width
  EXPECT_EQ(ftfy_fix_text("e\xcc\x81"), "\xc3\xa9");                                             // NFC
  EXPECT_EQ(ftfy_fix_text("a\x1b[31mred\x1b[0m"), "ared");                                       // terminal escapes
  EXPECT_EQ(ftfy_fix_text("x\x01y\xef\xbb\xbfz"), "xyz");                                        // control chars
  EXPECT_EQ(ftfy_fix_text("&NTILDE; &amp;amp;"), "\xc3\x91 &amp;");                              // ftfy's own pass
}
