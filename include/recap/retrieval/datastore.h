#pragma once
// The captions a ReCap model retrieves from: `captions.jsonl` (one JSON object per line
// with at least "caption"; other fields are kept) and `embeddings.npy` (their
// L2-normalised text embeddings, one row per caption, float32).
#include <cstdint>
#include <filesystem>
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

  std::int64_t size() const { return rows_; }
  std::int64_t dim() const { return cols_; }
  const std::string& caption(std::int64_t i) const { return captions_[static_cast<std::size_t>(i)]; }
  const nlohmann::json& record(std::int64_t i) const { return records_[static_cast<std::size_t>(i)]; }
  const float* embeddings() const { return embeddings_; }
  const std::filesystem::path& dir() const { return dir_; }

  // Top-k captions for each (normalised) query row.
  TopK search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options = {}) const;

 private:
  std::filesystem::path dir_;
  std::vector<nlohmann::json> records_;
  std::vector<std::string> captions_;
  std::unique_ptr<io::NpyMatrixReader> reader_;
  std::vector<float> converted_;  // used when the file is not float32
  const float* embeddings_ = nullptr;
  std::int64_t rows_ = 0, cols_ = 0;
};

// Writes datastore/ into `dir`: the records as JSONL and `text_embeddings` rows
// L2-normalised (streamed in chunks, so the embeddings are never all in memory).
void write_datastore(const std::filesystem::path& dir, const std::vector<nlohmann::json>& records,
                     const io::NpyMatrixReader& text_embeddings);

}  // namespace recap::retrieval
