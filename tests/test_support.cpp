#include "test_support.h"

#include "recap/common/rows.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace recap::test {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "recap-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path test_data_dir() { return RECAP_TEST_DATA_DIR; }
std::filesystem::path tools_dir() { return RECAP_TOOLS_DIR; }

io::FloatMatrix random_normal(std::int64_t n, std::int64_t d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  io::FloatMatrix m(n, d);
  for (auto& v : m.values) v = normal(rng);
  return m;
}

void normalize_rows(io::FloatMatrix& m) { recap::normalize_rows(m); }

ToolRun run_tool(const std::string& tool, const std::string& args) {
  return run_command((tools_dir() / tool).string() + " " + args);
}

std::filesystem::path source_dir() { return test_data_dir().parent_path().parent_path(); }

ToolRun run_command(const std::string& shell_command) {
  TempDir capture;
  const auto out = capture / "stdout", err = capture / "stderr";
  const std::string command = "( " + shell_command + " ) >" + out.string() + " 2>" + err.string() + " </dev/null";
  const int raw = std::system(command.c_str());
  ToolRun run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  run.out = read_bytes(out);
  run.err = read_bytes(err);
  return run;
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace recap::test
