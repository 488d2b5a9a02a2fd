#pragma once
// ReCap's retrieval step and its retrieval-only captioner: the aligned image embedding
// retrieves the k most similar datastore captions, and the most similar one is the
// caption. The language-model captioner builds on the same retrieved lists.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/caption/captioner.h"
#include "recap/io/matrix.h"
#include "recap/retrieval/datastore.h"

namespace recap::caption {

// Top-k retrieval for each row of `batch.aligned`, leaving out each row's excluded rows;
// `batch.retrieved` when it is filled already.
std::vector<std::vector<Retrieved>> retrieve(const retrieval::Datastore& store, const CaptionBatch& batch,
                                             std::int64_t k, const retrieval::SearchOptions& options = {});

// The "retrieved" array of a record.
nlohmann::json retrieved_json(const std::vector<Retrieved>& list, const retrieval::Datastore& store);

class RetrievalCaptioner : public Captioner {
 public:
  // The datastore must outlive the captioner.
  RetrievalCaptioner(const retrieval::Datastore& store, std::int64_t k, retrieval::SearchOptions search = {});
  std::vector<nlohmann::json> caption(const CaptionBatch& batch) const override;
  std::vector<std::vector<Retrieved>> retrieve(const CaptionBatch& batch) const override {
    return caption::retrieve(store_, batch, k_, search_);
  }
  std::string kind() const override { return "retrieval only"; }
  nlohmann::json settings() const override;
  std::int64_t k() const override { return k_; }

 private:
  const retrieval::Datastore& store_;
  std::int64_t k_;
  retrieval::SearchOptions search_;
};

}  // namespace recap::caption
