#pragma once
// Sizes that a file's header announces (a shape, a count, an offset), multiplied in checked
// arithmetic. A crafted header must not wrap around 64 bits to a plausible byte count and
// then pass a size check: every parser multiplies through here before it compares or
// allocates.
#include <cstdint>
#include <optional>
#include <vector>

namespace recap {

// dims[0] * dims[1] * ... * item_size, or nothing when a dimension is negative or the
// product does not fit in 63 bits (no file or allocation can be that large).
inline std::optional<std::uint64_t> checked_byte_size(const std::vector<std::int64_t>& dims, std::uint64_t item_size) {
  constexpr std::uint64_t kLimit = std::uint64_t(1) << 63;
  std::uint64_t total = item_size;
  for (const std::int64_t d : dims) {
    if (d < 0) return std::nullopt;
    if (__builtin_mul_overflow(total, static_cast<std::uint64_t>(d), &total) || total >= kLimit) return std::nullopt;
  }
  if (total >= kLimit) return std::nullopt;
  return total;
}

}  // namespace recap
