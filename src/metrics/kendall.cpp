#include "recap/metrics/kendall.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace recap::metrics {
namespace {

// Σ t(t−1)/2 over runs of equal values in a sorted sequence.
template <typename T>
std::int64_t tied_pairs(const std::vector<T>& sorted) {
  std::int64_t ties = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const auto t = static_cast<std::int64_t>(j - i);
    ties += t * (t - 1) / 2;
    i = j;
  }
  return ties;
}

std::int64_t distinct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return static_cast<std::int64_t>(std::unique(v.begin(), v.end()) - v.begin());
}

// Pairs i < j with v[i] > v[j], by merge sort (sorts v).
std::int64_t inversions(std::vector<double>& v, std::vector<double>& scratch, std::size_t lo, std::size_t hi) {
  if (hi - lo < 2) return 0;
  const std::size_t mid = (lo + hi) / 2;
  std::int64_t count = inversions(v, scratch, lo, mid) + inversions(v, scratch, mid, hi);
  std::size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    if (v[j] < v[i]) {
      count += static_cast<std::int64_t>(mid - i);
      scratch[k++] = v[j++];
    } else {
      scratch[k++] = v[i++];
    }
  }
  while (i < mid) scratch[k++] = v[i++];
  while (j < hi) scratch[k++] = v[j++];
  std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(lo), scratch.begin() + static_cast<std::ptrdiff_t>(hi),
            v.begin() + static_cast<std::ptrdiff_t>(lo));
  return count;
}

}  // namespace

double kendall_tau(const std::vector<double>& x, const std::vector<double>& y, KendallVariant variant) {
  if (x.size() != y.size()) throw std::invalid_argument("kendall_tau: x and y differ in length");
  const std::size_t n = x.size();
  if (n < 2) throw std::invalid_argument("kendall_tau: needs at least two values");
  for (std::size_t i = 0; i < n; ++i)
    if (std::isnan(x[i]) || std::isnan(y[i])) throw std::invalid_argument("kendall_tau: NaN in the data");

  std::vector<std::pair<double, double>> pairs(n);
  for (std::size_t i = 0; i < n; ++i) pairs[i] = {x[i], y[i]};
  std::sort(pairs.begin(), pairs.end());  // by x, then y: tied x keep y ascending (no inversions)
  std::vector<double> xs(n), ys(n), scratch(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = pairs[i].first;
  const std::int64_t joint_ties = tied_pairs(pairs);
  const std::int64_t x_ties = tied_pairs(xs);
  for (std::size_t i = 0; i < n; ++i) ys[i] = pairs[i].second;
  const std::int64_t discordant = inversions(ys, scratch, 0, n);  // leaves ys sorted
  const std::int64_t y_ties = tied_pairs(ys);

  const auto total = static_cast<std::int64_t>(n) * static_cast<std::int64_t>(n - 1) / 2;
  const double con_minus_dis = static_cast<double>(total - x_ties - y_ties + joint_ties - 2 * discordant);
  if (variant == KendallVariant::b)
    return con_minus_dis / std::sqrt(static_cast<double>(total - x_ties)) /
           std::sqrt(static_cast<double>(total - y_ties));
  const double m = static_cast<double>(std::min(distinct(x), distinct(y)));
  const double size = static_cast<double>(n);
  return 2 * con_minus_dis / (size * size * (m - 1) / m);
}

}  // namespace recap::metrics
