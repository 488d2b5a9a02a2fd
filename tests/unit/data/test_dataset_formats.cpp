// The dataset formats beyond Karpathy and COCO (VizWiz-Captions, MSR-VTT, Flickr8k, a
// plain folder): each in its real layout, written here, valid and malformed; detection
// from the content; references read through the same readers.
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "recap/data/dataset.h"
#include "expect_error.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;
using test::expect_error;

namespace {

data::DatasetOptions with_splits(std::vector<std::string> names) {
  data::DatasetOptions options;
  options.splits = std::move(names);
  return options;
}

void touch(const fs::path& path) {
  fs::create_directories(path.parent_path());
  test::write_bytes(path, "x");
}

std::vector<std::string> ids_of(const data::Dataset& ds) {
  std::vector<std::string> ids;
  for (const auto& s : ds.samples) ids.push_back(s.id);
  return ids;
}

// VizWiz-Captions' val.json, cut down: one caption rejected, one pre-canned, one empty.
const char* kVizWiz = R"({"info": {}, "images": [
  {"file_name": "VizWiz_val_00000000.jpg", "vizwiz_url": "https://x/0", "id": 0, "text_detected": true},
  {"file_name": "VizWiz_val_00000001.jpg", "vizwiz_url": "https://x/1", "id": 1, "text_detected": false}],
 "annotations": [
  {"caption": "A bottle of ranch dressing.", "image_id": 0, "is_precanned": false, "is_rejected": false, "text_detected": true, "id": 0},
  {"caption": "Quality issues are too severe to recognize visual content.", "image_id": 0, "is_precanned": true, "is_rejected": false, "text_detected": true, "id": 1},
  {"caption": "a blurry photo", "image_id": 1, "is_precanned": false, "is_rejected": true, "text_detected": false, "id": 2},
  {"caption": "A can of soup on a counter.", "image_id": 1, "is_precanned": false, "is_rejected": false, "text_detected": false, "id": 3},
  {"caption": " ", "image_id": 1, "is_precanned": false, "is_rejected": false, "text_detected": false, "id": 4}]})";

// MSRVTT_data.json, cut down: two videos per official split.
const char* kMsrvtt = R"({"info": {}, "videos": [
  {"category": 9, "video_id": "video0", "split": "train", "id": 0},
  {"category": 1, "video_id": "video1", "split": "train", "id": 1},
  {"category": 2, "video_id": "video6513", "split": "validate", "id": 6513},
  {"category": 3, "video_id": "video7010", "split": "test", "id": 7010},
  {"category": 3, "video_id": "video7011", "split": "test", "id": 7011}],
 "sentences": [
  {"caption": "a car drives down a road", "video_id": "video0", "sen_id": 0},
  {"caption": "a man talks", "video_id": "video1", "sen_id": 1},
  {"caption": "a cartoon plays", "video_id": "video6513", "sen_id": 2},
  {"caption": "a woman sings", "video_id": "video7010", "sen_id": 3},
  {"caption": "people dance", "video_id": "video7011", "sen_id": 4},
  {"caption": "someone is singing", "video_id": "video7010", "sen_id": 5}]})";

class FormatsTest : public ::testing::Test {
 protected:
  fs::path write(const std::string& name, const std::string& text) {
    fs::create_directories((dir / name).parent_path());
    test::write_bytes(dir / name, text);
    return dir / name;
  }
  test::TempDir dir;
};

}  // namespace

