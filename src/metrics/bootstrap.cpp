#include "recap/metrics/bootstrap.h"

#include <algorithm>
#include <cmath>

namespace recap::metrics {

std::vector<std::pair<double, double>> bootstrap_intervals(std::size_t images, int resamples, std::uint32_t seed,
                                                           const std::vector<ResampledScore>& scores) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, images - 1);
  std::vector<std::vector<double>> values(scores.size());
  std::vector<std::size_t> rows(images);
  for (int b = 0; b < resamples; ++b) {
    for (auto& r : rows) r = pick(rng);
    for (std::size_t s = 0; s < scores.size(); ++s) values[s].push_back(scores[s](rows));
  }
  std::vector<std::pair<double, double>> intervals;
  for (auto& v : values) {
    std::sort(v.begin(), v.end());
    auto at = [&](double q) {  // linear interpolation between order statistics, as numpy.percentile
      const double pos = q * static_cast<double>(v.size() - 1);
      const auto lo = static_cast<std::size_t>(std::floor(pos));
      const auto hi = std::min(lo + 1, v.size() - 1);
      return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
    };
    intervals.emplace_back(at(0.025), at(0.975));
  }
  return intervals;
}

ResampledScore mean_of(const std::vector<double>& per_image) {
  return [&per_image](const std::vector<std::size_t>& rows) {
    double sum = 0;
    for (auto r : rows) sum += per_image[r];
    return rows.empty() ? 0.0 : sum / static_cast<double>(rows.size());
  };
}

}  // namespace recap::metrics
