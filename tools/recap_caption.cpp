// recap-caption: captions images from their CLIP embeddings with a fitted run: map with W,
// retrieve the top-k datastore captions, keep the most similar one.
#include <cstdio>

#include "cli_support.h"
#include "recap/align/linear_map.h"
#include "recap/caption/retrieval_captioner.h"
#include "recap/common/error.h"
#include "recap/common/rows.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

using namespace recap;

namespace {

// Whether the run's W was fitted on normalised rows (then queries are normalised too).
bool run_normalizes(const std::filesystem::path& run) {
  const auto path = run / "mapping.json";
  if (!std::filesystem::exists(path)) return true;
  const auto mapping = io::read_json(path);
  return mapping.value("normalize", true);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Caption images by retrieval with a run from recap-fit: aligned = normalize(normalize(x) @ W), the k\n"
      "datastore captions with the highest cosine to it are retrieved and the best one is the caption.\n"
      "Writes COCO results [{\"image_id\", \"caption\"}].",
      "recap-caption"};
  cli::CommonOptions common;
  std::string run_dir, embeddings_path, ids_path, out_path, details_path, datastore_dir;
  std::int64_t k = 8;
  bool force = false;
  app.add_option("--run", run_dir, "Run directory written by recap-fit")->required()->check(CLI::ExistingDirectory);
  app.add_option("--image-embeddings", embeddings_path, "Query image embeddings (.npy, n x d_img)")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--ids", ids_path, "JSON array of the n image ids (default: row numbers)")->check(CLI::ExistingFile);
  app.add_option("--k", k, "Captions retrieved per image")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--datastore", datastore_dir, "Datastore directory (default: RUN/datastore)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", out_path, "Results JSON (COCO results format)")->required();
  app.add_option("--details", details_path, "JSONL with the top-k retrieved captions and similarities per image");
  std::string search_kernel = "auto";
  app.add_option("--search-kernel", search_kernel,
                 "Exact search kernel: auto (bf16 screening where the CPU has AMX/AVX-512 BF16, else fp32), fp32, bf16; "
                 "all return the same captions")
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))->capture_default_str();
  app.add_flag("--force", force, "Overwrite existing output files");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    io::check_output_path(out_path, force);
    if (!details_path.empty()) io::check_output_path(details_path, force);
    const io::FloatMatrix w = align::load_mapping(run_dir);
    if (datastore_dir.empty()) {
      datastore_dir = (std::filesystem::path(run_dir) / "datastore").string();
      if (!std::filesystem::exists(datastore_dir))
        throw InputError(run_dir + ": run has no datastore (fit without --captions); pass --datastore DIR");
    }
    io::FloatMatrix queries = io::read_npy_matrix(embeddings_path);
    check_finite(queries, embeddings_path);
    if (queries.cols != w.rows)
      throw InputError(embeddings_path + ": embeddings have dimension " + std::to_string(queries.cols) +
                       " but the run's mapping expects " + std::to_string(w.rows));
    const auto store = retrieval::Datastore::open(datastore_dir);
    if (store.dim() != w.cols)
      throw InputError(datastore_dir + ": datastore embeddings have dimension " + std::to_string(store.dim()) +
                       " but the mapping produces " + std::to_string(w.cols));
    if (k > store.size())
      throw UsageError("--k " + std::to_string(k) + " is larger than the datastore (" + std::to_string(store.size()) +
                       " captions)");
    const auto ids = ids_path.empty() ? caption::row_numbers_as_ids(queries.rows)
                                      : caption::load_image_ids(ids_path, queries.rows);

    if (run_normalizes(run_dir)) normalize_rows(queries);
    const io::FloatMatrix mapped = align::apply_map(queries, w, true);
    retrieval::SearchOptions search;
    search.kernel = retrieval::parse_search_kernel(search_kernel);
    search.threads = common.threads;
    std::string kernel_used;
    const auto results = caption::caption_by_retrieval(store, mapped, ids, k, search, &kernel_used);
    if (common.verbose) cli::note("search kernel: " + kernel_used);

    if (!details_path.empty()) {
      std::vector<nlohmann::json> records;
      for (const auto& r : results) records.push_back(caption::details_record(r, store));
      io::write_jsonl(details_path, records);
    }
    io::write_json(out_path, caption::coco_results(results));
    std::printf("captioned %lld images by retrieval (k = %lld, datastore of %lld captions) -> %s\n",
                static_cast<long long>(results.size()), static_cast<long long>(k),
                static_cast<long long>(store.size()), out_path.c_str());
  });
}
