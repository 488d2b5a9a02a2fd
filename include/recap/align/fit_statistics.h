#pragma once
// Sharded fitting: each shard of the training pairs writes its sufficient statistics
// (XᵀX, XᵀY, Σ‖x‖², Σ‖y‖², the pair count), which are sums over pairs, so the statistics
// of disjoint shards add up to those of the whole and W solved from the sum is W over
// the whole (to rounding). A statistics folder (recap-fit --stats-out) holds:
//   statistics.json  format, pair count, dimensions, sums of squares, normalisation, the
//                    shard ("I/N") and the provenance of its inputs
//   xtx.npy, xty.npy float64, d_x x d_x and d_x x d_y
//   datastore/       the shard's captions and embeddings, when it has captions
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "recap/align/gram_accumulator.h"
#include "recap/common/shard.h"

namespace recap::align {

struct StatisticsPart {
  std::filesystem::path dir;
  Shard shard;
  nlohmann::json description;  // its statistics.json
};

struct CombinedStatistics {
  GramAccumulator gram;
  bool normalize = true;               // the rows were L2-normalised before accumulating
  std::vector<StatisticsPart> parts;   // in shard order
};

// Writes xtx.npy, xty.npy and statistics.json into `dir` (an existing folder). `gram`
// must hold XᵀX. `description` (provenance, clip model, ...) is kept in statistics.json
// beside the fields written here.
void write_fit_statistics(const std::filesystem::path& dir, const GramAccumulator& gram, bool normalize,
                          const Shard& shard, const nlohmann::json& description);

// Reads the statistics folders of every shard and adds them up. InputError naming the
// folder when one is not a statistics folder or is damaged, when their dimensions,
// normalisation or CLIP model differ, or when the shards are not exactly 0..N-1 of one N
// (a shard missing or given twice).
CombinedStatistics combine_fit_statistics(const std::vector<std::filesystem::path>& dirs);

}  // namespace recap::align
