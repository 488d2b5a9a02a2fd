#include "recap/run/run.h"

#include "recap/align/linear_map.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/stopwatch.h"
#include "recap/io/json_file.h"
#include "recap/io/provenance.h"
#include "recap/retrieval/index_files.h"
#include "recap/retrieval/datastore_merge.h"

namespace fs = std::filesystem;

namespace recap::run {

Run Run::open(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw InputError(dir.string() + ": not a run directory (recap-fit --out makes one)");
  Run run;
  run.dir_ = dir;
  run.mapping_path_ = dir / "mapping.npy";
  run.w_ = align::load_mapping(dir.string());
  // Runs written before mapping.json existed were all fitted on normalised rows.
  if (fs::exists(dir / "mapping.json")) {
    const auto description = io::read_json(dir / "mapping.json");
    if (!description.is_object()) throw InputError((dir / "mapping.json").string() + ": expected a JSON object");
    const auto normalize = description.value("normalize", nlohmann::json(true));
    if (!normalize.is_boolean()) throw InputError((dir / "mapping.json").string() + ": \"normalize\" must be true or false");
    run.normalize_ = normalize.get<bool>();
  }
  if (fs::exists(dir / "run.json")) run.provenance_ = io::read_json(dir / "run.json");
  return run;
}

Run Run::from_mapping_file(const fs::path& npy) {
  Run run;
  run.dir_ = npy.parent_path();
  run.mapping_path_ = npy;
  run.w_ = align::load_mapping(npy.string());
  return run;
}

io::FloatMatrix Run::align(io::FloatMatrix x, const std::string& source) const {
  if (x.cols != w_.rows)
    throw InputError(source + ": embeddings have dimension " + std::to_string(x.cols) + " but the run's mapping expects " +
                     std::to_string(w_.rows));
  if (normalize_) normalize_rows(x);
  return align::apply_map(x, w_, true);
}

bool Run::has_index() const { return fs::exists(index_dir() / retrieval::kIndexFile); }

bool Run::has_datastore() const { return fs::exists(datastore_dir() / "captions.jsonl"); }

retrieval::Datastore Run::open_datastore(const std::vector<fs::path>& additions, const fs::path& dir) const {
  fs::path base = dir;
  if (base.empty()) {
    if (!has_datastore())
      throw InputError(dir_.string() + ": run has no datastore (fit without --captions); pass --datastore DIR");
    base = datastore_dir();
  }
  std::vector<fs::path> layers{base};
  layers.insert(layers.end(), additions.begin(), additions.end());
  auto store = retrieval::Datastore::open_layers(layers);
  if (store.dim() != w_.cols)
    throw InputError(base.string() + ": datastore embeddings have dimension " + std::to_string(store.dim()) +
                     " but the mapping produces " + std::to_string(w_.cols));
  // The index describes the run's own datastore only; another one given instead is searched exactly.
  std::error_code ec;
  if (has_index() && fs::equivalent(base, datastore_dir(), ec)) {
    if (!index_) {
      auto stored = retrieval::read_index_folder(index_dir(), datastore_dir());
      index_identity_ = {{"factory", stored.manifest["factory"]}, {"built", stored.manifest.value("built", "")},
                         {"file", stored.manifest.value("file", nlohmann::json())}};
      index_ = std::move(stored.index);
    }
    store.attach_index(index_, (index_dir() / retrieval::kIndexFile).string(), index_identity_);
  }
  return store;
}

std::string Run::mapping_hash() const { return io::file_hash(mapping_path_); }

nlohmann::json describe_fit(const align::FitOptions& options, const align::FitReport& report) {
  return {{"method", align::method_name(options.method)},
          {"lambda", options.lambda},
          {"normalize", options.normalize},
          {"applied_as", options.normalize ? "aligned = normalize(normalize(x) @ W)" : "aligned = normalize(x @ W)"},
          {"pairs", report.pairs},
          {"image_dim", report.x_dim},
          {"text_dim", report.y_dim},
          {"residual", {{"sum", report.residual}, {"mean", report.mean_residual}, {"relative", report.relative_residual}}},
          {"rcond", report.rcond},
          {"solver", report.solver},
          {"timings_s", {{"read_and_accumulate", report.seconds_accumulate}, {"solve", report.seconds_solve},
                         {"write", 0.0}}}};  // write_run fills in the time writing took
}

double write_run(const fs::path& dir, const RunContents& contents) {
  Stopwatch clock;
  io::write_npy(dir / "mapping.npy", *contents.mapping);
  if (contents.text_embeddings != nullptr)
    retrieval::write_datastore(dir / "datastore", *contents.captions, *contents.text_embeddings);
  else if (!contents.datastore_parts.empty())
    retrieval::merge_datastores(dir / "datastore", contents.datastore_parts);
  const double seconds = clock.seconds();
  nlohmann::json description = contents.mapping_description;
  if (description.contains("timings_s")) description["timings_s"]["write"] = seconds;
  io::write_json(dir / "mapping.json", description);
  io::write_json(dir / "run.json", contents.provenance);
  return seconds;
}

}  // namespace recap::run
