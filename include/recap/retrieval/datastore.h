#pragma once
// The captions a ReCap model retrieves from: `captions.jsonl` (one JSON object per line
// with at least "caption"; other fields are kept) and `embeddings.npy` (their
// L2-normalised text embeddings, one row per caption, float32).
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recap/io/npy.h"
#include "recap/retrieval/exact_search.h"

namespace recap::retrieval {

// Reads caption records from .jsonl (objects with "caption", or bare strings), .json (an
// array of strings/objects, or COCO annotations {"annotations": [...]}) or .txt (one per
// line). Every record gets a string "caption"; empty captions are an InputError.
std::vector<nlohmann::json> read_caption_records(const std::filesystem::path& path);

class Datastore {
 public:
  // Opens `dir` (memory-maps the embeddings) and checks captions and rows agree.
  static Datastore open(const std::filesystem::path& dir);
  // A base datastore and additions on top of it (DAL's captions), searched as one: rows
  // are numbered base first, then each addition in order. Each layer stays in its own
  // folder, so a new version of a datastore never copies the base. All layers must have
  // the same dimension.
  static Datastore open_layers(const std::vector<std::filesystem::path>& dirs);

  std::int64_t size() const { return rows_; }
  std::int64_t dim() const { return cols_; }
  const std::string& caption(std::int64_t i) const { return captions_[static_cast<std::size_t>(i)]; }
  const nlohmann::json& record(std::int64_t i) const { return records_[static_cast<std::size_t>(i)]; }
  // The embeddings of the base layer (its rows come first), contiguous.
  const float* embeddings() const { return layers_.front().embeddings; }
  std::int64_t base_size() const { return layers_.front().rows; }
  const std::filesystem::path& dir() const { return layers_.front().dir; }
  std::vector<std::filesystem::path> layer_dirs() const;

  // The rows whose record's "image_id" is `id`: an image's reference captions, and the
  // captions DAL wrote for it. Empty when none.
  const std::vector<std::int64_t>& rows_of_image(const nlohmann::json& id) const;

  // Top-k captions for each (normalised) query row, best first, ties to the lower row.
  // `excluded`, when given, lists per query the rows it must not retrieve (k more rows are
  // then left after removing them, or UsageError).
  // UsageError unless k captions are left for every query after removing up to
  // `most_excluded` rows: the one check of k against the datastore's size.
  void check_k(std::int64_t k, std::size_t most_excluded = 0) const;
  TopK search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options = {},
              const std::vector<std::vector<std::int64_t>>* excluded = nullptr) const;

 private:
  struct Layer {
    std::filesystem::path dir;
    std::unique_ptr<io::NpyMatrixReader> reader;
    std::vector<float> converted;  // used when the file is not float32
    const float* embeddings = nullptr;
    std::int64_t rows = 0, first_row = 0;
  };
  void add_layer(const std::filesystem::path& dir);

  std::vector<Layer> layers_;
  std::vector<nlohmann::json> records_;
  std::vector<std::string> captions_;
  std::map<std::string, std::vector<std::int64_t>> rows_by_image_;  // key: the id's JSON text
  std::int64_t rows_ = 0, cols_ = 0;
};

// Writes datastore/ into `dir`: the records as JSONL and `text_embeddings` rows
// L2-normalised (streamed in chunks, so the embeddings are never all in memory).
void write_datastore(const std::filesystem::path& dir, const std::vector<nlohmann::json>& records,
                     const io::NpyMatrixReader& text_embeddings);

}  // namespace recap::retrieval
