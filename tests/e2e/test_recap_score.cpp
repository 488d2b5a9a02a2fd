// recap-score end to end: the golden Flickr30k scores through the command line, the
// CLIP-S family from embedding files, and bad inputs.
#include <gtest/gtest.h>

#include <algorithm>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

const fs::path kGolden = test::shared_dir() / "golden/metrics/flickr30k-test";

void expect_failure(const test::ToolRun& run, int status, const std::string& fragment) {
  EXPECT_EQ(run.status, status) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << "expected '" << fragment << "' in: " << run.err;
}

}  // namespace

TEST(RecapScore, GoldenScoresThroughTheCommandLine) {
  test::TempDir dir;
  auto run = test::run_tool("recap-score", "--results " + (kGolden / "results.json").string() + " --refs " +
                                               (kGolden / "refs.json").string() + " --json " + (dir / "s.json").string() +
                                               " --per-image " + (dir / "p.jsonl").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto got = io::read_json(dir / "s.json");
  const auto expected = io::read_json(kGolden / "expected.json");
  for (auto it = expected.begin(); it != expected.end(); ++it)
    EXPECT_NEAR(got.at(it.key()).get<double>(), it.value().get<double>(), 1e-9) << it.key();
  const auto per_image = io::read_jsonl(dir / "p.jsonl");
  ASSERT_EQ(per_image.size(), 1000u);
  double cider = 0;
  for (const auto& line : per_image) cider += line["CIDEr"].get<double>();
  EXPECT_NEAR(cider / 1000, expected["CIDEr"].get<double>(), 1e-9);
  EXPECT_NE(run.out.find("CIDEr"), std::string::npos);
}

TEST(RecapScore, BootstrapIntervalsContainTheScore) {
  test::TempDir dir;
  auto run = test::run_tool("recap-score", "--results " + (kGolden / "results.json").string() + " --refs " +
                                               (kGolden / "refs.json").string() + " --bootstrap 100 --seed 1 --json " +
                                               (dir / "s.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto got = io::read_json(dir / "s.json");
  for (std::string m : {"Bleu_4", "ROUGE_L", "CIDEr"}) {
    const auto ci = got.at(m + "_95ci");
    EXPECT_LT(ci[0].get<double>(), got[m].get<double>()) << m;
    EXPECT_GT(ci[1].get<double>(), got[m].get<double>()) << m;
  }
}

TEST(RecapScore, ClipFamilyFromEmbeddings) {
  test::TempDir dir;
  test::write_bytes(dir / "results.json", R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])");
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "dog"}, {"image_id": "2", "caption": "cat"},
                                                          {"image_id": 2, "caption": "kitten"}]})");
  const float images[] = {1, 0, 0, 1};
  const float candidates[] = {0.6f, 0.8f, 0, 1};
  const float references[] = {0, 1, 0.6f, 0.8f, 1, 0};
  const float identity[] = {1, 0, 0, 1};
  io::write_npy(dir / "img.npy", images, {2, 2});
  io::write_npy(dir / "cand.npy", candidates, {2, 2});
  io::write_npy(dir / "refs.npy", references, {3, 2});
  io::write_npy(dir / "w.npy", identity, {2, 2});
  auto run = test::run_tool(
      "recap-score", "--results " + (dir / "results.json").string() + " --refs " + (dir / "refs.json").string() +
                         " --metrics clip-s,refclip-s,aclip-s,refaclip-s --image-embeddings " + (dir / "img.npy").string() +
                         " --candidate-embeddings " + (dir / "cand.npy").string() + " --reference-embeddings " +
                         (dir / "refs.npy").string() + " --mapping " + (dir / "w.npy").string() + " --json " +
                         (dir / "s.json").string());
  ASSERT_EQ(run.status, 0) << run.err;
  const auto s = io::read_json(dir / "s.json");
  // CLIP-S: image 1 cos 0.6 -> 1.5; image 2 cos 1 -> 2.5; mean 2.0.
  EXPECT_NEAR(s["CLIP-S"].get<double>(), 2.0, 1e-6);
  // RefCLIP-S: H(1.5, 0.8) and H(2.5, max(0.8, 0)) = H(2.5, 0.8).
  const double h1 = 2 * 1.5 * 0.8 / 2.3, h2 = 2 * 2.5 * 0.8 / 3.3;
  EXPECT_NEAR(s["RefCLIP-S"].get<double>(), (h1 + h2) / 2, 1e-6);
  EXPECT_NEAR(s["aCLIP-S"].get<double>(), s["CLIP-S"].get<double>(), 1e-9);  // W = identity
  EXPECT_NEAR(s["RefaCLIP-S"].get<double>(), s["RefCLIP-S"].get<double>(), 1e-9);
}

TEST(RecapScore, BadInputs) {
  test::TempDir dir;
  const std::string refs = " --refs " + (dir / "refs.json").string();
  test::write_bytes(dir / "refs.json", R"({"annotations": [{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}]})");
  auto score = [&](const std::string& results, const std::string& extra = "") {
    test::write_bytes(dir / "results.json", results);
    return test::run_tool("recap-score", "--results " + (dir / "results.json").string() + refs + extra);
  };
  expect_failure(score(R"([{"image_id": 3, "caption": "x"}])"), 3, "image id 3 has no references");
  expect_failure(score(R"([{"image_id": 1, "caption": "x"}, {"image_id": "1", "caption": "y"}])"), 3, "more than once");
  expect_failure(score("[{\"image_id\": 1, \"caption\": \"caf\xe9\"}]"), 3, "UTF-8");
  expect_failure(score(R"([{"image_id": 1}])"), 3, "caption");
  expect_failure(score(R"({"image_id": 1})"), 3, "COCO results");
  expect_failure(score(R"([{"image_id": 1, "caption": "a dog"}])", " --metrics bleu,sparkle"), 2, "sparkle");
  const std::string both = R"([{"image_id": 1, "caption": "a dog"}, {"image_id": 2, "caption": "a cat"}])";
  expect_failure(score(both, " --metrics clip-s"), 2, "--image-embeddings");
  // Warnings, errors with --strict: an image of the references without a result; an empty caption.
  auto partial = score(R"([{"image_id": 1, "caption": "..."}])");
  EXPECT_EQ(partial.status, 0) << partial.err;
  EXPECT_NE(partial.err.find("1 of 2 reference images have no result"), std::string::npos) << partial.err;
  EXPECT_NE(partial.err.find("1 of 1 captions are empty"), std::string::npos) << partial.err;
  expect_failure(score(R"([{"image_id": 1, "caption": "..."}])", " --strict"), 3, "--strict");
  test::write_bytes(dir / "taken.json", "mine");
  expect_failure(score(both, " --json " + (dir / "taken.json").string()), 2, "--force");
  EXPECT_EQ(test::read_bytes(dir / "taken.json"), "mine");
}
