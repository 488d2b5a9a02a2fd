#include "recap/io/json_file.h"

#include <fstream>
#include <sstream>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"

namespace recap::io {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

nlohmann::json read_json(const std::filesystem::path& path) {
  const std::string text = read_all(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string() + ": invalid JSON (" + std::string(e.what()) + ")");
  }
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  std::vector<nlohmann::json> values;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      values.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      throw InputError(path.string() + ":" + std::to_string(number) + ": invalid JSON (" + std::string(e.what()) + ")");
    }
  }
  return values;
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

void write_json(const std::filesystem::path& path, const nlohmann::json& value, int indent) {
  // Invalid UTF-8 is replaced rather than aborting the write half-way.
  write_text_file(path, value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& values) {
  AtomicFile out(path);
  for (const auto& v : values) out.write(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  out.commit();
}

}  // namespace recap::io
