#pragma once
// Shared by the e2e tests of recap-fit --clip --dataset and recap-score --clip --images:
// the tiny golden CLIP model, the golden images, and checks on failed runs and matrices.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "recap/io/npy.h"
#include "test_support.h"

namespace recap::test {

inline std::filesystem::path tiny_clip() { return test_data_dir() / "golden/clip/tiny-vit/hf"; }
inline std::filesystem::path golden_image(const std::string& name) {
  return test_data_dir() / "golden/preprocess/images" / name;
}
inline std::string quoted(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

// A failed run: the exit status, and "<tool>: error: ..." mentioning `fragment` as the
// one and last line (relayed recap-embed progress lines may come before it when
// `only_line` is false).
inline void expect_failure(const ToolRun& run, int status, const std::string& fragment, bool only_line = true) {
  EXPECT_EQ(run.status, status) << run.err;
  const auto at = run.err.rfind(": error: ");
  ASSERT_NE(at, std::string::npos) << run.err;
  EXPECT_EQ(run.err.find('\n', at), run.err.size() - 1) << "the error is not the last line: " << run.err;
  if (only_line) {
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
  EXPECT_NE(run.err.find(fragment, at), std::string::npos) << "expected '" << fragment << "' in: " << run.err;
}

inline double max_abs_diff(const io::FloatMatrix& a, const io::FloatMatrix& b) {
  EXPECT_EQ(a.rows, b.rows);
  EXPECT_EQ(a.cols, b.cols);
  if (a.rows != b.rows || a.cols != b.cols) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < a.values.size(); ++i) worst = std::max(worst, std::fabs(double(a.values[i]) - b.values[i]));
  return worst;
}

}  // namespace recap::test
