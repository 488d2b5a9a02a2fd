#pragma once
// The floor every captioner must beat: each image gets a caption of the datastore's base
// layer (the training captions) drawn at random, from a seed and the image's position in
// the input, so that it depends on neither batching nor resuming. The record's
// "retrieved" holds the drawn caption with its cosine to the aligned image embedding.
#include <cstdint>

#include "recap/caption/captioner.h"
#include "recap/retrieval/datastore.h"

namespace recap::caption {

class RandomCaptioner : public Captioner {
 public:
  // The datastore must outlive the captioner.
  RandomCaptioner(const retrieval::Datastore& store, std::uint64_t seed);
  std::vector<nlohmann::json> caption(const CaptionBatch& batch) const override;
  std::vector<std::vector<Retrieved>> retrieve(const CaptionBatch& batch) const override;
  std::string kind() const override { return "random caption"; }
  nlohmann::json settings() const override { return {{"baseline", "random"}, {"seed", seed_}}; }
  std::int64_t k() const override { return 1; }

 private:
  const retrieval::Datastore& store_;
  std::uint64_t seed_;
};

}  // namespace recap::caption
