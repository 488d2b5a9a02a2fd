#include "recap/retrieval/datastore.h"

#include <algorithm>

#include "recap/common/error.h"
#include "recap/common/parallel.h"
#include "recap/common/rows.h"
#include "recap/io/json_file.h"
#include "recap/text/clip_text.h"
#include "screened_search.h"

namespace recap::retrieval {
namespace {

nlohmann::json to_record(nlohmann::json value, const std::string& where) {
  nlohmann::json record;
  if (value.is_string()) {
    record = {{"caption", std::move(value)}};
  } else if (value.is_object() && value.contains("caption") && value["caption"].is_string()) {
    record = std::move(value);
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
    auto values = io::read_jsonl(path);
    records.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
      records.push_back(to_record(std::move(values[i]), name + ": record " + std::to_string(i + 1)));
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
  Layer layer;
  layer.dir = dir;
  layer.captions_text = std::make_unique<const std::string>(io::read_file(captions_path));
  layer.records = io::jsonl_lines(*layer.captions_text);
  layer.reader = std::make_unique<io::NpyMatrixReader>(embeddings_path);
  layer.rows = layer.reader->rows();
  layer.first_row = rows_;
  if (layer.rows != static_cast<std::int64_t>(layer.records.size()))
    throw InputError(dir.string() + ": captions.jsonl has " + std::to_string(layer.records.size()) +
                     " captions but embeddings.npy has " + std::to_string(layer.rows) + " rows");
  if (!layers_.empty() && layer.reader->cols() != cols_)
    throw InputError(dir.string() + ": embeddings have dimension " + std::to_string(layer.reader->cols()) +
                     " but the datastore it extends (" + layers_.front().dir.string() + ") has " + std::to_string(cols_));
  cols_ = layer.reader->cols();
  // float32 is used in place; another type (float16) stays mapped until a whole-layer
  // float32 copy is needed (float_rows), which a search through an index never needs.
  layer.embeddings = layer.reader->direct_rows(0);
  rows_ += layer.rows;
  layers_.push_back(std::move(layer));
}

std::vector<std::filesystem::path> Datastore::layer_dirs() const {
  std::vector<std::filesystem::path> dirs;
  for (const auto& layer : layers_) dirs.push_back(layer.dir);
  return dirs;
}

const Datastore::Layer& Datastore::layer_of(std::int64_t row) const {
  if (row < 0 || row >= rows_) throw Error(ExitCode::internal, "Datastore: row " + std::to_string(row) + " out of range");
  auto it = std::upper_bound(layers_.begin(), layers_.end(), row,
                             [](std::int64_t r, const Layer& layer) { return r < layer.first_row; });
  return *(it - 1);
}

nlohmann::json Datastore::record(std::int64_t i) const {
  const Layer& layer = layer_of(i);
  const io::JsonlLine& line = layer.records[static_cast<std::size_t>(i - layer.first_row)];
  const auto where = [&] { return (layer.dir / "captions.jsonl").string() + ":" + std::to_string(line.number); };
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(line.text.begin(), line.text.end());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where() + ": invalid JSON (" + std::string(e.what()) + ")");
  }
  // The checks' messages start with ": ", after the place, which is spelled out only for an error.
  try {
    return to_record(std::move(value), "");
  } catch (const InputError& e) {
    throw InputError(where() + e.what());
  }
}

std::string Datastore::caption(std::int64_t i) const { return record(i)["caption"].get<std::string>(); }

const std::vector<std::int64_t>& Datastore::rows_of_image(const nlohmann::json& id) const {
  std::call_once(image_rows_->built, [this] {
    // Every record parsed, on all cores; then the rows listed by id, in row order.
    std::vector<std::string> ids(static_cast<std::size_t>(rows_));
    parallel_ranges(rows_, 0, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const auto r = record(i);
        if (r.contains("image_id")) ids[static_cast<std::size_t>(i)] = r["image_id"].dump();
      }
    });
    for (std::int64_t i = 0; i < rows_; ++i)
      if (!ids[static_cast<std::size_t>(i)].empty()) image_rows_->rows[ids[static_cast<std::size_t>(i)]].push_back(i);
  });
  static const std::vector<std::int64_t> none;
  const auto it = image_rows_->rows.find(id.dump());
  return it == image_rows_->rows.end() ? none : it->second;
}

