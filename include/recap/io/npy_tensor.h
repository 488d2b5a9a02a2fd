#pragma once
// N-dimensional floating-point .npy arrays (e.g. preprocessed pixels N x 3 x H x W),
// read whole as float32. The 2-D embedding case lives in npy.h.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace recap::io {

struct FloatTensor {
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

// float32/float16/bfloat16/float64 converted to float32; integer arrays are refused.
FloatTensor read_npy_float(const std::filesystem::path& path);

}  // namespace recap::io
