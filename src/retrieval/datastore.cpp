#include "recap/retrieval/datastore.h"

#include <algorithm>

#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/io/json_file.h"
#include "recap/text/clip_text.h"

namespace recap::retrieval {
namespace {

nlohmann::json to_record(const nlohmann::json& value, const std::string& where) {
  nlohmann::json record;
  if (value.is_string()) {
    record = {{"caption", value}};
  } else if (value.is_object() && value.contains("caption") && value["caption"].is_string()) {
    record = value;
  } else {
    throw InputError(where + ": expected a caption string or an object with a \"caption\" string");
  }
  const std::string& text = record["caption"].get_ref<const std::string&>();
  // The same checks recap-embed makes on the same file: invalid UTF-8 is refused, never
  // turned into U+FFFD when the datastore is written.
  text::check_utf8(text, where);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw InputError(where + ": empty caption");
  return record;
}

}  // namespace

std::vector<nlohmann::json> read_caption_records(const std::filesystem::path& path) {
  const std::string name = path.string();
  const std::string ext = path.extension().string();
  std::vector<nlohmann::json> records;
  if (ext == ".jsonl") {
    const auto values = io::read_jsonl(path);
    for (std::size_t i = 0; i < values.size(); ++i)
      records.push_back(to_record(values[i], name + ": record " + std::to_string(i + 1)));
  } else if (ext == ".json") {
    const nlohmann::json doc = io::read_json(path);
    const nlohmann::json* list = &doc;
    if (doc.is_object() && doc.contains("annotations")) list = &doc["annotations"];
    if (!list->is_array())
      throw InputError(name + ": expected a JSON array of captions or COCO annotations {\"annotations\": [...]}");
    for (std::size_t i = 0; i < list->size(); ++i)
      records.push_back(to_record((*list)[i], name + ": entry " + std::to_string(i)));
  } else if (ext == ".txt") {
    const auto lines = io::read_lines(path);
    for (std::size_t i = 0; i < lines.size(); ++i)
      records.push_back(to_record(lines[i], name + ":" + std::to_string(i + 1)));
  } else {
    throw InputError(name + ": unknown caption file type '" + ext + "' (use .jsonl, .json or .txt)");
  }
  return records;
}

Datastore Datastore::open(const std::filesystem::path& dir) { return open_layers({dir}); }

Datastore Datastore::open_layers(const std::vector<std::filesystem::path>& dirs) {
  if (dirs.empty()) throw Error(ExitCode::internal, "Datastore::open_layers: no layers");
  Datastore store;
  for (const auto& dir : dirs) store.add_layer(dir);
  return store;
}

void Datastore::add_layer(const std::filesystem::path& dir) {
  const auto captions_path = dir / "captions.jsonl";
  const auto embeddings_path = dir / "embeddings.npy";
  if (!std::filesystem::exists(captions_path) || !std::filesystem::exists(embeddings_path))
    throw InputError(dir.string() + ": not a datastore (expected captions.jsonl and embeddings.npy)");
  auto records = read_caption_records(captions_path);
  Layer layer;
  layer.dir = dir;
  layer.reader = std::make_unique<io::NpyMatrixReader>(embeddings_path);
  layer.rows = layer.reader->rows();
  layer.first_row = rows_;
  if (layer.rows != static_cast<std::int64_t>(records.size()))
    throw InputError(dir.string() + ": captions.jsonl has " + std::to_string(records.size()) +
                     " captions but embeddings.npy has " + std::to_string(layer.rows) + " rows");
  if (!layers_.empty() && layer.reader->cols() != cols_)
    throw InputError(dir.string() + ": embeddings have dimension " + std::to_string(layer.reader->cols()) +
                     " but the datastore it extends (" + layers_.front().dir.string() + ") has " + std::to_string(cols_));
  cols_ = layer.reader->cols();
  layer.embeddings = layer.reader->direct_rows(0);
  if (layer.embeddings == nullptr) {
    layer.converted.resize(static_cast<std::size_t>(layer.rows * cols_));
    layer.reader->read_rows(0, layer.rows, layer.converted.data());
    layer.embeddings = layer.converted.data();
  }
  for (auto& r : records) {
    if (r.contains("image_id")) rows_by_image_[r["image_id"].dump()].push_back(static_cast<std::int64_t>(captions_.size()));
    captions_.push_back(r["caption"].get<std::string>());
    records_.push_back(std::move(r));
  }
  rows_ += layer.rows;
  layers_.push_back(std::move(layer));
}

std::vector<std::filesystem::path> Datastore::layer_dirs() const {
  std::vector<std::filesystem::path> dirs;
  for (const auto& layer : layers_) dirs.push_back(layer.dir);
  return dirs;
}

const std::vector<std::int64_t>& Datastore::rows_of_image(const nlohmann::json& id) const {
  static const std::vector<std::int64_t> none;
  const auto it = rows_by_image_.find(id.dump());
  return it == rows_by_image_.end() ? none : it->second;
}

void Datastore::check_k(std::int64_t k, std::size_t most_excluded) const {
  if (k + static_cast<std::int64_t>(most_excluded) <= rows_) return;
  throw UsageError("k = " + std::to_string(k) + " is larger than the datastore " + dir().string() + " (" +
                   std::to_string(rows_) + " captions" +
                   (most_excluded ? ", " + std::to_string(most_excluded) + " of them excluded for an image" : "") + ")");
}

TopK Datastore::search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                       const std::vector<std::vector<std::int64_t>>* excluded) const {
  std::size_t most_excluded = 0;
  if (excluded != nullptr) {
    if (static_cast<std::int64_t>(excluded->size()) != nq) throw Error(ExitCode::internal, "search: one exclusion list per query");
    for (const auto& e : *excluded) most_excluded = std::max(most_excluded, e.size());
  }
  check_k(k, most_excluded);
  if (layers_.size() == 1 && most_excluded == 0)
    return exact_top_k(queries, nq, layers_.front().embeddings, rows_, cols_, k, options);

  // Each layer's top (k + the most any query excludes), merged per query: every row that
  // could be among a query's k best once its exclusions are gone is among these.
  struct Hit {
    float score;
    std::int64_t row;
  };
  std::vector<std::vector<Hit>> hits(static_cast<std::size_t>(nq));
  TopK merged;
  for (const auto& layer : layers_) {
    const std::int64_t kl = std::min(layer.rows, k + static_cast<std::int64_t>(most_excluded));
    const TopK top = exact_top_k(queries, nq, layer.embeddings, layer.rows, cols_, kl, options);
    if (merged.kernel.empty()) merged.kernel = top.kernel;
    for (std::int64_t q = 0; q < nq; ++q)
      for (std::int64_t j = 0; j < kl; ++j) hits[q].push_back({top.scores_of(q)[j], layer.first_row + top.ids_of(q)[j]});
  }
  merged.queries = nq;
  merged.k = k;
  for (std::int64_t q = 0; q < nq; ++q) {
    auto& list = hits[q];
    if (excluded != nullptr) {
      const auto& out = (*excluded)[q];
      list.erase(std::remove_if(list.begin(), list.end(),
                                [&](const Hit& h) { return std::find(out.begin(), out.end(), h.row) != out.end(); }),
                 list.end());
    }
    std::stable_sort(list.begin(), list.end(),
                     [](const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.row < b.row); });
    for (std::int64_t j = 0; j < k; ++j) {
      merged.ids.push_back(list[j].row);
      merged.scores.push_back(list[j].score);
    }
  }
  return merged;
}

