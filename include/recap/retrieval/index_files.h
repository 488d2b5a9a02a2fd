#pragma once
// An index folder (RUN/index/): `index.faiss`, the FAISS index (faiss::write_index), and
// `index.json`, what it is and how it was built: factory string, metric, rows, dimension,
// the fingerprint of the datastore it was built from, build times, search settings and the
// recall measured against exact search.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "recap/retrieval/faiss_index.h"

namespace recap::retrieval {

inline constexpr const char* kIndexFile = "index.faiss";
inline constexpr const char* kIndexManifest = "index.json";

// What ties an index to the datastore it was built from, by content and cheaply (a
// datastore may be hundreds of GB): the embeddings' rows, dimension and type, the file's
// size and an FNV-1a 64 hash of its first and last MiB. A copied run keeps it; another
// datastore, or one with rows changed at either end, does not.
nlohmann::json datastore_fingerprint(const std::filesystem::path& datastore_dir);

// Writes index.faiss and index.json (`manifest`, with the file's size added) into `dir`.
void write_index_folder(const std::filesystem::path& dir, const FaissIndex& index, nlohmann::json manifest);

struct StoredIndex {
  std::shared_ptr<const FaissIndex> index;
  nlohmann::json manifest;
};

// Reads an index folder and checks it against the datastore at `datastore_dir`: InputError,
// naming the file, for a missing, truncated or foreign index.faiss, an unreadable
// index.json, or an index built from another datastore (rows, dimension or fingerprint).
StoredIndex read_index_folder(const std::filesystem::path& dir, const std::filesystem::path& datastore_dir);

}  // namespace recap::retrieval
