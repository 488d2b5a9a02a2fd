// CIDEr-D as pycocoevalcap's cider_scorer.py ("Cider" there is CIDEr-D): n-gram TF-IDF
// vectors with document frequencies counted over the references of the evaluated images,
// idf = log(number of images) − log(max(1, df)); per reference, clipped cosine similarity
// per n times a Gaussian penalty on the length difference; the mean over n, divided by
// the number of references, times 10. The "length" it penalises is, as in the reference
// implementation, the number of bigrams (its `if n == 1` indexes orders from 0).
#include <cmath>

#include "ngrams.h"
#include "recap/common/parallel.h"
#include "recap/metrics/text_metrics.h"

namespace recap::metrics {
namespace {

constexpr int kOrder = 4;

struct TfIdfVector {
  std::vector<std::pair<std::int32_t, double>> weights;  // sorted by n-gram id
  double norm[kOrder] = {0, 0, 0, 0};
  double length = 0;
};

TfIdfVector to_vector(const EncodedCaption& caption, const NgramIndex& index, const std::vector<double>& idf) {
  TfIdfVector v;
  v.weights.reserve(caption.ngrams.size());
  for (const auto& [id, term_frequency] : caption.ngrams) {
    const double w = term_frequency * idf[static_cast<std::size_t>(id)];
    const int n = index.order(id) - 1;
    v.weights.emplace_back(id, w);
    v.norm[n] += w * w;
    if (n == 1) v.length += term_frequency;
  }
  for (double& x : v.norm) x = std::sqrt(x);
  return v;
}

}  // namespace

CorpusScore cider_d(const std::vector<ImageCaptions>& images, double sigma) {
  return cider_d(EncodedCorpus(images), sigma);
}

CorpusScore cider_d(const EncodedCorpus& corpus, double sigma) {
  const auto& index = corpus.data().index;
  const auto& candidates = corpus.data().candidates;
  const auto& references = corpus.data().references;
  const std::size_t image_count = candidates.size();
  // Document frequency: in how many images' reference sets each n-gram occurs.
  std::vector<int> document_frequency(index.size(), 0), last_image(index.size(), -1);
  for (std::size_t i = 0; i < image_count; ++i)
    for (const auto& ref : references[i])
      for (const auto& [id, count] : ref.ngrams)
        if (last_image[id] != static_cast<int>(i)) {
          last_image[id] = static_cast<int>(i);
          ++document_frequency[id];
        }
  const double log_images = std::log(static_cast<double>(image_count));
  std::vector<double> idf(index.size());
  for (std::size_t id = 0; id < idf.size(); ++id)
    idf[id] = log_images - std::log(std::max(1.0, static_cast<double>(document_frequency[id])));

  CorpusScore score;
  score.per_image.resize(image_count);
  parallel_ranges(static_cast<std::int64_t>(image_count), 0, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const TfIdfVector hyp = to_vector(candidates[i], index, idf);
      double per_order[kOrder] = {0, 0, 0, 0};
      for (const auto& ref_caption : references[i]) {
        const TfIdfVector ref = to_vector(ref_caption, index, idf);
        const double delta = hyp.length - ref.length;
        double val[kOrder] = {0, 0, 0, 0};
        // Clipped dot product over the n-grams of the candidate (merge of sorted ids).
        auto r = ref.weights.begin();
        for (const auto& [id, w] : hyp.weights) {
          while (r != ref.weights.end() && r->first < id) ++r;
          if (r != ref.weights.end() && r->first == id) val[index.order(id) - 1] += std::min(w, r->second) * r->second;
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
      mean /= static_cast<double>(references[i].size());
      score.per_image[i] = mean * 10.0;
    }
  });
  double sum = 0;
  for (double v : score.per_image) sum += v;
  score.corpus = image_count == 0 ? 0 : sum / static_cast<double>(image_count);
  return score;
}

}  // namespace recap::metrics