void write_datastore(const std::filesystem::path& dir, const std::vector<nlohmann::json>& records,
                     const io::NpyMatrixReader& text_embeddings) {
  if (static_cast<std::int64_t>(records.size()) != text_embeddings.rows())
    throw InputError(text_embeddings.path().string() + " has " + std::to_string(text_embeddings.rows()) +
                     " rows but " + std::to_string(records.size()) + " captions were given");
  std::filesystem::create_directories(dir);
  io::write_jsonl(dir / "captions.jsonl", records);

  const std::int64_t rows = text_embeddings.rows(), cols = text_embeddings.cols();
  io::NpyStreamWriter out(dir / "embeddings.npy", rows, cols);
  const std::int64_t chunk = 16384;
  std::vector<float> buffer(static_cast<std::size_t>(chunk * cols));
  for (std::int64_t start = 0; start < rows; start += chunk) {
    const std::int64_t m = std::min(chunk, rows - start);
    text_embeddings.read_rows(start, m, buffer.data());
    check_embedding_rows(buffer.data(), m, cols, text_embeddings.path().string(), start);
    normalize_rows(buffer.data(), m, cols);
    out.append(buffer.data(), m);
    text_embeddings.release_rows(start, m);
  }
  out.commit();
}

}  // namespace recap::retrieval
