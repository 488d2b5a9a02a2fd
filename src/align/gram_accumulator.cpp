#include "recap/align/gram_accumulator.h"

#include <cblas.h>

#include <algorithm>
#include <stdexcept>

#include "recap/linalg/float32_products.h"

namespace recap::align {

GramAccumulator::GramAccumulator(std::int64_t x_dim, std::int64_t y_dim, bool need_xtx, Accumulation accumulation)
    : x_dim_(x_dim), y_dim_(y_dim), need_xtx_(need_xtx), accumulation_(accumulation),
      xtx_(need_xtx ? static_cast<std::size_t>(x_dim * x_dim) : 0, 0.0),
      xty_(static_cast<std::size_t>(x_dim * y_dim), 0.0) {}

void GramAccumulator::add(const float* x, const float* y, std::int64_t n) {
  if (n <= 0) return;
  if (accumulation_ == Accumulation::float64) {
    add_float64(x, y, n);
  } else {
    for (std::int64_t start = 0; start < n; start += kMixedBlockRows)
      add_mixed(x + start * x_dim_, y + start * y_dim_, std::min(kMixedBlockRows, n - start));
  }
  count_ += n;
}

void GramAccumulator::add_mixed(const float* x, const float* y, std::int64_t n) {
  const int dx = static_cast<int>(x_dim_);
  sum_x2_ += Eigen::Map<const Eigen::VectorXf>(x, n * x_dim_).squaredNorm();
  sum_y2_ += Eigen::Map<const Eigen::VectorXf>(y, n * y_dim_).squaredNorm();
  if (need_xtx_) {
    xtx32_.resize(xtx_.size());
    linalg::gram_upper(x, n, x_dim_, xtx32_.data());
    for (int i = 0; i < dx; ++i)  // upper triangle only: the lower one is not written
      for (int j = i; j < dx; ++j) xtx_[i * dx + j] += xtx32_[i * dx + j];
  }
  xty32_.resize(xty_.size());
  linalg::multiply({true, false, x_dim_, y_dim_, n, x, x_dim_, y, y_dim_, 0.0f, xty32_.data(), y_dim_});
  for (std::size_t i = 0; i < xty_.size(); ++i) xty_[i] += xty32_[i];
}

void GramAccumulator::add_float64(const float* x, const float* y, std::int64_t n) {
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
}

void GramAccumulator::merge(const GramAccumulator& other) {
  if (other.x_dim_ != x_dim_ || other.y_dim_ != y_dim_)
    throw std::invalid_argument("merging statistics of different dimensions");
  if (need_xtx_ && !other.need_xtx_) throw std::invalid_argument("merging statistics without XᵀX into ones with it");
  count_ += other.count_;
  sum_x2_ += other.sum_x2_;
  sum_y2_ += other.sum_y2_;
  if (need_xtx_)
    for (std::size_t i = 0; i < xtx_.size(); ++i) xtx_[i] += other.xtx_[i];
  for (std::size_t i = 0; i < xty_.size(); ++i) xty_[i] += other.xty_[i];
}

GramAccumulator GramAccumulator::from_totals(std::int64_t count, double sum_x_squared, double sum_y_squared,
                                             const Eigen::MatrixXd& xtx, const Eigen::MatrixXd& xty,
                                             Accumulation accumulation) {
  const bool has_xtx = xtx.size() > 0;
  if (has_xtx && (xtx.rows() != xty.rows() || xtx.cols() != xty.rows()))
    throw std::invalid_argument("XᵀX must be d_x x d_x for XᵀY of d_x rows");
  GramAccumulator gram(xty.rows(), xty.cols(), has_xtx, accumulation);
  gram.count_ = count;
  gram.sum_x2_ = sum_x_squared;
  gram.sum_y2_ = sum_y_squared;
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  if (has_xtx) Eigen::Map<RowMajor>(gram.xtx_.data(), xtx.rows(), xtx.cols()) = xtx;
  Eigen::Map<RowMajor>(gram.xty_.data(), xty.rows(), xty.cols()) = xty;
  return gram;
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
