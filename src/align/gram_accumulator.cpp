#include "recap/align/gram_accumulator.h"

#include <cblas.h>

namespace recap::align {

GramAccumulator::GramAccumulator(std::int64_t x_dim, std::int64_t y_dim, bool need_xtx)
    : x_dim_(x_dim), y_dim_(y_dim), need_xtx_(need_xtx),
      xtx_(need_xtx ? static_cast<std::size_t>(x_dim * x_dim) : 0, 0.0),
      xty_(static_cast<std::size_t>(x_dim * y_dim), 0.0) {}

void GramAccumulator::add(const float* x, const float* y, std::int64_t n) {
  if (n <= 0) return;
  // Products run in float64 BLAS (dsyrk/dgemm) on a float64 copy of the chunk: summing
  // hundreds of thousands of float32 products in float32 loses ~4 digits.
  x64_.resize(static_cast<std::size_t>(n * x_dim_));
  y64_.resize(static_cast<std::size_t>(n * y_dim_));
  for (std::size_t i = 0; i < x64_.size(); ++i) {
    x64_[i] = x[i];
    sum_x2_ += x64_[i] * x64_[i];
  }
  for (std::size_t i = 0; i < y64_.size(); ++i) {
    y64_[i] = y[i];
    sum_y2_ += y64_[i] * y64_[i];
  }
  const int dx = static_cast<int>(x_dim_), dy = static_cast<int>(y_dim_), rows = static_cast<int>(n);
  if (need_xtx_)
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, dx, rows, 1.0, x64_.data(), dx, 1.0, xtx_.data(), dx);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, dx, dy, rows, 1.0, x64_.data(), dx, y64_.data(), dy, 1.0,
              xty_.data(), dy);
  count_ += n;
}

Eigen::MatrixXd GramAccumulator::xtx() const {
  Eigen::MatrixXd m = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      xtx_.data(), x_dim_, x_dim_);
  m.triangularView<Eigen::StrictlyLower>() = m.transpose().triangularView<Eigen::StrictlyLower>();
  return m;
}

Eigen::MatrixXd GramAccumulator::xty() const {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(xty_.data(), x_dim_,
                                                                                                   y_dim_);
}

}  // namespace recap::align
