#include "recap/retrieval/datastore.h"

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

Datastore Datastore::open(const std::filesystem::path& dir) {
  Datastore store;
  store.dir_ = dir;
  const auto captions_path = dir / "captions.jsonl";
  const auto embeddings_path = dir / "embeddings.npy";
  if (!std::filesystem::exists(captions_path) || !std::filesystem::exists(embeddings_path))
    throw InputError(dir.string() + ": not a datastore (expected captions.jsonl and embeddings.npy)");
  store.records_ = read_caption_records(captions_path);
  for (const auto& r : store.records_) store.captions_.push_back(r["caption"].get<std::string>());
  store.reader_ = std::make_unique<io::NpyMatrixReader>(embeddings_path);
  store.rows_ = store.reader_->rows();
  store.cols_ = store.reader_->cols();
  if (store.rows_ != static_cast<std::int64_t>(store.records_.size()))
    throw InputError(dir.string() + ": captions.jsonl has " + std::to_string(store.records_.size()) +
                     " captions but embeddings.npy has " + std::to_string(store.rows_) + " rows");
  store.embeddings_ = store.reader_->direct_rows(0);
  if (store.embeddings_ == nullptr) {
    store.converted_.resize(static_cast<std::size_t>(store.rows_ * store.cols_));
    store.reader_->read_rows(0, store.rows_, store.converted_.data());
    store.embeddings_ = store.converted_.data();
  }
  return store;
}

TopK Datastore::search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options) const {
  if (k > rows_)
    throw UsageError("k = " + std::to_string(k) + " is larger than the datastore " + dir_.string() + " (" +
                     std::to_string(rows_) + " captions)");
  return exact_top_k(queries, nq, embeddings_, rows_, cols_, k, options);
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
