// recap-demo and the flags the demo added to the other tools, from the command line: what
// they write, and one-line errors for bad input.
#include <gtest/gtest.h>

#include "recap/io/json_file.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

fs::path demo_clip() { return test::source_dir() / "models" / "demo" / "clip"; }

std::string small_world(const fs::path& out) {
  return "world --out " + out.string() + " --train 30 --val 6 --test 8";
}

}  // namespace

TEST(RecapDemo, WritesAWorldThatTheOtherToolsReadAndKeepsItWithoutForce) {
  test::TempDir dir;
  const auto world = dir / "world";
  auto r = test::run_tool("recap-demo", small_world(world));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("44 pictures, 220 captions"), std::string::npos) << r.out;
  const auto dataset = io::read_json(world / "dataset_demo.json");
  EXPECT_EQ(dataset["images"].size(), 44u);

  // Again without --force: refused, the world untouched.
  const auto before = test::read_bytes(world / "dataset_demo.json");
  r = test::run_tool("recap-demo", small_world(world));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_bytes(world / "dataset_demo.json"), before);

  // recap-score recall on it with the shipped CLIP, raw and aligned (W = I: equal).
  r = test::run_tool("recap-fit", "--clip " + demo_clip().string() + " --dataset " + (world / "dataset_demo.json").string() +
                                      " --split train --images " + world.string() + " --method none --out " +
                                      (dir / "run").string());
  ASSERT_EQ(r.status, 0) << r.err;
  r = test::run_tool("recap-score", "recall --dataset " + (world / "dataset_demo.json").string() + " --split test --images " +
                                        world.string() + " --clip " + demo_clip().string() + " --run " +
                                        (dir / "run").string() + " --ks 1,5 --json " + (dir / "recall.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  const auto recall = io::read_json(dir / "recall.json");
  EXPECT_EQ(recall["images"], 8);
  EXPECT_EQ(recall["captions"], 40);
  EXPECT_DOUBLE_EQ(recall["raw"]["R@1"].get<double>(), recall["aligned"]["R@1"].get<double>());
  EXPECT_LE(recall["raw"]["R@1"].get<double>(), recall["raw"]["R@5"].get<double>());

  // The random baseline draws from the training captions, the same ones for any batching.
  const std::string caption = "--run " + (dir / "run").string() + " --dataset " + (world / "dataset_demo.json").string() +
                              " --split test --images " + world.string() + " --clip " + demo_clip().string() +
                              " --baseline random --seed 3";
  r = test::run_tool("recap-caption", caption + " --batch-size 3 --out " + (dir / "a.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  r = test::run_tool("recap-caption", caption + " --batch-size 8 --out " + (dir / "b.json").string());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(io::read_json(dir / "a.json"), io::read_json(dir / "b.json"));
  std::set<std::string> train_captions;
  for (const auto& image : dataset["images"])
    if (image["split"] == "train")
      for (const auto& s : image["sentences"]) train_captions.insert(s["raw"].get<std::string>());
  for (const auto& result : io::read_json(dir / "a.json")) EXPECT_TRUE(train_captions.count(result["caption"]));
}

TEST(RecapDemo, BadInputsAreOneLineErrors) {
  test::TempDir dir;
  auto r = test::run_tool("recap-demo", "report --out " + (dir / "nothing").string());
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.err.find("no such demo folder"), std::string::npos) << r.err;
  r = test::run_tool("recap-demo", "world --out " + (dir / "w").string() + " --image-size 8");
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_FALSE(fs::exists(dir / "w"));
  r = test::run_tool("recap-score", "recall --dataset " + dir.path().string() + " --images " + dir.path().string() +
                                        " --clip " + demo_clip().string() + " --ks 1,zero");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--ks"), std::string::npos) << r.err;
  r = test::run_tool("recap-caption", "--run " + dir.path().string() + " --image-embeddings /dev/null --baseline random --lm x --clip y --out " +
                                          (dir / "o.json").string());
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--baseline and --lm"), std::string::npos) << r.err;
  r = test::run_tool("recap-fit", "--image-embeddings /dev/null --text-embeddings /dev/null --method identity-ish --out " +
                                      (dir / "r").string());
  EXPECT_EQ(r.status, 2);
}
