#pragma once
// A run directory, the hand-off between recap-fit and every tool after it (README
// "Contracts"):
//   mapping.npy   W, d_img x d_txt float32, applied to row vectors
//   mapping.json  how W is applied ("normalize") and how it was fitted
//   run.json      provenance: tool, command, inputs
//   datastore/    the captions retrieved from and their text embeddings (optional)
// `Run` writes one (recap-fit) and opens one (recap-caption, recap-score, recap-dal); it
// is the only place that knows how an image embedding is aligned.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/align/fit.h"
#include "recap/io/matrix.h"
#include "recap/io/npy.h"
#include "recap/retrieval/datastore.h"

namespace recap::run {

class Run {
 public:
  // Opens and checks a run directory: InputError naming the folder and what is wrong.
  static Run open(const std::filesystem::path& dir);
  // A bare W (.npy) without a run around it, applied with the default rule (normalised
  // inputs); it has no datastore.
  static Run from_mapping_file(const std::filesystem::path& npy);

  const std::filesystem::path& dir() const { return dir_; }
  const io::FloatMatrix& mapping() const { return w_; }
  std::int64_t image_dim() const { return w_.rows; }
  std::int64_t text_dim() const { return w_.cols; }
  // Whether W was fitted on L2-normalised rows, so that inputs are normalised first.
  bool normalizes_inputs() const { return normalize_; }

  // ReCap's aligned embedding of image embeddings x (rows): normalize(normalize(x) @ W),
  // or normalize(x @ W) for a run fitted with --no-normalize. InputError on a dimension
  // mismatch, naming `source`.
  io::FloatMatrix align(io::FloatMatrix x, const std::string& source = "image embeddings") const;

  bool has_datastore() const;
  std::filesystem::path datastore_dir() const { return dir_ / "datastore"; }
  // The run's datastore (or `dir` instead of it), with `additions` layered on top
  // (retrieval::Datastore::open_layers), checked against W's output dimension. The run's
  // own datastore comes with the run's FAISS index attached when it has one (index/,
  // written by recap-index or recap-fit --index; read once, checked against the datastore).
  retrieval::Datastore open_datastore(const std::vector<std::filesystem::path>& additions = {},
                                      const std::filesystem::path& dir = {}) const;

  std::filesystem::path index_dir() const { return dir_ / "index"; }
  bool has_index() const;

  // run.json (null for a bare mapping), and a hash of W's bytes for resume settings.
  const nlohmann::json& provenance() const { return provenance_; }
  std::string mapping_hash() const;

 private:
  std::filesystem::path dir_, mapping_path_;
  io::FloatMatrix w_;
  bool normalize_ = true;
  nlohmann::json provenance_;
  mutable std::shared_ptr<const retrieval::FaissIndex> index_;  // read on first use
  mutable nlohmann::json index_identity_;
};

// The part of mapping.json that describes the fit: method, λ, the alignment rule
// ("normalize", "applied_as"), pairs, dimensions, residuals, solver, timings.
nlohmann::json describe_fit(const align::FitOptions& options, const align::FitReport& report);

// What recap-fit puts in a new run directory.
struct RunContents {
  const io::FloatMatrix* mapping = nullptr;
  nlohmann::json mapping_description;  // mapping.json; its "normalize" decides Run::align
  nlohmann::json provenance;           // run.json
  // The datastore: caption records and their (not yet normalised) text embeddings.
  const std::vector<nlohmann::json>* captions = nullptr;
  const io::NpyMatrixReader* text_embeddings = nullptr;
  // Or the datastores of shards (run/fit_shards.h), merged as they are, in this order.
  std::vector<std::filesystem::path> datastore_parts;
};

// Writes a run into `dir`, an empty folder (a staging folder the caller commits), and
// returns the seconds spent writing W and the datastore; mapping.json, written last,
// records them as "timings_s"."write" when it has a "timings_s" object.
double write_run(const std::filesystem::path& dir, const RunContents& contents);

}  // namespace recap::run
