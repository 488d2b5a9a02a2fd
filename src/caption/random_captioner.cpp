#include "recap/caption/random_captioner.h"

#include "recap/caption/retrieval_captioner.h"
#include "recap/common/error.h"
#include "recap/common/seed_mix.h"

namespace recap::caption {

RandomCaptioner::RandomCaptioner(const retrieval::Datastore& store, std::uint64_t seed) : store_(store), seed_(seed) {
  if (store_.base_size() < 1) throw InputError(store_.dir().string() + ": the datastore has no captions");
}

std::vector<std::vector<Retrieved>> RandomCaptioner::retrieve(const CaptionBatch& batch) const {
  if (!batch.retrieved.empty()) return batch.retrieved;
  const auto rows = static_cast<std::uint64_t>(store_.base_size());
  const auto dim = store_.dim();
  std::vector<std::vector<Retrieved>> lists;
  for (std::size_t q = 0; q < batch.positions.size(); ++q) {
    const auto row = static_cast<std::int64_t>(mix_seed(seed_, static_cast<std::uint64_t>(batch.positions[q])) % rows);
    const float* caption = store_.embeddings() + row * dim;
    const float* image = batch.aligned.row(static_cast<std::int64_t>(q));
    double dot = 0;
    for (std::int64_t d = 0; d < dim; ++d) dot += double(caption[d]) * image[d];
    lists.push_back({{row, static_cast<float>(dot)}});
  }
  return lists;
}

std::vector<nlohmann::json> RandomCaptioner::caption(const CaptionBatch& batch) const {
  const auto lists = retrieve(batch);
  std::vector<nlohmann::json> records;
  for (std::size_t q = 0; q < lists.size(); ++q) {
    const auto& drawn = lists[q].front();
    records.push_back({{"image_id", batch.ids[q]}, {"caption", store_.caption(drawn.index)},
                       {"score", drawn.similarity}, {"retrieved", retrieved_json(lists[q], store_)}});
  }
  return records;
}

}  // namespace recap::caption