void Datastore::check_k(std::int64_t k, std::size_t most_excluded) const {
  if (k + static_cast<std::int64_t>(most_excluded) <= rows_) return;
  throw UsageError("k = " + std::to_string(k) + " is larger than the datastore " + dir().string() + " (" +
                   std::to_string(rows_) + " captions" +
                   (most_excluded ? ", " + std::to_string(most_excluded) + " of them excluded for an image" : "") + ")");
}

const float* Datastore::float_rows(const Layer& layer) {
  std::call_once(*layer.converting, [&layer] {
    if (layer.embeddings != nullptr) return;
    layer.converted.resize(static_cast<std::size_t>(layer.rows * layer.reader->cols()));
    layer.reader->read_rows(0, layer.rows, layer.converted.data());
    layer.embeddings = layer.converted.data();
  });
  return layer.embeddings;
}

void Datastore::read_rows(std::int64_t first, std::int64_t count, float* out) const {
  const Layer& base = layers_.front();
  if (first < 0 || count < 0 || first + count > base.rows)
    throw Error(ExitCode::internal, "Datastore::read_rows: rows out of range");
  if (base.embeddings != nullptr) std::copy_n(base.embeddings + first * cols_, count * cols_, out);
  else base.reader->read_rows(first, count, out);
}

namespace {

struct Hit {
  float score;
  std::int64_t row;
};

// Per query: drops its excluded rows, orders the rest by score (ties to the lower row) and
// keeps the first k into `out`. Returns false when fewer than k are left.
bool keep_best(std::vector<Hit>& list, const std::vector<std::int64_t>* out_rows, std::int64_t k, TopK& out) {
  if (out_rows != nullptr)
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Hit& h) { return std::find(out_rows->begin(), out_rows->end(), h.row) != out_rows->end(); }),
               list.end());
  if (static_cast<std::int64_t>(list.size()) < k) return false;
  std::stable_sort(list.begin(), list.end(),
                   [](const Hit& a, const Hit& b) { return a.score > b.score || (a.score == b.score && a.row < b.row); });
  for (std::int64_t j = 0; j < k; ++j) {
    out.ids.push_back(list[j].row);
    out.scores.push_back(list[j].score);
  }
  return true;
}

}  // namespace

TopK Datastore::search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                       const std::vector<std::vector<std::int64_t>>* excluded) const {
  std::size_t most_excluded = 0;
  if (excluded != nullptr) {
    if (static_cast<std::int64_t>(excluded->size()) != nq) throw Error(ExitCode::internal, "search: one exclusion list per query");
    for (const auto& e : *excluded) most_excluded = std::max(most_excluded, e.size());
  }
  check_k(k, most_excluded);
  if (index_ != nullptr && !options.exact) return index_search(queries, nq, k, options, excluded, most_excluded);
  if (options.nprobe > 0 || options.ef_search > 0)
    throw UsageError(dir().string() + ": --nprobe and --ef-search apply to a FAISS index, and this datastore is searched "
                     "exactly (build an index with recap-index, or drop the flags)");
  return exact_search(queries, nq, k, options, excluded, most_excluded);
}

TopK Datastore::exact_search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                             const std::vector<std::vector<std::int64_t>>* excluded, std::size_t most_excluded) const {
  if (layers_.size() == 1 && most_excluded == 0) return layer_top_k(layers_.front(), queries, nq, k, options);

  // Each layer's top (k + the most any query excludes), merged per query: every row that
  // could be among a query's k best once its exclusions are gone is among these.
  std::vector<std::vector<Hit>> hits(static_cast<std::size_t>(nq));
  TopK merged;
  for (const auto& layer : layers_) {
    const std::int64_t kl = std::min(layer.rows, k + static_cast<std::int64_t>(most_excluded));
    const TopK top = layer_top_k(layer, queries, nq, kl, options);
    if (merged.kernel.empty()) merged.kernel = top.kernel;
    for (std::int64_t q = 0; q < nq; ++q)
      for (std::int64_t j = 0; j < kl; ++j) hits[q].push_back({top.scores_of(q)[j], layer.first_row + top.ids_of(q)[j]});
  }
  merged.queries = nq;
  merged.k = k;
  for (std::int64_t q = 0; q < nq; ++q)
    if (!keep_best(hits[q], excluded != nullptr ? &(*excluded)[q] : nullptr, k, merged))
      throw Error(ExitCode::internal, "search: fewer than k rows left after exclusions");
  return merged;
}

