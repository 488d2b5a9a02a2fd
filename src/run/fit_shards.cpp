#include "recap/run/fit_shards.h"

#include "recap/align/fit_statistics.h"
#include "recap/common/error.h"
#include "recap/common/stopwatch.h"
#include "recap/retrieval/datastore.h"
#include "recap/retrieval/datastore_merge.h"

namespace fs = std::filesystem;

namespace recap::run {

void write_statistics_folder(const fs::path& dir, const align::GramAccumulator& gram, bool normalize,
                             const Shard& shard, const nlohmann::json& provenance,
                             const std::vector<nlohmann::json>* captions, const io::NpyMatrixReader* text_embeddings,
                             const std::vector<std::int64_t>* caption_order) {
  if (captions != nullptr && text_embeddings != nullptr) {
    retrieval::write_datastore(dir / "datastore", *captions, *text_embeddings);
    if (caption_order != nullptr && caption_order->size() == 2 * captions->size())
      io::write_npy(dir / "datastore" / retrieval::kMergeOrderFile, caption_order->data(),
                    {static_cast<std::int64_t>(captions->size()), 2});
  }
  nlohmann::json description = provenance;
  description["datastore"] = text_embeddings != nullptr ? nlohmann::json("datastore/") : nlohmann::json(nullptr);
  align::write_fit_statistics(dir, gram, normalize, shard, description);  // last: it marks the folder complete
}

ShardedFit fit_from_statistics(const std::vector<fs::path>& dirs, align::FitOptions options) {
  Stopwatch clock;
  align::CombinedStatistics combined = align::combine_fit_statistics(dirs);
  options.normalize = combined.normalize;
  const double read_seconds = clock.seconds();

  ShardedFit out;
  out.normalize = combined.normalize;
  out.inputs = nlohmann::json::array();
  std::size_t with_datastore = 0;
  for (const auto& part : combined.parts) {
    out.inputs.push_back({{"folder", fs::absolute(part.dir).string()},
                          {"shard", part.shard.label()},
                          {"pairs", part.description.value("pairs", 0)},
                          {"inputs", part.description.value("inputs", nlohmann::json())}});
    if (part.description.value("datastore", nlohmann::json()).is_string()) {
      out.datastores.push_back(part.dir / "datastore");
      ++with_datastore;
    }
  }
  if (with_datastore != 0 && with_datastore != combined.parts.size())
    throw InputError(std::to_string(with_datastore) + " of " + std::to_string(combined.parts.size()) +
                     " statistics folders have a datastore: give every shard its captions, or none");
  out.clip_model = combined.parts.front().description.value("clip_model", nlohmann::json());
  out.fit = align::solve(combined.gram, options);
  out.fit.report.seconds_accumulate = read_seconds;
  return out;
}

}  // namespace recap::run
