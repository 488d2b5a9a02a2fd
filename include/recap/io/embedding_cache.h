#pragma once
// A resumable on-disk cache of embedding rows, so that no image or caption is embedded
// twice across recap-embed, recap-fit and recap-score runs.
//
// One folder per namespace (model fingerprint + preprocessing + kind), holding an
// append-only file of fixed-size records [key u64][checksum u64][dim x float32] and a
// meta.json for people. Rows are appended after every batch, so an interrupted job keeps
// what it finished; a torn final record is cut off when the cache is next opened.
// Appends take an exclusive flock, so concurrent jobs may share a cache folder.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace recap::io {

// 64-bit digest (FNV-1a then a final avalanche); stable across runs and machines.
std::uint64_t hash64(std::string_view data, std::uint64_t seed = 0);
std::string hex64(std::uint64_t value);

// What identifies a file's content cheaply: absolute path, size and modification time.
std::string file_identity(const std::filesystem::path& path);

// The default cache root: $RECAP_CACHE, else $XDG_CACHE_HOME/recap, else ~/.cache/recap.
std::filesystem::path default_cache_root();

class EmbeddingCache {
 public:
  // `description` is written to meta.json; its digest names the folder.
  EmbeddingCache(const std::filesystem::path& root, const nlohmann::json& description, int dim);
  ~EmbeddingCache();
  EmbeddingCache(const EmbeddingCache&) = delete;
  EmbeddingCache& operator=(const EmbeddingCache&) = delete;

  // Copies the row for `key` into `out` (dim floats); false when absent.
  bool lookup(std::uint64_t key, float* out) const;
  // Appends rows (keys.size() x dim) and makes them durable before returning.
  void insert(const std::vector<std::uint64_t>& keys, const float* rows);

  std::size_t size() const { return index_.size(); }
  int dim() const { return dim_; }
  const std::filesystem::path& folder() const { return folder_; }

 private:
  std::filesystem::path folder_;
  int dim_;
  int fd_ = -1;
  std::unordered_map<std::uint64_t, std::vector<float>> index_;
};

}  // namespace recap::io
