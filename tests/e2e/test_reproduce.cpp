// scripts/reproduce.sh on each benchmark: with nothing present it lists exactly what to
// download and where; on a tiny dataset in the real layout (pictures and videos drawn
// here), with the tiny CLIP and T5 models and a stand-in for the METEOR/SPICE jars, it
// goes through every stage, ends with a table that has every column, and a second run
// reuses every stage.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>

#include "clip_tools_support.h"
#include "fake_datasets.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;
using namespace recap;
using test::quoted;

namespace {

// Stands in for Java running either jar: METEOR's stdio protocol (one statistics line
// per SCORE, one score per image and a corpus score per EVAL) and SPICE's -out file.
const char* kFakeJava = R"(#!/bin/bash
for a in "$@"; do case "$a" in *meteor*) mode=meteor ;; *spice*) mode=spice ;; esac; done
if [ "$mode" = meteor ]; then
  while IFS= read -r line; do
    case "$line" in
      SCORE*) echo 1 ;;
      EVAL*) for s in $(sed 's/^EVAL//; s/ ||| / /g' <<<"$line"); do echo 0.25; done; echo 0.25 ;;
    esac
  done
  exit 0
fi
while [ $# -gt 0 ]; do case "$1" in -out) out="$2"; shift ;; *.json) in="$1" ;; esac; shift; done
ids=$(grep -o '"image_id": *"[^"]*"' "$in" | sed 's/.*: *//' | sort -u)
{ echo '['; sep=''; for id in $ids; do echo "$sep{\"image_id\": $id, \"scores\": {\"All\": {\"f\": 0.5}}}"; sep=','; done; echo ']'; } > "$out"
)";

class Reproduce : public ::testing::Test {
 protected:
  void SetUp() override {
    // The models under the names the configs give them.
    fs::create_directories(dir / "models");
    fs::create_directory_symlink(test::tiny_clip(), dir / "models/clip-vit-base-patch32");
    fs::create_directory_symlink(test::test_data_dir() / "golden/t5/tiny-gated-untied", dir / "models/flan-t5-base");
    fs::create_directories(dir / "jars");
    test::write_bytes(dir / "jars/meteor-1.5.jar", "stand-in");
    test::write_bytes(dir / "jars/spice-1.0.jar", "stand-in");
    test::write_bytes(dir / "java", kFakeJava);
    fs::permissions(dir / "java", fs::perms::owner_all);
  }

  test::ToolRun reproduce(const std::string& dataset, const std::string& extra = "") {
    return test::run_command("RECAP_BUILD_DIR=" + quoted(test::tools_dir()) + " RECAP_CACHE=" + quoted(dir / "cache") +
                             " bash " + quoted(test::source_dir() / "scripts/reproduce.sh") + " " + dataset +
                             " --data " + quoted(dir / "data") + " --models " + quoted(dir / "models") + " --jars " +
                             quoted(dir / "jars") + " --java " + quoted(dir / "java") + " --out " +
                             quoted(dir / ("out-" + dataset)) + " --threads 2 " + extra);
  }

  // Runs the dataset end to end twice; checks the table and that the rerun reused everything.
  // `numbers_from`: the first column from which every cell must hold a number (a metric
  // constant over a tiny judgement set has no rank correlation, and is n/a).
  void expect_full_run(const std::string& dataset, const std::vector<std::string>& rows,
                       const std::vector<std::string>& columns, std::size_t numbers_from = 0) {
    const std::string extra;
    const auto first = reproduce(dataset, extra);
    ASSERT_EQ(first.status, 0) << first.err;
    const fs::path out = dir / ("out-" + dataset);
    const auto csv = test::read_bytes(out / "table.csv");
    std::string header = "row";
    for (const auto& c : columns) header += "," + c;
    EXPECT_EQ(csv.substr(0, csv.find('\n')), header) << csv;
    for (const auto& row : rows) {
      const auto at = csv.find("\n" + row + ",");
      ASSERT_NE(at, std::string::npos) << row << " missing in\n" << csv;
      const std::string line = csv.substr(at + 1, csv.find('\n', at + 1) - at - 1);
      std::vector<std::string> cells;
      std::stringstream in(line.substr(row.size() + 1));
      for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
      if (line.back() == ',') cells.emplace_back();
      ASSERT_EQ(cells.size(), columns.size()) << line;
      for (std::size_t c = numbers_from; c < cells.size(); ++c)
        EXPECT_FALSE(cells[c].empty()) << columns[c] << " is n/a in: " << line;
    }
    const auto markdown = test::read_bytes(out / "table.md");
    EXPECT_NE(markdown.find("## Provenance"), std::string::npos);
    EXPECT_NE(markdown.find("fnv1a64"), std::string::npos);
    EXPECT_NE(markdown.find("scripts/reproduce.sh " + dataset), std::string::npos);
    const auto provenance = io::read_json(out / "provenance.json");
    EXPECT_GE(provenance["inputs"].size(), 3u);

    const auto again = reproduce(dataset, extra);
    ASSERT_EQ(again.status, 0) << again.err;
    std::stringstream lines(again.err);
    for (std::string line; std::getline(lines, line);)
      EXPECT_NE(line.find("reusing"), std::string::npos) << "the rerun did more than reuse: " << line;
    EXPECT_NE(again.err.find("fit: reusing"), std::string::npos) << again.err;
    EXPECT_EQ(test::read_bytes(out / "table.csv"), csv);
  }

