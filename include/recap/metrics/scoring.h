#pragma once
// Every metric recap scores captions with, by name, computed together on one set of
// images: what recap-score prints and what recap-dal selects captions by.
//   bleu (Bleu_1..4), rouge (ROUGE_L), cider (CIDEr), meteor, spice (through their jars),
//   clip-s, refclip-s (CLIP-S, RefCLIP-S), aclip-s, refaclip-s (aCLIP-S, RefaCLIP-S).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "recap/data/captions.h"
#include "recap/io/matrix.h"
#include "recap/metrics/bootstrap.h"
#include "recap/metrics/clip_inputs.h"
#include "recap/metrics/clip_score.h"
#include "recap/metrics/java_scorers.h"
#include "recap/metrics/text_metrics.h"

namespace recap::metrics {

// The metric names recap-score's --metrics takes, in the order scores are reported.
const std::vector<std::string>& metric_names();

// Which metrics a run computes, parsed from a comma-separated list.
struct MetricSet {
  std::set<std::string> names;
  static MetricSet parse(const std::string& list);  // UsageError naming an unknown metric
  bool has(const std::string& name) const { return names.count(name) > 0; }
  bool plain_clip() const { return has("clip-s") || has("refclip-s"); }
  bool aligned_clip() const { return has("aclip-s") || has("refaclip-s"); }
  bool needs_clip() const { return plain_clip() || aligned_clip(); }
  bool needs_references_embedded() const { return has("refclip-s") || has("refaclip-s"); }
};

// The report name of each score of a metric ("bleu" -> Bleu_1..Bleu_4, "refaclip-s" -> RefaCLIP-S).
std::vector<std::string> score_names(const std::string& metric);

struct Score {
  std::string name;  // pycocoevalcap / clipscore key: Bleu_4, CIDEr, RefaCLIP-S, ...
  double value = 0;
  std::vector<double> per_image;
  ResampledScore resample;  // corpus score of a resample (bootstrap); empty: the mean of per_image
  std::optional<std::pair<double, double>> interval;
};

struct ScoringInputs {
  const std::vector<ImageCaptions>* images = nullptr;  // tokenised candidates and references
  std::vector<std::string> image_names;                // for the jars' messages
  const ClipEmbeddings* clip = nullptr;                // needed by the CLIP metrics
  const io::FloatMatrix* aligned_images = nullptr;     // run::Run::align of clip->images (aCLIP-S family)
  JavaScorerOptions meteor, spice;                     // an empty jar: that metric is unavailable
  double clip_weight = kClipScoreWeight;
};

struct Scores {
  std::vector<Score> scores;
  std::map<std::string, std::string> unavailable;  // report name -> why (a jar not given, ...)
  const Score* find(const std::string& name) const;
};

Scores compute_scores(const MetricSet& metrics, const ScoringInputs& inputs);

// Each result with its image's references (InputError naming the files when an image has
// none), PTB-tokenised as pycocoevalcap does unless `tokenize` is false.
std::vector<ImageCaptions> pair_with_references(const std::vector<data::CaptionResult>& results,
                                                const data::ReferenceSet& refs, bool tokenize,
                                                const std::string& results_name, const std::string& refs_name);

// 95% bootstrap intervals for every score, `resamples` resamples of the images.
void add_bootstrap_intervals(Scores& scores, std::size_t images, int resamples, std::uint32_t seed);

}  // namespace recap::metrics
