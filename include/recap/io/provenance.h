#pragma once
// What provenance files (run.json, mapping.json) record about inputs and time.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace recap::io {

// {"path", "bytes", "modified"}: enough to notice that an input changed since a run.
nlohmann::json describe_file(const std::filesystem::path& path);
std::string utc_timestamp();  // ISO 8601, e.g. 2026-11-26T21:48:00Z

// What a resumed run keys on to tell that an input is still the one it started with,
// without reading it whole. A file: its size, modification time (ns) and a hash of its
// first MiB ("bytes", "modified_ns", "head"). A folder: one hash over the relative path,
// size and modification time of every file under it ("files", "listing"). A missing path
// or an empty one gives null.
nlohmann::json content_identity(const std::filesystem::path& path);

// What a reproduction's table records about an input, by content: a file's size and
// FNV-1a 64 hash ({"path", "bytes", "fnv1a64"}); a folder (a model), the same for each
// file directly in it ({"path", "files": {"<name>": {"bytes", "fnv1a64"}}}). Reads every
// byte: meant for annotation files and model folders, not image folders.
nlohmann::json fingerprint_path(const std::filesystem::path& path);

// FNV-1a 64 of a whole file, as 16 hex digits: for small files that define a result (W).
std::string file_hash(const std::filesystem::path& path);

}  // namespace recap::io
