// The demo world: scenes are deterministic and valid, pictures really show what the scene
// says (colour centroids on the stated side), captions name every group, and write_world
// gives a Karpathy dataset that read_dataset loads, written atomically and replaced only
// when it is a world folder.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <set>
#include <sstream>

#include "expect_error.h"
#include "recap/common/error.h"
#include "recap/data/dataset.h"
#include "recap/demo/world.h"
#include "recap/io/json_file.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace recap::demo;

namespace {

constexpr int kSize = 64;

std::vector<std::string> words_of(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      word += c;
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  return words;
}

bool has_word(const std::vector<std::string>& words, const std::string& w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

const std::map<std::string, std::vector<std::string>> kSingular = {
    {"circle", {"circle", "disc", "dot"}}, {"square", {"square", "box", "block"}},
    {"triangle", {"triangle"}}, {"star", {"star"}}};
const std::map<std::string, std::vector<std::string>> kPlural = {
    {"circle", {"circles", "discs", "dots"}}, {"square", {"squares", "boxes", "blocks"}},
    {"triangle", {"triangles"}}, {"star", {"stars"}}};

bool any_word(const std::vector<std::string>& words, const std::vector<std::string>& options) {
  for (const auto& o : options)
    if (has_word(words, o)) return true;
  return false;
}

// Centroid (x, y in pixels) of the pixels within `tolerance` of the colour, and how many.
struct Blob {
  double x = 0, y = 0;
  int pixels = 0;
};

Blob find_colour(const std::vector<std::uint8_t>& rgb, int size, const std::string& colour, int tolerance = 30) {
  const auto c = colour_rgb(colour);
  Blob b;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const auto* p = &rgb[(static_cast<std::size_t>(y) * size + x) * 3];
      if (std::abs(p[0] - c[0]) <= tolerance && std::abs(p[1] - c[1]) <= tolerance && std::abs(p[2] - c[2]) <= tolerance) {
        b.x += x + 0.5, b.y += y + 0.5;
        ++b.pixels;
      }
    }
  if (b.pixels > 0) b.x /= b.pixels, b.y /= b.pixels;
  return b;
}

std::string describe(const Scene& s) {
  std::ostringstream out;
  out << kind_name(s.kind) << " rel='" << s.relation << "' pos='" << s.position << "' bg=" << s.background << ":";
  for (const auto& g : s.groups) out << " [" << g.count << " " << (g.big ? "big " : "small ") << g.colour << " " << g.shape << "]";
  return out.str();
}

}  // namespace

TEST(DemoWorld, SameSeedSameSceneDifferentSeedDifferent) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    EXPECT_EQ(draw_scene(sample_scene(seed), kSize), draw_scene(sample_scene(seed), kSize));
    EXPECT_EQ(dataset_captions(sample_scene(seed), 5, 9), dataset_captions(sample_scene(seed), 5, 9));
    EXPECT_EQ(web_caption(sample_scene(seed), 4), web_caption(sample_scene(seed), 4));
    EXPECT_NE(draw_scene(sample_scene(seed), kSize), draw_scene(sample_scene(seed + 1000), kSize));
  }
  EXPECT_EQ(caption_corpus(3, 10), caption_corpus(3, 10));
  EXPECT_EQ(caption_corpus(3, 10).size(), 70u);
  EXPECT_NE(caption_corpus(3, 10), caption_corpus(4, 10));
  EXPECT_EQ(describe(training_scene(1, 5)), describe(training_scene(1, 5)));
  EXPECT_NE(scene_seed(1, "train", 0), scene_seed(1, "val", 0));
  EXPECT_NE(scene_seed(1, "train", 0), scene_seed(2, "train", 0));
  recap::test::expect_error<recap::UsageError>([] { scene_seed(1, "restval", 0); }, "restval");
}

