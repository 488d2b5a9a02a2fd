// The dataset reader: both formats, split selection, what is left out and counted, and
// every malformed input as an error naming the file and the entry.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/data/dataset.h"
#include "expect_error.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;
using test::expect_error;

namespace {

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* f : {"val2014/COCO_val2014_000000000001.jpg", "val2014/COCO_val2014_000000000002.jpg",
                          "train2014/COCO_train2014_000000000003.jpg", "flickr.jpg"}) {
      fs::create_directories((dir / f).parent_path());
      test::write_bytes(dir / f, "x");
    }
  }
  fs::path write(const std::string& json) {
    test::write_bytes(dir / "dataset.json", json);
    return dir / "dataset.json";
  }
  test::TempDir dir;
};

const char* kKarpathy = R"({"images": [
  {"split": "test", "filepath": "val2014", "filename": "COCO_val2014_000000000001.jpg", "cocoid": 1,
   "sentences": [{"raw": "a test image"}]},
  {"split": "train", "filepath": "train2014", "filename": "COCO_train2014_000000000003.jpg", "cocoid": 3,
   "sentences": [{"raw": "a dog"}, {"raw": "  "}, {"raw": "a brown dog"}]},
  {"split": "restval", "filepath": "val2014", "filename": "COCO_val2014_000000000002.jpg", "cocoid": 2,
   "sentences": [{"raw": "a cat"}]},
  {"split": "train", "filename": "flickr.jpg", "sentences": [{"raw": ""}]}
]})";

data::DatasetOptions splits(std::vector<std::string> names) {
  data::DatasetOptions options;
  options.splits = std::move(names);
  return options;
}

}  // namespace

TEST(DatasetSplits, ParsesACommaList) {
  EXPECT_EQ(data::parse_split_list("train,restval"), (std::vector<std::string>{"train", "restval"}));
  EXPECT_EQ(data::parse_split_list(" train , restval,,train"), (std::vector<std::string>{"train", "restval"}));
  EXPECT_TRUE(data::parse_split_list("").empty());
}

TEST_F(DatasetTest, KarpathySplitsSelectImagesAndLeaveOutEmptyCaptions) {
  const auto ds = data::read_dataset(write(kKarpathy), dir.path(), splits({"train", "restval"}));
  EXPECT_EQ(ds.format, "karpathy");
  ASSERT_EQ(ds.samples.size(), 2u);  // the test image is not selected, flickr.jpg has no caption left
  EXPECT_EQ(ds.samples[0].id, "3");
  EXPECT_EQ(ds.samples[0].media, dir / "train2014/COCO_train2014_000000000003.jpg");
  EXPECT_EQ(ds.samples[0].captions, (std::vector<std::string>{"a dog", "a brown dog"}));
  EXPECT_EQ(ds.samples[1].id, "2");
  EXPECT_EQ(ds.samples[1].captions, (std::vector<std::string>{"a cat"}));
  EXPECT_EQ(ds.listed_images, 3u);
  EXPECT_EQ(ds.empty_captions, 2u);
  EXPECT_EQ(ds.images_without_captions, 1u);

  const auto test_split = data::read_dataset(dir / "dataset.json", dir.path(), splits({"test"}));
  ASSERT_EQ(test_split.samples.size(), 1u);
  EXPECT_EQ(test_split.samples[0].id, "1");
  EXPECT_EQ(test_split.samples[0].media, dir / "val2014/COCO_val2014_000000000001.jpg");
}

TEST_F(DatasetTest, KarpathyWithoutCocoidIsKeyedByFileStem) {
  write(R"({"images": [{"split": "test", "filename": "flickr.jpg", "sentences": [{"raw": "a man"}]}]})");
  const auto ds = data::read_dataset(dir / "dataset.json", dir.path(), splits({"test"}));
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(ds.samples[0].id, "flickr");
  EXPECT_EQ(ds.samples[0].media, dir / "flickr.jpg");
}

