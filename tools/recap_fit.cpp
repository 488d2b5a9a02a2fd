// recap-fit: fits ReCap's linear map W (x @ W ≈ y) from CLIP image embeddings to caption
// embeddings in closed form and writes a run directory (README "Contracts"). The
// embeddings are precomputed files, or recap-fit embeds a dataset with recap-embed.
#include <cstdio>
#include <optional>

#include "cli_support.h"
#include "fit_flags.h"
#include "recap/embed/embed_subprocess.h"
#include "recap/embed/dataset_embedding.h"
#include "recap/common/progress.h"
#include "recap/align/fit.h"
#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/linalg/float32_products.h"
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
using cli::FitFlags;

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

// The inputs of a fit: precomputed files as given, or a dataset embedded by recap-embed
// into a scratch folder, which then stands for the same four files (image and text
// embeddings, pairs, captions).
struct PreparedInputs {
  std::optional<io::TemporaryDirectory> scratch;
  std::optional<embed::EmbedSubprocess> embedder;
  std::vector<nlohmann::json> captions;
  std::vector<std::int64_t> caption_order;  // a dataset's: each caption's place in the whole
  nlohmann::json dataset_provenance;
  std::optional<io::NpyMatrixReader> text_reader;  // when there are captions: the datastore's rows
  nlohmann::json description;                      // run.json's "inputs"
  bool from_dataset = false;
};

void prepare_inputs(FitFlags& f, const cli::CommonOptions& common, const Shard& shard, PreparedInputs& in) {
  if (in.from_dataset) {
    f.embed.threads = common.threads;
    f.embed.strict = f.strict;
    f.embed.verbose = common.verbose;
    in.embedder.emplace(f.embed);
    in.scratch.emplace("recap-fit");
    auto dataset_options = cli::dataset_options(f.dataset, f.split_list);
    dataset_options.shard = shard;
    embed::DatasetRequest request{f.dataset_path, f.images_root, dataset_options, !f.no_normalize, f.strict};
    auto embedded = embed::embed_dataset(request, *in.embedder, in.scratch->path());
    f.image_path = embedded.image_embeddings.string();
    f.text_path = embedded.text_embeddings.string();
    f.pairs_path = embedded.pairs.string();
    in.captions = std::move(embedded.captions);
    in.caption_order = std::move(embedded.caption_order);
    in.dataset_provenance = std::move(embedded.provenance);
    in.dataset_provenance["clip_model"] = {
        {"path", std::filesystem::absolute(f.embed.clip).string()},
        {"fingerprint", in.embedder->fingerprint().empty() ? nlohmann::json(nullptr) : nlohmann::json(in.embedder->fingerprint())}};
    in.text_reader.emplace(f.text_path);
    in.description = in.dataset_provenance;  // the scratch files are gone afterwards
    return;
  }
  // Captions first: a count mismatch should not cost a whole fit.
  if (!f.captions_path.empty()) {
    in.captions = retrieval::read_caption_records(f.captions_path);
    in.text_reader.emplace(f.text_path);
    if (static_cast<std::int64_t>(in.captions.size()) != in.text_reader->rows())
      throw InputError(f.captions_path + " has " + std::to_string(in.captions.size()) + " captions but " + f.text_path +
                       " has " + std::to_string(in.text_reader->rows()) + " rows");
  }
  in.description = {
      {"image_embeddings", io::describe_file(f.image_path)},
      {"text_embeddings", io::describe_file(f.text_path)},
      {"pairs", f.pairs_path.empty() ? nlohmann::json("row i with row i") : io::describe_file(f.pairs_path)},
      {"captions", f.captions_path.empty() ? nlohmann::json(nullptr) : io::describe_file(f.captions_path)}};
}

// The CLIP model that embedded the inputs; precomputed embeddings come without one to name.
nlohmann::json clip_model_of(const PreparedInputs& in) {
  return in.from_dataset ? in.dataset_provenance["clip_model"] : nlohmann::json(nullptr);
}