// A fixed scene, its pixels and first caption: a change to the PRNG, the sampler, the
// drawing or the templates shows up here, and changes every world already written.
TEST(DemoWorld, FixedSeedGivesFixedOutput) {
  const Scene s = sample_scene(12345);
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a
  for (auto p : draw_scene(s, kSize)) hash = (hash ^ p) * 1099511628211ULL;
  const std::string got =
      describe(s) + " | " + dataset_captions(s, 1, 0)[0] + " | " + web_caption(s, 0) + " | " + std::to_string(hash);
  EXPECT_EQ(got,
            "row rel='' pos='' bg=brown: [1 small blue circle] [1 small red star] [1 small red square] | "
            "a row with a little blue disc, a single little red star and a tiny red square | "
            "small circle blue with small red star with small square red in a row | 16885020994196601003");
}

TEST(DemoWorld, ScenesAreValidAndAllKindsOccur) {
  std::map<std::string, int> kinds, relations, positions, backgrounds;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    const Scene s = sample_scene(seed);
    ++kinds[kind_name(s.kind)];
    ++backgrounds[s.background];
    if (!s.relation.empty()) ++relations[s.relation];
    if (s.kind == SceneKind::single) ++positions[s.position];
    ASSERT_GE(s.groups.size(), 1u);
    ASSERT_LE(s.groups.size(), 3u);
    std::vector<std::pair<WorldPoint, int>> all;
    for (const auto& g : s.groups) {
      ASSERT_EQ(static_cast<int>(g.centres.size()), g.count) << describe(s);
      ASSERT_GE(g.count, 1);
      ASSERT_LE(g.count, 3);
      EXPECT_NO_THROW(colour_rgb(g.colour));
      for (const auto& c : g.centres) {
        EXPECT_GE(c.x - g.radius, 0) << describe(s);
        EXPECT_LE(c.x + g.radius, 1000) << describe(s);
        EXPECT_GE(c.y - g.radius, 0) << describe(s);
        EXPECT_LE(c.y + g.radius, 1000) << describe(s);
        all.push_back({c, g.radius});
      }
    }
    for (std::size_t i = 0; i < all.size(); ++i)
      for (std::size_t j = i + 1; j < all.size(); ++j) {
        const int reach = all[i].second + all[j].second;
        EXPECT_TRUE(std::abs(all[i].first.x - all[j].first.x) > reach || std::abs(all[i].first.y - all[j].first.y) > reach)
            << "overlap in " << describe(s);
      }
    if (s.kind == SceneKind::relation) {
      ASSERT_EQ(s.groups.size(), 2u);
      EXPECT_FALSE(s.groups[0].shape == s.groups[1].shape && s.groups[0].colour == s.groups[1].colour);
    }
    if (s.kind == SceneKind::row) {
      ASSERT_EQ(s.groups.size(), 3u);
      EXPECT_LT(s.groups[0].centres[0].x, s.groups[1].centres[0].x);
      EXPECT_LT(s.groups[1].centres[0].x, s.groups[2].centres[0].x);
    }
  }
  for (const char* k : {"single", "group", "relation", "row"}) EXPECT_GT(kinds[k], 400) << k;
  EXPECT_EQ(relations.size(), 5u);
  EXPECT_EQ(positions.size(), 5u);
  EXPECT_GE(backgrounds.size(), 6u);
}