TEST_F(FormatsTest, VizWizLeavesOutRejectedAndPrecannedCaptionsUnlessKept) {
  touch(dir / "val/VizWiz_val_00000000.jpg");
  touch(dir / "val/VizWiz_val_00000001.jpg");
  const auto file = write("annotations/val.json", kVizWiz);
  EXPECT_EQ(data::detect_dataset_format(file), "vizwiz");
  const auto ds = data::read_dataset(file, dir / "val");
  EXPECT_EQ(ds.format, "vizwiz");
  ASSERT_EQ(ds.samples.size(), 2u);
  EXPECT_EQ(ids_of(ds), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(ds.samples[0].captions, (std::vector<std::string>{"A bottle of ranch dressing."}));
  EXPECT_EQ(ds.samples[1].captions, (std::vector<std::string>{"A can of soup on a counter."}));
  EXPECT_EQ(ds.samples[1].media, dir / "val/VizWiz_val_00000001.jpg");
  EXPECT_EQ(ds.rejected_captions, 2u);
  EXPECT_EQ(ds.empty_captions, 1u);

  data::DatasetOptions keep;
  keep.keep_rejected = true;
  const auto all = data::read_dataset(file, dir / "val", keep);
  EXPECT_EQ(all.samples[0].captions.size(), 2u);
  EXPECT_EQ(all.samples[1].captions.size(), 2u);
  EXPECT_EQ(all.rejected_captions, 0u);

  // References for scoring come from the same reader, without the media.
  const auto refs = data::read_references(file);
  EXPECT_EQ(refs.captions.at("1"), (std::vector<std::string>{"A can of soup on a counter."}));
  EXPECT_EQ(refs.row_image.size(), 2u);
  expect_error<UsageError>([&] { data::read_dataset(file, dir / "val", with_splits({"val"})); },
                           "VizWiz annotations hold one split already");
}

TEST_F(FormatsTest, VizWizTestSplitCanBeCaptionedButNotTrainedOn) {
  touch(dir / "test/VizWiz_test_00000000.jpg");
  const auto file = write("annotations/test.json", R"({"info": {}, "images": [
      {"file_name": "VizWiz_test_00000000.jpg", "vizwiz_url": "u", "id": 23431, "text_detected": false}]})");
  EXPECT_EQ(data::detect_dataset_format(file), "vizwiz");
  data::DatasetOptions to_caption;
  to_caption.captions_required = false;
  const auto ds = data::read_dataset(file, dir / "test", to_caption);
  ASSERT_EQ(ds.samples.size(), 1u);
  EXPECT_EQ(ds.samples[0].id, "23431");
  EXPECT_TRUE(ds.samples[0].captions.empty());
  expect_error<InputError>([&] { data::read_dataset(file, dir / "test"); }, "no image has a caption");
}

TEST_F(FormatsTest, VizWizMalformed) {
  touch(dir / "VizWiz_val_00000000.jpg");
  auto read = [&](const std::string& json) {
    return [&, json] { data::read_dataset(write("v.json", json), dir.path()); };
  };
  const std::string image = R"({"file_name": "VizWiz_val_00000000.jpg", "id": 0, "text_detected": true})";
  expect_error<InputError>(read(R"({"images": [)" + image + R"(], "annotations": [{"caption": "a", "image_id": 0, "is_rejected": "no"}]})"),
                           "v.json: annotations[0]: \"is_rejected\" is not a boolean");
  expect_error<InputError>(read(R"({"images": [)" + image + R"(], "annotations": [{"caption": "a", "is_rejected": false}]})"),
                           "annotations[0]: no \"image_id\"");
  expect_error<InputError>(read(R"({"images": [)" + image + "," + image + R"(], "annotations": [{"caption": "a", "image_id": 0, "is_rejected": false}]})"),
                           "images[1]: image id 0 appears more than once");
  expect_error<InputError>(read(R"({"images": [{"file_name": "VizWiz_val_00000009.jpg", "id": 9, "text_detected": true}],
                                   "annotations": [{"caption": "a", "image_id": 9, "is_rejected": false}]})"),
                           "image 9: " + (dir / "VizWiz_val_00000009.jpg").string() + " does not exist");
}

