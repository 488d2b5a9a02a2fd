#pragma once
// Percentile bootstrap over images: resample the evaluated images with replacement and
// recompute a corpus score, B times; the 95% interval is the 2.5th and 97.5th percentile.
#include <cstdint>
#include <functional>
#include <random>
#include <utility>
#include <vector>

namespace recap::metrics {

using ResampledScore = std::function<double(const std::vector<std::size_t>& rows)>;

// One (low, high) interval per score function, all computed on the same resamples.
std::vector<std::pair<double, double>> bootstrap_intervals(std::size_t images, int resamples, std::uint32_t seed,
                                                           const std::vector<ResampledScore>& scores);

// A corpus score that is the mean of per-image values.
ResampledScore mean_of(const std::vector<double>& per_image);

}  // namespace recap::metrics
