// recap-caption: caption images with a fitted run. Without --lm, retrieval only: the
// datastore caption closest to the aligned image embedding. With --lm, ReCap's full path:
// retrieve k captions, prompt the language model with them, generate candidates, keep the
// one whose CLIP text embedding is closest to the aligned image embedding.
#include <cstdio>
#include <memory>
#include <optional>

#include "caption_options.h"
#include "cli_support.h"
#include "dataset_options.h"
#include "model_options.h"
#include "recap/caption/pipeline.h"
#include "recap/caption/random_captioner.h"
#include "recap/common/error.h"
#include "recap/common/phase_times.h"
#include "recap/common/stopwatch.h"
#include "recap/io/output_rule.h"
#include "recap/io/provenance.h"
#include "recap/vision/image.h"

namespace fs = std::filesystem;
using namespace recap;

int main(int argc, char** argv) {
  CLI::App app{
      "Caption images with a run from recap-fit. The image embedding x is mapped to aligned = normalize(normalize(x) @ W)\n"
      "and the k datastore captions closest to it are retrieved. Without --lm the closest one is the caption\n"
      "(retrieval only). With --lm (a T5 / FLAN-T5 folder) and --clip, the retrieved captions fill a prompt, the\n"
      "model generates candidates (beams and/or samples), duplicates are removed, and the candidate whose CLIP text\n"
      "embedding has the highest cosine with the aligned embedding is the caption. Writes COCO results\n"
      "[{\"image_id\", \"caption\"}].",
      "recap-caption"};
  // A flag given twice takes its last value, so scripts can append overrides.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cli::CommonOptions common;
  cli::CaptionFlags flags;
  fs::path run_dir, embeddings_path, images_path, dataset_path, clip_path, lm_path, ids_path, datastore_dir;
  std::string split, shard;
  caption::CaptionOutputs outputs;
  caption::PipelineOptions pipeline;
  std::string cache_dir;
  bool force = false, no_cache = false;

  app.add_option("--run", run_dir, "Run directory written by recap-fit")->required()->check(CLI::ExistingDirectory);
  auto* inputs = app.add_option_group("input", "exactly one input");
  inputs->add_option("--image-embeddings", embeddings_path, "Query image embeddings (.npy, n x d_img)")
      ->check(CLI::ExistingFile);
  inputs->add_option("--images", images_path,
                     "Image folder (recursive, sorted) or a list file of paths (needs --clip); with --dataset: the folder "
                     "the dataset's media paths are relative to");
  inputs->add_option("--dataset", dataset_path,
                     "Caption a dataset's split (needs --clip): any format recap-fit --dataset reads, with --split "
                     "where the file mixes splits; image ids are the dataset's")
      ->check(CLI::ExistingFile | CLI::ExistingDirectory);
  app.add_option("--split", split, "With --dataset: the split to caption (e.g. test)");
  app.add_option("--shard", shard,
                 "I/N (zero-based): caption only the images whose id hashes to shard I of N (one job of an array); "
                 "each image gets the caption the whole run gives it. Score the shards' results together: "
                 "recap-score --results A B ...");
  cli::DatasetFlags dataset_flags;
  cli::add_dataset_options(app, dataset_flags);
  app.add_option("--clip", clip_path, "CLIP model (the one the run was fitted with): embeds --images and the candidates");
  app.add_option("--lm", lm_path, "T5 / FLAN-T5 folder: caption with the language model instead of retrieval only");
  std::string baseline;
  app.add_option("--baseline", baseline,
                 "random: caption each image with a training caption drawn at random (seeded by --seed), the floor "
                 "a captioner must beat")
      ->check(CLI::IsMember({"random"}));
  app.add_option("--ids", ids_path, "JSON array of the image ids (default: row numbers, or numbers/paths from file names)")
      ->check(CLI::ExistingFile);
  cli::add_caption_options(app, flags);
  app.add_option("--batch-size", pipeline.batch_size, "Images per batch (results are saved after every batch)")
      ->check(cli::kPositive)->capture_default_str();
  app.add_option("--datastore", datastore_dir, "Datastore directory (default: RUN/datastore)")->check(CLI::ExistingDirectory);
  app.add_option("--out", outputs.results, "Results JSON (COCO results format)")->required();
  app.add_option("--details", outputs.details, "JSONL per image: retrieved captions and similarities, prompt, every "
                                               "candidate with its score, the chosen one");
  app.add_option("--html", outputs.html, "Self-contained HTML gallery (thumbnails embedded, sortable by score)");
  app.add_option("--thumbnail-size", outputs.thumbnail_size, "Longer side of gallery thumbnails in pixels")
      ->check(cli::kPositive)->capture_default_str();
  cli::add_device_options(app, flags.device, flags.dtype);
  cli::add_cache_options(app, cache_dir, no_cache);
  cli::add_video_frames_option(app, pipeline.embed.video_frames);
  std::int64_t max_image_pixels = vision::kDefaultMaxImagePixels;
  cli::add_max_image_pixels_option(app, max_image_pixels);
  app.add_flag("--force", force, "Overwrite existing outputs and discard partial results of an interrupted run");
  app.add_option("--stop-after-batches", pipeline.stop_after_batches,
                 "Testing resumption: exit with status 75 after this many batches, as an interrupted run would")
      ->check(cli::kNonNegative)->group("Testing");
  cli::add_common_options(app, common);

  return cli::run(app, argc, argv, [&] {
    vision::set_max_image_pixels(max_image_pixels);
    // Every flag checked before any model is loaded.
    const bool with_lm = !lm_path.empty();
    const bool from_dataset = !dataset_path.empty();
    if ((!embeddings_path.empty()) + (!images_path.empty() && !from_dataset) + from_dataset != 1)
      throw UsageError("give exactly one input: --image-embeddings, --images or --dataset");
    if (!split.empty() && !from_dataset) throw UsageError("--split goes with --dataset");
    if (!images_path.empty() && clip_path.empty()) throw UsageError("--images needs --clip to embed them");
    if (from_dataset && clip_path.empty()) throw UsageError("--dataset needs --clip to embed its images");
    if (from_dataset && images_path.empty() && !fs::is_directory(dataset_path))
      throw UsageError("--dataset needs --images: the folder its media paths are relative to");
    if (with_lm && clip_path.empty()) throw UsageError("--lm needs --clip to embed the candidate captions");
    if (with_lm && !baseline.empty()) throw UsageError("--baseline and --lm are different captioners: give one");
    if (embeddings_path.empty() && !ids_path.empty())
      throw UsageError("--ids goes with --image-embeddings; --images and --dataset name images themselves");
    const auto lm_options = with_lm ? cli::lm_caption_options(flags, common.threads) : caption::LmCaptionOptions{};
    const Shard slice = shard.empty() ? Shard{} : parse_shard(shard);
    const fs::path partial = outputs.results.string() + ".partial.jsonl";
    io::check_output_plan({{run_dir, embeddings_path, ids_path, images_path, dataset_path, clip_path, lm_path, datastore_dir},
                           {outputs.results, outputs.details, outputs.html},
                           {},
                           force,
                           {partial}});

    // A dataset's test split may have no captions: it is captioned, not scored.
    auto dataset_options = cli::dataset_options(dataset_flags, split);
    dataset_options.captions_required = false;
    auto in = from_dataset ? caption::CaptionInputs::from_dataset(
                                       dataset_path, data::read_dataset(dataset_path, images_path, dataset_options))
                    : images_path.empty() ? caption::CaptionInputs::from_embeddings(embeddings_path, ids_path)
                                          : caption::CaptionInputs::from_media(images_path);
    in.shard = slice;

    const auto run = run::Run::open(run_dir);
    // The datastore first (0.07 s for COCO's: its captions are parsed when retrieved), so
    // that a bad one or too large a k is refused before any model loads.
    Stopwatch loading;
    const auto store = run.open_datastore({}, datastore_dir);
    store.check_k(flags.k);
    if (!store.has_index() && (flags.nprobe > 0 || flags.ef_search > 0))
      throw UsageError("--nprobe / --ef-search: " + run_dir.string() + " has no FAISS index for this datastore (recap-index builds one)");
    std::optional<models::ClipModel> clip;
    std::optional<models::T5Model> lm;
    if (!clip_path.empty()) clip.emplace(cli::load_clip(clip_path, flags, common.threads, run));
    if (with_lm) lm.emplace(cli::load_lm(lm_path, flags, common.threads, common.verbose));
    const double load_seconds = loading.seconds();
    std::unique_ptr<caption::Captioner> captioner;
    if (with_lm) captioner = std::make_unique<caption::LmCaptioner>(store, *clip, *lm, lm_options);
    else if (!baseline.empty()) captioner = std::make_unique<caption::RandomCaptioner>(store, flags.generation.seed);
    else captioner = std::make_unique<caption::RetrievalCaptioner>(store, flags.k, cli::search_options(flags, common.threads));

    pipeline.embed.batch_size = pipeline.batch_size;
    pipeline.embed.use_cache = !no_cache;
    pipeline.embed.cache_root = cache_dir;
    pipeline.embed.warn = [](const std::string& message) { cli::note("skipped " + message); };
    const caption::Pipeline captioning(run, *captioner, clip ? &*clip : nullptr, pipeline);

    // A resumed run continues only if everything that decides a caption is what it was.
    auto settings = captioning.settings(in, store, ids_path);
    settings["lm"] = with_lm ? fs::absolute(lm_path).string() : "";
    settings["clip"] = clip_path.empty() ? "" : fs::absolute(clip_path).string();
    settings["dtype"] = flags.dtype;
    if (from_dataset) settings["dataset"] = {{"split", split}, {"media", fs::absolute(images_path).string()},
                                             {"format", dataset_flags.format}, {"keep_rejected", dataset_flags.keep_rejected}};
    settings["device"] = flags.device;
    settings["content"]["lm"] = with_lm ? io::content_identity(lm_path) : nlohmann::json();
    io::ResumeLog log(partial, settings, force);
    if (log.resumed() > 0) cli::note("resuming: " + std::to_string(log.resumed()) + " images already captioned");

    const auto result = captioning.caption(in, log);
    if (result.interrupted) {
      cli::note("stopping after " + std::to_string(pipeline.stop_after_batches) + " batches as asked; rerun to resume");
      std::fflush(nullptr);
      std::_Exit(75);
    }
    if (result.records.empty()) {
      log.finish();  // nothing to resume: leave no partial log behind
      throw InputError((from_dataset ? dataset_path : images_path).string() + ": none of the images could be read");
    }
    outputs.title = "recap-caption: " + outputs.results.filename().string();
    Stopwatch writing;
    caption::write_caption_outputs(result.records, outputs);
    log.finish();
    if (common.verbose) {
      PhaseTimes load, write;
      load.add("load", load_seconds);
      write.add("write", writing.seconds());
      const std::string during = result.describe_times();
      cli::note("time: " + load.describe() + (during.empty() ? "" : ", " + during) + ", " + write.describe());
    }
    std::printf("captioned %zu images (%s, k = %lld, datastore of %lld captions%s) -> %s\n", result.records.size(),
                captioner->kind().c_str(), static_cast<long long>(flags.k), static_cast<long long>(store.size()),
                result.skipped ? (", " + std::to_string(result.skipped) + " unreadable images skipped").c_str() : "",
                outputs.results.c_str());
  });
}
