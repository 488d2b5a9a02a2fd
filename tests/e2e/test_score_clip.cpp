// recap-score --clip --images end to end with the tiny golden CLIP: the CLIP-S family
// equals what recap-score computes from embeddings made by hand with recap-embed, for a
// folder, a list file and a JSON map of images; and bad inputs.
#include <gtest/gtest.h>

#include "clip_tools_support.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

using namespace recap;
namespace fs = std::filesystem;
using test::quoted;

namespace {

// Results in an order unlike the folder's, with integer and string ids.
const char* kResults = R"([
  {"image_id": 334321, "caption": "two people riding bicycles down a street"},
  {"image_id": "clipscore_image1", "caption": "a plate of food"},
  {"image_id": 321647, "caption": "a dog on the beach"},
  {"image_id": 356708, "caption": "a bowl of fruit"}])";
const std::vector<std::string> kResultFiles = {"val2014/COCO_val2014_000000334321.jpg", "clipscore_image1.jpg",
                                               "val2014/COCO_val2014_000000321647.jpg",
                                               "val2014/COCO_val2014_000000356708.jpg"};
const std::vector<std::string> kCandidates = {"two people riding bicycles down a street", "a plate of food",
                                              "a dog on the beach", "a bowl of fruit"};
// References interleaved, and one image (442836) without a result: only the scored
// images' references need embedding.
const std::vector<std::pair<std::string, std::string>> kRefs = {
    {"321647", "a dog"},          {"334321", "cyclists"},        {"442836", "a kitchen"},
    {"clipscore_image1", "food"}, {"321647", "a dog on sand"},   {"356708", "fruit in a bowl"},
    {"334321", "two bikes"},      {"clipscore_image1", "lunch"}, {"356708", "apples"}};

const std::vector<std::string> kMetrics = {"CLIP-S", "RefCLIP-S", "aCLIP-S", "RefaCLIP-S"};

class ScoreWithClip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(images() / "val2014");
    for (const auto& file : kResultFiles) fs::copy_file(test::golden_image(fs::path(file).filename().string()), images() / file);
    fs::copy_file(test::golden_image("clipscore_image2.jpg"), images() / "clipscore_image2.jpg");  // not scored
    test::write_bytes(path("results.json"), kResults);
    // refs.json as listed; refs_scored.json without the image that has no result, for
    // runs whose stderr must hold nothing but their error.
    nlohmann::json refs = {{"annotations", nlohmann::json::array()}}, scored = refs;
    for (const auto& [id, caption] : kRefs) {
      const bool number = id.find_first_not_of("0123456789") == std::string::npos;
      const nlohmann::json annotation = {{"image_id", number ? nlohmann::json(std::stoll(id)) : nlohmann::json(id)},
                                         {"caption", caption}};
      refs["annotations"].push_back(annotation);
      if (id != "442836") scored["annotations"].push_back(annotation);
    }
    io::write_json(path("refs.json"), refs);
    io::write_json(path("refs_scored.json"), scored);
    // W = -I: the tiny random model's image-text cosines are all negative, so CLIP-S is 0
    // for every image; through -W the aligned scores are large and differ per image.
    io::FloatMatrix w(32, 32);
    for (int i = 0; i < 32; ++i) w.row(i)[i] = -1;
    io::write_npy(path("w.npy"), w);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return *dir_ / name; }
  static fs::path images() { return *dir_ / "images"; }
  static std::string score_args(const std::string& json) {
    return "--results " + quoted(path("results.json")) + " --refs " + quoted(path("refs.json")) +
           " --metrics bleu,clip-s,refclip-s,aclip-s,refaclip-s --mapping " + quoted(path("w.npy")) + " --json " +
           quoted(path(json + ".json")) + " --per-image " + quoted(path(json + ".jsonl"));
  }
  static std::string clip_args() {
    return "--clip " + quoted(test::tiny_clip()) + " --cache " + quoted(path("cache")) + " --threads 2";
  }
  // Every CLIP metric of run `a` equals that of run `b`, corpus and per image.
  static void expect_same_scores(const std::string& a, const std::string& b) {
    const auto ja = io::read_json(path(a + ".json")), jb = io::read_json(path(b + ".json"));
    const auto pa = io::read_jsonl(path(a + ".jsonl")), pb = io::read_jsonl(path(b + ".jsonl"));
    ASSERT_EQ(pa.size(), 4u);
    ASSERT_EQ(pb.size(), 4u);
    for (const auto& m : kMetrics) {
      EXPECT_NEAR(ja.at(m).get<double>(), jb.at(m).get<double>(), 1e-6) << m << " " << a << " vs " << b;
      for (std::size_t i = 0; i < 4; ++i)
        EXPECT_NEAR(pa[i].at(m).get<double>(), pb[i].at(m).get<double>(), 1e-6) << m << " image " << i;
    }
  }
  static test::TempDir* dir_;
};
test::TempDir* ScoreWithClip::dir_ = nullptr;

}  // namespace

