#include "recap/caption/retrieval_captioner.h"

#include "recap/common/error.h"

namespace recap::caption {

std::vector<std::vector<Retrieved>> retrieve(const retrieval::Datastore& store, const CaptionBatch& batch,
                                             std::int64_t k, const retrieval::SearchOptions& options) {
  const auto& mapped = batch.aligned;
  if (!batch.retrieved.empty()) {
    if (static_cast<std::int64_t>(batch.retrieved.size()) != mapped.rows)
      throw Error(ExitCode::internal, "retrieve: retrieved lists and rows differ");
    return batch.retrieved;
  }
  const bool excluding = !batch.excluded.empty();
  const retrieval::TopK top = store.search(mapped.data(), mapped.rows, k, options, excluding ? &batch.excluded : nullptr);
  std::vector<std::vector<Retrieved>> lists(static_cast<std::size_t>(mapped.rows));
  for (std::int64_t q = 0; q < mapped.rows; ++q)
    for (std::int64_t j = 0; j < k; ++j) lists[q].push_back({top.ids_of(q)[j], top.scores_of(q)[j]});
  return lists;
}

nlohmann::json retrieved_json(const std::vector<Retrieved>& list, const retrieval::Datastore& store) {
  nlohmann::json retrieved = nlohmann::json::array();
  for (const auto& r : list)
    retrieved.push_back({{"index", r.index}, {"caption", store.caption(r.index)}, {"similarity", r.similarity}});
  return retrieved;
}

RetrievalCaptioner::RetrievalCaptioner(const retrieval::Datastore& store, std::int64_t k, retrieval::SearchOptions search)
    : store_(store), k_(k), search_(search) {
  store_.check_k(k_);
}

nlohmann::json RetrievalCaptioner::settings() const {
  nlohmann::json settings = {{"k", k_}};
  // An approximate search decides captions too (absent for exact search, as before indexes).
  if (auto search = store_.search_settings(search_); !search.is_null()) settings["search"] = search;
  return settings;
}

std::vector<nlohmann::json> RetrievalCaptioner::caption(const CaptionBatch& batch) const {
  const auto lists = retrieve(batch);
  std::vector<nlohmann::json> records;
  for (std::size_t q = 0; q < lists.size(); ++q) {
    const auto& best = lists[q].front();
    records.push_back({{"image_id", batch.ids[q]}, {"caption", store_.caption(best.index)}, {"score", best.similarity},
                       {"retrieved", retrieved_json(lists[q], store_)}});
  }
  return records;
}

}  // namespace recap::caption
