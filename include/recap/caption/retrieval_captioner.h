#pragma once
// ReCap's retrieval step and its retrieval-only captioner: the mapped image embedding
// retrieves the k most similar datastore captions, and the most similar one is the
// caption. The language-model captioner builds on the same Retrieved lists.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recap/io/matrix.h"
#include "recap/retrieval/datastore.h"

namespace recap::caption {

struct Retrieved {
  std::int64_t index;  // datastore row
  float similarity;    // cosine with the mapped image embedding
};

struct CaptionResult {
  nlohmann::json image_id;
  std::string caption;
  float score = 0;                   // cosine of the chosen caption with the mapped embedding
  std::vector<Retrieved> retrieved;  // top-k, best first
};

// Image ids for the query rows: a JSON array of ints or strings (or a COCO-style list of
// {"image_id": ...} / {"id": ...} objects). Missing file -> row numbers 0..n-1. Throws
// InputError on a count mismatch or duplicate ids.
std::vector<nlohmann::json> load_image_ids(const std::filesystem::path& path, std::int64_t expected_rows);
std::vector<nlohmann::json> row_numbers_as_ids(std::int64_t rows);

// Top-k retrieval for each row of `mapped` (normalised aligned embeddings).
// `kernel_used`, when given, receives the search kernel's description.
std::vector<std::vector<Retrieved>> retrieve(const retrieval::Datastore& store, const io::FloatMatrix& mapped,
                                             std::int64_t k, const retrieval::SearchOptions& options = {},
                                             std::string* kernel_used = nullptr);

// The retrieval-only captioner: the best retrieved caption.
std::vector<CaptionResult> caption_by_retrieval(const retrieval::Datastore& store, const io::FloatMatrix& mapped,
                                                const std::vector<nlohmann::json>& ids, std::int64_t k,
                                                const retrieval::SearchOptions& options = {},
                                                std::string* kernel_used = nullptr);

// COCO results format [{"image_id", "caption"}].
nlohmann::json coco_results(const std::vector<CaptionResult>& results);
// One JSONL record of --details: id, caption, score and the retrieved captions.
nlohmann::json details_record(const CaptionResult& result, const retrieval::Datastore& store);

}  // namespace recap::caption
