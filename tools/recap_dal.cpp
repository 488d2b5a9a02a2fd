// recap-dal: the datastore-augmentation loop (DAL) on a fitted run. Each iteration
// captions the training images, scores the captions against their references, adds the
// good ones to the datastore and scores the validation split with the grown datastore.
// The loop itself is recap/dal/dal.h; this tool reads the splits, loads the models and prints.
#include <cstdio>
#include <optional>

#include "caption_options.h"
#include "cli_support.h"
#include "dataset_options.h"
#include "model_options.h"
#include "recap/common/error.h"
#include "recap/dal/dal.h"
#include "recap/data/dataset.h"
#include "recap/io/provenance.h"

namespace fs = std::filesystem;
using namespace recap;

namespace {

dal::Split read_split(const std::string& name, const fs::path& file, const fs::path& images, const std::string& splits,
                      const cli::DatasetFlags& flags) {
  const auto dataset = data::read_dataset(file, images, cli::dataset_options(flags, splits));
  dal::Split split;
  split.name = name;
  split.source = file;
  for (const auto& s : dataset.samples) {
    split.files.push_back(s.media);
    split.ids.push_back(s.id);
    split.references.push_back(s.captions);
  }
  if (split.ids.empty()) throw InputError(file.string() + ": the " + name + " split has no images with captions");
  return split;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The datastore-augmentation loop (DAL) on a run from recap-fit. Each iteration captions the training images\n"
      "(an image never retrieves its own references or captions made for it), scores every synthetic caption\n"
      "against the image's references (--metric), adds those that pass --select to the datastore as a new layer\n"
      "(the run is never modified), and captions and scores the validation images with the grown datastore.\n"
      "Writes DAL_DIR/iter-N/ (added.jsonl, datastore/, val_results.json, val_scores.json), dal.csv and dal.png.\n"
      "An interrupted loop resumes where it stopped when rerun with the same options.",
      "recap-dal"};
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli::CommonOptions common;
  cli::CaptionFlags flags;
  dal::Options options;
  fs::path run_dir, clip_path, lm_path, train_path, val_path, images, out;
  std::string train_splits, val_splits, select = "reference-median", cache_dir;
  bool force = false, no_cache = false;
  app.add_option("--run", run_dir, "Run directory written by recap-fit, with a datastore")->required()->check(CLI::ExistingDirectory);
  app.add_option("--clip", clip_path, "CLIP model the run was fitted with (embeds images and captions)")->required();
  app.add_option("--lm", lm_path, "T5 / FLAN-T5 folder: caption with the language model (default: retrieval only)");
  app.add_option("--train", train_path, "Training dataset (any format recap-fit --dataset reads; Karpathy, MSR-VTT and "
                                        "Flickr8k files with --train-split)")
      ->required()->check(CLI::ExistingFile | CLI::ExistingDirectory);
  app.add_option("--train-split", train_splits, "Comma-separated training splits (e.g. train,restval)");
  app.add_option("--val", val_path, "Validation dataset (any format; with --val-split where the file mixes splits)")
      ->required()->check(CLI::ExistingFile | CLI::ExistingDirectory);
  app.add_option("--val-split", val_splits, "The validation split (e.g. val)");
  cli::DatasetFlags dataset_flags;
  cli::add_dataset_options(app, dataset_flags);
  app.add_option("--images", images, "Folder the datasets' image paths are relative to")->required()->check(CLI::ExistingDirectory);
  app.add_option("--iterations", options.iterations, "Iterations of the loop")->check(cli::kPositive)->capture_default_str();
  app.add_option("--metric", options.metric, "Metric the synthetic captions are selected by (any recap-score metric; "
                                             "bleu: Bleu_4)")->capture_default_str();
  app.add_option("--select", select, "Selection rule: reference-median (this project's default: at least the median "
                                     "leave-one-out score of the image's references), threshold:VALUE, top:FRACTION")
      ->capture_default_str();
  app.add_option("--val-metrics", options.val_metrics, "Metrics of the validation split")->capture_default_str();
  app.add_option("--out", out, "DAL folder to create (or to resume)")->required();
  app.add_option("--batch-size", options.batch_size, "Images per captioning batch (saved after each)")
      ->check(cli::kPositive)->capture_default_str();
  cli::add_caption_options(app, flags);
  cli::add_device_options(app, flags.device, flags.dtype);
  cli::add_cache_options(app, cache_dir, no_cache);
  cli::add_video_frames_option(app, options.embed.video_frames);
  app.add_option("--meteor-jar", options.meteor.jar, "METEOR 1.5 jar (for --metric meteor)");
  app.add_option("--spice-jar", options.spice.jar, "SPICE 1.0 jar (for --metric spice)");
  app.add_flag("--force", force, "Replace a DAL folder that holds a loop with other settings");
  app.add_option("--stop-after-iterations", options.stop_after_iterations,
                 "Testing resumption: exit with status 75 after this many iterations")->check(cli::kNonNegative)->group("Testing");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    options.rule = dal::SelectionRule::parse(select);
    options.k = flags.k;
    options.search = cli::search_options(flags, common.threads);
    if (!lm_path.empty()) options.lm = cli::lm_caption_options(flags, common.threads);
    options.embed.use_cache = !no_cache;
    options.embed.cache_root = cache_dir;
    options.embed.warn = [](const std::string& message) { cli::note("skipped " + message); };
    if (fs::exists(out) && fs::weakly_canonical(out) == fs::weakly_canonical(run_dir))
      throw UsageError(out.string() + ": --out must not be the run directory; the run is never modified");
    const auto train = read_split("train", train_path, images, train_splits, dataset_flags);
    const auto val = read_split("val", val_path, images, val_splits, dataset_flags);