TEST_F(FormatsTest, MsrvttOfficialSplits) {
  for (const char* v : {"video0", "video1", "video6513", "video7010", "video7011"}) touch(dir / "videos" / (std::string(v) + ".mp4"));
  const auto file = write("MSRVTT_data.json", kMsrvtt);
  EXPECT_EQ(data::detect_dataset_format(file), "msrvtt");
  const auto train = data::read_dataset(file, dir / "videos", with_splits({"train"}));
  EXPECT_EQ(train.format, "msrvtt");
  EXPECT_EQ(ids_of(train), (std::vector<std::string>{"video0", "video1"}));
  EXPECT_EQ(train.samples[0].media, dir / "videos/video0.mp4");
  const auto val = data::read_dataset(file, dir / "videos", with_splits({"val"}));
  EXPECT_EQ(ids_of(val), (std::vector<std::string>{"video6513"}));
  const auto test = data::read_dataset(file, dir / "videos", with_splits({"test"}));
  EXPECT_EQ(ids_of(test), (std::vector<std::string>{"video7010", "video7011"}));
  EXPECT_EQ(test.samples[0].captions, (std::vector<std::string>{"a woman sings", "someone is singing"}));
  const auto train_val = data::read_dataset(file, dir / "videos", with_splits({"train", "validate"}));
  EXPECT_EQ(train_val.samples.size(), 3u);

  expect_error<UsageError>([&] { data::read_dataset(file, dir / "videos"); }, "choose splits (train, val, test");
  expect_error<InputError>([&] { data::read_dataset(file, dir / "videos", with_splits({"tset"})); },
                           "MSR-VTT has no split 'tset'");
}

TEST_F(FormatsTest, MsrvttJsfusionSplitsFromTheUsersTestList) {
  for (const char* v : {"video0", "video1", "video6513", "video7010", "video7011"}) touch(dir / "videos" / (std::string(v) + ".mp4"));
  const auto file = write("MSRVTT_data.json", kMsrvtt);
  // JSFusion's CSV, as MSRVTT_JSFUSION_test.csv has it.
  auto options = with_splits({"test-1k"});
  options.msrvtt_test_list = write("MSRVTT_JSFUSION_test.csv",
                                   "key,vid_key,video_id,sentence\nret0,msr7010,video7010,a woman sings\n"
                                   "ret1,msr1,video1,a man talks\n");
  EXPECT_EQ(ids_of(data::read_dataset(file, dir / "videos", options)), (std::vector<std::string>{"video1", "video7010"}));
  options.splits = {"train-9k"};
  EXPECT_EQ(ids_of(data::read_dataset(file, dir / "videos", options)),
            (std::vector<std::string>{"video0", "video6513", "video7011"}));
  // A plain list, one id per line, bare numbers allowed.
  options.msrvtt_test_list = write("test_1k.txt", "7011\nvideo0\n");
  options.splits = {"test-1k"};
  EXPECT_EQ(ids_of(data::read_dataset(file, dir / "videos", options)), (std::vector<std::string>{"video0", "video7011"}));

  options.msrvtt_test_list = write("bad.txt", "video0\nvideo99\n");
  expect_error<InputError>([&] { data::read_dataset(file, dir / "videos", options); },
                           "bad.txt: video video99 (entry 2) is not in");
  options.msrvtt_test_list = write("dup.txt", "video0\n0\n");
  expect_error<InputError>([&] { data::read_dataset(file, dir / "videos", options); }, "video video0 is listed more than once");
  options.msrvtt_test_list = write("nocol.csv", "key,vid_key\nret0,msr1\n");
  expect_error<InputError>([&] { data::read_dataset(file, dir / "videos", options); }, "needs a \"video_id\" column");
  options.msrvtt_test_list.clear();
  expect_error<UsageError>([&] { data::read_dataset(file, dir / "videos", options); }, "need the 1k-A test list");
}

