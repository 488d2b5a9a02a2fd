// recap-fit --clip --dataset end to end with the tiny golden CLIP: the W it fits equals
// the W of embedding by hand (recap-embed) and fitting from files, the split filter, the
// provenance, the cache on a rerun, unreadable images, and bad inputs.
#include <gtest/gtest.h>

#include <set>

#include "clip_tools_support.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

using namespace recap;
namespace fs = std::filesystem;
using test::quoted;

namespace {

// The images of the training splits in file order, with their non-empty captions.
struct Expected {
  std::string id, file;
  std::vector<std::string> captions;
};
const std::vector<Expected> kTrain = {
    {"321647", "val2014/COCO_val2014_000000321647.jpg", {"a dog on the beach", "a dog running on sand"}},
    {"334321", "val2014/COCO_val2014_000000334321.jpg", {"two people riding bicycles", "cyclists on a street", "bikes"}},
    {"356708", "val2014/COCO_val2014_000000356708.jpg", {"a plate of food"}},
    {"clipscore_image1", "clipscore_image1.jpg", {"a photo of something", "another caption"}}};

// A Karpathy split file over the golden images: kTrain in splits train and restval (one
// caption empty), plus a test and a val image that a train,restval fit must not see.
const char* kKarpathy = R"({"images": [
  {"split": "train", "filepath": "val2014", "filename": "COCO_val2014_000000321647.jpg", "cocoid": 321647,
   "sentences": [{"raw": "a dog on the beach"}, {"raw": "a dog running on sand"}]},
  {"split": "restval", "filepath": "val2014", "filename": "COCO_val2014_000000334321.jpg", "cocoid": 334321,
   "sentences": [{"raw": "two people riding bicycles"}, {"raw": "cyclists on a street"}, {"raw": "bikes"}]},
  {"split": "test", "filepath": "val2014", "filename": "COCO_val2014_000000442836.jpg", "cocoid": 442836,
   "sentences": [{"raw": "a held-out test caption"}]},
  {"split": "train", "filepath": "val2014", "filename": "COCO_val2014_000000356708.jpg", "cocoid": 356708,
   "sentences": [{"raw": "a plate of food"}, {"raw": "   "}]},
  {"split": "val", "filepath": "val2014", "filename": "COCO_val2014_000000560744.jpg", "cocoid": 560744,
   "sentences": [{"raw": "a held-out val caption"}]},
  {"split": "train", "filename": "clipscore_image1.jpg",
   "sentences": [{"raw": "a photo of something"}, {"raw": "another caption"}]}
]})";

// The same training images as COCO annotations (one file per split already).
const char* kCoco = R"({"images": [
  {"id": 321647, "file_name": "val2014/COCO_val2014_000000321647.jpg"},
  {"id": 334321, "file_name": "val2014/COCO_val2014_000000334321.jpg"},
  {"id": 356708, "file_name": "val2014/COCO_val2014_000000356708.jpg"},
  {"id": "clipscore_image1", "file_name": "clipscore_image1.jpg"}],
 "annotations": [
  {"image_id": 321647, "caption": "a dog on the beach"}, {"image_id": 334321, "caption": "two people riding bicycles"},
  {"image_id": 321647, "caption": "a dog running on sand"}, {"image_id": 334321, "caption": "cyclists on a street"},
  {"image_id": 334321, "caption": "bikes"}, {"image_id": 356708, "caption": "a plate of food"},
  {"image_id": 356708, "caption": ""}, {"image_id": "clipscore_image1", "caption": "a photo of something"},
  {"image_id": "clipscore_image1", "caption": "another caption"}]})";

