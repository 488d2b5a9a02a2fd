#include "recap/metrics/retrieval_recall.h"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <string>

#include "recap/common/error.h"

namespace recap::metrics {

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

RowMatrix normalised(const io::FloatMatrix& m) {
  RowMatrix out = Eigen::Map<const RowMatrix>(m.data(), m.rows, m.cols);
  for (Eigen::Index i = 0; i < out.rows(); ++i) {
    const float norm = out.row(i).norm();
    if (norm > 0) out.row(i) /= norm;
  }
  return out;
}

void check_inputs(const io::FloatMatrix& images, const io::FloatMatrix& texts, const std::vector<std::int64_t>& owner) {
  if (images.cols != texts.cols) {
    throw UsageError("image embeddings have " + std::to_string(images.cols) + " dimensions and text embeddings " +
                     std::to_string(texts.cols));
  }
  if (static_cast<std::int64_t>(owner.size()) != texts.rows) {
    throw UsageError(std::to_string(texts.rows) + " text embeddings but " + std::to_string(owner.size()) +
                     " caption owners");
  }
  for (const auto o : owner) {
    if (o < 0 || o >= images.rows) throw UsageError("caption owner " + std::to_string(o) + " is not an image row");
  }
}

}  // namespace

std::vector<double> text_retrieval_recall(const io::FloatMatrix& images, const io::FloatMatrix& texts,
                                          const std::vector<std::int64_t>& owner, const std::vector<int>& ks) {
  check_inputs(images, texts, owner);
  const RowMatrix x = normalised(images), y = normalised(texts);
  std::vector<std::int64_t> hits(ks.size(), 0);
  constexpr Eigen::Index kChunk = 256;  // images per product: bounded memory for large sets
  for (Eigen::Index first = 0; first < x.rows(); first += kChunk) {
    const auto n = std::min(kChunk, x.rows() - first);
    const RowMatrix sims = x.middleRows(first, n) * y.transpose();
    for (Eigen::Index i = 0; i < n; ++i) {
      // Rank of the image's best own caption: how many captions of other images score higher.
      float best_own = -std::numeric_limits<float>::infinity();
      for (Eigen::Index j = 0; j < sims.cols(); ++j) {
        if (owner[j] == first + i) best_own = std::max(best_own, sims(i, j));
      }
      std::int64_t above = 0;
      for (Eigen::Index j = 0; j < sims.cols(); ++j) {
        if (owner[j] != first + i && sims(i, j) > best_own) ++above;
      }
      for (std::size_t k = 0; k < ks.size(); ++k) {
        if (above < ks[k]) ++hits[k];
      }
    }
  }
  std::vector<double> recall;
  for (const auto h : hits) recall.push_back(images.rows ? double(h) / images.rows : 0.0);
  return recall;
}

nlohmann::json ModalityGap::to_json() const {
  return {{"centre_distance", centre_distance}, {"matched_cosine", matched_cosine},
          {"unmatched_cosine", unmatched_cosine}};
}

ModalityGap modality_gap(const io::FloatMatrix& images, const io::FloatMatrix& texts,
                         const std::vector<std::int64_t>& owner) {
  check_inputs(images, texts, owner);
  const RowMatrix x = normalised(images), y = normalised(texts);
  ModalityGap gap;
  if (x.rows() == 0 || y.rows() == 0) return gap;
  gap.centre_distance = (x.colwise().mean() - y.colwise().mean()).norm();
  // Sum over all pairs = (Σ images) · (Σ texts); the matched part is summed directly.
  const double all = x.colwise().sum().dot(y.colwise().sum());
  double matched = 0;
  for (Eigen::Index j = 0; j < y.rows(); ++j) matched += x.row(owner[j]).dot(y.row(j));
  gap.matched_cosine = matched / double(y.rows());
  const double unmatched_pairs = double(x.rows()) * y.rows() - y.rows();
  gap.unmatched_cosine = unmatched_pairs > 0 ? (all - matched) / unmatched_pairs : 0;
  return gap;
}

}  // namespace recap::metrics