TEST_F(FormatsTest, MsrvttMalformed) {
  for (const char* v : {"video0", "video1"}) touch(dir / (std::string(v) + ".mp4"));
  auto read = [&](const std::string& json) {
    return [&, json] { data::read_dataset(write("m.json", json), dir.path(), with_splits({"train"})); };
  };
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video0"}], "sentences": []})"),
                           "m.json: videos[0] (video0): no \"split\"");
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video0", "split": "train"}, {"video_id": "video0", "split": "train"}],
                                   "sentences": []})"),
                           "videos[1]: video video0 appears more than once");
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video0", "split": "train"}],
                                   "sentences": [{"video_id": "video5", "caption": "a"}]})"),
                           "sentences[0]: video_id video5 is not in \"videos\"");
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video0", "split": "train"}],
                                   "sentences": [{"video_id": "video0"}]})"),
                           "sentences[0]: no \"caption\"");
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video0", "split": "test"}],
                                   "sentences": [{"video_id": "video0", "caption": "a"}]})"),
                           "no videos in split 'train' (the file has: test)");
  expect_error<InputError>(read(R"({"videos": [{"video_id": "video3", "split": "train"}],
                                   "sentences": [{"video_id": "video3", "caption": "a"}]})"),
                           "image video3: " + (dir / "video3.mp4").string() + " does not exist");
}

TEST_F(FormatsTest, Flickr8kSplitsFromTheSplitLists) {
  for (const char* f : {"img/1000_a.jpg", "img/2000_b.jpg", "img/3000_c.jpg"}) touch(dir / f);
  const auto token = write("Flickr8k_text/Flickr8k.token.txt",
                           "1000_a.jpg#0\tA dog runs .\n1000_a.jpg#1\tA brown dog .\n2000_b.jpg#0\tA girl .\n"
                           "3000_c.jpg#0\tTwo men .\n3000_c.jpg#1\t \n");
  write("Flickr8k_text/Flickr_8k.trainImages.txt", "1000_a.jpg\n3000_c.jpg\n");
  write("Flickr8k_text/Flickr_8k.devImages.txt", "2000_b.jpg\n");
  write("Flickr8k_text/Flickr_8k.testImages.txt", "2000_b.jpg\r\n");
  EXPECT_EQ(data::detect_dataset_format(token), "flickr8k");
  EXPECT_EQ(data::detect_dataset_format(dir.path()), "flickr8k");  // the folder holding Flickr8k_text/
  const auto train = data::read_dataset(token, dir / "img", with_splits({"train"}));
  EXPECT_EQ(train.format, "flickr8k");
  EXPECT_EQ(ids_of(train), (std::vector<std::string>{"1000_a", "3000_c"}));
  EXPECT_EQ(train.samples[0].captions, (std::vector<std::string>{"A dog runs .", "A brown dog ."}));
  EXPECT_EQ(train.samples[1].media, dir / "img/3000_c.jpg");
  EXPECT_EQ(train.empty_captions, 1u);
  EXPECT_EQ(ids_of(data::read_dataset(dir.path(), dir / "img", with_splits({"val"}))), (std::vector<std::string>{"2000_b"}));
  EXPECT_EQ(data::read_references(token, "test").captions.at("2000_b"), (std::vector<std::string>{"A girl ."}));

  expect_error<InputError>([&] { data::read_dataset(token, dir / "img", with_splits({"restval"})); },
                           "Flickr8k has no split 'restval'");
  write("Flickr8k_text/Flickr_8k.devImages.txt", "9999_z.jpg\n");
  expect_error<InputError>([&] { data::read_dataset(token, dir / "img", with_splits({"val"})); },
                           "Flickr_8k.devImages.txt: image 9999_z.jpg has no captions");
  fs::remove(dir / "Flickr8k_text/Flickr_8k.testImages.txt");
  expect_error<InputError>([&] { data::read_dataset(token, dir / "img", with_splits({"test"})); },
                           "Flickr_8k.testImages.txt: missing");
  const auto bad = write("Flickr8k_text/Flickr8k.token.txt", "1000_a.jpg#0\tA dog .\n1000_a.jpg\tno number\n");
  data::DatasetOptions forced = with_splits({"train"});
  forced.format = "flickr8k";
  expect_error<InputError>([&] { data::read_dataset(bad, dir / "img", forced); },
                           "'1000_a.jpg' is not <image>#<number>");
}