class FitFromDataset : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(root() / "val2014");
    for (const char* name : {"COCO_val2014_000000321647.jpg", "COCO_val2014_000000334321.jpg",
                             "COCO_val2014_000000356708.jpg", "COCO_val2014_000000442836.jpg",
                             "COCO_val2014_000000560744.jpg"})
      fs::copy_file(test::golden_image(name), root() / "val2014" / name);
    fs::copy_file(test::golden_image("clipscore_image1.jpg"), root() / "clipscore_image1.jpg");
    test::write_bytes(path("karpathy.json"), kKarpathy);
    test::write_bytes(path("coco.json"), kCoco);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return *dir_ / name; }
  static fs::path root() { return *dir_ / "images"; }
  // Options every run shares: the model, a private cache, two threads.
  static std::string common() { return "--clip " + quoted(test::tiny_clip()) + " --cache " + quoted(path("cache")) + " --threads 2"; }
  static std::string dataset_args(const std::string& dataset = "karpathy.json", const std::string& split = "train,restval") {
    return common() + " --dataset " + quoted(path(dataset)) + " --images " + quoted(root()) +
           (split.empty() ? "" : " --split " + split);
  }
  static test::TempDir* dir_;
};
test::TempDir* FitFromDataset::dir_ = nullptr;

}  // namespace

TEST_F(FitFromDataset, EqualsEmbeddingByHandAndFittingFromFiles) {
  const auto run = test::run_tool("recap-fit", dataset_args() + " --out " + quoted(path("run")));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("4 images, 8 captions"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("1 empty caption(s) left out"), std::string::npos) << run.err;

  // By hand: recap-embed the same images and captions, pairs (image row, caption row).
  std::string list, captions;
  std::vector<std::int64_t> pairs;
  std::int64_t caption_row = 0;
  for (std::size_t i = 0; i < kTrain.size(); ++i) {
    list += (root() / kTrain[i].file).string() + "\n";
    for (const auto& c : kTrain[i].captions) {
      captions += c + "\n";
      pairs.insert(pairs.end(), {static_cast<std::int64_t>(i), caption_row++});
    }
  }
  test::write_bytes(path("hand_images.txt"), list);
  test::write_bytes(path("hand_captions.txt"), captions);
  io::write_npy(path("hand_pairs.npy"), pairs.data(), {caption_row, 2});
  const std::string embed = "--clip " + quoted(test::tiny_clip()) + " --no-cache --normalize --threads 2";
  ASSERT_EQ(test::run_tool("recap-embed", embed + " --images " + quoted(path("hand_images.txt")) + " --out " +
                                              quoted(path("hand_x.npy"))).status, 0);
  ASSERT_EQ(test::run_tool("recap-embed", embed + " --texts " + quoted(path("hand_captions.txt")) + " --out " +
                                              quoted(path("hand_y.npy"))).status, 0);
  const auto by_hand = test::run_tool(
      "recap-fit", "--image-embeddings " + quoted(path("hand_x.npy")) + " --text-embeddings " + quoted(path("hand_y.npy")) +
                       " --pairs " + quoted(path("hand_pairs.npy")) + " --captions " + quoted(path("hand_captions.txt")) +
                       " --out " + quoted(path("run-by-hand")));
  ASSERT_EQ(by_hand.status, 0) << by_hand.err;

  const auto w = io::read_npy_matrix(path("run/mapping.npy"));
  EXPECT_EQ(w.rows, 32);
  EXPECT_EQ(w.cols, 32);
  // 4 images in 32 dimensions: Procrustes' W is free outside their span (and differs
  // there between CPUs' BLAS kernels), x W is what the data decides.
  const auto x = io::read_npy_matrix(path("hand_x.npy"));
  EXPECT_LE(test::max_abs_diff(test::mapped(x, w), test::mapped(x, io::read_npy_matrix(path("run-by-hand/mapping.npy")))),
            1e-5);
  EXPECT_GT(*std::max_element(w.values.begin(), w.values.end()), 0.05f);  // a real map, not zeros
  EXPECT_LE(test::max_abs_diff(io::read_npy_matrix(path("run/datastore/embeddings.npy")),
                               io::read_npy_matrix(path("run-by-hand/datastore/embeddings.npy"))),
            1e-6);
  EXPECT_EQ(io::read_json(path("run/mapping.json"))["pairs"], 8);

  // The datastore holds exactly the training captions, with their image ids: the split
  // filter kept train and restval and nothing of test or val.
  const auto records = io::read_jsonl(path("run/datastore/captions.jsonl"));
  ASSERT_EQ(records.size(), 8u);
  std::size_t r = 0;
  for (const auto& image : kTrain)
    for (const auto& c : image.captions) {
      EXPECT_EQ(records[r]["caption"], c);
      EXPECT_EQ(records[r]["image_id"], image.id);
      ++r;
    }

  // COCO annotations of the same images give the same W.
  const auto coco = test::run_tool("recap-fit", dataset_args("coco.json", "") + " --out " + quoted(path("run-coco")));
  ASSERT_EQ(coco.status, 0) << coco.err;
  EXPECT_LE(test::max_abs_diff(w, io::read_npy_matrix(path("run-coco/mapping.npy"))), 1e-5);
  EXPECT_EQ(io::read_json(path("run-coco/run.json"))["inputs"]["format"], "coco");
}