// Step 1 of sharded fitting: XᵀX is kept whatever the method, which is chosen later.
void write_shard_statistics(const FitFlags& f, const align::FitOptions& options, const Shard& shard,
                            const align::FitInputs& inputs, PreparedInputs& in, io::StagingDirectory& staging,
                            const align::ProgressFn& show_progress) {
  const auto gram = align::accumulate_from_files(inputs, options, true, show_progress);
  run::write_statistics_folder(staging.path(), gram, options.normalize, shard,
                               {{"tool", "recap-fit"},
                                {"created", io::utc_timestamp()},
                                {"command", cli::command_line()},
                                {"inputs", in.description},
                                {"clip_model", clip_model_of(in)}},
                               in.text_reader ? &in.captions : nullptr, in.text_reader ? &*in.text_reader : nullptr,
                               in.caption_order.empty() ? nullptr : &in.caption_order);
  staging.commit();
  if (in.from_dataset) print_dataset(in.dataset_provenance, f.dataset_path, f.split_list);
  std::printf("accumulated shard %s: %lld pairs (%lld x %lld)\n", shard.label().c_str(),
              static_cast<long long>(gram.count()), static_cast<long long>(gram.x_dim()),
              static_cast<long long>(gram.y_dim()));
  std::printf("wrote %s (combine every shard's with recap-fit --from-stats)\n", f.stats_out.c_str());
}

// The whole fit: W, the run directory, its datastore and (--index) its index.
void fit_run(const FitFlags& f, const align::FitOptions& options, const CLI::App& app, int threads,
             const align::FitInputs& inputs, PreparedInputs& in, io::StagingDirectory& staging,
             const align::ProgressFn& show_progress) {
  auto result = align::fit_from_files(inputs, options, show_progress);
  const auto& report = result.report;
  nlohmann::json mapping = run::describe_fit(options, report);
  mapping["precision"] = f.precision;
  mapping["clip_model"] = clip_model_of(in);
  mapping["inputs"] = in.description;
  mapping["compute"] = describe_compute();
  if (options.accumulation == align::Accumulation::mixed) mapping["float32_products"] = linalg::describe_float32_engine();
  const double write_seconds = run::write_run(
      staging.path(), {&result.w, mapping, run_provenance(app, in.description, in.text_reader.has_value()), &in.captions,
                       in.text_reader ? &*in.text_reader : nullptr, {}});
  std::optional<run::RunIndexResult> index;
  if (!f.index.empty()) index = build_index_into(staging.path(), f.index, f.image_path, threads);
  staging.commit();
  if (index) cli::print_index(f.out_dir, *index);
  if (in.from_dataset) print_dataset(in.dataset_provenance, f.dataset_path, f.split_list);
  print_fit(options, report, write_seconds);
  std::printf("wrote %s%s\n", f.out_dir.c_str(),
              in.text_reader ? "" : " (no --captions: no datastore; give recap-caption --datastore)");
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
  cli::add_fit_options(app, f);
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    const auto options = cli::fit_options(f.method_name, f.lambda, f.no_normalize, f.chunk_rows, f.precision);
    PreparedInputs in;
    in.from_dataset = !f.embed.clip.empty() || !f.dataset_path.empty() || !f.images_root.empty() || !f.split_list.empty();
    const bool precomputed = !f.image_path.empty() || !f.text_path.empty() || !f.pairs_path.empty() || !f.captions_path.empty();
    cli::check_modes(f, app, in.from_dataset, precomputed);
    if (!f.from_stats.empty()) return combine_shards(f, options, app, common.threads);

    const Shard shard = f.shard.empty() ? Shard{} : parse_shard(f.shard);
    const std::string out_dir = f.stats_out.empty() ? f.out_dir : f.stats_out;
    io::check_output_plan({{f.image_path, f.text_path, f.pairs_path, f.captions_path, f.dataset_path, f.images_root, f.embed.clip},
                           {},
                           {out_dir},
                           f.force});
    io::StagingDirectory staging(out_dir, f.force);  // refuses an existing output early
    prepare_inputs(f, common, shard, in);

    align::FitInputs inputs{f.image_path, f.text_path, std::nullopt};
    if (!f.pairs_path.empty()) inputs.pairs = f.pairs_path;
    std::optional<Progress> progress;
    const align::ProgressFn show_progress = [&](std::int64_t done, std::int64_t total) {
      if (!progress) progress.emplace("accumulating sums over pairs", total, "pairs");  // XᵀY, and XᵀX where the method needs it
      progress->update(done);
      if (done == total) progress->finish();
    };
    if (common.verbose && options.accumulation == align::Accumulation::mixed)
      cli::note(linalg::describe_float32_engine());
    if (!f.stats_out.empty()) return write_shard_statistics(f, options, shard, inputs, in, staging, show_progress);
    fit_run(f, options, app, common.threads, inputs, in, staging, show_progress);
  });
}
