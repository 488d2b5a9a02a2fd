// recap-dal end to end on a small Karpathy-style dataset the test writes over the golden
// images, with the tiny CLIP and T5 models. Checked against independent recomputation:
// the selection rule against RefaCLIP-S scores recap-score computes in its own process,
// exclusion against the datastore rows each retrieved caption came from, resumption
// against an uninterrupted loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "clip_tools_support.h"
#include "recap/io/json_file.h"

using namespace recap;
namespace fs = std::filesystem;
using test::quoted;

namespace {

const char* kCaptions[] = {"a man riding a wave on a surfboard", "two dogs play in the grass", "a cat sleeping on a couch",
                           "a red car parked in the snow",       "a plate of food with broccoli", "a train on the tracks",
                           "a bird perched on a branch",         "an old clock tower",       "a bowl of fruit on a table",
                           "a child flying a kite",              "a boat on a lake"};

class Dal : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    // Every golden image, three references each; every fourth one in val.
    nlohmann::json images = nlohmann::json::array();
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(test::test_data_dir() / "golden/preprocess/images"))
      files.push_back(e.path().filename().string());
    std::sort(files.begin(), files.end());
    nlohmann::json paths = nlohmann::json::object();
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string a = kCaptions[i % 11], b = kCaptions[(i + 3) % 11], c = kCaptions[(i + 5) % 11];
      images.push_back({{"split", i % 4 == 3 ? "val" : "train"},
                        {"filename", files[i]},
                        {"sentences", {{{"raw", a}}, {{"raw", "a photo of " + b}}, {{"raw", c + " in the sun"}}}}});
      paths[fs::path(files[i]).stem().string()] = (images_dir() / files[i]).string();
    }
    test::write_bytes(path("karpathy.json"), nlohmann::json{{"images", images}}.dump());
    test::write_bytes(path("paths.json"), paths.dump());
    const auto fit = test::run_tool("recap-fit", "--clip " + quoted(test::tiny_clip()) + " --dataset " +
                                                     quoted(path("karpathy.json")) + " --split train --images " +
                                                     quoted(images_dir()) + " --no-cache --threads 2 --out " + quoted(path("run")));
    ASSERT_EQ(fit.status, 0) << fit.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return *dir_ / name; }
  static fs::path images_dir() { return test::test_data_dir() / "golden/preprocess/images"; }
  static fs::path lm() { return test::test_data_dir() / "golden/t5/tiny-gated-untied"; }
  static std::string args(const std::string& out) {
    return "--run " + quoted(path("run")) + " --clip " + quoted(test::tiny_clip()) + " --train " + quoted(path("karpathy.json")) +
           " --train-split train --val " + quoted(path("karpathy.json")) + " --val-split val --images " +
           quoted(images_dir()) + " --k 3 --no-cache --threads 2 --out " + quoted(path(out));
  }
  static std::string lm_args(const std::string& out) {
    return args(out) + " --lm " + quoted(lm()) + " --candidate-beams 2 --candidate-samples 3 --max-new-tokens 8 --batch-size 3";
  }
  static test::TempDir* dir_;
};
test::TempDir* Dal::dir_ = nullptr;

// The datastore rows as the loop numbers them: the base, then each iteration's additions.
std::vector<nlohmann::json> datastore_rows(const fs::path& run, const fs::path& dal, int up_to_iteration) {
  auto rows = io::read_jsonl(run / "datastore/captions.jsonl");
  for (int i = 1; i <= up_to_iteration; ++i) {
    const auto layer = dal / ("iter-" + std::to_string(i)) / "datastore/captions.jsonl";
    if (!fs::exists(layer)) continue;
    for (auto& r : io::read_jsonl(layer)) rows.push_back(r);
  }
  return rows;
}

}  // namespace

