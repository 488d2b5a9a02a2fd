// Reference files (COCO annotations, Karpathy split files) that are valid JSON but not
// the expected shape are input errors naming the file, never a crash or an "internal
// error" (found by tests/fuzz/fuzz_json_readers).
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "test_support.h"

using namespace recap;

namespace {

// Writes `json` to `file`, reads it with `read`, and expects an InputError whose message
// starts with the file's name and contains `fragment`.
template <typename Read>
void expect_input_error(const std::filesystem::path& file, const std::string& json, const std::string& fragment, Read read) {
  test::write_bytes(file, json);
  try {
    read(file);
    ADD_FAILURE() << "accepted " << json;
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(file.string(), 0), 0u) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << json << " -> " << message;
  }
}

const auto read_references = [](const std::filesystem::path& file) { return data::read_references(file); };
const auto read_results = [](const std::filesystem::path& file) { return data::read_results(file); };

}  // namespace

TEST(References, MalformedShapesAreInputErrorsNamingTheFile) {
  test::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"annotations": {"image_id": 1, "caption": "a dog"}})", "\"annotations\" is not a list"},
      {R"({"annotations": "a dog"})", "\"annotations\" is not a list"},
      {R"({"annotations": [{"image_id": 1.5, "caption": "a dog"}]})", "annotation 0: image id 1.5 is neither an integer nor a string"},
      {R"({"images": [{"sentences": [], "cocoid": [1]}]})", "image 0: image id [1] is neither an integer nor a string"},
      {R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1}, {"cocoid": 2}]})", "image 1: needs a \"sentences\" list"},
      {R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1}, 7]})", "image 1: needs a \"sentences\" list"},
      {R"({"images": [{"sentences": ["a dog"], "cocoid": 1}]})", "a sentence without \"raw\" text"},
      {R"({"images": [{"sentences": [{"raw": 5}], "cocoid": 1}]})", "caption is not a string"},
      {R"({"images": [{"sentences": [], "filename": 3}]})", "\"filename\" is not a string"},
  };
  for (const auto& [json, fragment] : cases) expect_input_error(dir / "refs.json", json, fragment, read_references);
  // The split filter reads "split" only as a string.
  test::write_bytes(dir / "refs.json", R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1, "split": 4}]})");
  EXPECT_THROW(data::read_references(dir / "refs.json", std::string("test")), InputError);
}

// COCO annotations and results take a fast reader (simdjson) when they are well formed and
// the general one otherwise; either way the answer is what nlohmann/json's reading gives.
TEST(References, CocoAnnotationsReadAsTheGeneralReaderDoes) {
  test::TempDir dir;
  // Integer and string ids naming the same image, Unicode, an escaped quote, a repeated key
  // (the last one counts, as in nlohmann/json), and fields the reader ignores.
  test::write_bytes(dir / "refs.json", R"({"info": {"year": 2014}, "annotations": [
      {"image_id": 7, "id": 1, "caption": "A caf\u00e9 \"sign\"."},
      {"image_id": "7", "caption": "first", "caption": "second"},
      {"image_id": 12, "caption": "人 riding a bike"},
      {"image_id": -3, "caption": ""}]})");
  const auto refs = data::read_references(dir / "refs.json");
  ASSERT_EQ(refs.captions.size(), 3u);
  EXPECT_EQ(refs.captions.at("7"), (std::vector<std::string>{"A café \"sign\".", "second"}));
  EXPECT_EQ(refs.captions.at("12"), (std::vector<std::string>{"人 riding a bike"}));
  EXPECT_EQ(refs.captions.at("-3"), (std::vector<std::string>{""}));
  EXPECT_EQ(refs.row_image, (std::vector<std::string>{"7", "7", "12", "-3"}));

  // Invalid UTF-8, in a caption or elsewhere, is the general reader's error naming the file.
  for (const std::string bad : {"{\"info\": \"\xff\", \"annotations\": [{\"image_id\": 1, \"caption\": \"a dog\"}]}",
                                "{\"annotations\": [{\"image_id\": 1, \"caption\": \"a\xc3\"}]}"})
    expect_input_error(dir / "refs.json", bad, ": invalid JSON", read_references);
  // A VizWiz file is not read as COCO annotations: its rejected captions are left out.
  test::write_bytes(dir / "refs.json", R"({"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": [
      {"image_id": 1, "caption": "kept", "is_rejected": false, "is_precanned": false},
      {"image_id": 1, "caption": "dropped", "is_rejected": true, "is_precanned": false}]})");
  EXPECT_EQ(data::read_references(dir / "refs.json").captions.at("1"), (std::vector<std::string>{"kept"}));
}

