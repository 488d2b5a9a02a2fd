#include "recap/run/run_index.h"

#include <algorithm>

#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/common/stopwatch.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/provenance.h"
#include "recap/retrieval/index_files.h"

namespace fs = std::filesystem;

namespace recap::run {
namespace {

// Up to `count` rows evenly spaced over an image-embedding file, aligned with W.
io::FloatMatrix aligned_sample(const Run& run, const fs::path& file, std::int64_t count) {
  const io::NpyMatrixReader reader(file);
  if (reader.cols() != run.image_dim())
    throw InputError(file.string() + ": image embeddings have dimension " + std::to_string(reader.cols()) +
                     " but the run's mapping expects " + std::to_string(run.image_dim()));
  count = std::min(count, reader.rows());
  io::FloatMatrix x(count, reader.cols());
  for (std::int64_t i = 0; i < count; ++i)
    reader.read_rows(static_cast<std::int64_t>(static_cast<double>(i) * static_cast<double>(reader.rows()) /
                                               static_cast<double>(count)),
                     1, x.row(i));
  check_embedding_rows(x, file.string());
  return run.align(std::move(x), file.string());
}

// The image embeddings recap-fit recorded in run.json, if that file still holds W's inputs.
fs::path recorded_image_embeddings(const Run& run) {
  const auto& provenance = run.provenance();
  if (!provenance.is_object() || !provenance.contains("inputs")) return {};
  const auto& inputs = provenance["inputs"];
  if (!inputs.is_object() || !inputs.contains("image_embeddings") || !inputs["image_embeddings"].is_object()) return {};
  const fs::path file = inputs["image_embeddings"].value("path", std::string());
  if (file.empty() || !fs::is_regular_file(file)) return {};
  try {
    if (io::NpyMatrixReader(file).cols() != run.image_dim()) return {};
  } catch (const Error&) {
    return {};
  }
  return file;
}

}  // namespace

RunIndexResult build_run_index(const Run& run, const RunIndexOptions& options) {
  if (run.has_index() && !options.force)
    throw UsageError(run.index_dir().string() + ": the run has an index already; pass --force to replace it");
  if (!run.has_datastore())
    throw InputError(run.dir().string() + ": run has no datastore to index (fit with --captions)");
  io::StagingDirectory staging(run.index_dir(), options.force);
  // Opened without the run's index: the old one (which --force replaces) may be what is broken.
  auto store = retrieval::Datastore::open(run.datastore_dir());
  if (store.dim() != run.text_dim())
    throw InputError(run.datastore_dir().string() + ": datastore embeddings have dimension " +
                     std::to_string(store.dim()) + " but the mapping produces " + std::to_string(run.text_dim()));

  Stopwatch clock;
  auto built = retrieval::build_index(store, options.build);
  const double build_seconds = clock.seconds();
  RunIndexResult result;
  result.description = built.index.describe();
  const auto defaults = built.index.search_defaults();
  auto index = std::make_shared<const retrieval::FaissIndex>(std::move(built.index));
  store.attach_index(index, "the new index", nullptr);

  fs::path query_file = options.queries.empty() ? recorded_image_embeddings(run) : options.queries;
  const auto queries = query_file.empty() ? retrieval::perturbed_queries(store, options.recall_queries, options.seed)
                                          : aligned_sample(run, query_file, options.recall_queries);
  const std::string source = query_file.empty()
                                 ? "perturbed datastore rows (cosine 0.5 to the row, seed " + std::to_string(options.seed) + ")"
                                 : "image embeddings " + fs::absolute(query_file).string() + " mapped with W";
  result.recall = retrieval::measure_recall(store, queries, options.recall_k, options.build.threads, source);

  const auto& r = result.recall;
  result.manifest = {
      {"format", "recap-index 1"},
      {"factory", options.build.factory},
      {"description", result.description},
      {"metric", "inner_product"},
      {"rows", index->rows()},
      {"dim", index->dim()},
      {"datastore", retrieval::datastore_fingerprint(run.datastore_dir())},
      {"built", io::utc_timestamp()},
      {"train_rows", built.train_rows},
      {"timings_s", {{"train", built.train_seconds}, {"add", built.add_seconds}, {"total", build_seconds}}},
      {"search_defaults", {{"nprobe", defaults.nprobe}, {"ef_search", defaults.ef_search}}},
      {"recall", {{"k", r.k}, {"queries", r.queries}, {"query_source", r.query_source}, {"at_1", r.at_1}, {"at_k", r.at_k},
                  {"seconds_index", r.index_seconds}, {"seconds_exact", r.exact_seconds},
                  {"definition", "at_1: share of queries whose exact best caption is the index's best; at_k: mean share "
                                 "of the exact top k in the index's top k; candidates rescored exactly, as captioning does"}}},
      {"compute", describe_compute()}};
  retrieval::write_index_folder(staging.path(), *index, result.manifest);
  result.manifest = io::read_json(staging.path() / retrieval::kIndexManifest);
  staging.commit();
  io::add_to_output_listing(run.dir(), "index");

  // run.json says which index the run has and what it recalls.
  const fs::path run_json = run.dir() / "run.json";
  nlohmann::json provenance = fs::exists(run_json) ? io::read_json(run_json) : nlohmann::json::object();
  provenance["index"] = {{"path", "index/"},           {"factory", options.build.factory},
                         {"description", result.description}, {"built", result.manifest["built"]},
                         {"search_defaults", result.manifest["search_defaults"]}, {"recall", result.manifest["recall"]}};
  io::write_json(run_json, provenance);
  return result;
}

}  // namespace recap::run
