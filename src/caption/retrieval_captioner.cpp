#include "recap/caption/retrieval_captioner.h"

#include <set>

#include "recap/common/error.h"
#include "recap/io/json_file.h"

namespace recap::caption {

std::vector<nlohmann::json> row_numbers_as_ids(std::int64_t rows) {
  std::vector<nlohmann::json> ids;
  for (std::int64_t i = 0; i < rows; ++i) ids.emplace_back(i);
  return ids;
}

std::vector<nlohmann::json> load_image_ids(const std::filesystem::path& path, std::int64_t expected_rows) {
  const nlohmann::json doc = io::read_json(path);
  if (!doc.is_array()) throw InputError(path.string() + ": expected a JSON array of image ids");
  std::vector<nlohmann::json> ids;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    nlohmann::json id = doc[i];
    if (id.is_object()) id = id.contains("image_id") ? id["image_id"] : id.contains("id") ? id["id"] : nlohmann::json();
    if (!id.is_number_integer() && !id.is_string())
      throw InputError(path.string() + ": entry " + std::to_string(i) + " is not an integer or string image id");
    if (!seen.insert(id.dump()).second)
      throw InputError(path.string() + ": image id " + id.dump() + " appears more than once");
    ids.push_back(id);
  }
  if (static_cast<std::int64_t>(ids.size()) != expected_rows)
    throw InputError(path.string() + ": has " + std::to_string(ids.size()) + " ids but the embeddings have " +
                     std::to_string(expected_rows) + " rows");
  return ids;
}

std::vector<std::vector<Retrieved>> retrieve(const retrieval::Datastore& store, const io::FloatMatrix& mapped,
                                             std::int64_t k, const retrieval::SearchOptions& options,
                                             std::string* kernel_used) {
  const retrieval::TopK top = store.search(mapped.data(), mapped.rows, k, options);
  if (kernel_used != nullptr) *kernel_used = top.kernel;
  std::vector<std::vector<Retrieved>> lists(static_cast<std::size_t>(mapped.rows));
  for (std::int64_t q = 0; q < mapped.rows; ++q)
    for (std::int64_t j = 0; j < k; ++j) lists[q].push_back({top.ids_of(q)[j], top.scores_of(q)[j]});
  return lists;
}

std::vector<CaptionResult> caption_by_retrieval(const retrieval::Datastore& store, const io::FloatMatrix& mapped,
                                                const std::vector<nlohmann::json>& ids, std::int64_t k,
                                                const retrieval::SearchOptions& options, std::string* kernel_used) {
  auto lists = retrieve(store, mapped, k, options, kernel_used);
  std::vector<CaptionResult> results(lists.size());
  for (std::size_t q = 0; q < lists.size(); ++q) {
    results[q].image_id = ids[q];
    results[q].caption = store.caption(lists[q].front().index);
    results[q].score = lists[q].front().similarity;
    results[q].retrieved = std::move(lists[q]);
  }
  return results;
}

nlohmann::json coco_results(const std::vector<CaptionResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) out.push_back({{"image_id", r.image_id}, {"caption", r.caption}});
  return out;
}

nlohmann::json details_record(const CaptionResult& result, const retrieval::Datastore& store) {
  nlohmann::json retrieved = nlohmann::json::array();
  for (const auto& r : result.retrieved)
    retrieved.push_back({{"index", r.index}, {"caption", store.caption(r.index)}, {"similarity", r.similarity}});
  return {{"image_id", result.image_id}, {"caption", result.caption}, {"score", result.score}, {"retrieved", retrieved}};
}

}  // namespace recap::caption