TEST_F(ScoreWithClip, EqualsScoringEmbeddingsMadeByHand) {
  const auto run = test::run_tool("recap-score", score_args("model") + " " + clip_args() + " --images " + quoted(images()));
  ASSERT_EQ(run.status, 0) << run.err;
  EXPECT_NE(run.out.find("aCLIP-S"), std::string::npos) << run.out;

  // By hand: images in results order, candidates and all references (in --refs order)
  // embedded with clipscore's prefix, recap-score's default.
  std::string list, candidates, references;
  for (const auto& f : kResultFiles) list += (images() / f).string() + "\n";
  for (const auto& c : kCandidates) candidates += c + "\n";
  for (const auto& r : kRefs) references += r.second + "\n";
  test::write_bytes(path("list.txt"), list);
  test::write_bytes(path("candidates.txt"), candidates);
  test::write_bytes(path("references.txt"), references);
  const std::string embed = "--clip " + quoted(test::tiny_clip()) + " --no-cache --normalize --threads 2";
  const std::string prefix = " --prefix 'A photo depicts '";
  ASSERT_EQ(test::run_tool("recap-embed", embed + " --images " + quoted(path("list.txt")) + " --out " + quoted(path("x.npy"))).status, 0);
  ASSERT_EQ(test::run_tool("recap-embed", embed + prefix + " --texts " + quoted(path("candidates.txt")) + " --out " +
                                              quoted(path("c.npy"))).status, 0);
  ASSERT_EQ(test::run_tool("recap-embed", embed + prefix + " --texts " + quoted(path("references.txt")) + " --out " +
                                              quoted(path("r.npy"))).status, 0);
  const auto files = test::run_tool("recap-score", score_args("files") + " --image-embeddings " + quoted(path("x.npy")) +
                                                       " --candidate-embeddings " + quoted(path("c.npy")) +
                                                       " --reference-embeddings " + quoted(path("r.npy")));
  ASSERT_EQ(files.status, 0) << files.err;
  expect_same_scores("model", "files");

  // The comparison means something: the aligned scores are far from 0 and differ per image.
  const auto per_image = io::read_jsonl(path("model.jsonl"));
  for (const auto& line : per_image) {
    EXPECT_GT(line["aCLIP-S"].get<double>(), 0.1) << line.dump();
    EXPECT_GT(line["RefaCLIP-S"].get<double>(), 0.1) << line.dump();
  }
  EXPECT_GT(std::fabs(per_image[0]["aCLIP-S"].get<double>() - per_image[2]["aCLIP-S"].get<double>()), 1e-3);
}

TEST_F(ScoreWithClip, ListFileAndJsonMapFindTheSameImages) {
  ASSERT_EQ(test::run_tool("recap-score", score_args("folder") + " " + clip_args() + " --images " + quoted(images())).status, 0);
  // A list file names the files (relative to the list), in any order.
  test::write_bytes(images() / "list.txt", "clipscore_image2.jpg\nval2014/COCO_val2014_000000356708.jpg\n"
                                           "val2014/COCO_val2014_000000321647.jpg\nclipscore_image1.jpg\n"
                                           "val2014/COCO_val2014_000000334321.jpg\n");
  const auto list = test::run_tool("recap-score", score_args("list") + " " + clip_args() + " --images " + quoted(images() / "list.txt"));
  ASSERT_EQ(list.status, 0) << list.err;
  expect_same_scores("folder", "list");
  nlohmann::json map;
  for (std::size_t i = 0; i < kResultFiles.size(); ++i) {
    const auto results = io::read_json(path("results.json"));
    map[results[i]["image_id"].is_string() ? results[i]["image_id"].get<std::string>() : results[i]["image_id"].dump()] =
        kResultFiles[i];
  }
  io::write_json(images() / "map.json", map);
  const auto json = test::run_tool("recap-score", score_args("map") + " " + clip_args() + " --images " + quoted(images() / "map.json"));
  ASSERT_EQ(json.status, 0) << json.err;
  expect_same_scores("folder", "map");
}

