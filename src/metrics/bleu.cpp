// BLEU as pycocoevalcap's bleu_scorer.py: per-image clipped n-gram counts against the
// maximum count over references, the reference length closest to the candidate's
// (shorter on a tie), corpus totals, and its smoothing constants.
#include <cmath>
#include <stdexcept>
#include <cstdlib>
#include <map>

#include "ngrams.h"
#include "recap/common/parallel.h"
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

std::vector<BleuStats> bleu_stats(const std::vector<ImageCaptions>& images, int max_n) {
  if (max_n != 4) throw std::invalid_argument("BLEU is computed for n = 1..4");
  return bleu_stats(EncodedCorpus(images));
}

std::vector<BleuStats> bleu_stats(const EncodedCorpus& corpus) {
  const int max_n = 4;
  const auto& index = corpus.data().index;
  const auto& candidates = corpus.data().candidates;
  const auto& references = corpus.data().references;
  std::vector<BleuStats> all(candidates.size());
  parallel_ranges(static_cast<std::int64_t>(candidates.size()), 0, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int32_t> max_ref_counts;  // per candidate n-gram, over the references
    std::vector<int> ref_lengths;
    for (std::int64_t i = begin; i < end; ++i) {
      const auto& candidate = candidates[i].ngrams;
      max_ref_counts.assign(candidate.size(), 0);
      ref_lengths.clear();
      // Both lists are sorted by n-gram id, so each reference is one merge pass; only the
      // candidate's n-grams can count.
      for (const auto& ref : references[i]) {
        ref_lengths.push_back(ref.length);
        std::size_t c = 0;
        for (const auto& [id, count] : ref.ngrams) {
          while (c < candidate.size() && candidate[c].first < id) ++c;
          if (c == candidate.size()) break;
          if (candidate[c].first == id) max_ref_counts[c] = std::max(max_ref_counts[c], count);
        }
      }
      BleuStats& s = all[i];
      const int test_length = candidates[i].length;
      s.test_length = test_length;
      s.ref_length = closest_reference_length(ref_lengths, test_length);
      s.guess.resize(max_n);
      s.correct.assign(max_n, 0);
      for (int k = 0; k < max_n; ++k) s.guess[k] = std::max(0, test_length - k);
      for (std::size_t c = 0; c < candidate.size(); ++c)
        s.correct[index.order(candidate[c].first) - 1] += std::min(max_ref_counts[c], candidate[c].second);
    }
  });
  return all;
}

namespace {

// pycocoevalcap's formula, for one image or the corpus totals.
std::vector<double> bleu_from_totals(double test_length, double ref_length, const std::vector<double>& guess,
                                     const std::vector<double>& correct) {
  std::vector<double> scores(guess.size());
  double product = 1;
  const double ratio = (test_length + kTiny) / (ref_length + kSmall);
  for (std::size_t k = 0; k < guess.size(); ++k) {
    product *= (correct[k] + kTiny) / (guess[k] + kSmall);
    scores[k] = std::pow(product, 1.0 / static_cast<double>(k + 1));
    if (ratio < 1) scores[k] *= std::exp(1 - 1 / ratio);
  }
  return scores;
}

}  // namespace

std::vector<double> corpus_bleu(const std::vector<BleuStats>& stats, const std::vector<std::size_t>& rows) {
  const std::size_t max_n = stats.empty() ? 4 : stats.front().guess.size();
  std::vector<double> guess(max_n, 0), correct(max_n, 0);
  double test = 0, ref = 0;
  for (std::size_t r : rows) {
    test += stats[r].test_length;
    ref += stats[r].ref_length;
    for (std::size_t k = 0; k < max_n; ++k) {
      guess[k] += stats[r].guess[k];
      correct[k] += stats[r].correct[k];
    }
  }
  return bleu_from_totals(test, ref, guess, correct);
}

std::vector<CorpusScore> bleu(const std::vector<ImageCaptions>& images, int max_n) {
  return bleu_scores(bleu_stats(images, max_n));
}

std::vector<CorpusScore> bleu_scores(const std::vector<BleuStats>& stats) {
  const int max_n = stats.empty() ? 4 : static_cast<int>(stats.front().guess.size());
  std::vector<CorpusScore> scores(static_cast<std::size_t>(max_n));
  std::vector<std::size_t> all(stats.size());
  for (std::size_t i = 0; i < stats.size(); ++i) {
    all[i] = i;
    const auto per = bleu_from_totals(stats[i].test_length, stats[i].ref_length, stats[i].guess, stats[i].correct);
    for (int k = 0; k < max_n; ++k) scores[k].per_image.push_back(per[k]);
  }
  const auto corpus = corpus_bleu(stats, all);
  for (int k = 0; k < max_n; ++k) scores[k].corpus = corpus[k];
  return scores;
}

}  // namespace recap::metrics
