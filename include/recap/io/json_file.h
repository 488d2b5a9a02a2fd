#pragma once
// Whole files, JSON, JSON Lines and plain line files, with errors that name the file (and line) at fault.
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace recap::io {

// The whole file as bytes; InputError naming the file when it cannot be opened or read.
std::string read_file(const std::filesystem::path& path);

nlohmann::json read_json(const std::filesystem::path& path);
// One JSON value per non-blank line.
std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path);

// The non-blank lines of JSON Lines text (blank: nothing but spaces, tabs and "\r"), each a
// view into `text` with its 1-based line number: the lines read_jsonl parses.
struct JsonlLine {
  std::string_view text;
  std::size_t number;
};
std::vector<JsonlLine> jsonl_lines(std::string_view text);

// The lines of a text file, without their "\n" or "\r\n" (empty lines kept); a UTF-8
// byte-order mark before the first line is dropped.
std::vector<std::string> read_lines(const std::filesystem::path& path);

// Atomic writes; `indent` < 0 writes compactly.
void write_json(const std::filesystem::path& path, const nlohmann::json& value, int indent = 2);
void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& values);

}  // namespace recap::io
