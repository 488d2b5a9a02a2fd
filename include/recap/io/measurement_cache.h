#pragma once
// Measurements cached per machine, one JSON file of {key: entry} per kind under the cache
// root (RECAP_CACHE or ~/.cache/recap): which search kernel or product engine is faster
// here. A missing or unreadable file is an empty cache, and failing to write one only
// means measuring again next time.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace recap::io {

// The entry stored under `key` in `file_name`, when it is a JSON object.
std::optional<nlohmann::json> load_measurement(const std::string& file_name, const std::string& key);
// Best effort: never throws.
void store_measurement(const std::string& file_name, const std::string& key, const nlohmann::json& entry);

}  // namespace recap::io
