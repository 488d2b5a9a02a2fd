// BLEU-1..4, ROUGE-L and CIDEr-D on the 1,000 Flickr30k test images against the scores
// pycocoevalcap printed for the same tokenised captions (tests/data/golden/metrics).
#include <gtest/gtest.h>

#include <map>

#include "recap/io/json_file.h"
#include "recap/metrics/text_metrics.h"
#include "test_support.h"

using namespace recap;

namespace {

std::vector<metrics::ImageCaptions> golden_images() {
  const auto dir = test::test_data_dir() / "golden/metrics/flickr30k-test";
  const auto refs = io::read_json(dir / "refs.json");
  const auto results = io::read_json(dir / "results.json");
  std::map<std::string, metrics::ImageCaptions> by_id;
  for (const auto& a : refs["annotations"]) by_id[a["image_id"].get<std::string>()].references.push_back(a["caption"]);
  for (const auto& r : results) by_id[r["image_id"].get<std::string>()].candidate = r["caption"];
  std::vector<metrics::ImageCaptions> images;
  for (auto& [id, captions] : by_id) images.push_back(captions);
  return images;
}

}  // namespace

TEST(MetricsGolden, EqualPycocoevalcapOnFlickr30kTest) {
  const auto images = golden_images();
  ASSERT_EQ(images.size(), 1000u);
  const auto expected = io::read_json(test::test_data_dir() / "golden/metrics/flickr30k-test/expected.json");
  const auto b = metrics::bleu(images);
  for (int n = 1; n <= 4; ++n)
    EXPECT_NEAR(b[n - 1].corpus, expected["Bleu_" + std::to_string(n)].get<double>(), 1e-9) << "Bleu_" << n;
  EXPECT_NEAR(metrics::rouge_l(images).corpus, expected["ROUGE_L"].get<double>(), 1e-9);
  EXPECT_NEAR(metrics::cider_d(images).corpus, expected["CIDEr"].get<double>(), 1e-9);
}
