// recap-report: one table from several recap-score JSON files (a row each), as Markdown
// (printed, and with --markdown written with the provenance) and CSV, with the
// provenance of the inputs by content (models, dataset files) and the command line.
// scripts/reproduce.sh ends with it; the table itself is recap/metrics/score_table.h.
#include <cstdio>

#include "cli_support.h"
#include "recap/common/error.h"
#include "recap/data/dataset.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/output_rule.h"
#include "recap/io/provenance.h"
#include "recap/metrics/score_table.h"

namespace fs = std::filesystem;
using namespace recap;

int main(int argc, char** argv) {
  CLI::App app{
      "Put the scores of several recap-score runs in one table: one row per --row NAME=FILE (recap-score --json\n"
      "output, or recap-score correlate's with --key tau), one column per metric. Prints the Markdown table;\n"
      "--markdown, --csv and --provenance write it with what produced it: each --input (dataset files, model\n"
      "folders, the run) by size and content hash, and --command.",
      "recap-report"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli::CommonOptions common;
  std::vector<std::string> row_specs, inputs;
  std::string columns = "Bleu_4,METEOR,SPICE,ROUGE_L,CIDEr,CLIP-S,RefCLIP-S,aCLIP-S,RefaCLIP-S", key, title, command;
  fs::path markdown_out, csv_out, provenance_out;
  int decimals = 4;
  bool force = false;
  app.add_option("--row", row_specs, "NAME=FILE: a row of the table and the recap-score JSON it comes from (repeat)")
      ->required()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--columns", columns, "Comma-separated metric names, in order")->capture_default_str();
  app.add_option("--key", key, "The object in each file that holds the scores (tau for recap-score correlate)");
  app.add_option("--title", title, "Heading of the Markdown file");
  app.add_option("--input", inputs, "A file or model folder the scores depend on, recorded by content (repeat)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--command", command, "The command line that produced the scores, recorded as given");
  app.add_option("--decimals", decimals, "Decimals in the Markdown table")->check(CLI::Range(0, 12))->capture_default_str();
  app.add_option("--markdown", markdown_out, "Write the table and its provenance as Markdown");
  app.add_option("--csv", csv_out, "Write the table as CSV (full precision; empty cells for n/a)");
  app.add_option("--provenance", provenance_out, "Write the provenance as JSON");
  app.add_flag("--force", force, "Overwrite existing outputs");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    std::vector<std::pair<std::string, fs::path>> rows;
    std::vector<fs::path> read;
    for (const auto& spec : row_specs) {
      rows.push_back(metrics::parse_named_file(spec));
      read.push_back(rows.back().second);
    }
    for (const auto& input : inputs) read.emplace_back(input);
    io::check_output_plan({read, {markdown_out, csv_out, provenance_out}, {}, force});
    const auto table = metrics::ScoreTable::from_files(rows, data::parse_split_list(columns), key);

    nlohmann::json provenance = {{"created", io::utc_timestamp()}, {"command", command}, {"rows", nlohmann::json::object()}};
    for (const auto& [name, path] : rows) provenance["rows"][name] = io::fingerprint_path(path);
    provenance["inputs"] = nlohmann::json::array();
    for (const auto& input : inputs) provenance["inputs"].push_back(io::fingerprint_path(input));

    const std::string markdown = table.markdown(decimals);
    std::fputs(markdown.c_str(), stdout);
    if (!markdown_out.empty()) {
      std::string text = title.empty() ? "" : "# " + title + "\n\n";
      text += markdown + "\n## Provenance\n\n```json\n" + provenance.dump(2) + "\n```\n";
      io::write_text_file(markdown_out, text);
    }
    if (!csv_out.empty()) io::write_text_file(csv_out, table.csv());
    if (!provenance_out.empty()) io::write_json(provenance_out, provenance);
  });
}
