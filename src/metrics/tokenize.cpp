#include "recap/metrics/text_metrics.h"
#include "recap/text/ptb_tokenizer.h"

namespace recap::metrics {

void ptb_tokenize_captions(std::vector<ImageCaptions>& images) {
  std::vector<std::string> candidates, references;
  for (const auto& image : images) {
    candidates.push_back(image.candidate);
    references.insert(references.end(), image.references.begin(), image.references.end());
  }
  candidates = text::coco_tokenize_all(candidates);
  references = text::coco_tokenize_all(references);
  std::size_t r = 0;
  for (std::size_t i = 0; i < images.size(); ++i) {
    images[i].candidate = std::move(candidates[i]);
    for (auto& ref : images[i].references) ref = std::move(references[r++]);
  }
}

}  // namespace recap::metrics
