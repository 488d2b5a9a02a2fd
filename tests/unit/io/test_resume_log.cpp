// The resume log keeps what a later run can resume, and nothing else.
#include <gtest/gtest.h>

#include <filesystem>

#include "recap/io/resume_log.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

TEST(ResumeLog, AFailedRunLeavesNoLogButAnInterruptedOneKeepsItsRecords) {
  test::TempDir dir;
  const auto path = dir / "out.json.partial.jsonl";
  const nlohmann::json settings = {{"k", 8}};
  { io::ResumeLog log(path, settings, false); }  // failed before its first batch
  EXPECT_FALSE(fs::exists(path));

  {
    io::ResumeLog log(path, settings, false);
    log.add({{"image_id", 1}, {"caption", "a dog"}});
    log.sync();
  }  // interrupted after one batch
  ASSERT_TRUE(fs::exists(path));
  {
    io::ResumeLog log(path, settings, false);  // resumed, then failed again before adding
    EXPECT_EQ(log.resumed(), 1u);
    ASSERT_NE(log.find(1), nullptr);
    EXPECT_EQ((*log.find(1))["caption"], "a dog");
  }
  EXPECT_TRUE(fs::exists(path));  // what it held is still there
  {
    io::ResumeLog log(path, settings, false);
    log.finish();
  }
  EXPECT_FALSE(fs::exists(path));
}
