#pragma once
// `--config FILE.json` for every tool: a JSON object whose keys are long option names
// (dashes or underscores) supplying defaults that command-line flags override. Experiment
// configs shared by several tools put tool-specific keys in a section named after the
// tool without its "recap-" prefix, e.g. {"k": 8, "fit": {"method": "ridge"}}; the
// tool's own section wins over top-level keys. Keys starting with "_" are comments.
// A typo is an error, not a silent default: a key in the tool's section must be one of
// its options, a top-level key an option of some recap tool (kAllToolOptions), and a
// section must name a recap tool.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace recap::cli {

class JsonConfig : public CLI::Config {
 public:
  JsonConfig(std::string section, const CLI::App* app) : section_(std::move(section)), app_(app) {}
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  std::string section_;
  const CLI::App* app_;
};

// Every long option of every recap tool (and subcommand), without dashes: what a top-level
// config key may name. A test keeps it equal to the tools' --help.
extern const std::vector<std::string> kAllToolOptions;

}  // namespace recap::cli
