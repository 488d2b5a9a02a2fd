// recap-fit: fits ReCap's linear map W (x @ W ≈ y) from CLIP image embeddings to caption
// embeddings in closed form and writes a run directory (README "Contracts"). The
// embeddings are precomputed files, or recap-fit embeds a dataset with recap-embed.
#include <cstdio>
#include <optional>

#include "cli_support.h"
#include "dataset_options.h"
#include "model_options.h"
#include "recap/embed/embed_subprocess.h"
#include "recap/embed/dataset_embedding.h"
#include "recap/common/progress.h"
#include "recap/align/fit.h"
#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/data/dataset.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"
#include "recap/io/provenance.h"
#include "recap/io/temp_dir.h"
#include "recap/io/output_rule.h"
#include "recap/retrieval/datastore.h"
#include "recap/run/fit_shards.h"
#include "recap/run/run.h"
#include "recap/run/run_index.h"
#include "index_report.h"

using namespace recap;

namespace {

void print_dataset(const nlohmann::json& provenance, const std::string& dataset, const std::string& splits) {
  const auto& counts = provenance["counts"];
  std::printf("dataset: %s, %lld images, %lld captions%s\n", dataset.c_str(), counts["images"].get<long long>(),
              counts["captions"].get<long long>(), splits.empty() ? "" : (" (split " + splits + ")").c_str());
}

void print_fit(const align::FitOptions& options, const align::FitReport& report, double write_seconds) {
  std::printf("fitted %s W (%lld x %lld) on %lld pairs%s\n", align::method_name(options.method).c_str(),
              static_cast<long long>(report.x_dim), static_cast<long long>(report.y_dim),
              static_cast<long long>(report.pairs), options.normalize ? " (rows L2-normalised)" : "");
  std::printf("residual: mean ‖xW − y‖² = %.6g, relative = %.6g%s\n", report.mean_residual, report.relative_residual,
              report.rcond > 0 ? (", rcond = " + std::to_string(report.rcond)).c_str() : "");
  std::printf("time: read+accumulate %.2f s, solve %.2f s, write %.2f s\n", report.seconds_accumulate,
              report.seconds_solve, write_seconds);
}

align::FitOptions fit_options(const std::string& method, double lambda, bool no_normalize, std::int64_t chunk_rows,
                              const std::string& precision) {
  align::FitOptions options;
  options.method = align::parse_method(method);
  options.lambda = lambda;
  options.normalize = !no_normalize;
  options.chunk_rows = chunk_rows;
  options.accumulation = precision == "float64" ? align::Accumulation::float64 : align::Accumulation::mixed;
  if (options.method == align::Method::ridge && !(lambda > 0)) throw UsageError("--method ridge needs --lambda > 0");
  if (options.method != align::Method::ridge && lambda > 0) throw UsageError("--lambda applies only to --method ridge");
  return options;
}

// Every flag of recap-fit.
struct FitFlags {
  std::string image_path, text_path, pairs_path, captions_path, out_dir, method_name = "procrustes";
  double lambda = 0;
  bool no_normalize = false, force = false, strict = false;
  std::int64_t chunk_rows = 16384;
  std::string precision = "mixed";
  embed::EmbedSettings embed;
  std::string dataset_path, images_root, split_list;
  cli::DatasetFlags dataset;
  std::string shard, stats_out;          // sharded fitting, step 1
  std::vector<std::string> from_stats;   // sharded fitting, step 2
  std::string index;                     // FAISS factory string of the run's index
};

void add_fit_options(CLI::App& app, FitFlags& f) {
  app.add_option("--image-embeddings", f.image_path, "Image embeddings X (.npy, n_img x d_img, float32/float16)")
      ->check(CLI::ExistingFile);
  app.add_option("--text-embeddings", f.text_path, "Caption embeddings Y (.npy, n_txt x d_txt)")
      ->check(CLI::ExistingFile);
  app.add_option("--pairs", f.pairs_path, "int32/int64 .npy, n x 2 (image row, caption row); default: row i with row i")
      ->check(CLI::ExistingFile);
  app.add_option("--captions", f.captions_path,
                 "Captions of the text rows (.jsonl / .json / .txt), in row order; builds the run's datastore")
      ->check(CLI::ExistingFile);
  app.add_option("--method", f.method_name, "procrustes | ols | ridge | none (W = I: the unaligned baseline)")
      ->check(CLI::IsMember({"procrustes", "ols", "ridge", "none"}))->capture_default_str();
  app.add_option("--lambda", f.lambda, "Ridge penalty λ (required for --method ridge)")->check(cli::kNonNegative);
  app.add_flag("--no-normalize", f.no_normalize, "Fit on the rows as given instead of L2-normalising them first");
  app.add_option("--chunk-rows", f.chunk_rows, "Pairs per streamed chunk (memory: one chunk + O(d²))")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--precision", f.precision,
                 "mixed: float32 BLAS on blocks of 4096 pairs, summed in float64 (fast); float64: all products in "
                 "float64 BLAS")
      ->check(CLI::IsMember({"mixed", "float64"}))->capture_default_str();
  app.add_option("--out", f.out_dir, "Run directory to create");
  app.add_flag("--force", f.force, "Replace an existing run directory (only once the new one is complete)");
  app.add_option("--index", f.index, "Also build a FAISS index over the datastore, e.g. \"IVF4096,PQ64\", \"HNSW32\" "
                                     "(recap-index builds one on an existing run and has its settings)");
  app.add_option("--clip", f.embed.clip, "CLIP model to embed --dataset with (anything recap-embed --clip loads)");
  app.add_option("--dataset", f.dataset_path,
                 "Training dataset: a Karpathy split file (dataset_coco.json, dataset_flickr30k.json; needs --split), "
                 "COCO or VizWiz caption annotations (one split already), MSR-VTT's MSRVTT_data.json (needs --split), "
                 "Flickr8k.token.txt (needs --split) or a folder of images with captions.json")
      ->check(CLI::ExistingFile | CLI::ExistingDirectory);
  app.add_option("--images", f.images_root,
                 "With --dataset: the folder its image paths are relative to (Karpathy COCO: the folder holding "
                 "train2014/ and val2014/; Flickr30k: flickr30k-images/; COCO annotations: e.g. train2014/)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--split", f.split_list,
                 "Comma-separated splits to train on (Karpathy COCO: train,restval; MSR-VTT: train or train-9k; Flickr8k: train)");
  app.add_flag("--strict", f.strict,
               "With --dataset: an empty caption, an image without captions or an unreadable image is an error "
               "instead of a warning");
  cli::add_dataset_options(app, f.dataset);
  cli::add_embed_options(app, f.embed);
  auto* sharding = "Sharded fitting (one job per shard, then one that combines them)";
  app.add_option("--shard", f.shard,
                 "I/N (zero-based): with --dataset, embed and accumulate only the images whose id hashes to shard I "
                 "of N; with precomputed embeddings, the shard they hold (recap-embed --shard). Needs --stats-out")
      ->group(sharding);
  app.add_option("--stats-out", f.stats_out,
                 "Instead of --out: write this shard's statistics (XᵀX, XᵀY, counts; the method is chosen when they "
                 "are combined) and its datastore into this folder")
      ->group(sharding);
  app.add_option("--from-stats", f.from_stats,
                 "Combine the --stats-out folders of all shards (0..N-1, each once) into W and the run --out, with its "
                 "merged datastore")
      ->check(CLI::ExistingDirectory)->group(sharding);
}