TEST(References, KarpathySplitFilesReadAsTheGeneralReaderDoes) {
  test::TempDir dir;
  test::write_bytes(dir / "refs.json", R"({"dataset": "coco", "images": [
      {"split": "test", "cocoid": 42, "filepath": "val2014", "sentences": [{"raw": "A dog."}, {"tokens": [], "raw": "Un café"}]},
      {"split": "train", "cocoid": 7, "sentences": [{"raw": "not in test"}]},
      {"split": "test", "filename": "flickr/1000092795.jpg", "sentences": [{"raw": "first", "raw": "last"}]},
      {"split": "test", "cocoid": "x9", "sentences": []}]})");
  const auto test_split = data::read_references(dir / "refs.json", std::string("test"));
  ASSERT_EQ(test_split.captions.size(), 3u);
  EXPECT_EQ(test_split.captions.at("42"), (std::vector<std::string>{"A dog.", "Un café"}));
  EXPECT_EQ(test_split.captions.at("1000092795"), (std::vector<std::string>{"last"}));
  EXPECT_TRUE(test_split.captions.at("x9").empty());  // listed, so the scorer can report it
  EXPECT_EQ(test_split.row_image, (std::vector<std::string>{"42", "42", "1000092795"}));
  const auto all = data::read_references(dir / "refs.json");
  EXPECT_EQ(all.captions.size(), 4u);
  EXPECT_EQ(all.captions.at("7"), (std::vector<std::string>{"not in test"}));
  expect_input_error(dir / "refs.json", R"({"images": [{"split": "test", "cocoid": 1, "sentences": [{"raw": "a"}]}]})",
                     "no images in split 'val'", [](const std::filesystem::path& file) {
                       return data::read_references(file, std::string("val"));
                     });
}

TEST(References, ResultsKeepTheirIdsAsNlohmannJsonParsesThem) {
  test::TempDir dir;
  test::write_bytes(dir / "results.json",
                    R"([{"image_id": 42, "caption": "a dog"}, {"image_id": -1, "caption": "x"}, {"image_id": "b7", "caption": "y", "score": 0.5}])");
  const auto results = data::read_results(dir / "results.json");
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].key, "42");
  EXPECT_EQ(results[0].image_id.type(), nlohmann::json::parse("42").type());  // unsigned, as nlohmann reads it
  EXPECT_EQ(results[0].image_id.dump(), "42");
  EXPECT_EQ(results[1].key, "-1");
  EXPECT_EQ(results[1].image_id.dump(), "-1");
  EXPECT_EQ(results[2].key, "b7");
  EXPECT_EQ(results[2].image_id, nlohmann::json("b7"));
  EXPECT_EQ(results[2].caption, "y");

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"([{"image_id": 1, "caption": "a"}, {"image_id": "1", "caption": "b"}])", "entry 1: image id 1 appears more than once"},
      {R"([{"image_id": 1.5, "caption": "a"}])", "entry 0: image id 1.5 is neither an integer nor a string"},
      {R"([{"image_id": 1, "caption": 3}])", "entry 0: caption is not a string"},
      {R"([{"image_id": 1}])", "entry 0: needs \"image_id\" and \"caption\""},
      {R"({"image_id": 1, "caption": "a"})", "expected COCO results"},
      {R"([{"image_id": 1, "caption": "a"})", "invalid JSON"},
  };
  for (const auto& [json, fragment] : bad) expect_input_error(dir / "results.json", json, fragment, read_results);
}
