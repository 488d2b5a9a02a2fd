#include "recap/demo/demo_report.h"

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/metrics/score_table.h"

namespace recap::demo {

namespace fs = std::filesystem;

namespace {

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::vector<std::vector<std::string>> read_delimited(const fs::path& path, char delimiter) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot be read");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream s(line);
    std::string cell;
    while (std::getline(s, cell, delimiter)) cells.push_back(cell);
    if (!cells.empty()) rows.push_back(cells);
  }
  return rows;
}

std::string markdown_table(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (const auto& cell : rows[r]) out += " " + cell + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (std::size_t c = 0; c < rows[r].size(); ++c) out += c == 0 ? " --- |" : " ---: |";
      out += "\n";
    }
  }
  return out;
}

std::string recall_section(const fs::path& folder) {
  const fs::path path = folder / "recall.json";
  if (!fs::exists(path)) return "(no recall.json: recap-score recall did not run)\n";
  const auto j = io::read_json(path);
  std::string out = "Test split, " + std::to_string(j.at("images").get<long long>()) + " pictures ranking all " +
                    std::to_string(j.at("captions").get<long long>()) + " of its captions:\n\n";
  std::vector<std::vector<std::string>> rows = {{"ranking by", "R@1", "R@5", "modality gap"}};
  auto add = [&](const std::string& label, const char* key, const char* gap) {
    if (!j.contains(key)) return;
    rows.push_back({label, fixed(j[key].at("R@1").get<double>(), 3), fixed(j[key].at("R@5").get<double>(), 3),
                    fixed(j.at(gap).at("centre_distance").get<double>(), 3)});
  };
  add("raw CLIP similarity", "raw", "modality_gap");
  add("aligned embedding (ReCap's W)", "aligned", "aligned_modality_gap");
  return out + markdown_table(rows);
}

std::string caption_section(const fs::path& folder) {
  std::vector<std::pair<std::string, fs::path>> rows;
  for (const auto& v : kDemoVariants) {
    const fs::path path = folder / "scores" / (std::string(v.stem) + ".json");
    if (fs::exists(path)) rows.emplace_back(v.label, path);
  }
  if (rows.empty()) return "(no scores/: recap-score did not run)\n";
  const auto table =
      metrics::ScoreTable::from_files(rows, {"Bleu_4", "CIDEr", "CLIP-S", "aCLIP-S", "RefaCLIP-S"});
  return table.markdown(3);
}

std::string dal_section(const fs::path& folder) {
  const fs::path path = folder / "dal" / "dal.csv";
  if (!fs::exists(path)) return "(no dal/dal.csv: recap-dal did not run)\n";
  const auto csv = read_delimited(path, ',');
  if (csv.size() < 2) throw InputError(path.string() + ": no iterations in the file");
  // Keep the iteration, the datastore's growth and the headline metrics.
  const std::vector<std::string> wanted = {"iteration", "datastore_size", "added", "Bleu_4", "CIDEr", "aCLIP-S",
                                           "RefaCLIP-S"};
  std::vector<std::size_t> columns;
  std::vector<std::vector<std::string>> rows(1);
  for (const auto& name : wanted) {
    for (std::size_t c = 0; c < csv.front().size(); ++c) {
      if (csv.front()[c] == name) {
        columns.push_back(c);
        rows[0].push_back(name);
      }
    }
  }
  for (std::size_t r = 1; r < csv.size(); ++r) {
    std::vector<std::string> row;
    for (const auto c : columns) {
      const auto& cell = c < csv[r].size() ? csv[r][c] : std::string();
      row.push_back(cell.find('.') != std::string::npos ? fixed(std::stod(cell), 3) : cell);
    }
    rows.push_back(row);
  }
  return "Validation split after each iteration (iteration 0: the training captions only):\n\n" + markdown_table(rows);
}

std::string time_section(const fs::path& folder) {
  const fs::path path = folder / "times.tsv";
  if (!fs::exists(path)) return "(no times.tsv)\n";
  auto rows = read_delimited(path, '\t');
  for (std::size_t r = 1; r < rows.size(); ++r) {
    if (rows[r].size() > 1) rows[r][1] = fixed(std::stod(rows[r][1]), 1);
  }
  std::string out = markdown_table(rows);
  // A fit stage includes embedding the split; the closed-form solve alone is in mapping.json.
  std::string solves;
  for (const char* method : {"procrustes", "ols", "ridge"}) {
    const fs::path mapping = folder / "runs" / method / "mapping.json";
    if (!fs::exists(mapping)) continue;
    const auto j = io::read_json(mapping);
    if (!j.contains("timings_s") || !j["timings_s"].contains("solve")) continue;
    solves += std::string(solves.empty() ? "" : ", ") + method + " " +
              fixed(1000 * j["timings_s"]["solve"].get<double>(), 1) + " ms";
  }
  if (!solves.empty()) out += "\nSolving for W alone (in the fit stages): " + solves + ".\n";
  return out;
}

}  // namespace

std::string demo_report(const fs::path& folder) {
  if (!fs::is_directory(folder)) throw InputError(folder.string() + ": no such demo folder (run scripts/demo.sh)");
  return "## Retrieval: does W align images with captions?\n\n" + recall_section(folder) +
         "\n## Captioning the test split\n\n" + caption_section(folder) +
         "\n## Datastore augmentation (DAL)\n\n" + dal_section(folder) + "\n## Time per stage (seconds)\n\n" +
         time_section(folder) + "\nOutputs: " + (folder / "gallery.html").string() + " (the gallery), " +
         (folder / "dal" / "dal.png").string() + " (the DAL plot).\n";
}

}  // namespace recap::demo