// run.json: what made the run.
nlohmann::json run_provenance(const CLI::App& app, const nlohmann::json& inputs, bool has_datastore) {
  return {{"tool", "recap-fit"},
          {"version", "0.1.0"},
          {"created", io::utc_timestamp()},
          {"command", cli::command_line()},
          {"config", nlohmann::json::parse(app.config_to_str(true, false))},
          {"inputs", inputs},
          {"datastore", has_datastore ? nlohmann::json("datastore/") : nlohmann::json(nullptr)}};
}

// The flags that decide which of the three jobs recap-fit does, checked together.
void check_modes(const FitFlags& f, const CLI::App& app, bool from_dataset, bool precomputed) {
  const bool stats_out = !f.stats_out.empty(), combine = !f.from_stats.empty();
  if (combine) {
    if (from_dataset || precomputed || stats_out || !f.shard.empty())
      throw UsageError("--from-stats combines statistics folders: give them with --method and --out only");
    if (f.no_normalize) throw UsageError("--no-normalize was decided when the statistics were written");
    if (f.out_dir.empty()) throw UsageError("--from-stats needs --out, the run directory to write");
    return;
  }
  if (stats_out == !f.out_dir.empty())
    throw UsageError(stats_out ? "give --stats-out (a shard's statistics) or --out (a run), not both"
                               : "--out is required: the run directory to create");
  if (!f.shard.empty() && !stats_out)
    throw UsageError("a shard's fit is only part of W: write its statistics with --stats-out and combine every "
                     "shard's with --from-stats");
  if (stats_out && (app.count("--method") > 0 || app.count("--lambda") > 0))
    throw UsageError("--method and --lambda are chosen when statistics are combined (--from-stats), not per shard");
}

