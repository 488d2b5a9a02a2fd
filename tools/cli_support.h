#pragma once
// What every recap tool does the same way: the exit statuses and one-line errors of
// DESIGN.md, the compute set-up, and timestamps for progress lines.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace recap::cli {

// Parses the command line, then runs `body`. Maps every failure to one line on stderr
// ("<tool>: error: ...") and the documented exit status: 2 usage, 3 bad input, 1 other.
int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body);

// Adds --threads and --verbose; call init_compute() via run().
struct CommonOptions {
  int threads = 0;
  bool verbose = false;
};
void add_common_options(CLI::App& app, CommonOptions& options);

// A progress/status line on stderr, prefixed with the tool name.
void note(const std::string& message);
const std::string& tool_name();

}  // namespace recap::cli