TEST_F(FormatsTest, FolderOfMediaWithOptionalCaptions) {
  for (const char* f : {"mine/beach.jpg", "mine/trip/clip.mp4", "mine/notes.txt"}) touch(dir / f);
  EXPECT_EQ(data::detect_dataset_format(dir / "mine"), "folder");
  const auto bare = data::read_dataset(dir / "mine", {}, [] {
    data::DatasetOptions o;
    o.captions_required = false;
    return o;
  }());
  EXPECT_EQ(bare.format, "folder");
  EXPECT_EQ(ids_of(bare), (std::vector<std::string>{"beach.jpg", "trip/clip.mp4"}));
  expect_error<InputError>([&] { data::read_dataset(dir / "mine", {}); }, "no image has a caption");

  write("mine/captions.json", R"({"beach.jpg": ["sand and sea", "a beach"], "trip/clip.mp4": "a road trip"})");
  const auto ds = data::read_dataset(dir / "mine", {});
  ASSERT_EQ(ds.samples.size(), 2u);
  EXPECT_EQ(ds.samples[0].captions, (std::vector<std::string>{"sand and sea", "a beach"}));
  EXPECT_EQ(ds.samples[1].captions, (std::vector<std::string>{"a road trip"}));
  EXPECT_EQ(ds.samples[1].media, dir / "mine/trip/clip.mp4");
  EXPECT_EQ(data::read_references(dir / "mine").captions.at("trip/clip.mp4").size(), 1u);

  write("mine/captions.json", R"({"sunset.jpg": "a sunset"})");
  expect_error<InputError>([&] { data::read_dataset(dir / "mine", {}); },
                           "captions.json: \"sunset.jpg\": no image or video in the folder goes by this id or path");
  write("mine/captions.json", R"({"beach.jpg": [1]})");
  expect_error<InputError>([&] { data::read_dataset(dir / "mine", {}); }, "\"beach.jpg\"[0]: caption is not a string");
  expect_error<UsageError>([&] { data::read_dataset(dir / "mine", {}, with_splits({"train"})); }, "folders have no splits");
  fs::create_directories(dir / "empty");
  expect_error<InputError>([&] { data::read_dataset(dir / "empty", {}); }, "no image or video files in this folder");
}

TEST_F(FormatsTest, DetectionAndForcedFormats) {
  EXPECT_EQ(data::detect_dataset_format(write("k.json", R"({"images": [{"split": "test", "filename": "a.jpg", "sentences": []}]})")),
            "karpathy");
  EXPECT_EQ(data::detect_dataset_format(write("c.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": []})")),
            "coco");
  // COCO annotations whose first entry lacks VizWiz's flags stay COCO.
  EXPECT_EQ(data::detect_dataset_format(write("c2.json", R"({"images": [], "annotations": [{"image_id": 1, "caption": "a"}]})")),
            "coco");
  expect_error<InputError>([&] { data::detect_dataset_format(write("x.json", R"({"something": []})")); },
                           "x.json: not a dataset recap reads");
  expect_error<InputError>([&] { data::detect_dataset_format(write("t.txt", "not a token file\n")); }, "t.txt:");
  expect_error<InputError>([&] { data::detect_dataset_format(dir / "absent.json"); }, "absent.json: no such file or folder");
  data::DatasetOptions unknown;
  unknown.format = "kinetics";
  expect_error<UsageError>([&] { data::read_dataset(dir / "k.json", dir.path(), unknown); },
                           "unknown dataset format 'kinetics'");
  // Forcing MSR-VTT on a COCO file names what is missing.
  data::DatasetOptions forced = with_splits({"train"});
  forced.format = "msrvtt";
  expect_error<InputError>([&] { data::read_dataset(dir / "c.json", dir.path(), forced); }, "c.json: no \"videos\"");
}
