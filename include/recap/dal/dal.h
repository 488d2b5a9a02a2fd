#pragma once
// DAL, the paper's datastore-augmentation loop. Each iteration:
//  1. caption the training images with the current datastore; an image never retrieves
//     its own reference captions nor captions made for it in earlier iterations;
//  2. score each synthetic caption against the image's references (default RefaCLIP-S);
//  3. add the captions that pass the selection rule to the datastore (a new layer: the
//     base datastore is never copied or changed);
//  4. embed the added captions;
//  5. caption the validation images with the new datastore and score them.
// Everything an iteration writes appears at once (a staging folder renamed when done),
// and captioning inside an iteration resumes from its logs, so an interrupted loop
// continues where it stopped and ends as an uninterrupted one would.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/caption/lm_captioner.h"
#include "recap/embed/embed_pipeline.h"
#include "recap/metrics/scoring.h"
#include "recap/models/clip_model.h"
#include "recap/models/t5_model.h"
#include "recap/run/run.h"

namespace recap::dal {

// Images with their reference captions (a dataset split).
struct Split {
  std::string name;                              // "train", "val"
  std::filesystem::path source;                  // the dataset file, for provenance and resuming
  std::vector<std::filesystem::path> files;
  std::vector<std::string> ids;
  std::vector<std::vector<std::string>> references;
};

// Which synthetic captions join the datastore. This project's default, since the paper's
// exact rule could not be confirmed: a caption is kept when it scores at least the median
// of its image's own references, each reference scored leave-one-out against the others
// (images with a single reference have no such median, and add nothing).
struct SelectionRule {
  enum class Kind { reference_median, threshold, top_fraction } kind = Kind::reference_median;
  double value = 0;  // the threshold, or the fraction in (0, 1]
  // "reference-median", "threshold:0.8", "top:0.25"; UsageError otherwise.
  static SelectionRule parse(const std::string& text);
  std::string describe() const;
};

struct Options {
  int iterations = 1;
  std::string metric = "refaclip-s";  // a recap-score metric; bleu selects by Bleu_4
  SelectionRule rule;
  std::string val_metrics = "bleu,rouge,cider,clip-s,refclip-s,aclip-s,refaclip-s";
  std::int64_t k = 8;
  caption::LmCaptionOptions lm;       // with a language model (k and search set from here)
  retrieval::SearchOptions search;
  int batch_size = 16;
  embed::EmbedOptions embed;          // images and captions (cache, workers, warnings)
  std::string prefix = "A photo depicts ";  // clipscore's text prefix for the CLIP metrics
  metrics::JavaScorerOptions meteor, spice;
  int stop_after_iterations = 0;      // testing: return after this many iterations
};

// One row of dal.csv: the validation scores after an iteration (iteration 0: the base
// datastore, before any addition).
struct IterationSummary {
  int iteration = 0;
  std::int64_t datastore_size = 0, added = 0, candidates = 0;
  std::vector<std::pair<std::string, double>> val_scores;  // in report order
};

class Loop {
 public:
  // `lm` may be null: retrieval-only captioning. UsageError for bad options (an unknown
  // metric, a jar-based metric without its jar, no iterations).
  Loop(const run::Run& run, const models::ClipModel& clip, const models::T5Model* lm, Options options);

  // Runs (or resumes) the loop in `out`: iter-0 .. iter-N, dal.csv and dal.png.
  // `settings` (the caller's description of inputs and options) is stored in dal.json; a
  // folder holding another loop's results is refused (UsageError) unless `force`.
  std::vector<IterationSummary> run(const Split& train, const Split& val, const std::filesystem::path& out,
                                    const nlohmann::json& settings, bool force,
                                    const std::function<void(const IterationSummary&)>& on_iteration = {}) const;

 private:
  const run::Run& run_;
  const models::ClipModel& clip_;
  const models::T5Model* lm_;
  Options options_;
};

// The scores of `candidates[i]` against `references[i]` by one metric (per image), with
// image i's raw CLIP embedding `image_rows[i]` of `images` for the CLIP metrics.
std::vector<double> score_captions(const std::string& metric, const std::vector<std::string>& candidates,
                                   const std::vector<std::vector<std::string>>& references,
                                   const io::FloatMatrix& images, const std::vector<std::int64_t>& image_rows,
                                   const run::Run& run, const models::ClipModel& clip, const Options& options);

}  // namespace recap::dal
