#pragma once
// The step every ReCap captioner shares: a batch of aligned image embeddings in, one
// JSON record per image out, after a top-k search of the datastore that the caller may
// do ahead for many batches at once. Two captioners implement it: retrieval only
// (retrieval_captioner.h) and the language-model captioner (lm_captioner.h); the
// captioning pipeline (pipeline.h) batches, resumes and writes around either.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/common/phase_times.h"
#include "recap/io/matrix.h"

namespace recap::caption {

struct Retrieved {
  std::int64_t index;  // datastore row
  float similarity;    // cosine with the aligned image embedding
};

struct CaptionBatch {
  io::FloatMatrix aligned;               // rows: normalised aligned image embeddings
  std::vector<nlohmann::json> ids;       // image id of each row
  std::vector<std::int64_t> positions;   // each image's index in the whole input (seeds its samples)
  // Per row, datastore rows the image must not retrieve (DAL: its own references and the
  // captions made for it). Empty: no exclusions.
  std::vector<std::vector<std::int64_t>> excluded;
  // Per row, its top-k datastore captions when they were searched already (the pipeline
  // searches many batches at once); empty: the captioner searches.
  std::vector<std::vector<Retrieved>> retrieved;
};

class Captioner {
 public:
  virtual ~Captioner() = default;
  // One record per row: {"image_id", "caption", "score", "retrieved": [{"index", "caption",
  // "similarity"}], ...}; the LM captioner adds "prompt", "candidates" and "chosen".
  virtual std::vector<nlohmann::json> caption(const CaptionBatch& batch) const = 0;
  // The top-k datastore captions of every row of `batch` (leaving out its excluded rows),
  // in one search: what caption() would search for, for a caller that batches searches.
  virtual std::vector<std::vector<Retrieved>> retrieve(const CaptionBatch& batch) const = 0;
  // "retrieval only" or "language model", for messages.
  virtual std::string kind() const = 0;
  // Everything besides the inputs that decides a caption: part of a resumed run's settings.
  virtual nlohmann::json settings() const = 0;
  virtual std::int64_t k() const = 0;
  // Seconds spent so far inside caption(), per phase, for captioners that have phases
  // worth telling apart (the LM captioner: generation and candidate scoring).
  virtual PhaseTimes phase_times() const { return {}; }
};

}  // namespace recap::caption
