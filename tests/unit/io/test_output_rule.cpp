// The one rule for outputs: never an input, never another output, --force or not.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/io/output_rule.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

std::string refusal(const io::OutputPlan& plan) {
  try {
    io::check_output_plan(plan);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(OutputRule, AnOutputThatIsAnInputIsRefusedEvenWithForce) {
  test::TempDir dir;
  test::write_bytes(dir / "captions.txt", "a dog\n");
  fs::create_directories(dir / "run" / "datastore");
  test::write_bytes(dir / "run" / "datastore" / "embeddings.npy", "x");
  fs::create_symlink(dir / "captions.txt", dir / "link.txt");
  fs::create_hard_link(dir / "captions.txt", dir / "hard.txt");
  fs::create_directory(dir / "sub");
  for (const bool force : {false, true}) {
    SCOPED_TRACE(force);
    EXPECT_NE(refusal({{dir / "captions.txt"}, {dir / "captions.txt"}, {}, force}).find("is also an input"), std::string::npos);
    // The same file by another name: a relative path, a symbolic link, a hard link.
    EXPECT_NE(refusal({{dir / "captions.txt"}, {dir / "sub" / ".." / "captions.txt"}, {}, force}), "");
    EXPECT_NE(refusal({{dir / "captions.txt"}, {dir / "link.txt"}, {}, force}), "");
    EXPECT_NE(refusal({{dir / "captions.txt"}, {dir / "hard.txt"}, {}, force}), "");
    // A file inside an input folder (a run directory).
    EXPECT_NE(refusal({{dir / "run"}, {dir / "run" / "datastore" / "embeddings.npy"}, {}, force}).find("embeddings.npy"),
              std::string::npos);
    // An output directory that holds an input, or is one.
    EXPECT_NE(refusal({{dir / "run" / "datastore" / "embeddings.npy"}, {}, {dir / "run"}, force}).find("would replace"),
              std::string::npos);
  }
  EXPECT_EQ(test::read_bytes(dir / "captions.txt"), "a dog\n");
}

TEST(OutputRule, TwoOutputsThatAreOneFileAreRefused) {
  test::TempDir dir;
  // Neither exists yet: compared by resolved path.
  EXPECT_NE(refusal({{}, {dir / "out.json", dir / "." / "out.json"}, {}, false}).find("same output"), std::string::npos);
  EXPECT_NE(refusal({{}, {dir / "out.json"}, {dir / "out.json"}, false}), "");
  EXPECT_NE(refusal({{}, {dir / "run" / "x.json"}, {dir / "run"}, false}), "");
}

TEST(OutputRule, DistinctOutputsPassAndExistingOnesNeedForce) {
  test::TempDir dir;
  test::write_bytes(dir / "in.txt", "x");
  test::write_bytes(dir / "old.json", "{}");
  fs::create_directory(dir / "run");
  EXPECT_EQ(refusal({{dir / "in.txt", dir / "run"}, {dir / "a.json", dir / "run" / "b.json"}, {}, false}), "");
  EXPECT_NE(refusal({{dir / "in.txt"}, {dir / "old.json"}, {}, false}).find("--force"), std::string::npos);
  EXPECT_EQ(refusal({{dir / "in.txt"}, {dir / "old.json"}, {}, true}), "");
  EXPECT_EQ(refusal({{fs::path()}, {fs::path(), dir / "a.json"}, {fs::path()}, false}), "");  // unset options
}
