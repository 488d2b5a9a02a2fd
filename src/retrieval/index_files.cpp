#include "recap/retrieval/index_files.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "recap/common/error.h"
#include "recap/io/json_file.h"
#include "recap/io/npy.h"

namespace fs = std::filesystem;

namespace recap::retrieval {
namespace {

std::string head_tail_hash(const fs::path& file) {
  constexpr std::uint64_t kOffset = 14695981039346656037ULL, kPrime = 1099511628211ULL;
  constexpr std::int64_t kMiB = 1 << 20;
  const auto size = static_cast<std::int64_t>(fs::file_size(file));
  std::ifstream in(file, std::ios::binary);
  std::uint64_t hash = kOffset;
  std::vector<char> buffer(static_cast<std::size_t>(kMiB));
  // The head, then the tail (where it does not overlap the head).
  for (const std::int64_t start : {std::int64_t{0}, std::max<std::int64_t>(kMiB, size - kMiB)}) {
    const std::int64_t count = std::min(kMiB, size - start);
    if (count <= 0) continue;
    in.seekg(start);
    in.read(buffer.data(), count);
    if (in.gcount() != count) throw InputError(file.string() + ": could not read it");
    for (std::int64_t i = 0; i < count; ++i) hash = (hash ^ static_cast<unsigned char>(buffer[i])) * kPrime;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace

nlohmann::json datastore_fingerprint(const fs::path& datastore_dir) {
  const fs::path embeddings = datastore_dir / "embeddings.npy";
  const io::NpyMatrixReader reader(embeddings);
  return {{"rows", reader.rows()},
          {"dim", reader.cols()},
          {"dtype", io::dtype_name(reader.dtype())},
          {"bytes", static_cast<std::int64_t>(fs::file_size(embeddings))},
          {"head_tail_fnv1a64", head_tail_hash(embeddings)}};
}

void write_index_folder(const fs::path& dir, const FaissIndex& index, nlohmann::json manifest) {
  index.save(dir / kIndexFile);
  manifest["file"] = {{"name", kIndexFile}, {"bytes", static_cast<std::int64_t>(fs::file_size(dir / kIndexFile))}};
  io::write_json(dir / kIndexManifest, manifest);
}

StoredIndex read_index_folder(const fs::path& dir, const fs::path& datastore_dir) {
  const fs::path manifest_path = dir / kIndexManifest;
  if (!fs::is_regular_file(manifest_path)) throw InputError(manifest_path.string() + ": missing (rebuild the index with recap-index --force)");
  StoredIndex stored;
  stored.manifest = io::read_json(manifest_path);
  if (!stored.manifest.is_object() || !stored.manifest.contains("datastore") || !stored.manifest.contains("factory"))
    throw InputError(manifest_path.string() + ": not an index description (expected \"factory\" and \"datastore\")");
  const auto recorded = stored.manifest["datastore"];
  const auto actual = datastore_fingerprint(datastore_dir);
  if (recorded != actual)
    throw InputError(manifest_path.string() + ": the index was built from another datastore (" +
                     std::to_string(recorded.value("rows", -1)) + " rows, fingerprint " +
                     recorded.value("head_tail_fnv1a64", std::string("?")) + ") than " + datastore_dir.string() + " (" +
                     std::to_string(actual["rows"].get<std::int64_t>()) + " rows, fingerprint " +
                     actual["head_tail_fnv1a64"].get<std::string>() + "): rebuild it with recap-index --force, or "
                     "search exactly with --exact");
  auto index = std::make_shared<FaissIndex>(FaissIndex::load(dir / kIndexFile));
  if (index->rows() != actual["rows"].get<std::int64_t>() || index->dim() != actual["dim"].get<std::int64_t>())
    throw InputError((dir / kIndexFile).string() + ": holds " + std::to_string(index->rows()) + " rows of dimension " +
                     std::to_string(index->dim()) + " but the datastore " + datastore_dir.string() + " has " +
                     std::to_string(actual["rows"].get<std::int64_t>()) + " of dimension " +
                     std::to_string(actual["dim"].get<std::int64_t>()) + " (rebuild it: recap-index --force)");
  stored.index = std::move(index);
  return stored;
}

}  // namespace recap::retrieval
