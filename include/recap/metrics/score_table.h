#pragma once
// One table of scores from several recap-score JSON files (one row each), as Markdown and
// CSV, for the reproduction scripts (scripts/reproduce.sh) and anyone comparing runs.
// Values are written as recap-score wrote them (pycocoevalcap / clipscore scale); a metric
// a row does not have is "n/a", with the reason recap-score gave ("unavailable").
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace recap::metrics {

struct ScoreTable {
  std::vector<std::string> columns;  // metric names (Bleu_4, CIDEr, ...)
  struct Row {
    std::string name;
    std::vector<std::optional<double>> values;  // one per column
  };
  std::vector<Row> rows;
  std::map<std::string, std::string> notes;  // "row / column" -> why the value is n/a

  // Reads each (name, file). `key`: the object inside each file that holds the scores
  // ("tau" for recap-score correlate's output; "" for recap-score --json's). InputError
  // naming the file when it is not such a JSON object.
  static ScoreTable from_files(const std::vector<std::pair<std::string, std::filesystem::path>>& rows,
                               const std::vector<std::string>& columns, const std::string& key = "");

  std::string markdown(int decimals = 4) const;
  std::string csv() const;  // full precision, empty cells for n/a
};

// "retrieval=out/scores.json" -> {"retrieval", "out/scores.json"}; UsageError otherwise.
std::pair<std::string, std::filesystem::path> parse_named_file(const std::string& text);

}  // namespace recap::metrics
