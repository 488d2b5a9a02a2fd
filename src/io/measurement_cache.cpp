#include "recap/io/measurement_cache.h"

#include <fstream>

#include "recap/io/atomic_file.h"
#include "recap/io/embedding_cache.h"

namespace fs = std::filesystem;

namespace recap::io {
namespace {

nlohmann::json read_all(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return nlohmann::json::object();
  const auto doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  return doc.is_object() ? doc : nlohmann::json::object();
}

}  // namespace

std::optional<nlohmann::json> load_measurement(const std::string& file_name, const std::string& key) {
  const auto all = read_all(default_cache_root() / file_name);
  if (!all.contains(key) || !all[key].is_object()) return std::nullopt;
  return all[key];
}

void store_measurement(const std::string& file_name, const std::string& key, const nlohmann::json& entry) {
  try {
    const fs::path file = default_cache_root() / file_name;
    auto all = read_all(file);
    all[key] = entry;
    fs::create_directories(file.parent_path());
    write_text_file(file, all.dump(2) + "\n");
  } catch (const std::exception&) {
  }
}

}  // namespace recap::io