// --index: the run's FAISS index, built in the staged run before it is committed (recall
// measured with the fit's image embeddings when there are any: the queries captioning asks).
run::RunIndexResult build_index_into(const std::filesystem::path& staged_run, const std::string& factory,
                                     const std::string& image_embeddings, int threads) {
  run::RunIndexOptions options;
  options.build.factory = factory;
  options.build.threads = threads;
  options.queries = image_embeddings;
  return run::build_run_index(run::Run::open(staged_run), options);
}

// Step 2 of sharded fitting: every shard's statistics folder into one run.
void combine_shards(const FitFlags& f, const align::FitOptions& options, const CLI::App& app, int threads) {
  std::vector<std::filesystem::path> dirs(f.from_stats.begin(), f.from_stats.end());
  io::check_output_plan({{f.from_stats.begin(), f.from_stats.end()}, {}, {f.out_dir}, f.force});
  io::StagingDirectory staging(f.out_dir, f.force);
  const auto sharded = run::fit_from_statistics(dirs, options);
  align::FitOptions used = options;
  used.normalize = sharded.normalize;
  nlohmann::json mapping = run::describe_fit(used, sharded.fit.report);
  mapping["precision"] = "from shard statistics";
  mapping["clip_model"] = sharded.clip_model;
  mapping["inputs"] = {{"shards", sharded.inputs}};
  mapping["compute"] = describe_compute();
  const double write_seconds = run::write_run(
      staging.path(),
      {&sharded.fit.w, mapping, run_provenance(app, {{"shards", sharded.inputs}}, !sharded.datastores.empty()),
       nullptr,
       nullptr,
       sharded.datastores});
  std::optional<run::RunIndexResult> index;
  if (!f.index.empty()) {
    if (sharded.datastores.empty()) throw UsageError("--index needs a datastore, and the shards had no captions");
    index = build_index_into(staging.path(), f.index, "", threads);
  }
  staging.commit();
  if (index) cli::print_index(f.out_dir, *index);
  std::printf("combined %zu shards\n", dirs.size());
  print_fit(used, sharded.fit.report, write_seconds);
  std::printf("wrote %s%s\n", f.out_dir.c_str(), sharded.datastores.empty() ? " (no datastore: the shards had no captions)" : "");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Fit ReCap's linear map W from image to text embeddings in closed form and write a run directory\n"
      "(run.json, mapping.npy = W as d_img x d_txt float32 applied as x @ W, mapping.json, datastore/).\n"
      "Methods: procrustes (W = U Vᵀ from the SVD of XᵀY), ols (least squares), ridge (min ‖XW−Y‖² + λ‖W‖²).\n"
      "Inputs: precomputed embeddings (--image-embeddings, --text-embeddings, --pairs, --captions), or a dataset\n"
      "embedded with recap-embed (--clip, --dataset, --images, --split): every caption of a training image is a\n"
      "pair, and the captions become the datastore.",
      "recap-fit"};
  cli::CommonOptions common;
  FitFlags f;
  add_fit_options(app, f);
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    const auto options = fit_options(f.method_name, f.lambda, f.no_normalize, f.chunk_rows, f.precision);

    const bool from_dataset = !f.embed.clip.empty() || !f.dataset_path.empty() || !f.images_root.empty() || !f.split_list.empty();
    const bool precomputed = !f.image_path.empty() || !f.text_path.empty() || !f.pairs_path.empty() || !f.captions_path.empty();
    check_modes(f, app, from_dataset, precomputed);
    if (!f.index.empty() && !f.stats_out.empty())
      throw UsageError("--index goes with the run (--out or --from-stats), not with a shard's --stats-out");
    if (!f.index.empty() && f.from_stats.empty() && !from_dataset && f.captions_path.empty())
      throw UsageError("--index needs a datastore to index: give --captions");
    if (!f.from_stats.empty()) return combine_shards(f, options, app, common.threads);
    const Shard shard = f.shard.empty() ? Shard{} : parse_shard(f.shard);
    if (from_dataset && precomputed)
      throw UsageError("give either precomputed embeddings (--image-embeddings, --text-embeddings, --pairs, --captions) "
                       "or a dataset to embed (--clip, --dataset, --images, --split), not both");
    // A folder dataset holds its media; every other format names files under --images.
    if (from_dataset && (f.embed.clip.empty() || f.dataset_path.empty() ||
                         (f.images_root.empty() && !std::filesystem::is_directory(f.dataset_path))))
      throw UsageError("embedding a dataset needs --clip, --dataset and --images");
    if (!from_dataset && (f.image_path.empty() || f.text_path.empty()))
      throw UsageError("give --image-embeddings and --text-embeddings, or --clip, --dataset and --images (see --help)");
    if (!from_dataset && f.strict) throw UsageError("--strict applies to --dataset");

    const std::string out_dir = f.stats_out.empty() ? f.out_dir : f.stats_out;
    io::check_output_plan({{f.image_path, f.text_path, f.pairs_path, f.captions_path, f.dataset_path, f.images_root, f.embed.clip},
                           {},
                           {out_dir},
                           f.force});
    io::StagingDirectory staging(out_dir, f.force);  // refuses an existing output early

    // A dataset becomes the same four inputs as the precomputed path, in a scratch folder.
    std::optional<io::TemporaryDirectory> scratch;
    std::optional<embed::EmbedSubprocess> embedder;
    std::vector<nlohmann::json> captions;
    std::vector<std::int64_t> caption_order;  // a dataset's: each caption's place in the whole
    nlohmann::json dataset_provenance;
    if (from_dataset) {
      f.embed.threads = common.threads;
      f.embed.strict = f.strict;
      f.embed.verbose = common.verbose;
      embedder.emplace(f.embed);
      scratch.emplace("recap-fit");
      auto dataset_options = cli::dataset_options(f.dataset, f.split_list);
      dataset_options.shard = shard;
      embed::DatasetRequest request{f.dataset_path, f.images_root, dataset_options, !f.no_normalize, f.strict};
      auto embedded = embed::embed_dataset(request, *embedder, scratch->path());
      f.image_path = embedded.image_embeddings.string();
      f.text_path = embedded.text_embeddings.string();
      f.pairs_path = embedded.pairs.string();
      captions = std::move(embedded.captions);
      caption_order = std::move(embedded.caption_order);
      dataset_provenance = std::move(embedded.provenance);
      dataset_provenance["clip_model"] = {
          {"path", std::filesystem::absolute(f.embed.clip).string()},
          {"fingerprint", embedder->fingerprint().empty() ? nlohmann::json(nullptr) : nlohmann::json(embedder->fingerprint())}};
    }

    // Read captions first: a count mismatch should not cost a whole fit.
    std::optional<io::NpyMatrixReader> text_reader;
    if (from_dataset) {
      text_reader.emplace(f.text_path);
    } else if (!f.captions_path.empty()) {
      captions = retrieval::read_caption_records(f.captions_path);
      text_reader.emplace(f.text_path);
      if (static_cast<std::int64_t>(captions.size()) != text_reader->rows())
        throw InputError(f.captions_path + " has " + std::to_string(captions.size()) + " captions but " + f.text_path +
                         " has " + std::to_string(text_reader->rows()) + " rows");
    }

    align::FitInputs inputs{f.image_path, f.text_path, std::nullopt};
    if (!f.pairs_path.empty()) inputs.pairs = f.pairs_path;
    std::optional<Progress> progress;
    const auto show_progress = [&](std::int64_t done, std::int64_t total) {
      if (!progress) progress.emplace("accumulating XᵀX, XᵀY", total, "pairs");
      progress->update(done);
    };

    // Scratch files of a dataset run are gone afterwards: record the dataset instead.
    const nlohmann::json inputs_json =
        from_dataset ? dataset_provenance
                     : nlohmann::json{
                           {"image_embeddings", io::describe_file(f.image_path)},
                           {"text_embeddings", io::describe_file(f.text_path)},
                           {"pairs", f.pairs_path.empty() ? nlohmann::json("row i with row i") : io::describe_file(f.pairs_path)},
                           {"captions", f.captions_path.empty() ? nlohmann::json(nullptr) : io::describe_file(f.captions_path)}};
    if (!f.stats_out.empty()) {
      // Step 1 of sharded fitting: XᵀX is kept whatever the method, which is chosen later.
      const auto gram = align::accumulate_from_files(inputs, options, true, show_progress);
      if (progress) progress->finish();
      run::write_statistics_folder(staging.path(), gram, options.normalize, shard,
                                   {{"tool", "recap-fit"},
                                    {"created", io::utc_timestamp()},
                                    {"command", cli::command_line()},
                                    {"inputs", inputs_json},
                                    {"clip_model", from_dataset ? dataset_provenance["clip_model"] : nlohmann::json(nullptr)}},
                                   text_reader ? &captions : nullptr, text_reader ? &*text_reader : nullptr,
                                   caption_order.empty() ? nullptr : &caption_order);
      staging.commit();
      if (from_dataset) print_dataset(dataset_provenance, f.dataset_path, f.split_list);
      std::printf("accumulated shard %s: %lld pairs (%lld x %lld)\n", shard.label().c_str(),
                  static_cast<long long>(gram.count()), static_cast<long long>(gram.x_dim()),
                  static_cast<long long>(gram.y_dim()));
      std::printf("wrote %s (combine every shard's with recap-fit --from-stats)\n", f.stats_out.c_str());
      return;
    }
    auto result = align::fit_from_files(inputs, options, show_progress);
    if (progress) progress->finish();
    const auto& report = result.report;
    nlohmann::json mapping = run::describe_fit(options, report);
    mapping["precision"] = f.precision;
    // Precomputed embeddings come without a model to name.
    mapping["clip_model"] = from_dataset ? dataset_provenance["clip_model"] : nlohmann::json(nullptr);
    mapping["inputs"] = inputs_json;
    mapping["compute"] = describe_compute();
    const double write_seconds = run::write_run(
        staging.path(),
        {&result.w, mapping,
         run_provenance(app, inputs_json, text_reader.has_value()),
         &captions,
         text_reader ? &*text_reader : nullptr,
         {}});
    std::optional<run::RunIndexResult> index;
    if (!f.index.empty()) index = build_index_into(staging.path(), f.index, f.image_path, common.threads);
    staging.commit();
    if (index) cli::print_index(f.out_dir, *index);

    if (from_dataset) print_dataset(dataset_provenance, f.dataset_path, f.split_list);
    print_fit(options, report, write_seconds);
    std::printf("wrote %s%s\n", f.out_dir.c_str(),
                text_reader ? "" : " (no --captions: no datastore; give recap-caption --datastore)");
  });
}
