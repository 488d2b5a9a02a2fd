// Outputs appear whole or not at all, and nothing is overwritten without force.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {
std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}
}  // namespace

TEST(AtomicFile, UncommittedWriteLeavesNothing) {
  test::TempDir dir;
  {
    io::AtomicFile out(dir / "x.txt");
    out.write("partial");
  }
  EXPECT_EQ(entries(dir.path()), 0u);
}

TEST(AtomicFile, CommitReplacesTarget) {
  test::TempDir dir;
  test::write_bytes(dir / "x.txt", "old");
  io::write_text_file(dir / "x.txt", "new");
  EXPECT_EQ(test::read_bytes(dir / "x.txt"), "new");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFile, UnwritableDirectoryIsAUsageError) {
  EXPECT_THROW(io::AtomicFile(fs::path("/nonexistent-dir/x.txt")), UsageError);
}

TEST(StagingDirectory, RefusesExistingWithoutForce) {
  test::TempDir dir;
  fs::create_directory(dir / "run");
  EXPECT_THROW(io::StagingDirectory(dir / "run", false), UsageError);
}

TEST(StagingDirectory, AbandonedStagingIsRemoved) {
  test::TempDir dir;
  {
    io::StagingDirectory staging(dir / "run", false);
    io::write_text_file(staging.path() / "a.txt", "a");
  }
  EXPECT_EQ(entries(dir.path()), 0u);
}

TEST(StagingDirectory, ForceReplacesOnlyOnCommit) {
  test::TempDir dir;
  fs::create_directory(dir / "run");
  test::write_bytes(dir / "run" / "old.txt", "old");
  io::StagingDirectory staging(dir / "run", true);
  io::write_text_file(staging.path() / "new.txt", "new");
  EXPECT_TRUE(fs::exists(dir / "run" / "old.txt"));  // untouched until commit
  staging.commit();
  EXPECT_FALSE(fs::exists(dir / "run" / "old.txt"));
  EXPECT_EQ(test::read_bytes(dir / "run" / "new.txt"), "new");
  EXPECT_EQ(entries(dir.path()), 1u);
}
