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

// x W in float64, rounded to float. Where the training images span fewer dimensions than
// d (a handful of test images), Procrustes' W is free outside their span and x W is what
// the data determines: fits are compared by it.
inline io::FloatMatrix mapped(const io::FloatMatrix& x, const io::FloatMatrix& w) {
  EXPECT_EQ(x.cols, w.rows);
  io::FloatMatrix out(x.rows, w.cols);
  for (std::int64_t i = 0; i < x.rows; ++i)
    for (std::int64_t j = 0; j < w.cols; ++j) {
      double sum = 0;
      for (std::int64_t k = 0; k < x.cols && k < w.rows; ++k) sum += double(x.row(i)[k]) * w.row(k)[j];
      out.row(i)[j] = float(sum);
    }
  return out;
}

}  // namespace recap::test