TEST(DemoWorld, PicturesShowTheObjectsWhereTheSceneSays) {
  int singles = 0, relations = 0;
  for (std::uint64_t seed = 0; seed < 1500; ++seed) {
    const Scene s = sample_scene(seed);
    const auto rgb = draw_scene(s, kSize);
    const double mid = kSize / 2.0;
    for (const auto& g : s.groups) {  // every group is visible: some pixels of its colour
      const double side = 2.0 * g.radius * kSize / 1000;
      EXPECT_GT(find_colour(rgb, kSize, g.colour).pixels, g.count * side * side * 0.3) << describe(s);
    }
    if (s.kind == SceneKind::single) {
      ++singles;
      const Blob b = find_colour(rgb, kSize, s.groups[0].colour);
      if (s.position == "left") { EXPECT_LT(b.x, mid - 4) << describe(s); }
      if (s.position == "right") { EXPECT_GT(b.x, mid + 4) << describe(s); }
      if (s.position == "top") { EXPECT_LT(b.y, mid - 4) << describe(s); }
      if (s.position == "bottom") { EXPECT_GT(b.y, mid + 4) << describe(s); }
      if (s.position == "centre") { EXPECT_LT(std::hypot(b.x - mid, b.y - mid), 10) << describe(s); }
    }
    if (s.kind == SceneKind::relation && s.groups[0].colour != s.groups[1].colour) {
      ++relations;
      const Blob a = find_colour(rgb, kSize, s.groups[0].colour), b = find_colour(rgb, kSize, s.groups[1].colour);
      if (s.relation == "left of") { EXPECT_LT(a.x + 8, b.x) << describe(s); }
      if (s.relation == "right of") { EXPECT_GT(a.x, b.x + 8) << describe(s); }
      if (s.relation == "above") { EXPECT_LT(a.y + 8, b.y) << describe(s); }
      if (s.relation == "below") { EXPECT_GT(a.y, b.y + 8) << describe(s); }
      if (s.relation == "next to") { EXPECT_GT(std::abs(a.x - b.x), 8) << describe(s); }
    }
  }
  EXPECT_GT(singles, 200);
  EXPECT_GT(relations, 200);
  // Pictures of any size show the same scene.
  const auto big = draw_scene(sample_scene(7), 256);
  EXPECT_EQ(big.size(), 256u * 256u * 3u);
}

TEST(DemoWorld, DatasetCaptionsNameEveryGroup) {
  int with_size = 0, total = 0;
  for (std::uint64_t seed = 0; seed < 1000; ++seed) {
    const Scene s = sample_scene(seed);
    const auto captions = dataset_captions(s, 5, seed);
    ASSERT_EQ(captions.size(), 5u);
    EXPECT_EQ(std::set<std::string>(captions.begin(), captions.end()).size(), 5u) << describe(s);
    for (const auto& caption : captions) {
      const auto words = words_of(caption);
      ++total;
      bool sized = true;
      for (const auto& g : s.groups) {
        EXPECT_TRUE(has_word(words, g.colour)) << caption << " | " << describe(s);
        EXPECT_TRUE(any_word(words, (g.count == 1 ? kSingular : kPlural).at(g.shape))) << caption << " | " << describe(s);
        if (g.count == 2) { EXPECT_TRUE(has_word(words, "two") || has_word(words, "pair")) << caption; }
        if (g.count == 3) { EXPECT_TRUE(has_word(words, "three")) << caption; }
        sized = sized && any_word(words, g.big ? std::vector<std::string>{"big", "large"}
                                               : std::vector<std::string>{"small", "little", "tiny"});
      }
      // Numbers never claim more than the scene has.
      int most = 0;
      for (const auto& g : s.groups) most = std::max(most, g.count);
      if (most < 3 && s.kind != SceneKind::row) { EXPECT_FALSE(has_word(words, "three")) << caption; }
      if (most < 2) { EXPECT_FALSE(has_word(words, "two") || has_word(words, "pair")) << caption; }
      with_size += sized;
      EXPECT_EQ(caption.find("  "), std::string::npos) << caption;
      EXPECT_TRUE(caption.front() != ' ' && caption.back() != ' ') << caption;
      for (char c : caption) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << caption;
    }
  }
  EXPECT_GT(with_size, total * 6 / 10);
  // Asking for more than the templates make still gives distinct captions.
  const auto many = dataset_captions(sample_scene(1), 60, 0);
  EXPECT_EQ(std::set<std::string>(many.begin(), many.end()).size(), 60u);
}

TEST(DemoWorld, WebCaptionsAreNoisyKeywords) {
  int colours = 0, groups = 0, fluent = 0, total = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    const Scene s = sample_scene(seed);
    const auto captions = dataset_captions(s, 5, seed);
    std::set<std::string> web;
    for (std::uint64_t k = 0; k < 10; ++k) {
      const std::string w = web_caption(s, k);
      web.insert(w);
      const auto words = words_of(w);
      ++total;
      EXPECT_FALSE(words.empty());
      EXPECT_EQ(w.find("  "), std::string::npos) << w;
      EXPECT_TRUE(w.front() != ' ' && w.back() != ' ') << w;
      for (const auto& g : s.groups) colours += has_word(words, g.colour), ++groups;
      fluent += std::find(captions.begin(), captions.end(), w) != captions.end();
    }
    EXPECT_GE(web.size(), 5u) << describe(s);
  }
  EXPECT_GT(colours, groups * 85 / 100);
  EXPECT_LT(colours, groups);  // sometimes dropped
  EXPECT_LT(fluent, total / 50);
}

