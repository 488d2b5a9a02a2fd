#pragma once
// What every recap tool does the same way: the exit statuses and one-line errors of
// the README ("Errors and exit status"), the compute set-up, and timestamps for progress lines.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "recap/common/messages.h"

namespace recap::cli {

// Parses the command line, then runs `body`. Maps every failure to one line on stderr
// ("<tool>: error: ...") and the documented exit status: 2 usage, 3 bad input, 1 other.
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body);

// --threads, --verbose and --config FILE.json (defaults that flags override; see
// json_config.h). run() then sets up the compute back end with the thread count.
struct CommonOptions {
  int threads = 0;
  bool verbose = false;
};
void add_common_options(CLI::App& app, CommonOptions& options);

// Range checks whose messages a user can read (CLI11's own print the largest double in
// full, 309 digits): the value must be > 0, or >= 0.
extern const CLI::Validator kPositive;
extern const CLI::Validator kNonNegative;

// --max-image-pixels, for every tool that decodes images (or has recap-embed decode them):
// images declaring more pixels are skipped with a warning, or fail the run with --strict.
void add_max_image_pixels_option(CLI::App& app, std::int64_t& limit);

// The command line as typed, for provenance files.
const std::vector<std::string>& command_line();

// Notes and warnings: the library's own (recap/common/messages.h), prefixed with the tool name.
using recap::note;
using recap::warn_or_fail;

}  // namespace recap::cli