    const auto run = run::Run::open(run_dir);
    if (!run.has_index() && (flags.nprobe > 0 || flags.ef_search > 0))
      throw UsageError("--nprobe / --ef-search: " + run_dir.string() + " has no FAISS index (recap-index builds one)");
    const auto clip = cli::load_clip(clip_path, flags, common.threads, run);
    std::optional<models::T5Model> lm;
    if (!lm_path.empty()) lm.emplace(cli::load_lm(lm_path, flags, common.threads, common.verbose));
    const dal::Loop loop(run, clip, lm ? &*lm : nullptr, options);

    // What decides the loop's results; a resumed loop must match it (--iterations may grow).
    nlohmann::json settings = nlohmann::json::parse(app.config_to_str(true, false));
    for (const char* key : {"iterations", "force", "threads", "verbose", "stop-after-iterations", "cache", "no-cache", "config"})
      settings.erase(key);
    settings["content"] = {{"mapping", run.mapping_hash()}, {"datastore", io::content_identity(run.datastore_dir())},
                           {"train", io::content_identity(train_path)}, {"val", io::content_identity(val_path)},
                           {"clip", clip.info().fingerprint},
                           {"lm", lm ? io::content_identity(lm_path) : nlohmann::json()}};
    const auto summaries = loop.run(train, val, out, settings, force, [](const dal::IterationSummary& s) {
      std::string scores;
      for (const auto& [name, value] : s.val_scores) scores += " " + name + " " + std::to_string(value).substr(0, 6);
      cli::note("iteration " + std::to_string(s.iteration) + ": added " + std::to_string(s.added) + " of " +
                std::to_string(s.candidates) + ", datastore " + std::to_string(s.datastore_size) + ";" + scores);
    });
    if (summaries.back().iteration < options.iterations) {
      cli::note("stopping after " + std::to_string(options.stop_after_iterations) + " iterations as asked; rerun to resume");
      std::fflush(nullptr);
      std::_Exit(75);
    }
    std::printf("%-9s %10s %6s", "iteration", "datastore", "added");
    for (const auto& [name, value] : summaries.front().val_scores) std::printf(" %10s", name.c_str());
    std::printf("\n");
    for (const auto& s : summaries) {
      std::printf("%-9d %10lld %6lld", s.iteration, static_cast<long long>(s.datastore_size), static_cast<long long>(s.added));
      for (const auto& [name, value] : s.val_scores) std::printf(" %10.4f", value);
      std::printf("\n");
    }
    std::printf("wrote %s (dal.csv, dal.png)\n", out.c_str());
  });
}
