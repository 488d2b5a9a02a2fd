#include "recap/metrics/score_table.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace recap::metrics {
namespace {

std::string number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// The shortest text that reads back as the same double (nlohmann/json writes it so).
std::string exact(double value) { return nlohmann::json(value).dump(); }

// A CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::pair<std::string, std::filesystem::path> parse_named_file(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
    throw UsageError("'" + text + "' is not NAME=FILE");
  return {text.substr(0, eq), text.substr(eq + 1)};
}

ScoreTable ScoreTable::from_files(const std::vector<std::pair<std::string, std::filesystem::path>>& rows,
                                  const std::vector<std::string>& columns, const std::string& key) {
  if (rows.empty()) throw UsageError("a score table needs at least one row");
  if (columns.empty()) throw UsageError("a score table needs at least one column");
  ScoreTable table;
  table.columns = columns;
  for (const auto& [name, path] : rows) {
    const auto doc = io::read_json(path);
    const std::string where = path.string();
    if (!doc.is_object()) throw InputError(where + ": expected recap-score's JSON object of scores");
    if (!key.empty() && !(doc.contains(key) && doc[key].is_object()))
      throw InputError(where + ": no \"" + key + "\" object of scores");
    const auto& scores = key.empty() ? doc : doc[key];
    Row row{name, {}};
    for (const auto& column : columns) {
      if (scores.contains(column) && scores[column].is_number()) {
        row.values.emplace_back(scores[column].get<double>());
        continue;
      }
      row.values.emplace_back(std::nullopt);
      std::string why = "not computed";
      if (doc.contains("unavailable") && doc["unavailable"].contains(column) && doc["unavailable"][column].is_string())
        why = doc["unavailable"][column].get<std::string>();
      else if (scores.contains(column) && scores[column].is_null())
        why = "undefined (constant scores)";
      table.notes[name + " / " + column] = why;
    }
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string ScoreTable::markdown(int decimals) const {
  std::string out = "| |";
  for (const auto& c : columns) out += " " + c + " |";
  out += "\n|---|";
  for (std::size_t i = 0; i < columns.size(); ++i) out += "---:|";
  out += "\n";
  for (const auto& row : rows) {
    out += "| " + row.name + " |";
    for (const auto& v : row.values) out += " " + (v ? number(*v, decimals) : std::string("n/a")) + " |";
    out += "\n";
  }
  if (!notes.empty()) {
    out += "\n";
    for (const auto& [where, why] : notes) out += "- n/a " + where + ": " + why + "\n";
  }
  return out;
}

std::string ScoreTable::csv() const {
  std::string out = "row";
  for (const auto& c : columns) out += "," + csv_field(c);
  out += "\n";
  for (const auto& row : rows) {
    out += csv_field(row.name);
    for (const auto& v : row.values) out += "," + (v ? exact(*v) : std::string());
    out += "\n";
  }
  return out;
}

}  // namespace recap::metrics
