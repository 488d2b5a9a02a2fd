#pragma once
// Streaming sufficient statistics for a linear map: XᵀX, XᵀY and Σ‖y‖², accumulated in
// float64 over chunks of paired rows, so memory is O(d²) whatever the number of pairs.
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace recap::align {

class GramAccumulator {
 public:
  // `need_xtx` = false skips XᵀX (Procrustes needs only XᵀY when d_img <= d_txt).
  GramAccumulator(std::int64_t x_dim, std::int64_t y_dim, bool need_xtx = true);

  // Adds n pairs: x is n x x_dim, y is n x y_dim, both row-major float32.
  void add(const float* x, const float* y, std::int64_t n);

  std::int64_t count() const { return count_; }
  std::int64_t x_dim() const { return x_dim_; }
  std::int64_t y_dim() const { return y_dim_; }
  bool has_xtx() const { return need_xtx_; }
  double sum_x_squared() const { return sum_x2_; }
  double sum_y_squared() const { return sum_y2_; }
  // XᵀX (symmetric, both triangles filled) and XᵀY.
  Eigen::MatrixXd xtx() const;
  Eigen::MatrixXd xty() const;

 private:
  std::int64_t x_dim_, y_dim_;
  bool need_xtx_;
  std::int64_t count_ = 0;
  double sum_x2_ = 0, sum_y2_ = 0;
  std::vector<double> xtx_;  // row-major, upper triangle maintained by dsyrk
  std::vector<double> xty_;  // row-major x_dim x y_dim
  std::vector<double> x64_, y64_;  // chunk converted to float64
};

}  // namespace recap::align
