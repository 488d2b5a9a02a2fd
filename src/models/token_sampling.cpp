#include "token_sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace recap::models::detail {
namespace {

// Segments at most this long are sorted outright; longer ones are split around a pivot.
constexpr std::ptrdiff_t kSortBelow = 64;

}  // namespace

// The nucleus is found by a quickselect that carries probability mass instead of counts:
// split the undecided ids around a pivot, and the upper part is either wholly inside the
// nucleus (its mass does not reach the target) or holds the cut. That is linear in the
// vocabulary where sorting it was not: with flat distributions (random weights, high
// temperatures) the nucleus is most of FLAN-T5's 32,128 ids, and ReCap draws 36 samples
// per image at every step.
std::vector<std::int64_t> sampling_support(const float* logits, std::int64_t vocab, const SamplingWarpers& w,
                                           std::vector<double>& p) {
  std::vector<double> z(static_cast<std::size_t>(vocab));
  double top = -std::numeric_limits<double>::infinity();
  for (std::int64_t j = 0; j < vocab; ++j) top = std::max(top, z[j] = static_cast<double>(logits[j]) / w.temperature);
  std::vector<std::int64_t> kept;
  kept.reserve(static_cast<std::size_t>(vocab));
  if (w.top_k > 0 && w.top_k < vocab) {
    std::vector<double> scores = z;
    std::nth_element(scores.begin(), scores.begin() + (w.top_k - 1), scores.end(), std::greater<double>());
    const double kth = scores[static_cast<std::size_t>(w.top_k - 1)];
    for (std::int64_t j = 0; j < vocab; ++j)
      if (z[j] >= kth) kept.push_back(j);
  } else {
    kept.resize(static_cast<std::size_t>(vocab));
    std::iota(kept.begin(), kept.end(), std::int64_t{0});
  }
  p.assign(static_cast<std::size_t>(vocab), 0.0);
  double total = 0;
  for (const auto j : kept) total += p[j] = std::exp(z[j] - top);
  if (w.top_p >= 1.0) return kept;

  const auto before = [&](std::int64_t a, std::int64_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); };
  const double target = w.top_p * total;
  // kept[0, lo) is in the nucleus, with mass `inside`; the cut lies in kept[lo, hi).
  auto lo = kept.begin(), hi = kept.end();
  double inside = 0;
  while (hi - lo > kSortBelow) {
    std::iter_swap(lo + (hi - lo) / 2, hi - 1);  // the pivot waits at the end
    const std::int64_t pivot = *(hi - 1);
    const auto split = std::partition(lo, hi - 1, [&](std::int64_t id) { return before(id, pivot); });
    std::iter_swap(split, hi - 1);  // kept[lo, split) precede the pivot, which now sits at split
    double preceding = 0;
    for (auto it = lo; it != split; ++it) preceding += p[*it];
    if (inside + preceding >= target) {
      hi = split;  // the cut is among the ids before the pivot
    } else if (inside + preceding + p[pivot] >= target) {
      lo = hi = split + 1;  // the pivot is the last id of the nucleus
    } else {
      inside += preceding + p[pivot];
      lo = split + 1;
    }
  }
  std::sort(lo, hi, before);
  auto cut = lo;
  while (cut != hi && inside < target) inside += p[*cut++];
  if (cut == kept.begin()) ++cut;  // at least one id
  kept.erase(cut, kept.end());
  return kept;
}

std::int64_t sample_token(const float* logits, std::int64_t vocab, const SamplingWarpers& w, std::mt19937_64& rng,
                          float* logprob) {
  thread_local std::vector<double> p;
  const std::vector<std::int64_t> support = sampling_support(logits, vocab, w, p);
  double total = 0;
  for (const auto j : support) total += p[j];
  double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  std::int64_t chosen = support.back();
  for (const auto j : support) {
    if (u < p[j]) {
      chosen = j;
      break;
    }
    u -= p[j];
  }
  *logprob = static_cast<float>(std::log(p[chosen] / total));
  return chosen;
}

}  // namespace recap::models::detail