TEST(DemoWorld, WriteWorldGivesAKarpathyDataset) {
  recap::test::TempDir tmp;
  const fs::path folder = tmp / "world";
  WorldOptions options;
  options.seed = 5;
  options.train = 6, options.val = 2, options.test = 3, options.captions_per_image = 3;
  const WorldSummary summary = write_world(folder, options, false);
  EXPECT_EQ(summary.images, 11);
  EXPECT_EQ(summary.captions, 33);
  EXPECT_EQ(summary.dataset_json, folder / "dataset_demo.json");
  EXPECT_TRUE(fs::exists(folder / "world.json"));
  EXPECT_EQ(recap::io::read_json(folder / "world.json")["seed"].get<std::uint64_t>(), 5u);

  const std::map<std::string, int> expected = {{"train", 6}, {"val", 2}, {"test", 3}};
  for (const auto& [split, count] : expected) {
    recap::data::DatasetOptions read;
    read.format = "karpathy";
    read.splits = {split};
    const auto dataset = recap::data::read_dataset(summary.dataset_json, folder, read);
    ASSERT_EQ(static_cast<int>(dataset.samples.size()), count) << split;
    for (std::size_t i = 0; i < dataset.samples.size(); ++i) {
      const auto& sample = dataset.samples[i];
      EXPECT_EQ(sample.captions.size(), 3u);
      const cv::Mat bgr = cv::imread(sample.media.string(), cv::IMREAD_COLOR);
      ASSERT_FALSE(bgr.empty()) << sample.media;
      EXPECT_EQ(bgr.cols, 64);
      EXPECT_EQ(bgr.rows, 64);
      cv::Mat rgb;
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      const Scene scene = sample_scene(scene_seed(5, split, i));
      EXPECT_EQ(std::vector<std::uint8_t>(rgb.data, rgb.data + rgb.total() * 3), draw_scene(scene, 64)) << sample.media;
    }
  }
  EXPECT_EQ(recap::data::detect_dataset_format(summary.dataset_json), "karpathy");
  const auto doc = recap::io::read_json(summary.dataset_json);
  for (const auto& sentence : doc["images"][0]["sentences"])
    for (const auto& token : sentence["tokens"]) EXPECT_TRUE(words_of(token.get<std::string>()).size() == 1);

  // Nothing left beside the folder.
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(DemoWorld, WriteWorldRefusesAndReplacesSafely) {
  recap::test::TempDir tmp;
  const fs::path folder = tmp / "world";
  WorldOptions options;
  options.train = 2, options.val = 1, options.test = 1;
  write_world(folder, options, false);
  recap::test::expect_error<recap::UsageError>([&] { write_world(folder, options, false); }, "--force");
  recap::test::expect_error<recap::UsageError>([&] { write_world(folder, options, false); }, folder.string());

  options.seed = 9;
  write_world(folder, options, true);
  EXPECT_EQ(recap::io::read_json(folder / "world.json")["seed"].get<int>(), 9);

  // A folder of the user's (no world.json) is never replaced, and stays as it was.
  const fs::path mine = tmp / "mine";
  fs::create_directory(mine);
  recap::test::write_bytes(mine / "notes.txt", "keep me");
  recap::test::expect_error<recap::InputError>([&] { write_world(mine, options, true); }, "world.json");
  EXPECT_EQ(recap::test::read_bytes(mine / "notes.txt"), "keep me");

  // A world folder somebody added files to is not replaced either.
  recap::test::write_bytes(folder / "extra.txt", "mine");
  EXPECT_THROW(write_world(folder, options, true), recap::UsageError);
  EXPECT_TRUE(fs::exists(folder / "extra.txt"));

  options.image_size = 8;
  EXPECT_THROW(write_world(tmp / "other", options, false), recap::UsageError);
  EXPECT_FALSE(fs::exists(tmp / "other"));
}
