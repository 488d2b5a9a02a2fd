#pragma once
// How well each metric agrees with people, as clipscore reports it: Kendall tau between
// the metric's scores and the Flickr8k human judgements (tau-c on Flickr8k-Expert, tau-b
// on Flickr8k-CrowdFlower). The CLIP metrics embed the judged images and captions with a
// CLIP model through recap-embed; the aligned ones map the images with a run's W.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "recap/metrics/clip_score.h"
#include "recap/metrics/human_correlation.h"

namespace recap::metrics {

struct Flickr8kCorrelationRequest {
  std::filesystem::path root;    // Flickr8k.token.txt and the judgement files
  bool expert = true;            // Flickr8k-Expert, else CrowdFlower
  std::filesystem::path clip;    // empty: text metrics only
  std::filesystem::path images;  // the Flickr8k image folder, with `clip`
  std::filesystem::path run;     // a run directory: also aCLIP-S / RefaCLIP-S
  std::string prefix = "A photo depicts ";
  double clip_weight = kClipScoreWeight;
  int threads = 0;
};

struct Flickr8kCorrelation {
  std::size_t judgements = 0;
  bool expert = true;
  std::vector<Correlation> rows;  // tau is NaN for a metric constant over the set
};

Flickr8kCorrelation correlate_flickr8k(const Flickr8kCorrelationRequest& request);

}  // namespace recap::metrics
