#pragma once
// Streaming sufficient statistics for a linear map: XᵀX, XᵀY and Σ‖y‖², accumulated in
// float64 over chunks of paired rows, so memory is O(d²) whatever the number of pairs.
//
// Accumulation::float64 forms every product in float64 BLAS (dsyrk/dgemm). Accumulation::mixed
// (the default) forms each block of at most kMixedBlockRows rows in float32 products
// (~2.5x the speed; OpenBLAS or oneDNN as measured, linalg/float32_products.h) and adds the block's result into the float64 totals, so
// float32 rounding is confined to sums of at most 4096 terms (relative error ~1e-6)
// instead of the whole data set as a float32 `X.T @ X` would have it.
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

namespace recap::align {

enum class Accumulation { mixed, float64 };

class GramAccumulator {
 public:
  static constexpr std::int64_t kMixedBlockRows = 4096;

  // `need_xtx` = false skips XᵀX (Procrustes needs only XᵀY when d_img <= d_txt).
  GramAccumulator(std::int64_t x_dim, std::int64_t y_dim, bool need_xtx = true,
                  Accumulation accumulation = Accumulation::mixed);

  // Adds n pairs: x is n x x_dim, y is n x y_dim, both row-major float32.
  void add(const float* x, const float* y, std::int64_t n);
  // Adds the totals of another accumulator over other pairs (a shard's): every statistic
  // is a sum over pairs, so the shards' totals add up to the whole's. std::invalid_argument
  // when the dimensions differ or `other` lacks the XᵀX this one keeps.
  void merge(const GramAccumulator& other);
  // An accumulator holding stored totals (align/fit_statistics.h); xtx may be empty
  // (0 x 0) for one without XᵀX.
  static GramAccumulator from_totals(std::int64_t count, double sum_x_squared, double sum_y_squared,
                                     const Eigen::MatrixXd& xtx, const Eigen::MatrixXd& xty,
                                     Accumulation accumulation = Accumulation::mixed);

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
  Accumulation accumulation_;
  std::int64_t count_ = 0;
  double sum_x2_ = 0, sum_y2_ = 0;
  std::vector<double> xtx_;  // row-major, upper triangle maintained by dsyrk
  std::vector<double> xty_;  // row-major x_dim x y_dim
  std::vector<double> x64_, y64_;  // float64 mode: chunk converted to float64
  std::vector<float> xtx32_, xty32_;  // mixed mode: one block's products

  void add_float64(const float* x, const float* y, std::int64_t n);
  void add_mixed(const float* x, const float* y, std::int64_t n);
};

}  // namespace recap::align
