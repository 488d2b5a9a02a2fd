#pragma once
// The one rule for a tool's outputs (README "Errors and exit status"), enforced here and
// nowhere else:
//   - no output is the same file as an input or as another output (compared by device and
//     inode after resolving links, or by resolved path for outputs not yet written), and no
//     output directory holds an input; --force does not lift this;
//   - an existing output is replaced only with --force, and then only what recap wrote
//     (a file, or a directory recap committed: see StagingDirectory);
//   - outputs are written under temporary names and renamed into place when complete.
#include <filesystem>
#include <vector>

namespace recap::io {

struct OutputPlan {
  std::vector<std::filesystem::path> inputs;   // every file or folder the tool reads
  std::vector<std::filesystem::path> outputs;  // every file the tool writes
  std::vector<std::filesystem::path> output_directories;  // every directory it writes (StagingDirectory)
  bool force = false;
  // Files the tool resumes from and appends to (a partial-results log): never an input nor
  // another output, but they may exist already.
  std::vector<std::filesystem::path> resumable = {};
};

// Throws UsageError (exit 2) naming both paths when the plan breaks the rule, or when an
// output exists without force or its directory cannot be written. Empty paths are ignored.
void check_output_plan(const OutputPlan& plan);

}  // namespace recap::io