TEST_F(Dal, AddsExactlyTheCaptionsThatPassTheRuleAndNeverRetrievesAnImagesOwn) {
  const auto run = test::run_tool("recap-dal", args("dal") + " --iterations 2");
  ASSERT_EQ(run.status, 0) << run.err;
  const fs::path dal = path("dal");
  for (const char* f : {"dal.csv", "dal.png", "dal.json", "iter-0/val_scores.json", "iter-2/val_results.json"})
    EXPECT_TRUE(fs::exists(dal / f)) << f;
  EXPECT_EQ(io::read_lines(dal / "dal.csv").size(), 4u);  // header + iterations 0, 1, 2

  int added_total = 0;
  for (int it = 1; it <= 2; ++it) {
    const fs::path iter = dal / ("iter-" + std::to_string(it));
    const auto records = io::read_jsonl(iter / "train_captions.jsonl");
    ASSERT_EQ(records.size(), 9u);  // 12 golden images, 3 in val

    // No image retrieves a caption of its own id (its references or earlier additions).
    const auto rows = datastore_rows(path("run"), dal, it - 1);
    for (const auto& r : records)
      for (const auto& hit : r["retrieved"])
        EXPECT_NE(rows.at(hit["index"].get<std::size_t>())["image_id"], r["image_id"]) << "iteration " << it;

    // RefaCLIP-S of each synthetic caption, and of each reference left out in turn,
    // computed by recap-score in its own process.
    const auto dataset = io::read_json(path("karpathy.json"));
    std::map<std::string, std::vector<std::string>> refs;
    for (const auto& image : dataset["images"])
      if (image["split"] == "train")
        for (const auto& s : image["sentences"]) refs[fs::path(image["filename"].get<std::string>()).stem().string()].push_back(s["raw"]);
    auto score = [&](const std::string& name, const nlohmann::json& results, const nlohmann::json& annotations) {
      test::write_bytes(path(name + "-results.json"), results.dump());
      test::write_bytes(path(name + "-refs.json"), nlohmann::json{{"annotations", annotations}}.dump());
      const auto s = test::run_tool("recap-score", "--results " + quoted(path(name + "-results.json")) + " --refs " +
                                                      quoted(path(name + "-refs.json")) + " --metrics refaclip-s --run " +
                                                      quoted(path("run")) + " --clip " + quoted(test::tiny_clip()) +
                                                      " --images " + quoted(path("paths.json")) + " --no-cache --per-image " +
                                                      quoted(path(name + ".jsonl")) + " --force");
      EXPECT_EQ(s.status, 0) << s.err;
      std::map<std::string, double> by_id;
      for (const auto& l : io::read_jsonl(path(name + ".jsonl"))) by_id[l["image_id"].get<std::string>()] = l["RefaCLIP-S"];
      return by_id;
    };
    nlohmann::json results = nlohmann::json::array(), all_refs = nlohmann::json::array();
    for (const auto& r : records) {
      results.push_back({{"image_id", r["image_id"]}, {"caption", r["caption"]}});
      for (const auto& c : refs[r["image_id"]]) all_refs.push_back({{"image_id", r["image_id"]}, {"caption", c}});
    }
    const auto synthetic = score("synthetic" + std::to_string(it), results, all_refs);
    std::map<std::string, std::vector<double>> left_out;
    for (int j = 0; j < 3; ++j) {
      nlohmann::json res = nlohmann::json::array(), others = nlohmann::json::array();
      for (const auto& r : records) {
        const auto& mine = refs[r["image_id"]];
        res.push_back({{"image_id", r["image_id"]}, {"caption", mine[j]}});
        for (int o = 0; o < 3; ++o)
          if (o != j) others.push_back({{"image_id", r["image_id"]}, {"caption", mine[o]}});
      }
      for (const auto& [id, v] : score("loo" + std::to_string(it) + std::to_string(j), res, others)) left_out[id].push_back(v);
    }
    std::set<std::string> expected, added;
    for (const auto& [id, s] : synthetic) {
      auto v = left_out[id];
      std::sort(v.begin(), v.end());
      if (s >= v[1] - 1e-5) expected.insert(id);  // median of three; float noise across processes
      EXPECT_GT(std::fabs(s - v[1]), 1e-5) << "a caption on the bar: the comparison would not be decisive";
    }
    for (const auto& a : io::read_jsonl(iter / "added.jsonl")) {
      added.insert(a["image_id"].get<std::string>());
      EXPECT_NEAR(a["score"].get<double>(), synthetic.at(a["image_id"]), 1e-5);
      EXPECT_EQ(a["iteration"], it);
      EXPECT_EQ(a["rule"], "reference-median");
    }
    EXPECT_EQ(added, expected) << "iteration " << it;
    added_total += static_cast<int>(added.size());
  }
  EXPECT_GT(added_total, 0) << "the rule never let a caption through: the test would show nothing";
  // The run is never modified: its datastore keeps its own captions.
  EXPECT_EQ(io::read_jsonl(path("run/datastore/captions.jsonl")).size(), 27u);
}

TEST_F(Dal, AnInterruptedLoopResumesToTheSameResult) {
  const auto whole = test::run_tool("recap-dal", lm_args("lm-whole") + " --iterations 2");
  ASSERT_EQ(whole.status, 0) << whole.err;
  const auto cut = test::run_tool("recap-dal", lm_args("lm-cut") + " --iterations 2 --stop-after-iterations 1");
  ASSERT_EQ(cut.status, 75) << cut.err;
  EXPECT_TRUE(fs::exists(path("lm-cut/iter-1/summary.json")));
  EXPECT_FALSE(fs::exists(path("lm-cut/iter-2")));
  const auto resumed = test::run_tool("recap-dal", lm_args("lm-cut") + " --iterations 2");
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  for (const char* f : {"dal.csv", "iter-1/added.jsonl", "iter-2/added.jsonl", "iter-2/train_captions.jsonl",
                        "iter-2/val_results.json", "iter-2/datastore/captions.jsonl"})
    EXPECT_EQ(test::read_bytes(path("lm-cut") / f), test::read_bytes(path("lm-whole") / f)) << f;
  // Other settings in the same folder are refused, not mixed in.
  test::expect_failure(test::run_tool("recap-dal", lm_args("lm-cut") + " --iterations 2 --k 2"), 2, "other settings");
}

TEST_F(Dal, BadInputsAreOneLineErrors) {
  test::expect_failure(test::run_tool("recap-dal", args("bad0") + " --iterations 0"), 2, "--iterations");
  test::expect_failure(test::run_tool("recap-dal", args("bad1") + " --metric meteor"), 2, "--meteor-jar");
  test::expect_failure(test::run_tool("recap-dal", args("bad2") + " --metric nope"), 2, "unknown metric");
  test::expect_failure(test::run_tool("recap-dal", args("bad3") + " --select median"), 2, "selection rule");
  // A run without a datastore.
  fs::create_directories(path("bare"));
  fs::copy_file(path("run/mapping.npy"), path("bare/mapping.npy"));
  test::expect_failure(test::run_tool("recap-dal", args("bad4") + " --run " + quoted(path("bare"))), 3, "no datastore");
  // A split without references: every caption empty.
  auto dataset = io::read_json(path("karpathy.json"));
  for (auto& image : dataset["images"])
    if (image["split"] == "val")
      for (auto& s : image["sentences"]) s["raw"] = " ";
  test::write_bytes(path("no-refs.json"), dataset.dump());
  test::expect_failure(test::run_tool("recap-dal", args("bad5") + " --val " + quoted(path("no-refs.json"))), 3, "no image has a caption");
  EXPECT_FALSE(fs::exists(path("bad5"))) << "nothing written for a bad input";
}
