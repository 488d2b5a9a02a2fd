// The method itself, checked end to end: scripts/demo.sh runs ReCap on the demo world with
// the shipped models (models/demo) and a fixed seed, and its figures must stay inside the
// bounds stored beside this file (demo_bounds.json). A change that breaks alignment,
// retrieval, the language model's candidates or their choice fails here, even when every
// part passes its own tests. RECAP_REGRESSION_DEMO_ARGS adds flags to demo.sh, e.g.
// "--fit-method none" (W = I) or "--candidate-choice random": both must fail.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "recap/io/json_file.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

const nlohmann::json& bounds() {
  static const nlohmann::json b = io::read_json(test::source_dir() / "tests" / "regression" / "demo_bounds.json");
  return b;
}

// One demo run for all the checks: CTest runs every test in a process of its own, so the
// checks are one test (each in its own section of the output) rather than five demos.
class DemoRegression : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    const char* extra = std::getenv("RECAP_REGRESSION_DEMO_ARGS");
    const auto run = test::run_command("cd " + test::source_dir().string() + " && RECAP_BUILD_DIR=" +
                                       test::tools_dir().string() + " bash scripts/demo.sh --skip-setup --dal-iterations 1 --out " +
                                       (dir_->path() / "demo").string() + " --threads 2 " + (extra ? extra : ""));
    status_ = run.status;
    output_ = run.out + run.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static fs::path out() { return dir_->path() / "demo"; }
  static double score(const std::string& variant, const std::string& metric) {
    return io::read_json(out() / "scores" / (variant + ".json")).at(metric).get<double>();
  }
  void SetUp() override { ASSERT_EQ(status_, 0) << output_; }
  static void TheAlignedEmbeddingClosesTheModalityGapAndRetrievesNoWorse();
  static void CaptionsBeatTheBaselines();
  static void TheLanguageModelsChosenCandidatesAreCloseToTheAlignedImage();
  static void AlignedClipScoreRanksTheRightCaptionAboveAWrongOne();
  static void DalRunsAndReportsEveryIteration();

  static test::TempDir* dir_;
  static int status_;
  static std::string output_;
};
test::TempDir* DemoRegression::dir_ = nullptr;
int DemoRegression::status_ = -1;
std::string DemoRegression::output_;

}  // namespace

void DemoRegression::TheAlignedEmbeddingClosesTheModalityGapAndRetrievesNoWorse() {
  const auto recall = io::read_json(out() / "recall.json");
  const double raw_gap = recall["modality_gap"]["centre_distance"];
  const double aligned_gap = recall["aligned_modality_gap"]["centre_distance"];
  EXPECT_LE(aligned_gap, bounds()["modality_gap_ratio_max"].get<double>() * raw_gap)
      << "raw " << raw_gap << ", aligned " << aligned_gap;
  EXPECT_GE(recall["aligned"]["R@5"].get<double>(), recall["raw"]["R@5"].get<double>());
}

void DemoRegression::CaptionsBeatTheBaselines() {
  const double floor = score("random", "CIDEr"), nearest = score("nearest", "CIDEr");
  const double factor = bounds()["cider_over_random_factor"];
  for (const char* variant : {"retrieval-procrustes", "lm"}) {
    EXPECT_GE(score(variant, "CIDEr"), factor * floor) << variant << " vs random " << floor;
    EXPECT_GE(score(variant, "CIDEr"), nearest) << variant << " vs nearest caption by raw CLIP";
    EXPECT_GE(score(variant, "CIDEr"), bounds()["cider_min"][variant].get<double>()) << variant;
  }
}

void DemoRegression::TheLanguageModelsChosenCandidatesAreCloseToTheAlignedImage() {
  // The aligned choice maximises aCLIP-S among the candidates; a random choice does not.
  EXPECT_GE(score("lm", "aCLIP-S"), bounds()["lm_aclip_s_min"].get<double>());
  EXPECT_GE(score("lm", "RefaCLIP-S"), bounds()["lm_refaclip_s_min"].get<double>());
}

