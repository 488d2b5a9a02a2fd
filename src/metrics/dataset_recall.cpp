#include "recap/embed/dataset_embedding.h"
#include "recap/io/npy.h"
#include "recap/io/temp_dir.h"
#include "recap/metrics/retrieval_recall.h"
#include "recap/run/run.h"

namespace recap::metrics {

nlohmann::json DatasetRecallReport::to_json() const {
  nlohmann::json out = {{"images", images}, {"captions", captions}, {"modality_gap", gap.to_json()}};
  for (std::size_t i = 0; i < ks.size(); ++i) {
    const std::string k = "R@" + std::to_string(ks[i]);
    out["raw"][k] = raw[i];
    if (!aligned.empty()) out["aligned"][k] = aligned[i];
  }
  if (!aligned.empty()) out["aligned_modality_gap"] = aligned_gap.to_json();
  return out;
}

DatasetRecallReport evaluate_dataset_recall(const DatasetRecallRequest& request) {
  // The run is opened first: a wrong --run should not cost an embedding pass.
  const auto run = request.run.empty() ? std::optional<run::Run>() : std::optional(run::Run::open(request.run));
  embed::EmbedSubprocess embedder(request.embed);
  io::TemporaryDirectory scratch("recap-score-recall");
  const auto embedded = embed::embed_dataset({request.dataset, request.images_root, request.options, true,
                                              request.embed.strict},
                                             embedder, scratch.path());
  const auto images = io::read_npy_matrix(embedded.image_embeddings);
  const auto texts = io::read_npy_matrix(embedded.text_embeddings);
  // pairs: (image row, caption row) for every caption.
  const auto pairs = io::read_npy_int64(embedded.pairs);
  std::vector<std::int64_t> owner(static_cast<std::size_t>(texts.rows), -1);
  for (std::size_t p = 0; p + 1 < pairs.size(); p += 2) owner[static_cast<std::size_t>(pairs[p + 1])] = pairs[p];

  DatasetRecallReport report;
  report.images = images.rows;
  report.captions = texts.rows;
  report.ks = request.ks;
  report.raw = text_retrieval_recall(images, texts, owner, request.ks);
  report.gap = modality_gap(images, texts, owner);
  if (run) {
    const auto aligned = run->align(images, request.dataset.string());
    report.aligned = text_retrieval_recall(aligned, texts, owner, request.ks);
    report.aligned_gap = modality_gap(aligned, texts, owner);
  }
  return report;
}

}  // namespace recap::metrics
