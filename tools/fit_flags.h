#pragma once
// recap-fit's flags: its three jobs (fit a run; write a shard's statistics; combine the
// shards' statistics into a run), the options of each, and the checks of which go together.
// Header-only: recap-fit alone includes it.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "cli_support.h"
#include "dataset_options.h"
#include "model_options.h"
#include "recap/align/fit.h"
#include "recap/common/error.h"
#include "recap/embed/embed_subprocess.h"

namespace recap::cli {

inline align::FitOptions fit_options(const std::string& method, double lambda, bool no_normalize, std::int64_t chunk_rows,
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
  std::int64_t chunk_rows = align::FitOptions{}.chunk_rows;
  std::string precision = "mixed";
  embed::EmbedSettings embed;
  std::string dataset_path, images_root, split_list;
  DatasetFlags dataset;
  std::string shard, stats_out;          // sharded fitting, step 1
  std::vector<std::string> from_stats;   // sharded fitting, step 2
  std::string index;                     // FAISS factory string of the run's index
};

inline void add_fit_options(CLI::App& app, FitFlags& f) {
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
  app.add_option("--lambda", f.lambda, "Ridge penalty λ (required for --method ridge)")->check(kNonNegative);
  app.add_flag("--no-normalize", f.no_normalize, "Fit on the rows as given instead of L2-normalising them first");
  app.add_option("--chunk-rows", f.chunk_rows, "Pairs per streamed chunk (memory: one chunk + O(d²))")
      ->check(kPositive)->capture_default_str();
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
  add_dataset_options(app, f.dataset);
  add_embed_options(app, f.embed);
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

// The flags that decide which of the three jobs recap-fit does, checked together.
inline void check_modes(const FitFlags& f, const CLI::App& app, bool from_dataset, bool precomputed) {
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
  if (!f.index.empty() && stats_out)
    throw UsageError("--index goes with the run (--out or --from-stats), not with a shard's --stats-out");
  if (!f.index.empty() && !from_dataset && f.captions_path.empty())
    throw UsageError("--index needs a datastore to index: give --captions");
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
}

}  // namespace recap::cli
