// The Flickr30k test captions: raw (../shared/data) against the tokenised copies that
// pycocoevalcap's PTBTokenizer produced for the golden metrics (../shared/golden).
#include <gtest/gtest.h>

#include <sstream>


#include "recap/io/json_file.h"
#include "recap/text/ptb_tokenizer.h"
#include "test_support.h"

using namespace recap;

namespace {

// Captions whose tokenisation differs from `expected(caption)`; the first one is described.
template <typename Expected>
int count_changed(const nlohmann::json& list, Expected expected, std::string* first) {
  int changed = 0;
  for (const auto& a : list) {
    const std::string caption = a["caption"];
    const std::string ours = text::ptb_tokenize(caption);
    if (ours != expected(caption) && changed++ == 0) *first = "'" + caption + "' -> '" + ours + "'";
  }
  return changed;
}

}  // namespace

// The golden captions are already tokenised (lower-case words, no punctuation): the PTB
// step must leave every one of them unchanged, or the golden scores would move.
TEST(PtbGolden, TokenisedCaptionsAreLeftUnchanged) {
  const auto dir = test::shared_dir() / "golden/metrics/flickr30k-test";
  std::string first;
  auto same = [](const std::string& c) { return c; };
  EXPECT_EQ(count_changed(io::read_json(dir / "refs.json")["annotations"], same, &first), 0) << first;
  EXPECT_EQ(count_changed(io::read_json(dir / "results.json"), same, &first), 0) << first;
}

// The raw captions tokenise without error into non-empty, lower-case, punctuation-free text.
TEST(PtbGolden, RawFlickr30kCaptionsTokenise) {
  const auto raw = io::read_json(test::shared_dir() / "data/flickr30k-test/annotations.json")["annotations"];
  const auto results = io::read_json(test::shared_dir() / "data/flickr30k-test/results_example.json");
  ASSERT_EQ(raw.size(), 5000u);
  for (const auto* list : {&raw, &results})
    for (const auto& a : *list) {
      std::string out;
      ASSERT_NO_THROW(out = text::ptb_tokenize(a["caption"].get<std::string>())) << a["caption"];
      EXPECT_FALSE(out.empty()) << a["caption"];
      for (char c : out) EXPECT_TRUE(c < 'A' || c > 'Z') << out;
      // No token is one pycocoevalcap removes (its list: '' ' `` ` -LRB- ... , : - -- ... ;).
      std::istringstream tokens(out);
      for (std::string t; tokens >> t;)
        for (const char* removed : {"''", "'", "``", "`", "-LRB-", "-RRB-", ".", "?", "!", ",", ":", "-", "--", "...", ";"})
          EXPECT_NE(t, removed) << out;
    }
}
