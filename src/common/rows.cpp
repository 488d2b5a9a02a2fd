#include "recap/common/rows.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "recap/common/error.h"

namespace recap {
namespace {

[[noreturn]] void throw_zero_row(const std::string& source, std::int64_t row) {
  throw InputError(source + ": row " + std::to_string(row) + " is all zeros, which is not an embedding");
}

}  // namespace

void normalize_rows(float* data, std::int64_t rows, std::int64_t cols) {
  for (std::int64_t i = 0; i < rows; ++i) {
    float* row = data + i * cols;
    double sum = 0;
    for (std::int64_t j = 0; j < cols; ++j) sum += double(row[j]) * row[j];
    if (sum <= 0) continue;
    const float scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (std::int64_t j = 0; j < cols; ++j) row[j] *= scale;
  }
}

void copy_checked_rows(const float* src, float* dst, std::int64_t rows, std::int64_t cols, bool normalize,
                       const std::string& source, std::int64_t first_row) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const Eigen::Map<const Eigen::VectorXf> in(src + i * cols, cols);
    Eigen::Map<Eigen::VectorXf> out(dst + i * cols, cols);
    // A NaN or Inf anywhere makes the (vectorised) sum of squares non-finite; only then
    // is the row inspected element by element.
    double squared = in.squaredNorm();
    if (!std::isfinite(squared)) {
      check_finite(src + i * cols, 1, cols, source, first_row + i);
      squared = in.cast<double>().squaredNorm();  // finite but huge: float overflowed
    }
    if (normalize && squared == 0) throw_zero_row(source, first_row + i);
    if (normalize)
      out = in * static_cast<float>(1.0 / std::sqrt(squared));
    else
      out = in;
  }
}

void check_finite(const float* data, std::int64_t rows, std::int64_t cols, const std::string& source,
                  std::int64_t first_row) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = data + i * cols;
    for (std::int64_t j = 0; j < cols; ++j)
      if (!std::isfinite(row[j]))
        throw InputError(source + ": row " + std::to_string(first_row + i) + " contains NaN or Inf");
  }
}

void check_embedding_rows(const float* data, std::int64_t rows, std::int64_t cols, const std::string& source,
                          std::int64_t first_row) {
  check_finite(data, rows, cols, source, first_row);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = data + i * cols;
    if (std::all_of(row, row + cols, [](float v) { return v == 0.0f; })) throw_zero_row(source, first_row + i);
  }
}

}  // namespace recap
