#include "recap/metrics/clip_score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace recap::metrics {
namespace {

double cosine(const float* a, const float* b, std::int64_t d) {
  double dot = 0, na = 0, nb = 0;
  for (std::int64_t i = 0; i < d; ++i) {
    dot += double(a[i]) * b[i];
    na += double(a[i]) * a[i];
    nb += double(b[i]) * b[i];
  }
  return (na > 0 && nb > 0) ? dot / std::sqrt(na * nb) : 0.0;
}

}  // namespace

ClipScores clip_scores(const io::FloatMatrix& images, const io::FloatMatrix& candidates,
                       const io::FloatMatrix& reference_embeddings,
                       const std::vector<std::vector<std::int64_t>>& references, double weight) {
  if (images.rows != candidates.rows || images.cols != candidates.cols)
    throw std::invalid_argument("image and candidate embeddings differ in shape");
  ClipScores out;
  out.has_ref = !references.empty();
  if (out.has_ref && static_cast<std::int64_t>(references.size()) != images.rows)
    throw std::invalid_argument("references must list one set per image");
  const std::int64_t d = images.cols;
  double sum = 0, ref_sum = 0;
  for (std::int64_t i = 0; i < images.rows; ++i) {
    const double s = weight * std::max(cosine(images.row(i), candidates.row(i), d), 0.0);
    out.clip_s_per_image.push_back(s);
    sum += s;
    if (!out.has_ref) continue;
    if (references[i].empty()) throw std::invalid_argument("image " + std::to_string(i) + " has no references");
    double best = -std::numeric_limits<double>::infinity();
    for (std::int64_t r : references[i]) best = std::max(best, cosine(candidates.row(i), reference_embeddings.row(r), d));
    const double h = (s + best) != 0 ? 2 * s * best / (s + best) : 0.0;
    out.ref_clip_s_per_image.push_back(h);
    ref_sum += h;
  }
  const double n = std::max<std::int64_t>(1, images.rows);
  out.clip_s = sum / n;
  out.ref_clip_s = ref_sum / n;
  return out;
}

}  // namespace recap::metrics
