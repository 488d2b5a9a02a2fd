// Sharding end to end with the tiny golden CLIP: recap-fit --shard/--stats-out/--from-stats
// gives the W and datastore of one whole run, recap-caption --shard the captions of one
// whole run, recap-score scores the shards' results as one, recap-embed --shard slices
// that cover the input whatever its order; and every refusal (a missing or repeated shard,
// flags that do not go together) is a one-line error.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "clip_tools_support.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

using namespace recap;
namespace fs = std::filesystem;
using test::quoted;

namespace {

const char* kImages[] = {"COCO_val2014_000000321647.jpg", "COCO_val2014_000000334321.jpg", "COCO_val2014_000000356708.jpg",
                         "COCO_val2014_000000442836.jpg", "COCO_val2014_000000560744.jpg", "clipscore_image1.jpg",
                         "clipscore_image2.jpg"};
const char* kWords[] = {"dog", "beach", "bicycle", "street", "plate", "food", "train", "sky", "cat", "field", "boat", "river", "tree", "car"};

class Sharding : public ::testing::Test {
 protected:
  // 14 training images (each golden image twice, under two names) and 7 test images, two
  // captions each, as a Karpathy split file.
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(path("images"));
    nlohmann::json images = nlohmann::json::array();
    int n = 0;
    for (int copy = 0; copy < 3; ++copy)
      for (const char* name : kImages) {
        const std::string file = "img_" + std::to_string(n) + fs::path(name).extension().string();
        fs::copy_file(test::golden_image(name), path("images") / file);
        const std::string a = kWords[n % 14], b = kWords[(n * 5 + 3) % 14];
        images.push_back({{"split", copy < 2 ? "train" : "test"},
                          {"filename", file},
                          {"cocoid", 1000 + n},
                          {"sentences", {{{"raw", "a " + a + " near a " + b}}, {{"raw", "the " + b + " and " + std::to_string(n) + " " + a}}}}});
        ++n;
      }
    io::write_json(path("karpathy.json"), {{"images", images}});
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path path(const std::string& name) { return *dir_ / name; }
  // The whole run and the shards share one embedding cache: CLIP's text embeddings vary in
  // their last bit with the batch a caption falls in, which an ill-conditioned fit would
  // magnify; with the cache every job sees the same bits, and W is compared at 1e-6.
  static std::string dataset(const std::string& split) {
    return "--clip " + quoted(test::tiny_clip()) + " --cache " + quoted(path("cache")) + " --threads 2 --dataset " +
           quoted(path("karpathy.json")) + " --images " + quoted(path("images")) + " --split " + split;
  }
  static void fit_shards(const std::string& prefix, int n) {
    for (int i = 0; i < n; ++i) {
      const auto run = test::run_tool("recap-fit", dataset("train") + " --precision float64 --shard " + std::to_string(i) +
                                                       "/" + std::to_string(n) + " --stats-out " +
                                                       quoted(path(prefix + std::to_string(i))));
      ASSERT_EQ(run.status, 0) << run.err;
      EXPECT_NE(run.out.find("accumulated shard " + std::to_string(i) + "/" + std::to_string(n)), std::string::npos) << run.out;
    }
  }
  static std::map<std::string, std::string> captions_of(const std::vector<fs::path>& files) {
    std::map<std::string, std::string> out;
    for (const auto& f : files)
      for (const auto& r : io::read_json(f)) EXPECT_TRUE(out.emplace(r["image_id"].dump(), r["caption"]).second);
    return out;
  }
  static test::TempDir* dir_;
};
test::TempDir* Sharding::dir_ = nullptr;

TEST_F(Sharding, ShardStatisticsCombineIntoTheWholeRunsWAndDatastore) {
  fit_shards("stats", 3);
  ASSERT_EQ(test::run_tool("recap-embed", "--clip " + quoted(test::tiny_clip()) + " --no-cache --normalize --images " +
                                              quoted(path("images")) + " --out " + quoted(path("x.npy"))).status, 0);
  for (const char* method : {"procrustes", "ridge --lambda 0.5"}) {
    const std::string name = std::string(method).substr(0, 5);
    const auto whole = test::run_tool("recap-fit", dataset("train") + " --precision float64 --method " + method + " --out " +
                                                       quoted(path("whole-" + name)));
    ASSERT_EQ(whole.status, 0) << whole.err;
    const auto combined = test::run_tool("recap-fit", "--from-stats " + quoted(path("stats2")) + " " + quoted(path("stats0")) +
                                                          " " + quoted(path("stats1")) + " --method " + method + " --out " +
                                                          quoted(path("combined-" + name)));
    ASSERT_EQ(combined.status, 0) << combined.err;
    EXPECT_NE(combined.out.find("combined 3 shards"), std::string::npos) << combined.out;
    EXPECT_NE(combined.out.find("on 28 pairs"), std::string::npos) << combined.out;
    const auto w = io::read_npy_matrix(path("whole-" + name + "/mapping.npy"));
    const auto w_shards = io::read_npy_matrix(path("combined-" + name + "/mapping.npy"));
    EXPECT_GT(*std::max_element(w.values.begin(), w.values.end()), 0.05f);  // a real map
    if (name == "ridge") {
      EXPECT_LE(test::max_abs_diff(w, w_shards), 1e-6);
    } else {
      // The 14 training images are 7 pictures twice: XᵀY has rank 7 in 32 dimensions, so
      // Procrustes' W is free outside the images' span and only x W is determined by the
      // data; compare that for every image.
      const auto x = io::read_npy_matrix(path("x.npy"));
      EXPECT_LE(test::max_abs_diff(test::mapped(x, w), test::mapped(x, w_shards)), 1e-5);
    }
  }
  // The merged datastore is the whole run's, byte for byte: the same rows (each shard's
  // embeddings came from the shared cache) in the same order (the shards' order keys).
  EXPECT_EQ(io::read_jsonl(path("whole-procr/datastore/captions.jsonl")).size(), 28u);
  EXPECT_EQ(test::read_bytes(path("combined-procr/datastore/captions.jsonl")),
            test::read_bytes(path("whole-procr/datastore/captions.jsonl")));
  EXPECT_EQ(test::read_bytes(path("combined-procr/datastore/embeddings.npy")),
            test::read_bytes(path("whole-procr/datastore/embeddings.npy")));
  const auto provenance = io::read_json(path("combined-procr/run.json"));
  ASSERT_EQ(provenance["inputs"]["shards"].size(), 3u);
  EXPECT_EQ(provenance["inputs"]["shards"][0]["shard"], "0/3");
}

TEST_F(Sharding, RefusesMissingOrRepeatedShardsAndFlagsThatDoNotGoTogether) {
  fit_shards("refuse", 3);
  const auto stats = [](int i) { return quoted(path("refuse" + std::to_string(i))); };
  test::expect_failure(test::run_tool("recap-fit", "--from-stats " + stats(0) + " " + stats(2) + " --out " + quoted(path("x"))),
                       3, "1 of 3 shards missing (shard 1 of 3)");
  test::expect_failure(test::run_tool("recap-fit", "--from-stats " + stats(0) + " " + stats(1) + " " + stats(1) + " " +
                                                       stats(2) + " --out " + quoted(path("x"))),
                       3, "are both shard 1/3");
  EXPECT_FALSE(fs::exists(path("x")));
  test::expect_failure(test::run_tool("recap-fit", dataset("train") + " --shard 0/2 --out " + quoted(path("x"))), 2,
                       "write its statistics with --stats-out");
  test::expect_failure(test::run_tool("recap-fit", dataset("train") + " --shard 0/2 --method ols --stats-out " + quoted(path("x"))),
                       2, "chosen when statistics are combined");
  test::expect_failure(test::run_tool("recap-fit", dataset("train") + " --shard 2/2 --stats-out " + quoted(path("x"))), 2,
                       "--shard must be I/N");
  test::expect_failure(test::run_tool("recap-fit", dataset("train") + " --from-stats " + stats(0) + " --out " + quoted(path("x"))),
                       2, "--from-stats combines statistics folders");
  // An existing statistics folder is kept unless --force.
  test::expect_failure(test::run_tool("recap-fit", dataset("train") + " --shard 0/3 --stats-out " + stats(0)), 2, "--force");
  EXPECT_TRUE(fs::exists(path("refuse0/statistics.json")));
  // A run folder is not a statistics folder.
  const auto not_stats = test::run_tool("recap-fit", "--from-stats " + quoted(test::test_data_dir()) + " --out " + quoted(path("x")));
  test::expect_failure(not_stats, 3, "no statistics.json");
}

TEST_F(Sharding, CaptionShardsGiveTheWholeRunsCaptionsAndScoreAsOne) {
  ASSERT_EQ(test::run_tool("recap-fit", dataset("train") + " --out " + quoted(path("caption-run"))).status, 0);
  const std::string caption = "--run " + quoted(path("caption-run")) + " " + dataset("test") + " --k 3";
  const auto whole = test::run_tool("recap-caption", caption + " --out " + quoted(path("whole.json")));
  ASSERT_EQ(whole.status, 0) << whole.err;
  std::vector<fs::path> parts;
  for (int i = 0; i < 2; ++i) {
    parts.push_back(path("part" + std::to_string(i) + ".json"));
    const auto run = test::run_tool("recap-caption", caption + " --shard " + std::to_string(i) + "/2 --out " + quoted(parts.back()));
    ASSERT_EQ(run.status, 0) << run.err;
  }
  const auto merged = captions_of(parts);
  EXPECT_EQ(merged, captions_of({path("whole.json")}));
  EXPECT_EQ(merged.size(), 7u);
  EXPECT_LT(io::read_json(parts[0]).size(), 7u);

  const std::string refs = " --refs " + quoted(path("karpathy.json")) + " --split test";
  const auto one = test::run_tool("recap-score", "--results " + quoted(path("whole.json")) + refs);
  const auto two = test::run_tool("recap-score", "--results " + quoted(parts[0]) + " " + quoted(parts[1]) + refs);
  ASSERT_EQ(one.status, 0) << one.err;
  ASSERT_EQ(two.status, 0) << two.err;
  EXPECT_EQ(one.out, two.out);
  test::expect_failure(test::run_tool("recap-score", "--results " + quoted(parts[0]) + " " + quoted(parts[1]) + " " +
                                                         quoted(parts[0]) + refs),
                       3, "is also in " + parts[0].string());
}

TEST_F(Sharding, EmbedShardsCoverTheInputWhateverItsOrder) {
  std::string forward, backward;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path("images"))) files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) forward += f + "\n";
  for (auto it = files.rbegin(); it != files.rend(); ++it) backward += *it + "\n";
  test::write_bytes(path("forward.txt"), forward);
  test::write_bytes(path("backward.txt"), backward);
  const std::string embed = "--clip " + quoted(test::tiny_clip()) + " --no-cache --threads 2 --images ";
  ASSERT_EQ(test::run_tool("recap-embed", embed + quoted(path("forward.txt")) + " --out " + quoted(path("all.npy")) +
                                              " --ids-out " + quoted(path("all.json"))).status, 0);
  const auto all = io::read_npy_matrix(path("all.npy"));
  const auto all_ids = io::read_json(path("all.json"));
  std::set<std::string> seen;
  for (const char* order : {"forward", "backward"}) {
    std::set<std::string> covered;
    for (int i = 0; i < 3; ++i) {
      const std::string stem = std::string(order) + std::to_string(i);
      const auto run = test::run_tool("recap-embed", embed + quoted(path(std::string(order) + ".txt")) + " --shard " +
                                                         std::to_string(i) + "/3 --out " + quoted(path(stem + ".npy")) +
                                                         " --ids-out " + quoted(path(stem + ".json")) + " --rows-out " +
                                                         quoted(path(stem + "-rows.json")));
      ASSERT_EQ(run.status, 0) << run.err;
      const auto rows = io::read_npy_matrix(path(stem + ".npy"));
      const auto ids = io::read_json(path(stem + ".json"));
      const auto input_rows = io::read_json(path(stem + "-rows.json"));
      ASSERT_EQ(ids.size(), static_cast<std::size_t>(rows.rows));
      ASSERT_EQ(input_rows.size(), ids.size());
      for (std::size_t r = 0; r < ids.size(); ++r) {
        EXPECT_TRUE(covered.insert(ids[r].dump()).second) << ids[r] << " in two shards";
        if (std::string(order) == "forward") {
          const auto whole_row = input_rows[r].get<std::int64_t>();
          EXPECT_EQ(all_ids[std::size_t(whole_row)], ids[r]);
          for (std::int64_t c = 0; c < rows.cols; ++c) EXPECT_NEAR(rows.row(std::int64_t(r))[c], all.row(whole_row)[c], 1e-6);
          seen.insert(stem + ":" + ids[r].dump());
        } else {
          // The same image lands in the same shard read in the other order.
          EXPECT_TRUE(seen.count("forward" + std::to_string(i) + ":" + ids[r].dump())) << ids[r];
        }
      }
    }
    EXPECT_EQ(covered.size(), files.size()) << order;
  }
  test::expect_failure(test::run_tool("recap-embed", "--clip " + quoted(test::tiny_clip()) + " --pixels " + quoted(path("all.npy")) +
                                                         " --shard 0/2 --out " + quoted(path("p.npy"))),
                       2, "--shard and --rows-out apply to --images and --texts");
}

}  // namespace
