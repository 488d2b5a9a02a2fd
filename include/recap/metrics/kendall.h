#pragma once
// Kendall rank correlation with scipy.stats.kendalltau semantics (ties included):
//   tau-b = (P − Q) / sqrt((n0 − n1)(n0 − n2))           variant='b'
//   tau-c = 2 (P − Q) / (n² (m − 1) / m), m = min(#distinct x, #distinct y)   variant='c'
// where n0 = n(n−1)/2, n1 / n2 the pairs tied in x / in y. O(n log n) (sort + merge
// count of discordant pairs), so Flickr8k-CrowdFlower's ~50k judgements take milliseconds.
#include <vector>

namespace recap::metrics {

enum class KendallVariant { b, c };

// Throws std::invalid_argument for different lengths, fewer than 2 values or NaN.
double kendall_tau(const std::vector<double>& x, const std::vector<double>& y, KendallVariant variant);

}  // namespace recap::metrics
