#include "recap/io/dtype.h"

#include <cstring>
#include <stdexcept>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace recap::io {
namespace {

void halves_to_floats(const std::byte* src, std::size_t count, float* dst, std::size_t first = 0) {
  for (std::size_t i = first; i < count; ++i) {
    std::uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = half_to_float(h);
  }
}

#if defined(__x86_64__)
// F16C and AVX, and an OS that saves the YMM registers (XCR0 bits 1 and 2). Read from CPUID
// rather than __builtin_cpu_supports, which clang 14 (the fuzz build) does not know F16C in.
bool cpu_has_f16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  if ((ecx & bit_F16C) == 0 || (ecx & bit_AVX) == 0 || (ecx & bit_OSXSAVE) == 0) return false;
  unsigned xcr0_low = 0, xcr0_high = 0;
  __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
  return (xcr0_low & 6u) == 6u;
}

// The F16C instruction converts 8 halves at a time, exactly (subnormals included); a
// float16 datastore of 10 million rows is 5e9 of them per exact search.
__attribute__((target("avx,f16c"))) void halves_to_floats_f16c(const std::byte* src, std::size_t count, float* dst) {
  std::size_t i = 0;
  for (; i + 8 <= count; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  halves_to_floats(src, count, dst, i);
}
#endif

}  // namespace

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::f16:
    case DType::bf16: return 2;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f64:
    case DType::i64: return 8;
    case DType::u8:
    case DType::boolean: return 1;
  }
  return 0;
}

std::string dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f16: return "float16";
    case DType::bf16: return "bfloat16";
    case DType::f32: return "float32";
    case DType::f64: return "float64";
    case DType::i32: return "int32";
    case DType::i64: return "int64";
    case DType::u8: return "uint8";
    case DType::boolean: return "bool";
  }
  return "unknown";
}

void convert_to_float(DType dtype, const std::byte* src, std::size_t count, float* dst) {
  if (count == 0) return;  // an empty array's pointers may be null, which memcpy must not see
  switch (dtype) {
    case DType::f32:
      std::memcpy(dst, src, count * sizeof(float));
      return;
    case DType::f16: {
#if defined(__x86_64__)
      static const bool f16c = cpu_has_f16c();
      if (f16c) return halves_to_floats_f16c(src, count, dst);
#endif
      return halves_to_floats(src, count, dst);
    }
    case DType::bf16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        dst[i] = bfloat16_to_float(b);
      }
      return;
    case DType::f64:
      for (std::size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = static_cast<float>(d);
      }
      return;
    default:
      throw std::invalid_argument("convert_to_float: " + dtype_name(dtype) + " is not a floating type");
  }
}

}  // namespace recap::io