void DemoRegression::AlignedClipScoreRanksTheRightCaptionAboveAWrongOne() {
  // Each test picture with its own first caption, and with the next picture's.
  const auto dataset = io::read_json(out() / "world" / "dataset_demo.json");
  std::vector<std::pair<std::string, std::string>> test_images;  // (id, first caption)
  for (const auto& image : dataset["images"]) {
    if (image["split"] != "test") continue;
    test_images.emplace_back(fs::path(image["filename"].get<std::string>()).stem().string(),
                             image["sentences"][0]["raw"].get<std::string>());
  }
  ASSERT_GT(test_images.size(), 10u);
  nlohmann::json right = nlohmann::json::array(), wrong = nlohmann::json::array();
  for (std::size_t i = 0; i < test_images.size(); ++i) {
    right.push_back({{"image_id", test_images[i].first}, {"caption", test_images[i].second}});
    wrong.push_back({{"image_id", test_images[i].first}, {"caption", test_images[(i + 1) % test_images.size()].second}});
  }
  io::write_json(dir_->path() / "right.json", right);
  io::write_json(dir_->path() / "wrong.json", wrong);
  auto per_image = [&](const std::string& name) {
    const auto r = test::run_tool("recap-score", "--results " + (dir_->path() / (name + ".json")).string() +
                                                    " --dataset " + (out() / "world" / "dataset_demo.json").string() +
                                                    " --split test --metrics aclip-s --clip " +
                                                    (test::source_dir() / "models" / "demo" / "clip").string() +
                                                    " --images " + (out() / "world").string() + " --run " +
                                                    (out() / "runs" / "procrustes").string() + " --per-image " +
                                                    (dir_->path() / (name + ".jsonl")).string());
    EXPECT_EQ(r.status, 0) << r.err;
    std::map<std::string, double> scores;
    std::ifstream in(dir_->path() / (name + ".jsonl"));
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      scores[j["image_id"].dump()] = j["aCLIP-S"].get<double>();
    }
    return scores;
  };
  const auto right_scores = per_image("right"), wrong_scores = per_image("wrong");
  ASSERT_EQ(right_scores.size(), test_images.size());
  std::size_t ranked_right = 0;
  for (const auto& [id, value] : right_scores) ranked_right += value > wrong_scores.at(id);
  std::printf("aCLIP-S ranks the right caption above the wrong one for %zu of %zu pictures\n", ranked_right,
              right_scores.size());
  EXPECT_GE(double(ranked_right) / right_scores.size(), bounds()["aclip_s_right_over_wrong_min"].get<double>());
}

void DemoRegression::DalRunsAndReportsEveryIteration() {
  std::ifstream csv(out() / "dal" / "dal.csv");
  std::string header, line;
  std::getline(csv, header);
  int rows = 0;
  while (std::getline(csv, line)) rows += !line.empty();
  EXPECT_EQ(rows, 2) << "iteration 0 and the one DAL iteration the test asks for";
  EXPECT_NE(header.find("CIDEr"), std::string::npos);
}

TEST_F(DemoRegression, TheMethodStaysWithinItsBounds) {
  {
    SCOPED_TRACE("TheAlignedEmbeddingClosesTheModalityGapAndRetrievesNoWorse");
    TheAlignedEmbeddingClosesTheModalityGapAndRetrievesNoWorse();
  }
  {
    SCOPED_TRACE("CaptionsBeatTheBaselines");
    CaptionsBeatTheBaselines();
  }
  {
    SCOPED_TRACE("TheLanguageModelsChosenCandidatesAreCloseToTheAlignedImage");
    TheLanguageModelsChosenCandidatesAreCloseToTheAlignedImage();
  }
  {
    SCOPED_TRACE("AlignedClipScoreRanksTheRightCaptionAboveAWrongOne");
    AlignedClipScoreRanksTheRightCaptionAboveAWrongOne();
  }
  {
    SCOPED_TRACE("DalRunsAndReportsEveryIteration");
    DalRunsAndReportsEveryIteration();
  }
}
