// --config files: defaults from JSON, and every typo an error that names the file.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "json_config.h"
#include "test_support.h"

using namespace recap;
namespace fs = std::filesystem;

namespace {

// The long options a tool's --help lists.
std::set<std::string> help_options(const std::string& tool, const std::string& subcommand = "") {
  const auto help = test::run_tool(tool, subcommand + " --help");
  EXPECT_EQ(help.status, 0) << tool << " " << subcommand;
  std::set<std::string> names;
  const std::regex option(R"(--([a-z][a-z0-9-]*))");
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), option), end; it != end; ++it) names.insert((*it)[1]);
  return names;
}

}  // namespace

// A top-level config key may name an option of any recap tool: the list of them must be
// exactly what the tools offer, or a typo could pass (or a real option be refused).
TEST(Config, TheListOfAllOptionsIsWhatTheToolsOffer) {
  std::set<std::string> offered;
  for (const char* tool : {"recap-fit", "recap-caption", "recap-synth", "recap-score", "recap-embed", "recap-lm", "recap-dal", "recap-report", "recap-demo", "recap-index"})
    for (const auto& name : help_options(tool)) offered.insert(name);
  for (const auto& name : help_options("recap-score", "correlate")) offered.insert(name);
  for (const auto& name : help_options("recap-score", "recall")) offered.insert(name);
  const std::set<std::string> listed(cli::kAllToolOptions.begin(), cli::kAllToolOptions.end());
  EXPECT_EQ(listed, offered);
}

TEST(Config, TyposAreErrorsThatNameTheFile) {
  test::TempDir dir;
  auto fit_with = [&](const std::string& json) {
    test::write_bytes(dir / "config.json", json);
    return test::run_tool("recap-fit", "--image-embeddings x.npy --config " + (dir / "config.json").string() +
                                           " --out " + (dir / "run").string());
  };
  auto expect_refused = [&](const std::string& json, const std::string& fragment) {
    const auto run = fit_with(json);
    EXPECT_EQ(run.status, 2) << json << "\n" << run.err;
    EXPECT_EQ(run.err.rfind("recap-fit: error: " + (dir / "config.json").string() + ": ", 0), 0u) << run.err;
    EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  };
  expect_refused(R"({"fit": {"methd": "ridge"}})", "'methd'");       // a typo in the tool's section
  expect_refused(R"({"fit": {"k": 8}}))", "not valid JSON");         // malformed
  expect_refused(R"({"lambdaa": 0.5})", "not an option of any recap tool");  // a typo at the top level
  expect_refused(R"({"fitt": {"method": "ridge"}})", "section 'fitt'");     // a section no tool reads
  expect_refused(R"({"fit": {"k": 8}})", "'k'");  // another tool's option in this tool's section
  expect_refused(R"([1, 2])", "JSON object");
  // Comments, and another tool's option at the top level, are fine (the run then fails on x.npy).
  const auto fine = fit_with(R"({"_comment": "shared", "k": 8, "caption": {"k": 4}, "fit": {"method": "ols"}})");
  EXPECT_EQ(fine.err.find("config.json"), std::string::npos) << fine.err;
}

// Range checks say what is wrong in words, without CLI11's 309-digit bounds.
TEST(Config, RangeErrorsAreReadable) {
  test::TempDir dir;
  test::write_bytes(dir / "x.npy", "");
  const auto run = test::run_tool("recap-fit", "--image-embeddings " + (dir / "x.npy").string() +
                                                   " --out " + (dir / "y").string() + " --chunk-rows -5");
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("must be positive, got -5"), std::string::npos) << run.err;
  EXPECT_LT(run.err.size(), 200u) << run.err;
  const auto top_k = test::run_tool("recap-lm", "--lm x --prompt hi --top-k -5");
  EXPECT_EQ(top_k.status, 2);
  EXPECT_NE(top_k.err.find("must be 0 or more, got -5"), std::string::npos) << top_k.err;
}
