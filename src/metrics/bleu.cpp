// BLEU as pycocoevalcap's bleu_scorer.py: per-image clipped n-gram counts against the
// maximum count over references, the reference length closest to the candidate's
// (shorter on a tie), corpus totals, and its smoothing constants.
#include <cmath>
#include <cstdlib>
#include <map>

#include "ngrams.h"
#include "recap/metrics/text_metrics.h"

namespace recap::metrics {
namespace {

constexpr double kSmall = 1e-9;
constexpr double kTiny = 1e-15;

// pycocoevalcap: min((abs(l - testlen), l) for l in reflen)[1]
int closest_reference_length(const std::vector<int>& lengths, int test_length) {
  int best = lengths.front();
  for (int l : lengths) {
    const int d = std::abs(l - test_length), best_d = std::abs(best - test_length);
    if (d < best_d || (d == best_d && l < best)) best = l;
  }
  return best;
}

}  // namespace

std::vector<CorpusScore> bleu(const std::vector<ImageCaptions>& images, int max_n) {
  std::vector<CorpusScore> scores(static_cast<std::size_t>(max_n));
  std::vector<double> total_guess(max_n, 0), total_correct(max_n, 0);
  double total_test = 0, total_ref = 0;

  for (const auto& image : images) {
    const auto test_words = split_words(image.candidate);
    const auto test_counts = count_ngrams(test_words, max_n);
    NgramCounts max_ref_counts;
    std::vector<int> ref_lengths;
    for (const auto& ref : image.references) {
      const auto words = split_words(ref);
      ref_lengths.push_back(static_cast<int>(words.size()));
      for (const auto& [gram, count] : count_ngrams(words, max_n)) {
        int& m = max_ref_counts[gram];
        m = std::max(m, count);
      }
    }
    const int test_length = static_cast<int>(test_words.size());
    const int ref_length = closest_reference_length(ref_lengths, test_length);
    std::vector<double> guess(max_n), correct(max_n, 0);
    for (int k = 0; k < max_n; ++k) guess[k] = std::max(0, test_length - k);
    for (const auto& [gram, count] : test_counts) {
      auto it = max_ref_counts.find(gram);
      if (it != max_ref_counts.end()) correct[gram_order(gram) - 1] += std::min(it->second, count);
    }
    double product = 1;
    const double ratio = (test_length + kTiny) / (ref_length + kSmall);
    for (int k = 0; k < max_n; ++k) {
      product *= (correct[k] + kTiny) / (guess[k] + kSmall);
      double value = std::pow(product, 1.0 / (k + 1));
      if (ratio < 1) value *= std::exp(1 - 1 / ratio);
      scores[k].per_image.push_back(value);
      total_guess[k] += guess[k];
      total_correct[k] += correct[k];
    }
    total_test += test_length;
    total_ref += ref_length;
  }

  double product = 1;
  const double ratio = (total_test + kTiny) / (total_ref + kSmall);
  for (int k = 0; k < max_n; ++k) {
    product *= (total_correct[k] + kTiny) / (total_guess[k] + kSmall);
    scores[k].corpus = std::pow(product, 1.0 / (k + 1));
    if (ratio < 1) scores[k].corpus *= std::exp(1 - 1 / ratio);
  }
  return scores;
}

}  // namespace recap::metrics
