#pragma once
// Metric-versus-human correlation on judgement sets such as Flickr8k (data/flickr8k.h):
// every judgement is scored as its own "image" (the candidate against its references,
// as clipscore's compute_metrics.py feeds pycocoevalcap), then Kendall tau between each
// metric's per-judgement scores and the human ratings.
#include <map>
#include <string>
#include <vector>

#include "recap/data/flickr8k.h"
#include "recap/metrics/kendall.h"

namespace recap::metrics {

// Per-judgement Bleu_1..4, ROUGE_L, CIDEr (PTB-tokenised unless `tokenized` says the
// text already is).
std::map<std::string, std::vector<double>> text_scores(const std::vector<data::Judgement>& judgements, bool tokenized);

struct Correlation {
  std::string metric;
  double tau = 0;
};

std::vector<Correlation> correlate(const std::map<std::string, std::vector<double>>& scores,
                                   const std::vector<data::Judgement>& judgements, KendallVariant variant);

}  // namespace recap::metrics