  const std::vector<std::string> kCaptionColumns = {"Bleu_4", "METEOR", "SPICE", "ROUGE_L", "CIDEr",
                                                    "CLIP-S", "RefCLIP-S", "aCLIP-S", "RefaCLIP-S"};
  const std::vector<std::string> kCaptionRows = {"ReCap retrieval only", "ReCap with flan-t5-base"};
  test::TempDir dir;
};

// The lines of the missing-files report that name a path ("  file    PATH").
std::vector<std::string> missing_paths(const std::string& err, const fs::path& root) {
  std::vector<std::string> paths;
  static const std::regex line(R"(^  (file|folder) +(\S+)$)");
  std::stringstream in(err);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (std::regex_match(l, m, line)) paths.push_back(fs::path(m.str(2)).lexically_relative(root).string());
  }
  return paths;
}

}  // namespace

TEST_F(Reproduce, WithNothingPresentListsExactlyWhatToDownloadAndWhere) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"coco", {"data/coco/dataset_coco.json", "data/coco/train2014", "data/coco/val2014"}},
      {"flickr30k", {"data/flickr30k/dataset_flickr30k.json", "data/flickr30k/flickr30k-images"}},
      {"vizwiz", {"data/vizwiz/annotations/train.json", "data/vizwiz/annotations/val.json", "data/vizwiz/train", "data/vizwiz/val"}},
      {"msrvtt", {"data/msrvtt/MSRVTT_data.json", "data/msrvtt/videos/all"}},
      {"flickr8k", {"data/flickr8k/Flickr8k_text/Flickr8k.token.txt", "data/flickr8k/Flickr8k_text/Flickr_8k.trainImages.txt",
                    "data/flickr8k/Flickr8k_text/ExpertAnnotations.txt", "data/flickr8k/Flickr8k_text/CrowdFlowerAnnotations.txt",
                    "data/flickr8k/Flicker8k_Dataset"}}};
  fs::remove_all(dir / "models");
  fs::remove_all(dir / "jars");
  const std::vector<std::string> clip = {"models/clip-vit-base-patch32/config.json", "models/clip-vit-base-patch32/model.safetensors",
                                         "models/clip-vit-base-patch32/vocab.json", "models/clip-vit-base-patch32/merges.txt"};
  const std::vector<std::string> lm = {"models/flan-t5-base/config.json", "models/flan-t5-base/model.safetensors",
                                       "models/flan-t5-base/spiece.model"};
  for (const auto& [dataset, data] : expected) {
    const auto run = reproduce(dataset);
    EXPECT_EQ(run.status, 2) << dataset;
    auto want = data;
    want.insert(want.end(), clip.begin(), clip.end());
    if (dataset != "flickr8k") want.insert(want.end(), lm.begin(), lm.end());
    want.insert(want.end(), {"jars/meteor-1.5.jar", "jars/spice-1.0.jar"});
    EXPECT_EQ(missing_paths(run.err, dir.path()), want) << run.err;
    EXPECT_NE(run.err.find("from: http"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("scripts/download_models.sh --models"), std::string::npos) << run.err;
    EXPECT_FALSE(fs::exists(dir / ("out-" + dataset))) << "nothing is written before everything is present";
  }
  // The transfer setting needs COCO as well.
  const auto transfer = reproduce("vizwiz", "--train-on coco");
  EXPECT_NE(transfer.err.find("data/coco/dataset_coco.json"), std::string::npos) << transfer.err;
  // Usage errors.
  EXPECT_EQ(reproduce("imagenet").status, 2);
  EXPECT_EQ(reproduce("coco", "--train-on coco").status, 2);
}

TEST_F(Reproduce, Coco) {
  const fs::path d = dir / "data/coco";
  test::write_json_file(d / "dataset_coco.json",
                        test::karpathy(d, "val2014", {"train", "train", "restval", "train", "test", "test"}, true));
  fs::create_directories(d / "train2014");
  expect_full_run("coco", kCaptionRows, kCaptionColumns);
}

TEST_F(Reproduce, Flickr30k) {
  const fs::path d = dir / "data/flickr30k";
  test::write_json_file(d / "dataset_flickr30k.json",
                        test::karpathy(d, "flickr30k-images", {"train", "train", "train", "val", "test", "test"}, false));
  expect_full_run("flickr30k", kCaptionRows, kCaptionColumns);
}

