// Finding an image id's file: stems, COCO's 2014 and 2017 names, list files, JSON maps,
// and the ambiguous or missing cases.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/data/media_index.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  test::write_bytes(path, "x");
}

}  // namespace

TEST(MediaIndex, FolderAnswersToStemsAndCocoNumbers) {
  test::TempDir dir;
  touch(dir / "imgs/val2014/COCO_val2014_000000321647.jpg");
  touch(dir / "imgs/000000000042.png");
  touch(dir / "imgs/1000092795.JPG");
  touch(dir / "imgs/1000268201_693b08cb0e.jpg");
  touch(dir / "imgs/notes.txt");
  const auto index = data::MediaIndex::open(dir / "imgs");
  EXPECT_EQ(index.find("321647"), dir / "imgs/val2014/COCO_val2014_000000321647.jpg");
  EXPECT_EQ(index.find("COCO_val2014_000000321647"), dir / "imgs/val2014/COCO_val2014_000000321647.jpg");
  EXPECT_EQ(index.find("42"), dir / "imgs/000000000042.png");
  EXPECT_EQ(index.find("1000092795"), dir / "imgs/1000092795.JPG");
  EXPECT_EQ(index.find("1000268201_693b08cb0e"), dir / "imgs/1000268201_693b08cb0e.jpg");
  EXPECT_FALSE(index.find("notes"));  // not an image
  EXPECT_FALSE(index.find("43"));
  EXPECT_FALSE(index.find("000000321647"));  // a number is matched in its id_key form only
}

TEST(MediaIndex, TwoFilesForOneIdAreAnError) {
  test::TempDir dir;
  touch(dir / "train2014/COCO_train2014_000000000042.jpg");
  touch(dir / "val2014/COCO_val2014_000000000042.jpg");
  const auto index = data::MediaIndex::open(dir.path());
  try {
    index.find("42");
    ADD_FAILURE() << "an ambiguous id was resolved";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("image 42 matches more than one file"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(index.find("COCO_val2014_000000000042"));
}

TEST(MediaIndex, ListFileAndJsonMap) {
  test::TempDir dir;
  test::write_bytes(dir / "list.txt", "a/COCO_val2014_000000000007.jpg\n\n/abs/cat.png\n");
  const auto list = data::MediaIndex::open(dir / "list.txt");
  EXPECT_EQ(list.find("7"), dir / "a/COCO_val2014_000000000007.jpg");  // relative to the list's folder
  EXPECT_EQ(list.find("cat"), fs::path("/abs/cat.png"));
  test::write_bytes(dir / "map.json", R"({"7": "x/seven.jpg", "img-a": "/abs/a.jpg"})");
  const auto map = data::MediaIndex::open(dir / "map.json");
  EXPECT_EQ(map.find("7"), dir / "x/seven.jpg");
  EXPECT_EQ(map.find("img-a"), fs::path("/abs/a.jpg"));
  EXPECT_FALSE(map.find("seven"));  // a map names ids exactly
}

TEST(MediaIndex, UnusableSourcesAreErrors) {
  test::TempDir dir;
  fs::create_directories(dir / "empty");
  touch(dir / "empty/readme.txt");
  test::write_bytes(dir / "bad.json", "[1]");
  for (const auto& [source, fragment] : {std::pair{dir / "absent", "no such folder or file"},
                                         std::pair{dir / "empty", "no image or video files"},
                                         std::pair{dir / "bad.json", "expected a JSON object"}}) {
    try {
      data::MediaIndex::open(source);
      ADD_FAILURE() << source;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}
