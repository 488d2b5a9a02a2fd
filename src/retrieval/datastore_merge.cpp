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

  // The output order: (part, row) pairs, sorted by the parts' order keys when all have them.
  struct Source {
    std::int64_t position, caption;
    std::size_t part;
    std::int64_t row;
  };
  std::vector<Source> order;
  order.reserve(static_cast<std::size_t>(rows));
  const bool keyed = std::all_of(parts.begin(), parts.end(),
                                 [](const auto& part) { return std::filesystem::exists(part / kMergeOrderFile); });
  for (std::size_t p = 0; p < parts.size(); ++p) {
    std::vector<std::int64_t> keys, shape;
    if (keyed) {
      keys = io::read_npy_int64(parts[p] / kMergeOrderFile, &shape);
      if (shape != std::vector<std::int64_t>{stores[p].size(), 2})
        throw InputError((parts[p] / kMergeOrderFile).string() + ": expected " + std::to_string(stores[p].size()) +
                         " x 2 order keys, one per caption");
    }
    for (std::int64_t i = 0; i < stores[p].size(); ++i)
      order.push_back({keyed ? keys[2 * i] : 0, keyed ? keys[2 * i + 1] : 0, p, i});
  }
  if (keyed) {
    std::stable_sort(order.begin(), order.end(), [](const Source& a, const Source& b) {
      return a.position < b.position || (a.position == b.position && a.caption < b.caption);
    });
    for (std::size_t i = 1; i < order.size(); ++i)
      if (order[i].position == order[i - 1].position && order[i].caption == order[i - 1].caption)
        throw InputError(parts[order[i].part].string() + " and " + parts[order[i - 1].part].string() +
                         " both hold caption " + std::to_string(order[i].caption) + " of image " +
                         std::to_string(order[i].position) + " of the data set: the shards overlap");
  }

  std::filesystem::create_directories(dir);
  std::vector<nlohmann::json> records;
  records.reserve(order.size());
  for (const auto& source : order) records.push_back(stores[source.part].record(source.row));
  io::write_jsonl(dir / "captions.jsonl", records);

  io::NpyStreamWriter out(dir / "embeddings.npy", rows, cols);
  const std::size_t chunk = 16384;
  std::vector<float> buffer;
  for (std::size_t first = 0; first < order.size(); first += chunk) {
    const std::size_t m = std::min(chunk, order.size() - first);
    buffer.resize(m * static_cast<std::size_t>(cols));
    for (std::size_t r = 0; r < m; ++r) {
      const Source& source = order[first + r];
      const float* row = stores[source.part].embeddings() + source.row * cols;
      check_embedding_rows(row, 1, cols, (parts[source.part] / "embeddings.npy").string(), source.row);
      std::copy(row, row + cols, buffer.data() + r * static_cast<std::size_t>(cols));
    }
    out.append(buffer.data(), static_cast<std::int64_t>(m));
  }
  out.commit();
  return rows;
}

}  // namespace recap::retrieval
