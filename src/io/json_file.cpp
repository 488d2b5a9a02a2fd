#include "recap/io/json_file.h"

#include <fstream>
#include <sstream>

#include "recap/common/error.h"
#include "recap/io/atomic_file.h"

namespace recap::io {

std::string read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw InputError(path.string() + ": is a folder, not a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(path.string() + ": cannot open for reading");
  const std::streamoff size = in.tellg();
  if (size < 0) throw InputError(path.string() + ": read error");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()))) throw InputError(path.string() + ": read error");
  return bytes;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  const std::string text = read_file(path);
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
    // A byte-order mark (Windows editors write one) is not part of the first line's text.
    if (lines.empty() && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
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
