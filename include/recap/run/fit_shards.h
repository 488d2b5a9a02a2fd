#pragma once
// Sharded fitting, the two steps around the statistics (align/fit_statistics.h):
//  1. each shard writes a statistics folder: its XᵀX, XᵀY and counts, and its datastore;
//  2. one job combines every shard's folder into W and the run's merged datastore.
// The statistics add up exactly, so W equals the unsharded fit's to rounding (1e-6).
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/align/fit.h"
#include "recap/common/shard.h"
#include "recap/io/npy.h"

namespace recap::run {

// Writes a statistics folder into `dir` (an empty staging folder the caller commits):
// the statistics, and datastore/ when `captions` are given (with their embeddings), with
// each caption's place in the whole data set when `caption_order` is given (rows x 2,
// retrieval/datastore_merge.h), so that the merged datastore has the whole's order.
void write_statistics_folder(const std::filesystem::path& dir, const align::GramAccumulator& gram, bool normalize,
                             const Shard& shard, const nlohmann::json& provenance,
                             const std::vector<nlohmann::json>* captions = nullptr,
                             const io::NpyMatrixReader* text_embeddings = nullptr,
                             const std::vector<std::int64_t>* caption_order = nullptr);

struct ShardedFit {
  align::FitResult fit;
  bool normalize = true;                         // how the shards' rows were accumulated
  nlohmann::json inputs;                         // per shard: folder, shard, pairs, its provenance
  nlohmann::json clip_model;                     // the CLIP model all shards were embedded with (or null)
  std::vector<std::filesystem::path> datastores; // each shard's datastore/, in shard order; empty when none has one
};

// Adds up the statistics folders (all shards 0..N-1 of one N, checked) and solves for W.
// `options.normalize` is ignored: the statistics say how their rows were accumulated.
// InputError when some shards have a datastore and others do not.
ShardedFit fit_from_statistics(const std::vector<std::filesystem::path>& dirs, align::FitOptions options);

}  // namespace recap::run
