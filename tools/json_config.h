#pragma once
// `--config FILE.json` for every tool: a JSON object whose keys are long option names
// (dashes or underscores) supplying defaults that command-line flags override. Experiment
// configs shared by several tools put tool-specific keys in a section named after the
// tool without its "recap-" prefix, e.g. {"k": 8, "fit": {"method": "ridge"}}; the
// tool's own section wins over top-level keys.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace recap::cli {

class JsonConfig : public CLI::Config {
 public:
  explicit JsonConfig(std::string section) : section_(std::move(section)) {}
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

 private:
  std::string section_;
};

}  // namespace recap::cli
