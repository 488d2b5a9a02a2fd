// Outputs appear whole or not at all, and nothing is overwritten without force.
#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// A directory as StagingDirectory commits it, holding the given files.
void make_output_directory(const fs::path& target, const std::vector<std::string>& files) {
  io::StagingDirectory staging(target, false);
  for (const auto& file : files) {
    fs::create_directories((staging.path() / file).parent_path());
    io::write_text_file(staging.path() / file, "old");
  }
  staging.commit();
}

TEST(StagingDirectory, ForceReplacesOnlyOnCommit) {
  test::TempDir dir;
  make_output_directory(dir / "run", {"old.txt", "datastore/captions.jsonl"});
  io::StagingDirectory staging(dir / "run", true);
  io::write_text_file(staging.path() / "new.txt", "new");
  EXPECT_TRUE(fs::exists(dir / "run" / "old.txt"));  // untouched until commit
  staging.commit();
  EXPECT_FALSE(fs::exists(dir / "run" / "old.txt"));
  EXPECT_FALSE(fs::exists(dir / "run" / "datastore"));
  EXPECT_EQ(test::read_bytes(dir / "run" / "new.txt"), "new");
  EXPECT_EQ(entries(dir.path()), 1u);
}

// --force never deletes what recap did not write: a directory without recap's list, a
// directory someone added a file to (at any depth), a regular file, a symbolic link.
TEST(StagingDirectory, ForceRefusesWhatRecapDidNotWrite) {
  test::TempDir dir;
  fs::create_directories(dir / "plain" / "sub");
  test::write_bytes(dir / "plain" / "sub" / "thesis.tex", "mine");
  make_output_directory(dir / "added", {"mapping.npy", "datastore/embeddings.npy"});
  test::write_bytes(dir / "added" / "datastore" / "notes.txt", "mine");
  test::write_bytes(dir / "file", "mine");
  make_output_directory(dir / "real", {"a.txt"});
  fs::create_directory_symlink(dir / "real", dir / "link");
  for (const char* name : {"plain", "added", "file", "link"}) {
    SCOPED_TRACE(name);
    EXPECT_THROW(io::StagingDirectory(dir / name, true), UsageError);
  }
  EXPECT_EQ(test::read_bytes(dir / "plain" / "sub" / "thesis.tex"), "mine");
  EXPECT_EQ(test::read_bytes(dir / "added" / "datastore" / "notes.txt"), "mine");
  EXPECT_EQ(test::read_bytes(dir / "file"), "mine");
  EXPECT_TRUE(fs::is_symlink(dir / "link"));

  // A file added while the new output was being written is caught at commit, and both
  // the old directory and the addition survive.
  make_output_directory(dir / "busy", {"a.txt"});
  io::StagingDirectory staging(dir / "busy", true);
  test::write_bytes(dir / "busy" / "late.txt", "mine");
  EXPECT_THROW(staging.commit(), UsageError);
  EXPECT_EQ(test::read_bytes(dir / "busy" / "late.txt"), "mine");
  EXPECT_EQ(test::read_bytes(dir / "busy" / "a.txt"), "old");
}

TEST(CheckOutputPath, ForceDoesNotReplaceADirectoryWithAFile) {
  test::TempDir dir;
  fs::create_directory(dir / "out.json");
  EXPECT_THROW(io::check_output_path(dir / "out.json", true), UsageError);
}
