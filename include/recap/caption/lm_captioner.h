#pragma once
// ReCap's full captioner: mapped image embedding -> top-k datastore captions -> prompt ->
// candidates from the language model (beams and/or samples) -> de-duplication -> CLIP text
// embeddings of the candidates -> the candidate with the highest cosine to the mapped image
// embedding. Built in recap_models (it calls CLIP and T5), but with no torch types here.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/caption/lm_prompt.h"
#include "recap/caption/retrieval_captioner.h"
#include "recap/models/clip_model.h"
#include "recap/models/t5_model.h"

namespace recap::caption {

struct LmCaptionOptions {
  std::int64_t k = 8;                 // retrieved captions in the prompt
  std::string prompt_template = kDefaultPromptTemplate;
  std::string separator = " ";        // between retrieved captions in the prompt
  int candidate_beams = 0;            // candidates from beam search (num_beams = this, all returned)
  int candidate_samples = 0;          // candidates from sampling
  // Decoding settings of the beam candidates and of the sampled ones (seed: per image).
  // Their decoding, beam count and number of returned sequences follow from the candidate
  // counts (resolved()); whatever they hold there is overwritten.
  models::GenerationOptions beam;
  models::GenerationOptions sample;
  std::int64_t max_input_tokens = 512;
  // Ablation: choose a candidate at random (seeded by the sampling seed and the image's
  // position) instead of by aligned cosine.
  bool random_choice = false;
  retrieval::SearchOptions search;

  // These options with beam and sample set up from the candidate counts.
  LmCaptionOptions resolved() const;
  void validate() const;  // UsageError: k < 1, no candidates, a template without {captions}, ...
};

class LmCaptioner : public Captioner {
 public:
  // The datastore, CLIP (candidate text embeddings) and T5 must outlive the captioner.
  LmCaptioner(const retrieval::Datastore& store, const models::ClipModel& clip, const models::T5Model& lm,
              LmCaptionOptions options);

  // Captions one batch. Each image's position in the whole input seeds its samples, so
  // that a caption depends on neither batching nor resuming. One record per image:
  // {"image_id", "caption", "score", "retrieved": [{"index", "caption", "similarity"}],
  //  "prompt", "candidates": [{"text", "source", "score"}], "chosen"}.
  std::vector<nlohmann::json> caption(const CaptionBatch& batch) const override;
  std::vector<std::vector<Retrieved>> retrieve(const CaptionBatch& batch) const override;
  std::string kind() const override { return "language model"; }
  nlohmann::json settings() const override;
  std::int64_t k() const override { return options_.k; }
  // "generate" (T5's beams and samples) and "score candidates" (their CLIP embeddings).
  PhaseTimes phase_times() const override { return times_; }

  const LmCaptionOptions& options() const { return options_; }

 private:
  const retrieval::Datastore& store_;
  const models::ClipModel& clip_;
  const models::T5Model& lm_;
  LmCaptionOptions options_;
  mutable PhaseTimes times_;  // caption() is const for its callers; the pipeline calls it from one thread
};

}  // namespace recap::caption
