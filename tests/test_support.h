#pragma once
// Helpers shared by the test suites: scratch directories, paths to the fixtures in tests/data, random data.
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "recap/io/matrix.h"

namespace recap::test {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path test_data_dir();  // tests/data: the fixtures the suites read (tests/data/README.md)
std::filesystem::path tools_dir();   // where recap-* executables are built

// n x d matrix of independent standard normal entries.
io::FloatMatrix random_normal(std::int64_t n, std::int64_t d, std::uint32_t seed);
void normalize_rows(io::FloatMatrix& m);

// Runs a recap tool from the build tree: `args` is appended to the executable's path
// (shell syntax). Captures exit status, stdout and stderr.
struct ToolRun {
  int status = -1;
  std::string out, err;
};
ToolRun run_tool(const std::string& tool, const std::string& args);
// Runs any shell command the same way (stdin from /dev/null).
ToolRun run_command(const std::string& command);
std::filesystem::path source_dir();  // the repository root (scripts/, configs/)

// Writes raw bytes to a file (for hand-made corrupt inputs).
void write_bytes(const std::filesystem::path& path, const std::string& bytes);
std::string read_bytes(const std::filesystem::path& path);

}  // namespace recap::test
