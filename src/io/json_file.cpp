#include "recap/io/json_file.h"

#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "recap/common/error.h"
#include "recap/common/parallel.h"
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

std::vector<JsonlLine> jsonl_lines(std::string_view text) {
  std::vector<JsonlLine> lines;
  std::size_t number = 0;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t newline = text.find('\n', at);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline;
    const std::string_view line = text.substr(at, end - at);
    ++number;
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) lines.push_back({line, number});
    at = end + 1;
  }
  return lines;
}

std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  // Each line is a document of its own, so the lines are parsed on all cores: parsing one
  // after the other was most of the 4 s a 566,747-caption datastore took to open.
  const auto lines = jsonl_lines(text);
  std::vector<nlohmann::json> values(lines.size());
  parallel_ranges(static_cast<std::int64_t>(lines.size()), 0, [&](std::int64_t begin, std::int64_t end) {
    for (auto i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) {
      try {
        values[i] = nlohmann::json::parse(lines[i].text.begin(), lines[i].text.end());
      } catch (const nlohmann::json::exception& e) {
        // The earliest range's error is the one rethrown, so it names the first bad line.
        throw InputError(path.string() + ":" + std::to_string(lines[i].number) + ": invalid JSON (" +
                         std::string(e.what()) + ")");
      }
    }
  });
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
