// Image folders: symbolic links to folders are followed, loops and repeats are not.
#include <gtest/gtest.h>

#include <algorithm>

#include "recap/io/folder_walk.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

TEST(FolderWalk, LinkedFoldersAreEnteredOnceAndLoopsEndImmediately) {
  test::TempDir dir, elsewhere;
  fs::create_directories(dir / "images" / "a");
  test::write_bytes(dir / "images" / "a" / "1.jpg", "x");
  test::write_bytes(dir / "images" / "top.jpg", "x");
  test::write_bytes(elsewhere / "2.jpg", "x");
  fs::create_directory_symlink(dir / "images", dir / "images" / "a" / "loop");  // back to an ancestor
  fs::create_directory_symlink(dir / "images" / "a", dir / "images" / "again");  // a second way into a/
  fs::create_directory_symlink(elsewhere.path(), dir / "images" / "linked");     // a dataset linked in
  const auto files = io::files_under(dir / "images");
  ASSERT_EQ(files.size(), 3u);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"1.jpg", "2.jpg", "top.jpg"}));
}
