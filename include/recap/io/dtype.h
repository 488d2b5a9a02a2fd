#pragma once
// Element types shared by the .npy and safetensors readers, and the half-precision
// conversions both need.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace recap::io {

enum class DType { f16, bf16, f32, f64, i32, i64, u8, boolean };

std::size_t dtype_size(DType dtype);
std::string dtype_name(DType dtype);

// IEEE 754 binary16 -> binary32, exact for every input (subnormals, inf, NaN).
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal half: normalise into a float
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// bfloat16 is the upper half of a binary32.
inline float bfloat16_to_float(std::uint16_t b) {
  const std::uint32_t bits = static_cast<std::uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Converts `count` elements of `dtype` at `src` (any alignment) to float32.
// Throws for integer and boolean types.
void convert_to_float(DType dtype, const std::byte* src, std::size_t count, float* dst);

}  // namespace recap::io
