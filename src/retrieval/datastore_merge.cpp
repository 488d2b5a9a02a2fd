#include "recap/retrieval/datastore_merge.h"

#include <algorithm>

#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/retrieval/datastore.h"

namespace recap::retrieval {

std::int64_t merge_datastores(const std::filesystem::path& dir, const std::vector<std::filesystem::path>& parts) {
  if (parts.empty()) throw UsageError("no datastores to merge");
  // Opening every part first checks each one (captions agree with rows) before anything is written.
  std::vector<Datastore> stores;
  std::int64_t rows = 0;
  for (const auto& part : parts) {
    stores.push_back(Datastore::open(part));
    if (stores.back().dim() != stores.front().dim())
      throw InputError(part.string() + " holds " + std::to_string(stores.back().dim()) + "-d embeddings but " +
                       parts.front().string() + " holds " + std::to_string(stores.front().dim()) + "-d ones");
    rows += stores.back().size();
  }
  const std::int64_t cols = stores.front().dim();

  std::filesystem::create_directories(dir);
  std::vector<nlohmann::json> records;
  records.reserve(static_cast<std::size_t>(rows));
  for (const auto& store : stores)
    for (std::int64_t i = 0; i < store.size(); ++i) records.push_back(store.record(i));
  io::write_jsonl(dir / "captions.jsonl", records);

  io::NpyStreamWriter out(dir / "embeddings.npy", rows, cols);
  const std::int64_t chunk = 16384;
  for (std::size_t p = 0; p < stores.size(); ++p) {
    const Datastore& store = stores[p];
    for (std::int64_t start = 0; start < store.size(); start += chunk) {
      const std::int64_t m = std::min(chunk, store.size() - start);
      const float* block = store.embeddings() + start * cols;
      check_embedding_rows(block, m, cols, (parts[p] / "embeddings.npy").string(), start);
      out.append(block, m);
    }
  }
  out.commit();
  return rows;
}

}  // namespace recap::retrieval
