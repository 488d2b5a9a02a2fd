#pragma once
// A dense row-major float32 matrix that owns its storage: the in-memory form of an
// embedding .npy (n x d). Kept free of Eigen/LibTorch so every layer can use it.
#include <cstdint>
#include <vector>

namespace recap::io {

struct FloatMatrix {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  std::vector<float> values;

  FloatMatrix() = default;
  FloatMatrix(std::int64_t r, std::int64_t c) : rows(r), cols(c), values(static_cast<std::size_t>(r * c)) {}

  float* row(std::int64_t i) { return values.data() + i * cols; }
  const float* row(std::int64_t i) const { return values.data() + i * cols; }
  float* data() { return values.data(); }
  const float* data() const { return values.data(); }
};

}  // namespace recap::io