TEST_F(FitFromDataset, SplitSelectsImagesAndProvenanceIsRecorded) {
  const auto run = test::run_tool("recap-fit", dataset_args("karpathy.json", "test,val") + " --out " + quoted(path("run-test")));
  ASSERT_EQ(run.status, 0) << run.err;
  std::set<std::string> ids;
  for (const auto& record : io::read_jsonl(path("run-test/datastore/captions.jsonl"))) ids.insert(record["image_id"]);
  EXPECT_EQ(ids, (std::set<std::string>{"442836", "560744"}));

  const auto inputs = io::read_json(path("run-test/run.json"))["inputs"];
  EXPECT_EQ(inputs["format"], "karpathy");
  EXPECT_EQ(inputs["splits"], nlohmann::json({"test", "val"}));
  EXPECT_EQ(inputs["dataset"]["path"], fs::absolute(path("karpathy.json")).string());
  EXPECT_EQ(inputs["counts"]["images"], 2);
  EXPECT_EQ(inputs["counts"]["captions"], 2);
  EXPECT_EQ(inputs["counts"]["unreadable_images"], 0);
  const auto mapping = io::read_json(path("run-test/mapping.json"));
  EXPECT_EQ(mapping["clip_model"]["path"], test::tiny_clip().string());
  // recap-embed reports the model's fingerprint; the run records it.
  ASSERT_TRUE(mapping["clip_model"]["fingerprint"].is_string()) << mapping.dump();
  EXPECT_GE(mapping["clip_model"]["fingerprint"].get<std::string>().size(), 8u);
  EXPECT_EQ(mapping["inputs"], inputs);
}

TEST_F(FitFromDataset, RerunIsServedByTheCacheAndNeedsForce) {
  const std::string args = dataset_args() + " --out " + quoted(path("run-again"));
  ASSERT_EQ(test::run_tool("recap-fit", args).status, 0);
  test::expect_failure(test::run_tool("recap-fit", args), 2, "--force");
  const auto again = test::run_tool("recap-fit", args + " --force -v");
  ASSERT_EQ(again.status, 0) << again.err;
  // -v relays recap-embed's notes: every image came from the cache.
  EXPECT_NE(again.err.find("4 embedding(s) from the cache"), std::string::npos) << again.err;
}

