#pragma once
// One seed per item of a seeded stream: splitmix64's finaliser over (seed, index), so that
// item i's randomness depends on neither how many items came before it nor batching.
#include <cstdint>

namespace recap {

inline constexpr std::uint64_t kSplitmixIncrement = 0x9E3779B97F4A7C15ULL;

// splitmix64's output function (Steele, Lea and Flood 2014).
inline std::uint64_t splitmix64_finalize(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline std::uint64_t mix_seed(std::uint64_t seed, std::uint64_t index) {
  return splitmix64_finalize(seed + kSplitmixIncrement * (index + 1));
}

}  // namespace recap
