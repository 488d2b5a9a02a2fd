#pragma once
// Measurements cached per machine, one JSON file of {key: entry} per kind under the cache
// root (RECAP_CACHE or ~/.cache/recap): which search kernel or product engine is faster
// here. A missing or unreadable file is an empty cache, and failing to write one only
// means measuring again next time.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace recap::io {

// The entry stored under `key` in `file_name`, when it is a JSON object.
std::optional<nlohmann::json> load_measurement(const std::string& file_name, const std::string& key);
// Best effort: never throws.
void store_measurement(const std::string& file_name, const std::string& key, const nlohmann::json& entry);

// The entry under `key` when the cache holds one that `usable` accepts; otherwise the
// result of `measure`, stored. Processes that start together on a fresh machine (a test
// suite, a job array) would each measure a near tie and could choose differently, and a
// choice of kernel changes results in their last bits: so the lookup, the measurement
// and the store happen under an exclusive lock on the file, and every process on the
// machine gets the first one's answer. Where no lock can be taken (a read-only cache),
// it measures without one.
nlohmann::json measure_once(const std::string& file_name, const std::string& key,
                            const std::function<bool(const nlohmann::json&)>& usable,
                            const std::function<nlohmann::json()>& measure);

}  // namespace recap::io
