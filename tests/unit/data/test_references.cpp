// Reference files (COCO annotations, Karpathy split files) that are valid JSON but not
// the expected shape are input errors naming the file, never a crash or an "internal
// error" (found by tests/fuzz/fuzz_json_readers).
#include <gtest/gtest.h>

#include "recap/common/error.h"
#include "recap/data/captions.h"
#include "test_support.h"

using namespace recap;

TEST(References, MalformedShapesAreInputErrorsNamingTheFile) {
  test::TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"annotations": {"image_id": 1, "caption": "a dog"}})", "\"annotations\" is not a list"},
      {R"({"annotations": "a dog"})", "\"annotations\" is not a list"},
      {R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1}, {"cocoid": 2}]})", "image 1: needs a \"sentences\" list"},
      {R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1}, 7]})", "image 1: needs a \"sentences\" list"},
      {R"({"images": [{"sentences": ["a dog"], "cocoid": 1}]})", "a sentence without \"raw\" text"},
      {R"({"images": [{"sentences": [{"raw": 5}], "cocoid": 1}]})", "caption is not a string"},
      {R"({"images": [{"sentences": [], "filename": 3}]})", "\"filename\" is not a string"},
  };
  for (const auto& [json, fragment] : cases) {
    test::write_bytes(dir / "refs.json", json);
    try {
      data::read_references(dir / "refs.json");
      ADD_FAILURE() << "accepted " << json;
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind((dir / "refs.json").string(), 0), 0u) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << json << " -> " << message;
    }
  }
  // The split filter reads "split" only as a string.
  test::write_bytes(dir / "refs.json", R"({"images": [{"sentences": [{"raw": "a"}], "cocoid": 1, "split": 4}]})");
  EXPECT_THROW(data::read_references(dir / "refs.json", std::string("test")), InputError);
}