TopK Datastore::layer_top_k(const Layer& layer, const float* queries, std::int64_t nq, std::int64_t k,
                            const SearchOptions& options) const {
  const double copy_bytes = static_cast<double>(layer.rows) * static_cast<double>(cols_) * sizeof(float);
  if (layer.embeddings != nullptr || copy_bytes <= static_cast<double>(options.convert_limit_bytes))
    return exact_top_k(queries, nq, float_rows(layer), layer.rows, cols_, k, options);
  return segmented_top_k(layer, queries, nq, k, options);
}

TopK Datastore::segmented_top_k(const Layer& layer, const float* queries, std::int64_t nq, std::int64_t k,
                                const SearchOptions& options) const {
  // Segments of at most 512 MiB of float32 (or the limit, if smaller), and at least k rows.
  const std::int64_t segment_bytes = std::min<std::int64_t>(options.convert_limit_bytes, std::int64_t{512} << 20);
  const std::int64_t segment = std::max(k, segment_bytes / (cols_ * static_cast<std::int64_t>(sizeof(float))));
  std::vector<float> rows(static_cast<std::size_t>(std::min(segment, layer.rows) * cols_));
  // Per query, the best k so far as (float64 score, layer row): each segment's top k is
  // the only part of it that can be in the layer's top k. Ranked by exact_dot, the score
  // exact_top_k ranks by, so the segments merge as one search over the layer would.
  using Scored = std::pair<double, std::int64_t>;
  std::vector<std::vector<Scored>> best(static_cast<std::size_t>(nq));
  const auto better = [](const Scored& a, const Scored& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::string kernel;
  const int threads = resolve_threads(options.threads);
  for (std::int64_t first = 0; first < layer.rows; first += segment) {
    const std::int64_t n = std::min(segment, layer.rows - first);
    // Converted on every thread: a single-query search is mostly this conversion.
    parallel_ranges(n, threads, [&](std::int64_t begin, std::int64_t end) {
      layer.reader->read_rows(first + begin, end - begin, rows.data() + begin * cols_);
    });
    layer.reader->release_rows(first, n);  // the file's pages: only this segment is resident
    const TopK top = exact_top_k(queries, nq, rows.data(), n, cols_, std::min(k, n), options, layer.rows);
    kernel = top.kernel;
    for (std::int64_t q = 0; q < nq; ++q) {
      auto& list = best[static_cast<std::size_t>(q)];
      for (std::int64_t j = 0; j < top.k; ++j) {
        const std::int64_t row = top.ids_of(q)[j];
        list.emplace_back(exact_dot(queries + q * cols_, rows.data() + row * cols_, cols_), first + row);
      }
      std::sort(list.begin(), list.end(), better);
      if (static_cast<std::int64_t>(list.size()) > k) list.resize(static_cast<std::size_t>(k));
    }
  }
  TopK merged;
  merged.kernel = kernel + "; " + io::dtype_name(layer.reader->dtype()) + " rows converted a segment of " +
                  std::to_string(segment) + " at a time";
  merged.queries = nq;
  merged.k = k;
  for (const auto& list : best)
    for (const auto& [score, row] : list) {
      merged.ids.push_back(row);
      merged.scores.push_back(static_cast<float>(score));
    }
  return merged;
}

IndexSearchParams Datastore::index_params(const SearchOptions& options) const {
  IndexSearchParams params = index_->search_defaults();
  if (options.nprobe > 0) params.nprobe = options.nprobe;
  if (options.ef_search > 0) params.ef_search = options.ef_search;
  params.threads = options.threads;
  return params;
}

TopK Datastore::index_search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                             const std::vector<std::vector<std::int64_t>>* excluded, std::size_t most_excluded) const {
  const Layer& base = layers_.front();
  const std::int64_t wanted = k + static_cast<std::int64_t>(most_excluded);
  // Twice the rows a query can need, rescored exactly: cheap next to the index's own work,
  // and it lets rows whose compressed (PQ) scores rank them just outside the top k back in.
  const std::int64_t candidates = std::min(base.rows, 2 * wanted);
  const IndexSearchParams params = index_params(options);
  std::vector<std::int64_t> ids;
  std::vector<float> approximate;
  index_->search(queries, nq, candidates, params, ids, approximate);

  std::vector<std::vector<Hit>> hits(static_cast<std::size_t>(nq));
  std::vector<float> row(static_cast<std::size_t>(cols_));
  for (std::int64_t q = 0; q < nq; ++q) {
    const float* query = queries + q * cols_;
    for (std::int64_t j = 0; j < candidates; ++j) {
      const std::int64_t id = ids[static_cast<std::size_t>(q * candidates + j)];
      if (id < 0) continue;  // the visited cells held fewer rows
      const float* values = base.embeddings != nullptr ? base.embeddings + id * cols_ : row.data();
      if (base.embeddings == nullptr) base.reader->read_rows(id, 1, row.data());
      hits[q].push_back({static_cast<float>(exact_dot(query, values, cols_)), id});
    }
  }
  // Added layers are exact, as in exact_search.
  for (std::size_t l = 1; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    const std::int64_t kl = std::min(layer.rows, wanted);
    const TopK top = layer_top_k(layer, queries, nq, kl, options);
    for (std::int64_t q = 0; q < nq; ++q)
      for (std::int64_t j = 0; j < kl; ++j) hits[q].push_back({top.scores_of(q)[j], layer.first_row + top.ids_of(q)[j]});
  }

  TopK merged;
  merged.kernel = "FAISS " + index_->describe() +
                  (params.nprobe > 0 ? ", nprobe " + std::to_string(params.nprobe) : std::string()) +
                  (params.ef_search > 0 ? ", efSearch " + std::to_string(params.ef_search) : std::string()) +
                  ", candidates rescored exactly" + (layers_.size() > 1 ? "; added layers exact" : "");
  merged.queries = nq;
  merged.k = k;
  for (std::int64_t q = 0; q < nq; ++q) {
    const auto* out_rows = excluded != nullptr ? &(*excluded)[q] : nullptr;
    if (keep_best(hits[q], out_rows, k, merged)) continue;
    // The cells an IVF index visited held fewer than k rows for this query: it is searched
    // exactly instead, so a caption never comes back short.
    std::vector<std::vector<std::int64_t>> one;
    if (out_rows != nullptr) one.push_back(*out_rows);
    const TopK exact = exact_search(queries + q * cols_, 1, k, options, out_rows != nullptr ? &one : nullptr,
                                    out_rows != nullptr ? out_rows->size() : 0);
    merged.ids.insert(merged.ids.end(), exact.ids.begin(), exact.ids.end());
    merged.scores.insert(merged.scores.end(), exact.scores.begin(), exact.scores.end());
  }
  return merged;
}

void Datastore::attach_index(std::shared_ptr<const FaissIndex> index, const std::string& source, nlohmann::json identity) {
  const Layer& base = layers_.front();
  if (index->rows() != base.rows || index->dim() != cols_)
    throw InputError(source + ": the index holds " + std::to_string(index->rows()) + " rows of dimension " +
                     std::to_string(index->dim()) + " but the datastore " + base.dir.string() + " has " +
                     std::to_string(base.rows) + " of dimension " + std::to_string(cols_) +
                     " (rebuild it: recap-index --force)");
  index_ = std::move(index);
  index_identity_ = std::move(identity);
}

nlohmann::json Datastore::search_settings(const SearchOptions& options) const {
  if (index_ == nullptr || options.exact) return nullptr;
  const IndexSearchParams params = index_params(options);
  return {{"index", index_identity_}, {"nprobe", params.nprobe}, {"ef_search", params.ef_search}};
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
