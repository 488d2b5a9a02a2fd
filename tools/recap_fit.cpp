// recap-fit: fits ReCap's linear map W (x @ W ≈ y) from CLIP image embeddings to caption
// embeddings in closed form and writes a run directory (README "Contracts"). The
// embeddings are precomputed files, or recap-fit embeds a dataset with recap-embed.
#include <cstdio>
#include <optional>

#include "cli_support.h"
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
#include "recap/run/run.h"

using namespace recap;

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
  std::string image_path, text_path, pairs_path, captions_path, out_dir, method_name = "procrustes";
  double lambda = 0;
  bool no_normalize = false, force = false;
  std::int64_t chunk_rows = 16384;
  app.add_option("--image-embeddings", image_path, "Image embeddings X (.npy, n_img x d_img, float32/float16)")
      ->check(CLI::ExistingFile);
  app.add_option("--text-embeddings", text_path, "Caption embeddings Y (.npy, n_txt x d_txt)")
      ->check(CLI::ExistingFile);
  app.add_option("--pairs", pairs_path, "int32/int64 .npy, n x 2 (image row, caption row); default: row i with row i")
      ->check(CLI::ExistingFile);
  app.add_option("--captions", captions_path,
                 "Captions of the text rows (.jsonl / .json / .txt), in row order; builds the run's datastore")
      ->check(CLI::ExistingFile);
  app.add_option("--method", method_name, "procrustes | ols | ridge")
      ->check(CLI::IsMember({"procrustes", "ols", "ridge"}))->capture_default_str();
  app.add_option("--lambda", lambda, "Ridge penalty λ (required for --method ridge)")->check(cli::kNonNegative);
  app.add_flag("--no-normalize", no_normalize, "Fit on the rows as given instead of L2-normalising them first");
  app.add_option("--chunk-rows", chunk_rows, "Pairs per streamed chunk (memory: one chunk + O(d²))")
      ->check(cli::kPositive)->capture_default_str();
  std::string precision = "mixed";
  app.add_option("--precision", precision,
                 "mixed: float32 BLAS on blocks of 4096 pairs, summed in float64 (fast); float64: all products in "
                 "float64 BLAS")
      ->check(CLI::IsMember({"mixed", "float64"}))->capture_default_str();
  app.add_option("--out", out_dir, "Run directory to create")->required();
  app.add_flag("--force", force, "Replace an existing run directory (only once the new one is complete)");
  embed::EmbedSettings embed;
  std::string dataset_path, images_root, split_list;
  bool strict = false;
  app.add_option("--clip", embed.clip, "CLIP model to embed --dataset with (anything recap-embed --clip loads)");
  app.add_option("--dataset", dataset_path,
                 "Karpathy split file (dataset_coco.json, dataset_flickr30k.json; needs --split) or COCO caption "
                 "annotations (one split already; no --split)")
      ->check(CLI::ExistingFile);
  app.add_option("--images", images_root,
                 "With --dataset: the folder its image paths are relative to (Karpathy COCO: the folder holding "
                 "train2014/ and val2014/; Flickr30k: flickr30k-images/; COCO annotations: e.g. train2014/)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--split", split_list,
                 "With a Karpathy --dataset: comma-separated splits to train on (the paper's COCO: train,restval)");
  app.add_flag("--strict", strict,
               "With --dataset: an empty caption, an image without captions or an unreadable image is an error "
               "instead of a warning");
  cli::add_embed_options(app, embed);
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    align::FitOptions options;
    options.method = align::parse_method(method_name);
    options.lambda = lambda;
    options.normalize = !no_normalize;
    options.chunk_rows = chunk_rows;
    options.accumulation = precision == "float64" ? align::Accumulation::float64 : align::Accumulation::mixed;
    if (options.method == align::Method::ridge && !(lambda > 0)) throw UsageError("--method ridge needs --lambda > 0");
    if (options.method != align::Method::ridge && lambda > 0)
      throw UsageError("--lambda applies only to --method ridge");

    const bool from_dataset = !embed.clip.empty() || !dataset_path.empty() || !images_root.empty() || !split_list.empty();
    const bool precomputed = !image_path.empty() || !text_path.empty() || !pairs_path.empty() || !captions_path.empty();
    if (from_dataset && precomputed)
      throw UsageError("give either precomputed embeddings (--image-embeddings, --text-embeddings, --pairs, --captions) "
                       "or a dataset to embed (--clip, --dataset, --images, --split), not both");
    if (from_dataset && (embed.clip.empty() || dataset_path.empty() || images_root.empty()))
      throw UsageError("embedding a dataset needs --clip, --dataset and --images");
    if (!from_dataset && (image_path.empty() || text_path.empty()))
      throw UsageError("give --image-embeddings and --text-embeddings, or --clip, --dataset and --images (see --help)");
    if (!from_dataset && strict) throw UsageError("--strict applies to --dataset");

    io::check_output_plan({{image_path, text_path, pairs_path, captions_path, dataset_path, images_root, embed.clip},
                           {},
                           {out_dir},
                           force});
    io::StagingDirectory staging(out_dir, force);  // refuses an existing --out early

    // A dataset becomes the same four inputs as the precomputed path, in a scratch folder.
    std::optional<io::TemporaryDirectory> scratch;
    std::optional<embed::EmbedSubprocess> embedder;
    std::vector<nlohmann::json> captions;
    nlohmann::json dataset_provenance;
    if (from_dataset) {
      embed.threads = common.threads;
      embed.strict = strict;
      embed.verbose = common.verbose;
      embedder.emplace(embed);
      scratch.emplace("recap-fit");
      embed::DatasetRequest request{dataset_path, images_root, data::parse_split_list(split_list), !no_normalize, strict};
      auto embedded = embed::embed_dataset(request, *embedder, scratch->path());
      image_path = embedded.image_embeddings.string();
      text_path = embedded.text_embeddings.string();
      pairs_path = embedded.pairs.string();
      captions = std::move(embedded.captions);
      dataset_provenance = std::move(embedded.provenance);
      dataset_provenance["clip_model"] = {
          {"path", std::filesystem::absolute(embed.clip).string()},
          {"fingerprint", embedder->fingerprint().empty() ? nlohmann::json(nullptr) : nlohmann::json(embedder->fingerprint())}};
    }

    // Read captions first: a count mismatch should not cost a whole fit.
    std::optional<io::NpyMatrixReader> text_reader;
    if (from_dataset) {
      text_reader.emplace(text_path);
    } else if (!captions_path.empty()) {
      captions = retrieval::read_caption_records(captions_path);
      text_reader.emplace(text_path);
      if (static_cast<std::int64_t>(captions.size()) != text_reader->rows())
        throw InputError(captions_path + " has " + std::to_string(captions.size()) + " captions but " + text_path +
                         " has " + std::to_string(text_reader->rows()) + " rows");
    }

    align::FitInputs inputs{image_path, text_path, std::nullopt};
    if (!pairs_path.empty()) inputs.pairs = pairs_path;
    std::optional<Progress> progress;
    auto result = align::fit_from_files(inputs, options, [&](std::int64_t done, std::int64_t total) {
      if (!progress) progress.emplace("accumulating XᵀX, XᵀY", total, "pairs");
      progress->update(done);
    });
    if (progress) progress->finish();
    const auto& report = result.report;

    // Scratch files of a dataset run are gone afterwards: record the dataset instead.
    const nlohmann::json inputs_json =
        from_dataset ? dataset_provenance
                     : nlohmann::json{
                           {"image_embeddings", io::describe_file(image_path)},
                           {"text_embeddings", io::describe_file(text_path)},
                           {"pairs", pairs_path.empty() ? nlohmann::json("row i with row i") : io::describe_file(pairs_path)},
                           {"captions", captions_path.empty() ? nlohmann::json(nullptr) : io::describe_file(captions_path)}};
    const nlohmann::json mapping = {
        {"method", align::method_name(options.method)},
        {"lambda", options.lambda},
        {"normalize", options.normalize},
        {"applied_as", options.normalize ? "aligned = normalize(normalize(x) @ W)" : "aligned = normalize(x @ W)"},
        {"pairs", report.pairs},
        {"image_dim", report.x_dim},
        {"text_dim", report.y_dim},
        {"residual", {{"sum", report.residual}, {"mean", report.mean_residual}, {"relative", report.relative_residual}}},
        {"rcond", report.rcond},
        {"solver", report.solver},
        {"precision", precision},
        // Precomputed embeddings come without a model to name.
        {"clip_model", from_dataset ? dataset_provenance["clip_model"] : nlohmann::json(nullptr)},
        {"inputs", inputs_json},
        {"timings_s", {{"read_and_accumulate", report.seconds_accumulate}, {"solve", report.seconds_solve},
                       {"write", 0.0}}},  // write_run fills in the time it took
        {"compute", describe_compute()}};
    const double write_seconds = run::write_run(
        staging.path(),
        {&result.w, mapping,
         {{"tool", "recap-fit"},
          {"version", "0.1.0"},
          {"created", io::utc_timestamp()},
          {"command", cli::command_line()},
          {"config", nlohmann::json::parse(app.config_to_str(true, false))},
          {"inputs", inputs_json},
          {"datastore", text_reader ? nlohmann::json("datastore/") : nlohmann::json(nullptr)}},
         &captions,
         text_reader ? &*text_reader : nullptr});
    staging.commit();

    if (from_dataset) {
      const auto& counts = dataset_provenance["counts"];
      std::printf("dataset: %s, %lld images, %lld captions%s\n", dataset_path.c_str(),
                  counts["images"].get<long long>(), counts["captions"].get<long long>(),
                  split_list.empty() ? "" : (" (split " + split_list + ")").c_str());
    }
    std::printf("fitted %s W (%lld x %lld) on %lld pairs%s\n", align::method_name(options.method).c_str(),
                static_cast<long long>(report.x_dim), static_cast<long long>(report.y_dim),
                static_cast<long long>(report.pairs), options.normalize ? " (rows L2-normalised)" : "");
    std::printf("residual: mean ‖xW − y‖² = %.6g, relative = %.6g%s\n", report.mean_residual,
                report.relative_residual,
                report.rcond > 0 ? (", rcond = " + std::to_string(report.rcond)).c_str() : "");
    std::printf("time: read+accumulate %.2f s, solve %.2f s, write %.2f s\n", report.seconds_accumulate,
                report.seconds_solve, write_seconds);
    std::printf("wrote %s%s\n", out_dir.c_str(),
                text_reader ? "" : " (no --captions: no datastore; give recap-caption --datastore)");
  });
}
