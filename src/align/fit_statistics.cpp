#include "recap/align/fit_statistics.h"

#include <algorithm>
#include <map>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

namespace fs = std::filesystem;

namespace recap::align {
namespace {

constexpr const char* kFormat = "recap-fit-statistics";
constexpr int kVersion = 1;

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::MatrixXd read_matrix(const fs::path& path, std::int64_t rows, std::int64_t cols) {
  std::vector<std::int64_t> shape;
  const std::vector<double> values = io::read_npy_float64(path, &shape);
  if (shape != std::vector<std::int64_t>{rows, cols})
    throw InputError(path.string() + ": expected a " + std::to_string(rows) + " x " + std::to_string(cols) +
                     " matrix, as statistics.json says");
  return Eigen::Map<const RowMajor>(values.data(), rows, cols);
}

template <typename T>
T field(const nlohmann::json& doc, const char* key, const fs::path& file) {
  if (!doc.contains(key)) throw InputError(file.string() + ": missing \"" + key + "\"");
  try {
    return doc.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw InputError(file.string() + ": \"" + key + "\" has the wrong type");
  }
}

struct LoadedPart {
  StatisticsPart part;
  GramAccumulator gram;
  bool normalize;
};

LoadedPart read_part(const fs::path& dir) {
  const fs::path file = dir / "statistics.json";
  if (!fs::is_directory(dir)) throw InputError(dir.string() + ": not a folder (give the folders recap-fit --stats-out wrote)");
  if (!fs::exists(file))
    throw InputError(dir.string() + ": no statistics.json here; not a folder written by recap-fit --stats-out");
  const nlohmann::json doc = io::read_json(file);
  if (!doc.is_object() || doc.value("format", "") != kFormat)
    throw InputError(file.string() + ": not recap-fit statistics (\"format\" is not \"" + kFormat + "\")");
  if (field<int>(doc, "version", file) != kVersion)
    throw InputError(file.string() + ": statistics version " + doc["version"].dump() + ", this recap reads " +
                     std::to_string(kVersion));
  const auto pairs = field<std::int64_t>(doc, "pairs", file);
  const auto x_dim = field<std::int64_t>(doc, "x_dim", file), y_dim = field<std::int64_t>(doc, "y_dim", file);
  if (pairs < 0 || x_dim < 1 || y_dim < 1) throw InputError(file.string() + ": impossible counts or dimensions");
  const Eigen::MatrixXd xtx = read_matrix(dir / "xtx.npy", x_dim, x_dim);
  const Eigen::MatrixXd xty = read_matrix(dir / "xty.npy", x_dim, y_dim);
  if (!xtx.allFinite() || !xty.allFinite()) throw InputError(dir.string() + ": statistics hold NaN or Inf");
  const Shard shard = [&] {
    try {
      return parse_shard(field<std::string>(doc, "shard", file));
    } catch (const UsageError&) {
      throw InputError(file.string() + ": \"shard\" is not I/N");
    }
  }();
  LoadedPart loaded{{dir, shard, doc},
                    GramAccumulator::from_totals(pairs, field<double>(doc, "sum_x_squared", file),
                                                 field<double>(doc, "sum_y_squared", file), xtx, xty),
                    field<bool>(doc, "normalize", file)};
  return loaded;
}

}  // namespace

void write_fit_statistics(const fs::path& dir, const GramAccumulator& gram, bool normalize, const Shard& shard,
                          const nlohmann::json& description) {
  if (!gram.has_xtx()) throw std::invalid_argument("statistics for a later solve must keep XᵀX");
  const RowMajor xtx = gram.xtx(), xty = gram.xty();
  io::write_npy(dir / "xtx.npy", xtx.data(), {xtx.rows(), xtx.cols()});
  io::write_npy(dir / "xty.npy", xty.data(), {xty.rows(), xty.cols()});
  nlohmann::json doc = description;
  doc["format"] = kFormat;
  doc["version"] = kVersion;
  doc["pairs"] = gram.count();
  doc["x_dim"] = gram.x_dim();
  doc["y_dim"] = gram.y_dim();
  doc["sum_x_squared"] = gram.sum_x_squared();
  doc["sum_y_squared"] = gram.sum_y_squared();
  doc["normalize"] = normalize;
  doc["shard"] = shard.label();
  io::write_json(dir / "statistics.json", doc);  // last: a folder without it is incomplete
}

CombinedStatistics combine_fit_statistics(const std::vector<fs::path>& dirs) {
  if (dirs.empty()) throw UsageError("--from-stats needs at least one statistics folder");
  std::vector<LoadedPart> loaded;
  std::vector<Shard> shards;
  std::vector<std::string> names;
  for (const auto& dir : dirs) {
    loaded.push_back(read_part(dir));
    shards.push_back(loaded.back().part.shard);
    names.push_back(dir.string());
  }
  check_complete_shards(shards, names);

  const LoadedPart& first = loaded.front();
  const nlohmann::json first_clip = first.part.description.value("clip_model", nlohmann::json());
  for (const auto& part : loaded) {
    const std::string name = part.part.dir.string(), first_name = first.part.dir.string();
    if (part.gram.x_dim() != first.gram.x_dim() || part.gram.y_dim() != first.gram.y_dim())
      throw InputError(name + " has " + std::to_string(part.gram.x_dim()) + " x " + std::to_string(part.gram.y_dim()) +
                       " statistics but " + first_name + " has " + std::to_string(first.gram.x_dim()) + " x " +
                       std::to_string(first.gram.y_dim()));
    if (part.normalize != first.normalize)
      throw InputError(name + " and " + first_name + " differ in --no-normalize: statistics of normalised and raw "
                       "rows do not add up");
    const nlohmann::json clip = part.part.description.value("clip_model", nlohmann::json());
    const auto fingerprint = [](const nlohmann::json& c) { return c.is_object() ? c.value("fingerprint", nlohmann::json()) : c; };
    if (fingerprint(clip) != fingerprint(first_clip))
      throw InputError(name + " and " + first_name + " were embedded with different CLIP models");
  }

  CombinedStatistics combined{GramAccumulator(first.gram.x_dim(), first.gram.y_dim(), true), first.normalize, {}};
  // Added in shard order, so the same shards give the same bits whatever order they were named in.
  std::sort(loaded.begin(), loaded.end(),
            [](const LoadedPart& a, const LoadedPart& b) { return a.part.shard.index < b.part.shard.index; });
  for (auto& part : loaded) {
    combined.gram.merge(part.gram);
    combined.parts.push_back(std::move(part.part));
  }
  return combined;
}

}  // namespace recap::align