TEST_F(Reproduce, VizWizInDomainAndFromCoco) {
  const fs::path d = dir / "data/vizwiz";
  for (const std::string split : {"train", "val"}) {
    nlohmann::json images = nlohmann::json::array(), annotations = nlohmann::json::array();
    for (int i = 0; i < 4; ++i) {
      const int index = split == "train" ? i : i + 1;
      char name[64];
      std::snprintf(name, sizeof name, "VizWiz_%s_%08d.jpg", split.c_str(), i);
      test::write_image(d / split / name, index);
      images.push_back({{"file_name", name}, {"id", i}, {"text_detected", false}});
      for (const auto& c : test::scene_captions(index))
        annotations.push_back({{"image_id", i}, {"caption", c}, {"is_rejected", false}, {"is_precanned", false}});
      annotations.push_back({{"image_id", i}, {"caption", "Quality issues are too severe to recognize visual content."},
                             {"is_rejected", false}, {"is_precanned", true}});
    }
    test::write_json_file(d / "annotations" / (split + ".json"), {{"images", images}, {"annotations", annotations}});
  }
  expect_full_run("vizwiz", kCaptionRows, kCaptionColumns);

  const fs::path c = dir / "data/coco";
  test::write_json_file(c / "dataset_coco.json", test::karpathy(c, "val2014", {"train", "train", "restval", "test"}, true));
  fs::create_directories(c / "train2014");
  const auto transfer = reproduce("vizwiz", "--train-on coco --out " + quoted(dir / "out-vizwiz-from-coco"));
  ASSERT_EQ(transfer.status, 0) << transfer.err;
  const auto run = io::read_json(dir / "out-vizwiz-from-coco/run/run.json");
  EXPECT_NE(run.dump().find("dataset_coco.json"), std::string::npos) << "W must come from COCO";
  EXPECT_NE(test::read_bytes(dir / "out-vizwiz-from-coco/table.md").find("W and datastore from coco"), std::string::npos);
}

TEST_F(Reproduce, MsrvttVideos) {
  const fs::path d = dir / "data/msrvtt";
  nlohmann::json videos = nlohmann::json::array(), sentences = nlohmann::json::array();
  const std::vector<std::pair<int, std::string>> split_of = {{0, "train"}, {1, "train"}, {2, "train"}, {6513, "validate"},
                                                             {7010, "test"}, {7011, "test"}};
  int index = 0;
  for (const auto& [number, split] : split_of) {
    const std::string id = "video" + std::to_string(number);
    test::write_video(d / "videos/all" / (id + ".mp4"), index);
    videos.push_back({{"video_id", id}, {"split", split}, {"id", number}});
    for (const auto& c : test::scene_captions(index)) sentences.push_back({{"video_id", id}, {"caption", c}});
    ++index;
  }
  test::write_json_file(d / "MSRVTT_data.json", {{"videos", videos}, {"sentences", sentences}});
  expect_full_run("msrvtt", kCaptionRows, kCaptionColumns);
  const auto results = io::read_json(dir / "out-msrvtt/lm/results.json");
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0]["image_id"], "video7010");
}

TEST_F(Reproduce, Flickr8kCorrelation) {
  const fs::path d = dir / "data/flickr8k", text = d / "Flickr8k_text";
  std::string tokens, train, expert, crowd;
  for (int i = 0; i < 6; ++i) {
    const std::string image = std::to_string(1000 + i) + "_abc.jpg";
    test::write_image(d / "Flicker8k_Dataset" / image, i);
    const auto captions = test::scene_captions(i);
    for (std::size_t k = 0; k < captions.size(); ++k) tokens += image + "#" + std::to_string(k) + "\t" + captions[k] + "\n";
    if (i < 4) train += image + "\n";
    // Judged: another image's caption, rated by how well it fits (the same scene: high).
    const std::string other = std::to_string(1000 + (i + 1) % 6) + "_abc.jpg#0";
    const int rating = 1 + (i % 4);
    expert += image + "\t" + other + "\t" + std::to_string(rating) + "\t" + std::to_string(rating) + "\t" +
              std::to_string(std::min(4, rating + 1)) + "\n";
    crowd += image + "\t" + other + "\t" + std::to_string(0.2 * (i % 5)) + "\t3\t" + std::to_string(i % 3) + "\n";
  }
  fs::create_directories(text);
  test::write_bytes(text / "Flickr8k.token.txt", tokens);
  test::write_bytes(text / "Flickr_8k.trainImages.txt", train);
  test::write_bytes(text / "ExpertAnnotations.txt", expert);
  test::write_bytes(text / "CrowdFlowerAnnotations.txt", crowd);
  expect_full_run("flickr8k", {"Flickr8k-Expert (tau-c)", "Flickr8k-CrowdFlower (tau-b)"},
                  {"Bleu_1", "Bleu_4", "ROUGE_L", "CIDEr", "CLIP-S", "RefCLIP-S", "aCLIP-S", "RefaCLIP-S"}, 6);
  // With the tiny random CLIP every raw cosine here is negative, so CLIP-S = max(cos, 0)
  // is constant and has no rank correlation: n/a, saying why. The aligned scores vary.
  const auto markdown = test::read_bytes(dir / "out-flickr8k/table.md");
  EXPECT_NE(markdown.find("CLIP-S: undefined (constant scores)"), std::string::npos) << markdown;
}
