#include "recap/metrics/human_correlation.h"

#include "recap/metrics/text_metrics.h"
#include "recap/text/ptb_tokenizer.h"

namespace recap::metrics {

std::map<std::string, std::vector<double>> text_scores(const std::vector<data::Judgement>& judgements, bool tokenized) {
  std::vector<ImageCaptions> items;
  for (const auto& j : judgements) {
    ImageCaptions item;
    item.candidate = tokenized ? j.caption : text::ptb_tokenize(j.caption);
    for (const auto& r : j.references) item.references.push_back(tokenized ? r : text::ptb_tokenize(r));
    items.push_back(std::move(item));
  }
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
