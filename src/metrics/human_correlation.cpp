#include "recap/metrics/human_correlation.h"

#include "recap/metrics/text_metrics.h"

namespace recap::metrics {

std::map<std::string, std::vector<double>> text_scores(const std::vector<data::Judgement>& judgements, bool tokenized) {
  std::vector<ImageCaptions> items;
  for (const auto& j : judgements) items.push_back({j.caption, j.references});
  if (!tokenized) ptb_tokenize_captions(items);
  std::map<std::string, std::vector<double>> scores;
  const auto b = bleu(items);
  for (int n = 0; n < 4; ++n) scores["Bleu_" + std::to_string(n + 1)] = b[n].per_image;
  scores["ROUGE_L"] = rouge_l(items).per_image;
  scores["CIDEr"] = cider_d(items).per_image;
  return scores;
}

std::vector<Correlation> correlate(const std::map<std::string, std::vector<double>>& scores,
                                   const std::vector<data::Judgement>& judgements, KendallVariant variant) {
  std::vector<double> human;
  for (const auto& j : judgements) human.push_back(j.rating);
  std::vector<Correlation> out;
  for (const auto& [metric, values] : scores) out.push_back({metric, kendall_tau(values, human, variant)});
  return out;
}

}  // namespace recap::metrics