TEST_F(DatasetTest, KarpathyNeedsAnExistingSplit) {
  write(kKarpathy);
  expect_error<UsageError>([&] { data::read_dataset(dir / "dataset.json", dir.path(), splits({})); }, "choose splits");
  expect_error<InputError>([&] { data::read_dataset(dir / "dataset.json", dir.path(), splits({"train", "resval"})); },
                           "no images in split 'resval' (the file has: restval, test, train)");
}

TEST_F(DatasetTest, CocoAnnotations) {
  write(R"({"images": [{"id": 1, "file_name": "val2014/COCO_val2014_000000000001.jpg"},
                       {"id": 2, "file_name": "val2014/COCO_val2014_000000000002.jpg"},
                       {"id": 9, "file_name": "absent-but-uncaptioned.jpg"}],
            "annotations": [{"image_id": 2, "caption": "a cat"}, {"image_id": 1, "caption": "one"},
                            {"image_id": 2, "caption": "a grey cat"}]})");
  const auto ds = data::read_dataset(dir / "dataset.json", dir.path());
  EXPECT_EQ(ds.format, "coco");
  ASSERT_EQ(ds.samples.size(), 2u);
  EXPECT_EQ(ds.samples[0].id, "1");
  EXPECT_EQ(ds.samples[1].captions, (std::vector<std::string>{"a cat", "a grey cat"}));
  EXPECT_EQ(ds.images_without_captions, 1u);
  expect_error<UsageError>([&] { data::read_dataset(dir / "dataset.json", dir.path(), splits({"train"})); },
                           "COCO annotations hold one split");
}

TEST_F(DatasetTest, MalformedEntriesNameFileAndEntry) {
  const std::string name = (dir / "dataset.json").string();
  auto read = [&](const std::string& json) {
    return [&, json] { data::read_dataset(write(json), dir.path(), splits({"train"})); };
  };
  expect_error<InputError>(read(R"({"images": [{"split": "train", "sentences": []}]})"),
                           name + ": images[0]: no \"filename\"");
  expect_error<InputError>(read(R"({"images": [{"split": "train", "filename": "flickr.jpg", "sentences": [{"tokens": []}]}]})"),
                           "images[0] (flickr.jpg): sentence 0: no \"raw\"");
  expect_error<InputError>(read(R"({"images": [{"filename": "flickr.jpg", "sentences": []}]})"), "no \"split\"");
  expect_error<InputError>(read(R"({"images": [{"split": "train", "filename": "flickr.jpg", "cocoid": 5, "sentences": [{"raw": "a"}]},
                                               {"split": "train", "filename": "flickr.jpg", "cocoid": 5, "sentences": [{"raw": "b"}]}]})"),
                           "image id 5 appears more than once");
  expect_error<InputError>(read(R"({"images": [{"split": "train", "filename": "gone.jpg", "sentences": [{"raw": "a"}]},
                                               {"split": "train", "filename": "flickr.jpg", "cocoid": 7, "sentences": [{"raw": "b"}]}]})"),
                           "image gone: " + (dir / "gone.jpg").string() + " does not exist (1 of 2 media files missing");
  expect_error<InputError>(read(R"({"images": [{"split": "train", "filename": "flickr.jpg", "sentences": [{"raw": 3}]}]})"),
                           "caption is not a string");
  expect_error<InputError>(read(R"([1, 2])"), "not a dataset recap reads");
  const auto coco = [&](const std::string& json) {
    return [&, json] { data::read_dataset(write(json), dir.path()); };
  };
  expect_error<InputError>(coco(R"({"annotations": [{"image_id": 1, "caption": "a"}]})"), "no \"images\"");
  expect_error<InputError>(coco(R"({"images": [{"id": 1, "file_name": "flickr.jpg"}],
                                    "annotations": [{"image_id": 4, "caption": "a"}]})"),
                           "annotations[0]: image_id 4 is not in \"images\"");
  expect_error<InputError>(coco(R"({"images": [{"id": 1, "file_name": "flickr.jpg"}], "annotations": [{"image_id": 1, "caption": " "}]})"),
                           "no image has a caption");
}
