// ROUGE-L as pycocoevalcap's rouge.py: tokens from str.split(" "), LCS by dynamic
// programming, best precision and best recall over the references (taken separately),
// F-measure with beta = 1.2, corpus score the mean over images.
#include <algorithm>

#include "ngrams.h"
#include "recap/common/parallel.h"
#include "recap/metrics/text_metrics.h"

namespace recap::metrics {
namespace {

std::size_t lcs_length(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b) {
  std::vector<std::size_t> previous(b.size() + 1, 0), current(b.size() + 1, 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j)
      current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : std::max(previous[j], current[j - 1]);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

CorpusScore rouge_l(const std::vector<ImageCaptions>& images) {
  constexpr double beta = 1.2;
  CorpusScore score;
  score.per_image.resize(images.size());
  parallel_ranges(static_cast<std::int64_t>(images.size()), 0, [&](std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    const auto& image = images[static_cast<std::size_t>(i)];
    const auto candidate = split_on_space(image.candidate);
    double best_precision = 0, best_recall = 0;
    for (const auto& ref : image.references) {
      const auto reference = split_on_space(ref);
      const double lcs = static_cast<double>(lcs_length(reference, candidate));
      best_precision = std::max(best_precision, lcs / static_cast<double>(candidate.size()));
      best_recall = std::max(best_recall, lcs / static_cast<double>(reference.size()));
    }
    double f = 0;
    if (best_precision != 0 && best_recall != 0)
      f = ((1 + beta * beta) * best_precision * best_recall) / (best_recall + beta * beta * best_precision);
    score.per_image[static_cast<std::size_t>(i)] = f;
  }
  });
  double sum = 0;
  for (double f : score.per_image) sum += f;
  score.corpus = images.empty() ? 0 : sum / static_cast<double>(images.size());
  return score;
}

}  // namespace recap::metrics
