#pragma once
// What provenance files (run.json, mapping.json) record about inputs and time.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

namespace recap::io {

// {"path", "bytes", "modified"}: enough to notice that an input changed since a run.
nlohmann::json describe_file(const std::filesystem::path& path);
std::string utc_timestamp();  // ISO 8601, e.g. 2026-11-26T21:48:00Z

}  // namespace recap::io