TEST_F(FitFromDataset, UnreadableImageLeavesOutItsCaptions) {
  test::TempDir dir;
  fs::create_directories(dir / "val2014");
  for (const auto& image : kTrain) {
    fs::create_directories((dir / image.file).parent_path());
    fs::copy_file(root() / image.file, dir / image.file);
  }
  const std::string jpeg = test::read_bytes(root() / kTrain[1].file);
  test::write_bytes(dir / kTrain[1].file, jpeg.substr(0, jpeg.size() / 3));  // 334321, three captions
  const std::string args = common() + " --dataset " + quoted(path("karpathy.json")) + " --images " + quoted(dir.path()) +
                           " --split train,restval";
  const auto run = test::run_tool("recap-fit", args + " --out " + quoted(dir / "run"));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.err.find("COCO_val2014_000000334321.jpg: truncated JPEG"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("1 of 4 images could not be read; their 3 caption(s) are left out"), std::string::npos) << run.err;
  const auto counts = io::read_json(dir / "run/run.json")["inputs"]["counts"];
  EXPECT_EQ(counts["images"], 3);
  EXPECT_EQ(counts["captions"], 5);
  EXPECT_EQ(counts["unreadable_images"], 1);
  EXPECT_EQ(io::read_json(dir / "run/mapping.json")["pairs"], 5);
  for (const auto& record : io::read_jsonl(dir / "run/datastore/captions.jsonl")) EXPECT_NE(record["image_id"], "334321");

  // --strict: the empty caption is an error; without it, so is the unreadable image.
  // Either way nothing is left behind.
  test::expect_failure(test::run_tool("recap-fit", args + " --strict --out " + quoted(dir / "run-strict")), 3,
                       "karpathy.json: 1 empty caption(s) left out (--strict)");
  std::string no_empty = kKarpathy;
  no_empty.replace(no_empty.find(R"(, {"raw": "   "})"), std::string(R"(, {"raw": "   "})").size(), "");
  test::write_bytes(dir / "no-empty.json", no_empty);
  test::expect_failure(test::run_tool("recap-fit", common() + " --dataset " + quoted(dir / "no-empty.json") + " --images " +
                                                       quoted(dir.path()) + " --split train,restval --strict --out " +
                                                       quoted(dir / "run-strict")),
                       3, "recap-embed failed: " + (dir / kTrain[1].file).string() + ": truncated JPEG", false);
  EXPECT_FALSE(fs::exists(dir / "run-strict"));
}

TEST_F(FitFromDataset, BadInputsAreOneLineErrorsAndLeaveNoOutput) {
  test::TempDir dir;
  const auto out = dir / "run";
  auto fit = [&](const std::string& args) { return test::run_tool("recap-fit", args + " --out " + quoted(out)); };
  test::write_bytes(dir / "missing.json", R"({"images": [{"split": "train", "filepath": "val2014",
      "filename": "COCO_val2014_000000999999.jpg", "cocoid": 999999, "sentences": [{"raw": "gone"}]}]})");
  test::expect_failure(fit(common() + " --dataset " + quoted(dir / "missing.json") + " --images " + quoted(root()) +
                           " --split train"),
                       3, "image 999999: " + (root() / "val2014/COCO_val2014_000000999999.jpg").string() + " does not exist");
  test::expect_failure(fit(dataset_args("karpathy.json", "train,resval")), 3, "no images in split 'resval'");
  test::expect_failure(fit(dataset_args("karpathy.json", "")), 2, "choose splits (e.g. train,restval)");
  test::expect_failure(fit(dataset_args("coco.json", "train")), 2, "COCO annotations hold one split");
  io::FloatMatrix x(2, 32);
  io::write_npy(dir / "x.npy", x);
  test::expect_failure(fit(dataset_args() + " --image-embeddings " + quoted(dir / "x.npy")), 2, "not both");
  test::expect_failure(fit(common() + " --dataset " + quoted(path("karpathy.json")) + " --split train"), 2,
                       "needs --clip, --dataset and --images");
  test::expect_failure(fit(""), 2, "give --image-embeddings and --text-embeddings, or --clip, --dataset and --images");
  test::expect_failure(fit("--clip " + quoted(dir / "no-model") + " --dataset " + quoted(path("karpathy.json")) +
                           " --images " + quoted(root()) + " --split train --no-cache"),
                       3, "recap-embed failed: ", false);
  EXPECT_FALSE(fs::exists(out));
  // Nothing but the inputs in the directory: no scratch or staging left over.
  std::size_t entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 2u);
}

TEST_F(FitFromDataset, HelpDocumentsTheDatasetOptions) {
  const auto help = test::run_tool("recap-fit", "--help");
  ASSERT_EQ(help.status, 0);
  for (const char* option : {"--clip", "--dataset", "--images", "--split", "--strict", "--batch-size", "--cache",
                             "--no-cache", "--device", "--dtype"})
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
}
