// Measurements cached per machine (src/io/measurement_cache.cpp): processes that start
// together measure once and all get the first one's answer.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "recap/io/measurement_cache.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

bool always(const nlohmann::json&) { return true; }

}  // namespace

TEST(MeasurementCache, ConcurrentProcessesMeasureOnceAndAgree) {
  test::TempDir dir;
  ::setenv("RECAP_CACHE", (dir / "cache").string().c_str(), 1);
  constexpr int kProcesses = 4;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Each child would measure its own pid; a slow measurement makes them overlap.
      const auto entry = io::measure_once("test.json", "key", always, [&] {
        std::ofstream(dir / "measured.txt", std::ios::app) << ::getpid() << "\n";
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return nlohmann::json{{"pid", ::getpid()}};
      });
      std::ofstream(dir / ("answer-" + std::to_string(p) + ".txt")) << entry["pid"].get<int>() << "\n";
      std::_Exit(0);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ::unsetenv("RECAP_CACHE");
  std::set<std::string> answers;
  for (int p = 0; p < kProcesses; ++p) answers.insert(test::read_bytes(dir / ("answer-" + std::to_string(p) + ".txt")));
  EXPECT_EQ(answers.size(), 1u);
  EXPECT_EQ(test::read_bytes(dir / "measured.txt"), *answers.begin()) << "measured more than once";
}

TEST(MeasurementCache, AnEntryTheCallerRejectsIsMeasuredAgain) {
  test::TempDir dir;
  ::setenv("RECAP_CACHE", (dir / "cache").string().c_str(), 1);
  io::store_measurement("test.json", "key", {{"engine", "retired"}});
  int measured = 0;
  const auto entry = io::measure_once(
      "test.json", "key", [](const nlohmann::json& e) { return e.value("engine", "") != "retired"; },
      [&] {
        ++measured;
        return nlohmann::json{{"engine", "new"}};
      });
  EXPECT_EQ(measured, 1);
  EXPECT_EQ(entry["engine"], "new");
  EXPECT_EQ(io::load_measurement("test.json", "key")->value("engine", ""), "new");
  ::unsetenv("RECAP_CACHE");
}
