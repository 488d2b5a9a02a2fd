#include "recap/common/rows.h"

#include <cmath>

#include "recap/common/error.h"

namespace recap {

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

void check_finite(const float* data, std::int64_t rows, std::int64_t cols, const std::string& source,
                  std::int64_t first_row) {
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = data + i * cols;
    for (std::int64_t j = 0; j < cols; ++j)
      if (!std::isfinite(row[j]))
        throw InputError(source + ": row " + std::to_string(first_row + i) + " contains NaN or Inf");
  }
}

}  // namespace recap
