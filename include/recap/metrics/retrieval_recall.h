#pragma once
// Image-to-text retrieval as CLIP papers report it, and the modality gap.
//   recall@k: the share of images for which one of their own captions is among the k
//     captions most similar to the image (cosine), all captions of the set competing;
//   modality gap (Liang et al., 2022): the distance between the centres of the
//     L2-normalised image and text embeddings, with the mean cosine of matching pairs.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/io/matrix.h"

namespace recap::metrics {

// `images` n x d, `texts` m x d (any scale: rows are normalised here), `owner[j]` the
// image row of text j. Returns recall@k for each k of `ks`, in order. UsageError for
// mismatched sizes or an owner out of range.
std::vector<double> text_retrieval_recall(const io::FloatMatrix& images, const io::FloatMatrix& texts,
                                          const std::vector<std::int64_t>& owner, const std::vector<int>& ks);

struct ModalityGap {
  double centre_distance = 0;      // ‖mean(normalised images) − mean(normalised texts)‖
  double matched_cosine = 0;       // mean cosine of (image, own caption) pairs
  double unmatched_cosine = 0;     // mean cosine of an image with the captions of other images
  nlohmann::json to_json() const;
};
ModalityGap modality_gap(const io::FloatMatrix& images, const io::FloatMatrix& texts,
                         const std::vector<std::int64_t>& owner);

}  // namespace recap::metrics

#include <filesystem>

#include "recap/data/dataset.h"
#include "recap/embed/embed_subprocess.h"

namespace recap::metrics {

// recap-score recall: a dataset split embedded with CLIP (through recap-embed), every
// image ranking every caption of the split.
struct DatasetRecallRequest {
  std::filesystem::path dataset, images_root;
  data::DatasetOptions options;  // the split(s) to evaluate
  std::filesystem::path run;     // optional: also rank by the run's aligned embedding
  std::vector<int> ks{1, 5, 10};
  embed::EmbedSettings embed;
};

struct DatasetRecallReport {
  std::int64_t images = 0, captions = 0;
  std::vector<int> ks;
  std::vector<double> raw;      // recall@k by cos(image, caption)
  std::vector<double> aligned;  // recall@k by cos(normalize(x W), caption); empty without a run
  ModalityGap gap;              // of the raw embeddings
  ModalityGap aligned_gap;      // of the aligned ones (with a run)
  nlohmann::json to_json() const;
};

DatasetRecallReport evaluate_dataset_recall(const DatasetRecallRequest& request);

}  // namespace recap::metrics
