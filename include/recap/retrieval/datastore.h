#pragma once
// The captions a ReCap model retrieves from: `captions.jsonl` (one JSON object per line
// with at least "caption"; other fields are kept) and `embeddings.npy` (their
// L2-normalised text embeddings, one row per caption, float32).
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/retrieval/exact_search.h"
#include "recap/retrieval/faiss_index.h"

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
  // Row i's caption and whole record. captions.jsonl is read when the datastore opens, but
  // a line is parsed (and checked: a JSON object with a non-empty, valid UTF-8 "caption")
  // only when asked for: retrieval reads a few captions per query, and parsing all 566,747
  // of a COCO datastore up front took 1.5 s of a 7 s retrieval run. A bad line is an
  // InputError naming the file and line.
  std::string caption(std::int64_t i) const;
  nlohmann::json record(std::int64_t i) const;
  // The embeddings of the base layer (its rows come first), contiguous float32. A file in
  // another type (float16) is converted into memory on the first call, or on the first
  // exact search when the copy is small enough (SearchOptions::convert_limit_bytes); a
  // search through an index never needs it (read_rows instead).
  const float* embeddings() const { return float_rows(layers_.front()); }
  // Copies base rows [first, first+count) as float32 into out, converting a float16 file
  // as it reads (memory-mapped: only these rows are paged in).
  void read_rows(std::int64_t first, std::int64_t count, float* out) const;
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
  // With an index attached and options.exact unset, the base layer is searched through the
  // index and any added layers exactly, merged (see attach_index).
  TopK search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options = {},
              const std::vector<std::vector<std::int64_t>>* excluded = nullptr) const;

  // Searches the base layer through `index` from now on (exact search stays one option
  // away: SearchOptions::exact). The index must hold exactly the base layer's rows and
  // dimension (InputError naming `source` otherwise). Added layers (DAL's captions) are not
  // in it: they change every iteration and are small next to the base, so they are
  // searched exactly and merged. Every candidate the index returns is rescored exactly
  // from the datastore's own rows, so the scores of both parts are comparable and exact;
  // the index decides only which rows are candidates. `identity` says which index it is,
  // for resume settings and provenance.
  void attach_index(std::shared_ptr<const FaissIndex> index, const std::string& source, nlohmann::json identity);
  bool has_index() const { return index_ != nullptr; }
  // What decides search()'s results beyond the datastore: null when it is exact, else the
  // index's identity and the nprobe / efSearch in effect.
  nlohmann::json search_settings(const SearchOptions& options) const;

 private:
  struct Layer {
    std::filesystem::path dir;
    std::unique_ptr<const std::string> captions_text;  // captions.jsonl as read (on the heap: `records` view it)
    std::vector<io::JsonlLine> records;                 // its non-blank lines, one per row
    std::unique_ptr<io::NpyMatrixReader> reader;
    mutable std::vector<float> converted;  // the float32 copy of a file in another type, made when first needed
    mutable const float* embeddings = nullptr;
    std::unique_ptr<std::once_flag> converting = std::make_unique<std::once_flag>();
    std::int64_t rows = 0, first_row = 0;
  };
  void add_layer(const std::filesystem::path& dir);
  static const float* float_rows(const Layer& layer);
  // Exact top-k of one layer, with the layer's own row numbers (see convert_limit_bytes).
  TopK layer_top_k(const Layer& layer, const float* queries, std::int64_t nq, std::int64_t k,
                   const SearchOptions& options) const;
  TopK segmented_top_k(const Layer& layer, const float* queries, std::int64_t nq, std::int64_t k,
                       const SearchOptions& options) const;
  TopK exact_search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                    const std::vector<std::vector<std::int64_t>>* excluded, std::size_t most_excluded) const;
  TopK index_search(const float* queries, std::int64_t nq, std::int64_t k, const SearchOptions& options,
                    const std::vector<std::vector<std::int64_t>>* excluded, std::size_t most_excluded) const;
  IndexSearchParams index_params(const SearchOptions& options) const;

  const Layer& layer_of(std::int64_t row) const;

  std::vector<Layer> layers_;
  // Built on the first rows_of_image call, from every record (DAL asks; captioning does not).
  struct ImageRows {
    std::once_flag built;
    std::map<std::string, std::vector<std::int64_t>> rows;  // key: the id's JSON text
  };
  std::unique_ptr<ImageRows> image_rows_ = std::make_unique<ImageRows>();
  std::int64_t rows_ = 0, cols_ = 0;
  std::shared_ptr<const FaissIndex> index_;
  nlohmann::json index_identity_;
};

// Writes datastore/ into `dir`: the records as JSONL and `text_embeddings` rows
// L2-normalised (streamed in chunks, so the embeddings are never all in memory).
void write_datastore(const std::filesystem::path& dir, const std::vector<nlohmann::json>& records,
                     const io::NpyMatrixReader& text_embeddings);

}  // namespace recap::retrieval