TEST_F(ScoreWithClip, BadInputsAreClearErrorsAndLeaveNoOutput) {
  test::TempDir dir;
  const std::string out = " --json " + quoted(dir / "s.json");
  const std::string base = "--results " + quoted(path("results.json")) + " --refs " + quoted(path("refs_scored.json")) +
                           " --metrics clip-s,refclip-s" + out;
  auto score = [&](const std::string& args) { return test::run_tool("recap-score", base + " " + args); };

  // A result whose image is not in the folder.
  fs::create_directories(dir / "some");
  fs::copy_file(images() / "clipscore_image1.jpg", dir / "some/clipscore_image1.jpg");
  test::expect_failure(score(clip_args() + " --images " + quoted(dir / "some")), 3,
                       "no image file for 3 of 4 results (first: image 334321");
  // A map naming a file that is not there.
  test::write_bytes(dir / "map.json", R"({"334321": "gone.jpg", "clipscore_image1": "a.jpg", "321647": "b.jpg", "356708": "c.jpg"})");
  test::expect_failure(score(clip_args() + " --images " + quoted(dir / "map.json")), 3,
                       (dir / "gone.jpg").string() + " does not exist");
  // Two files answering to one id.
  fs::create_directories(dir / "both");
  for (const char* name : {"COCO_train2014_000000321647.jpg", "COCO_val2014_000000321647.jpg"})
    fs::copy_file(images() / "val2014/COCO_val2014_000000321647.jpg", dir / "both" / name);
  test::expect_failure(score(clip_args() + " --images " + quoted(dir / "both")), 3, "image 321647 matches more than one file");
  // An unreadable image: recap-embed's reason, after its progress lines.
  fs::create_directories(dir / "broken");
  for (const auto& f : kResultFiles) fs::copy_file(images() / f, dir / "broken" / fs::path(f).filename());
  const std::string jpeg = test::read_bytes(images() / kResultFiles[2]);
  test::write_bytes(dir / "broken/COCO_val2014_000000321647.jpg", jpeg.substr(0, jpeg.size() / 3));
  test::expect_failure(score(clip_args() + " --images " + quoted(dir / "broken")), 3,
                       "recap-embed failed: " + (dir / "broken/COCO_val2014_000000321647.jpg").string() + ": truncated JPEG",
                       false);
  // Usage errors.
  test::expect_failure(score(clip_args() + " --images " + quoted(images()) + " --candidate-embeddings " + quoted(path("results.json"))),
                       2, "not both");
  test::expect_failure(score(clip_args()), 2, "needs both --clip and --images");
  test::expect_failure(test::run_tool("recap-score", "--results " + quoted(path("results.json")) + " --refs " +
                                                         quoted(path("refs_scored.json")) + " " + clip_args() + " --images " +
                                                         quoted(images()) + out),
                       2, "add clip-s, refclip-s, aclip-s or refaclip-s to --metrics");
  test::expect_failure(score("--prefix x --image-embeddings " + quoted(path("w.npy"))), 2, "--prefix applies to --clip");
  EXPECT_FALSE(fs::exists(dir / "s.json"));
}

TEST_F(ScoreWithClip, HelpDocumentsTheModelOptions) {
  const auto help = test::run_tool("recap-score", "--help");
  ASSERT_EQ(help.status, 0);
  for (const char* option : {"--clip", "--images", "--prefix", "--batch-size", "--cache", "--no-cache", "--device", "--dtype"})
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
}
