// CIDEr-D as pycocoevalcap's cider_scorer.py ("Cider" there is CIDEr-D): n-gram TF-IDF
// vectors with document frequencies counted over the references of the evaluated images,
// idf = log(number of images) − log(max(1, df)); per reference, clipped cosine similarity
// per n times a Gaussian penalty on the length difference; the mean over n, divided by
// the number of references, times 10. The "length" it penalises is, as in the reference
// implementation, the number of bigrams (its `if n == 1` indexes orders from 0).
#include <cmath>
#include <unordered_set>

#include "ngrams.h"
#include "recap/metrics/text_metrics.h"

namespace recap::metrics {
namespace {

constexpr int kOrder = 4;

struct TfIdfVector {
  std::vector<std::pair<std::string, double>> weights;  // first-seen order
  std::unordered_map<std::string, double> lookup;
  double norm[kOrder] = {0, 0, 0, 0};
  double length = 0;
};

TfIdfVector to_vector(const std::vector<std::pair<std::string, int>>& counts,
                      const std::unordered_map<std::string, int>& document_frequency, double log_images) {
  TfIdfVector v;
  for (const auto& [gram, term_frequency] : counts) {
    const auto it = document_frequency.find(gram);
    const double df = std::log(std::max(1.0, it == document_frequency.end() ? 0.0 : double(it->second)));
    const double w = term_frequency * (log_images - df);
    const int n = gram_order(gram) - 1;
    v.weights.emplace_back(gram, w);
    v.lookup.emplace(gram, w);
    v.norm[n] += w * w;
    if (n == 1) v.length += term_frequency;
  }
  for (double& x : v.norm) x = std::sqrt(x);
  return v;
}

}  // namespace

CorpusScore cider_d(const std::vector<ImageCaptions>& images, double sigma) {
  // Counts, then document frequencies over each image's set of reference n-grams.
  std::vector<std::vector<std::pair<std::string, int>>> candidate_counts;
  std::vector<std::vector<std::vector<std::pair<std::string, int>>>> reference_counts;
  std::unordered_map<std::string, int> document_frequency;
  for (const auto& image : images) {
    candidate_counts.push_back(ordered_ngrams(split_words(image.candidate), kOrder));
    auto& refs = reference_counts.emplace_back();
    std::unordered_set<std::string> seen;
    for (const auto& ref : image.references) {
      refs.push_back(ordered_ngrams(split_words(ref), kOrder));
      for (const auto& [gram, count] : refs.back()) seen.insert(gram);
    }
    for (const auto& gram : seen) ++document_frequency[gram];
  }

  const double log_images = std::log(static_cast<double>(images.size()));
  CorpusScore score;
  double sum = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    const TfIdfVector hyp = to_vector(candidate_counts[i], document_frequency, log_images);
    double per_order[kOrder] = {0, 0, 0, 0};
    for (const auto& ref_counts : reference_counts[i]) {
      const TfIdfVector ref = to_vector(ref_counts, document_frequency, log_images);
      const double delta = hyp.length - ref.length;
      double val[kOrder] = {0, 0, 0, 0};
      for (const auto& [gram, w] : hyp.weights) {
        const auto it = ref.lookup.find(gram);
        const double r = it == ref.lookup.end() ? 0.0 : it->second;
        val[gram_order(gram) - 1] += std::min(w, r) * r;
      }
      for (int n = 0; n < kOrder; ++n) {
        if (hyp.norm[n] != 0 && ref.norm[n] != 0) val[n] /= hyp.norm[n] * ref.norm[n];
        val[n] *= std::pow(M_E, -(delta * delta) / (2 * sigma * sigma));
        per_order[n] += val[n];
      }
    }
    double mean = 0;
    for (double v : per_order) mean += v;
    mean /= kOrder;
    mean /= static_cast<double>(reference_counts[i].size());
    mean *= 10.0;
    score.per_image.push_back(mean);
    sum += mean;
  }
  score.corpus = images.empty() ? 0 : sum / static_cast<double>(images.size());
  return score;
}

}  // namespace recap::metrics
